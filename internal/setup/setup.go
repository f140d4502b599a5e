// Package setup reads poe-sidecar's environment variables and builds the Poe API client
// and the sign-in configuration from them. The JSON-RPC server (package rpc) and the
// terminal commands (package main) both start here, so the variables are read in one
// place and mean the same in an editor and in a terminal.
//
// Start with [ReadEnv], then [Env.ResolveBaseURL], [NewProvider] and [Env.AuthConfig].
package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// DefaultBaseURL is Poe's OpenAI-compatible API.
const DefaultBaseURL = "https://api.poe.com/v1"

// Names of the environment variables that Env reads.
const (
	VarAPIKey       = "POE_API_KEY"
	VarBaseURL      = "POE_BASE_URL"
	VarAuthorizeURL = "POE_OAUTH_AUTHORIZE_URL"
	VarTokenURL     = "POE_OAUTH_TOKEN_URL"
	VarClientID     = "POE_OAUTH_CLIENT_ID"
)

// Env is the Poe settings from the environment. An empty field means that the variable
// is unset or empty, and the default applies.
type Env struct {
	APIKey       string // POE_API_KEY: wins over the stored key
	BaseURL      string // POE_BASE_URL
	AuthorizeURL string // POE_OAUTH_AUTHORIZE_URL
	TokenURL     string // POE_OAUTH_TOKEN_URL
	ClientID     string // POE_OAUTH_CLIENT_ID
}

// ReadEnv reads the variables through getenv; nil means os.Getenv.
func ReadEnv(getenv func(string) string) Env {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Env{
		APIKey:       getenv(VarAPIKey),
		BaseURL:      getenv(VarBaseURL),
		AuthorizeURL: getenv(VarAuthorizeURL),
		TokenURL:     getenv(VarTokenURL),
		ClientID:     getenv(VarClientID),
	}
}

// BaseURLError is a base URL that is not an absolute http or https URL.
type BaseURLError struct {
	Source string // origin of the value, such as "POE_BASE_URL"
	Value  string
}

func (e *BaseURLError) Error() string {
	return fmt.Sprintf("invalid %s %q: use an absolute http or https URL such as %q", e.Source, e.Value, DefaultBaseURL)
}

// CheckBaseURL returns a *BaseURLError naming source when raw is not an absolute http
// or https URL.
func CheckBaseURL(source, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &BaseURLError{Source: source, Value: raw}
	}
	return nil
}

// ResolveBaseURL returns POE_BASE_URL when it is set and valid, DefaultBaseURL when it
// is unset, and a *BaseURLError when it is set to something other than an absolute http
// or https URL.
func (e Env) ResolveBaseURL() (string, error) {
	if e.BaseURL == "" {
		return DefaultBaseURL, nil
	}
	if err := CheckBaseURL(VarBaseURL, e.BaseURL); err != nil {
		return "", err
	}
	return e.BaseURL, nil
}

// ProviderOptions are the caller's choices for the Poe API client.
type ProviderOptions struct {
	BaseURL     string        // an already checked base URL; "" means DefaultBaseURL
	HTTPClient  *http.Client  // nil: provider's default
	IdleTimeout time.Duration // stream idle timeout, also used as the response header timeout; 0: provider's defaults
	UserAgent   string        // such as "poe-sidecar/v0.1.0"
	Logger      *slog.Logger  // nil: discard
}

// NewProvider returns the Poe API client for opts.
func NewProvider(opts ProviderOptions) *provider.Client {
	baseURL := opts.BaseURL
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &provider.Client{
		BaseURL:       baseURL,
		HTTPClient:    opts.HTTPClient,
		IdleTimeout:   opts.IdleTimeout,
		HeaderTimeout: opts.IdleTimeout,
		UserAgent:     opts.UserAgent,
		Logger:        opts.Logger,
	}
}

// AuthConfig returns the sign-in configuration for the credential file at credPath: the
// OAuth endpoints and client id from the environment, POE_API_KEY as the key that wins
// over the file, and a key checker that calls poe's balance endpoint. The caller adds
// the fields that depend on how it runs (OpenBrowser, OnChange, AttemptTimeout,
// HTTPClient, Logger).
func (e Env) AuthConfig(credPath string, poe *provider.Client) auth.Config {
	return auth.Config{
		ClientID:     e.ClientID,
		AuthorizeURL: e.AuthorizeURL,
		TokenURL:     e.TokenURL,
		Store:        auth.NewStore(credPath),
		EnvKey:       e.APIKey,
		CheckKey:     KeyChecker(poe),
	}
}

// KeyChecker checks a pasted key against Poe's balance endpoint. Poe's own key check
// treats a 401 or 403 there as a rejected key, so for those the returned error wraps
// auth.ErrKeyRejected. Any other failure is returned as the *provider.Error.
func KeyChecker(poe *provider.Client) auth.KeyChecker {
	return func(ctx context.Context, apiKey string) error {
		_, err := poe.Balance(ctx, apiKey)
		var apiErr *provider.Error
		if errors.As(err, &apiErr) && (apiErr.Reason == provider.ReasonUnauthorized || apiErr.Reason == provider.ReasonForbidden) {
			return fmt.Errorf("%w: %w", auth.ErrKeyRejected, err)
		}
		return err
	}
}
