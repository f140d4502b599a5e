package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxTokenReply is the largest token endpoint reply that exchange reads.
const maxTokenReply = 64 << 10

// tokenReply is the success reply of Poe's token endpoint. Poe returns an API key instead
// of an OAuth access token. api_key_expires_in is a number of seconds, or null or absent
// when the key never expires.
type tokenReply struct {
	APIKey    *string         `json:"api_key"`
	ExpiresIn json.RawMessage `json:"api_key_expires_in"`
}

// tokenErrorReply is an RFC 6749 section 5.2 error reply.
type tokenErrorReply struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// exchange trades the authorization code for an API key at the token endpoint
// (RFC 6749 section 4.1.3, with the RFC 7636 code_verifier). It is written by hand
// because oauth2.Config.Exchange expects an access_token in the reply. Every error is a
// *SignInError with ReasonExchangeFailed.
func (s *Service) exchange(ctx context.Context, a *attempt, code string) (string, *time.Time, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {s.clientID},
		"code":          {code},
		"redirect_uri":  {a.redirectURI},
		"code_verifier": {a.verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", nil, &SignInError{Reason: ReasonExchangeFailed, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	// The expiry counts from before the request, so the stored expiry is never later
	// than Poe's.
	sent := s.now()
	resp, err := s.httpClient.Do(req)
	if err != nil {
		s.log.Warn("token exchange failed", "attempt", a.id, "error", err)
		return "", nil, &SignInError{Reason: ReasonExchangeFailed, Err: err}
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenReply))
	if err != nil {
		return "", nil, &SignInError{
			Reason: ReasonExchangeFailed,
			Status: resp.StatusCode,
			Err:    fmt.Errorf("cannot read the reply: %w", err),
		}
	}
	s.log.Debug("token endpoint replied", "attempt", a.id, "status", resp.StatusCode)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, tokenError(resp.StatusCode, body, code, a.state, a.verifier)
	}
	apiKey, expiresIn, err := parseTokenReply(body, code, a.state, a.verifier)
	if err != nil {
		var signInErr *SignInError
		if errors.As(err, &signInErr) {
			return "", nil, err
		}
		return "", nil, &SignInError{Reason: ReasonExchangeFailed, Status: resp.StatusCode, Err: err}
	}

	if expiresIn == nil {
		return apiKey, nil, nil
	}
	expiresAt := sent.Add(*expiresIn)
	return apiKey, &expiresAt, nil
}

// parseTokenReply checks a 2xx reply. A 2xx reply that carries an OAuth error instead of
// a key returns that error as a *SignInError, cleaned of the secrets as tokenError does.
func parseTokenReply(body []byte, secrets ...string) (string, *time.Duration, error) {
	var reply tokenReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return "", nil, errors.New("the reply is not a JSON object with an api_key string")
	}
	if reply.APIKey == nil {
		if oauthErr := tokenError(http.StatusOK, body, secrets...); oauthErr.OAuthError != "" {
			return "", nil, oauthErr
		}
		return "", nil, errors.New("the reply has no api_key")
	}

	apiKey := strings.TrimSpace(*reply.APIKey)
	if apiKey == "" {
		return "", nil, errors.New("the reply has an empty api_key")
	}
	if strings.IndexFunc(apiKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", nil, errors.New("the api_key in the reply contains white space or control characters")
	}

	expiresIn, err := parseExpiresIn(reply.ExpiresIn)
	if err != nil {
		return "", nil, err
	}
	return apiKey, expiresIn, nil
}

// parseExpiresIn reads api_key_expires_in: nil for null or absent, else a finite
// non-negative number of seconds that fits a time.Duration.
func parseExpiresIn(raw json.RawMessage) (*time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	seconds, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(seconds, 0) || math.IsNaN(seconds) {
		return nil, errors.New("api_key_expires_in in the reply is not a finite number of seconds")
	}
	if seconds < 0 {
		return nil, fmt.Errorf("api_key_expires_in in the reply is negative (%g seconds)", seconds)
	}
	if seconds > float64(math.MaxInt64)/float64(time.Second) {
		return nil, fmt.Errorf("api_key_expires_in in the reply is out of range (%g seconds)", seconds)
	}
	expiresIn := time.Duration(seconds * float64(time.Second))
	return &expiresIn, nil
}

// tokenError reads an error reply. Poe documents JSON {error, error_description}; its
// HTTP status is not documented, so any status is accepted. A description that contains
// one of the secrets is dropped.
func tokenError(status int, body []byte, secrets ...string) *SignInError {
	e := &SignInError{Reason: ReasonExchangeFailed, Status: status}
	var reply tokenErrorReply
	if err := json.Unmarshal(body, &reply); err == nil && reply.Error != "" {
		e.OAuthError = cleanOAuthError(reply.Error, secrets...)
		e.OAuthDescription = cleanDescription(reply.Description, secrets...)
		return e
	}
	e.Err = errors.New("the reply has no OAuth error")
	return e
}

// cleanOAuthError keeps an "error" value readable in messages and logs.
func cleanOAuthError(value string, secrets ...string) string {
	cleaned := stripControl(value)
	// Removing control characters can join the pieces of a secret, so both forms are checked.
	if containsSecret(value, secrets) || containsSecret(cleaned, secrets) {
		return "invalid_reply"
	}
	return clip(cleaned, 64)
}

// cleanDescription keeps an "error_description" value readable, and drops it when it
// contains a secret, since it ends up in messages, pages and logs.
func cleanDescription(value string, secrets ...string) string {
	cleaned := stripControl(value)
	if containsSecret(value, secrets) || containsSecret(cleaned, secrets) {
		return ""
	}
	return clip(cleaned, 300)
}

func containsSecret(value string, secrets []string) bool {
	for _, secret := range secrets {
		if secret != "" && strings.Contains(value, secret) {
			return true
		}
	}
	return false
}

// stripControl removes control characters and invisible format characters (Unicode
// category Cf, such as bidirectional overrides and zero-width spaces), which could make
// a page or log line read differently from its text.
func stripControl(value string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, value)
}

// clip shortens value to at most n runes, marking the cut with "…".
func clip(value string, n int) string {
	runes := []rune(value)
	if len(runes) <= n {
		return value
	}
	return string(runes[:n]) + "…"
}
