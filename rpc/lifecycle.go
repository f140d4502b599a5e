package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// ProtocolVersion is the version of the wire protocol this server speaks.
const ProtocolVersion = 1

// DefaultBaseURL is Poe's OpenAI-compatible API.
const DefaultBaseURL = "https://api.poe.com/v1"

type initializeParams struct {
	ProcessID             *int              `json:"processId"`
	InitializationOptions initializeOptions `json:"initializationOptions"`
}

type initializeOptions struct {
	BaseURL                  *string  `json:"baseUrl"`
	OpenBrowser              *bool    `json:"openBrowser"`
	LogLevel                 *string  `json:"logLevel"`
	SignInTimeoutSeconds     *float64 `json:"signInTimeoutSeconds"`
	StreamIdleTimeoutSeconds *float64 `json:"streamIdleTimeoutSeconds"`
}

type initializeResult struct {
	Capabilities struct {
		Experimental struct {
			Poe struct {
				ProtocolVersion int     `json:"protocolVersion"`
				LogFile         *string `json:"logFile"`
			} `json:"poe"`
		} `json:"experimental"`
	} `json:"capabilities"`
	ServerInfo struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"serverInfo"`
}

func (s *Server) initialize(_ context.Context, req *jsonrpc2.Request) (any, error) {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != stateNew {
		return nil, &Error{Code: jsonrpc2.CodeInvalidRequest, Message: "initialize: the server is already initialized"}
	}

	var p initializeParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	opts := p.InitializationOptions

	if opts.LogLevel != nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*opts.LogLevel)); err != nil {
			return nil, invalidParams("initializationOptions.logLevel", "must be one of debug, info, warn or error, not %q", *opts.LogLevel)
		}
		if s.cfg.LogLevel != nil {
			s.cfg.LogLevel.Set(level)
		}
	}
	signInTimeout, err := seconds("initializationOptions.signInTimeoutSeconds", opts.SignInTimeoutSeconds, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	idleTimeout, err := seconds("initializationOptions.streamIdleTimeoutSeconds", opts.StreamIdleTimeoutSeconds, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	baseURL, err := s.baseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}

	poe := &provider.Client{
		BaseURL:       baseURL,
		HTTPClient:    s.cfg.HTTPClient,
		IdleTimeout:   idleTimeout,
		HeaderTimeout: idleTimeout,
		UserAgent:     "poe-sidecar/" + s.cfg.Version,
		Logger:        s.logger.With("component", "provider"),
	}
	var openBrowser func(string) error
	if opts.OpenBrowser != nil && *opts.OpenBrowser {
		openBrowser = s.cfg.OpenBrowser
	}
	svc, err := auth.NewService(auth.Config{
		ClientID:       s.cfg.Getenv("POE_OAUTH_CLIENT_ID"),
		AuthorizeURL:   s.cfg.Getenv("POE_OAUTH_AUTHORIZE_URL"),
		TokenURL:       s.cfg.Getenv("POE_OAUTH_TOKEN_URL"),
		Store:          auth.NewStore(s.cfg.CredentialPath),
		EnvKey:         s.cfg.Getenv("POE_API_KEY"),
		CheckKey:       keyChecker(poe),
		HTTPClient:     s.cfg.HTTPClient,
		OpenBrowser:    openBrowser,
		AttemptTimeout: signInTimeout,
		OnChange:       s.authChanged,
		Logger:         s.logger.With("component", "auth"),
	})
	if err != nil {
		return nil, fmt.Errorf("set up sign-in: %w", err)
	}
	if err := svc.Start(s.ctx); err != nil {
		return nil, fmt.Errorf("watch the credential file: %w", err)
	}

	s.mu.Lock()
	s.state = stateInitialized
	s.auth = svc
	s.poe = poe
	s.mu.Unlock()
	s.logger.Info("initialized", "baseUrl", baseURL, "processId", p.ProcessID)

	var res initializeResult
	res.Capabilities.Experimental.Poe.ProtocolVersion = ProtocolVersion
	if s.cfg.LogFile != "" {
		res.Capabilities.Experimental.Poe.LogFile = &s.cfg.LogFile
	}
	res.ServerInfo.Name = "poe-sidecar"
	res.ServerInfo.Version = s.cfg.Version
	return res, nil
}

func (s *Server) shutdown(context.Context, *jsonrpc2.Request) (any, error) {
	s.mu.Lock()
	if s.state == stateNew {
		s.mu.Unlock()
		return nil, &Error{Code: CodeServerNotInitialized, Message: "shutdown: the server is not initialized"}
	}
	s.state = stateShutdown
	s.didShutdown = true
	streams := make([]*chatStream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()

	for _, st := range streams {
		st.stop(errStoppedByUser)
	}
	s.logger.Info("shutdown requested")
	return nil, nil
}

// baseURL chooses Poe's API base URL: initializationOptions.baseUrl, then
// POE_BASE_URL, then DefaultBaseURL.
func (s *Server) baseURL(fromOptions *string) (string, error) {
	field, raw := "initializationOptions.baseUrl", ""
	switch {
	case fromOptions != nil:
		raw = *fromOptions
	case s.cfg.Getenv("POE_BASE_URL") != "":
		field, raw = "POE_BASE_URL", s.cfg.Getenv("POE_BASE_URL")
	default:
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", invalidParams(field, "must be an absolute http or https URL such as %q, not %q", DefaultBaseURL, raw)
	}
	return raw, nil
}

func seconds(field string, v *float64, def time.Duration) (time.Duration, error) {
	if v == nil {
		return def, nil
	}
	if *v <= 0 || *v > 7*24*3600 {
		return 0, invalidParams(field, "must be a number of seconds above 0 and at most a week, not %v", *v)
	}
	return time.Duration(*v * float64(time.Second)), nil
}

// keyChecker checks a pasted key against Poe's balance endpoint, and tells
// auth when Poe rejected it (401 or 403, as Poe's own key check treats them).
func keyChecker(poe *provider.Client) auth.KeyChecker {
	return func(ctx context.Context, apiKey string) error {
		_, err := poe.Balance(ctx, apiKey)
		var apiErr *provider.Error
		if errors.As(err, &apiErr) && (apiErr.Reason == provider.ReasonUnauthorized || apiErr.Reason == provider.ReasonForbidden) {
			return fmt.Errorf("%w: %w", auth.ErrKeyRejected, err)
		}
		return err
	}
}
