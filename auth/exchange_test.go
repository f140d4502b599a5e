package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenExchange(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	hour := now.Add(time.Hour)

	tests := []struct {
		name          string
		status        int
		body          string
		wantExpiresAt *time.Time
		wantErr       bool
		wantOAuth     string
		wantStatus    int
		wantText      string
	}{
		{name: "expiry in seconds", status: 200, body: `{"api_key":"` + testAPIKey + `","api_key_expires_in":3600}`, wantExpiresAt: &hour},
		{name: "expiry null", status: 200, body: `{"api_key":"` + testAPIKey + `","api_key_expires_in":null}`},
		{name: "expiry absent", status: 200, body: `{"api_key":"` + testAPIKey + `"}`},
		{name: "key padded", status: 200, body: `{"api_key":"  ` + testAPIKey + `\n"}`},
		{name: "expiry negative", status: 200, body: `{"api_key":"` + testAPIKey + `","api_key_expires_in":-1}`, wantErr: true, wantStatus: 200, wantText: "negative"},
		{name: "expiry string", status: 200, body: `{"api_key":"` + testAPIKey + `","api_key_expires_in":"3600"}`, wantErr: true, wantStatus: 200, wantText: "finite number"},
		{name: "expiry huge", status: 200, body: `{"api_key":"` + testAPIKey + `","api_key_expires_in":1e400}`, wantErr: true, wantStatus: 200},
		{name: "key empty", status: 200, body: `{"api_key":"","api_key_expires_in":null}`, wantErr: true, wantStatus: 200, wantText: "empty api_key"},
		{name: "key blank", status: 200, body: `{"api_key":" \t ","api_key_expires_in":null}`, wantErr: true, wantStatus: 200, wantText: "empty api_key"},
		{name: "key missing", status: 200, body: `{"api_key_expires_in":null}`, wantErr: true, wantStatus: 200, wantText: "no api_key"},
		{name: "key not string", status: 200, body: `{"api_key":12}`, wantErr: true, wantStatus: 200},
		{name: "success not json", status: 200, body: `<html>ok</html>`, wantErr: true, wantStatus: 200},
		{
			name: "invalid grant", status: 400,
			body:    `{"error":"invalid_grant","error_description":"The provided authorization code is invalid or has expired."}`,
			wantErr: true, wantOAuth: "invalid_grant", wantStatus: 400, wantText: "sign in again",
		},
		{
			name: "server error", status: 503, body: `{"error":"server_error"}`,
			wantErr: true, wantOAuth: "server_error", wantStatus: 503, wantText: "temporary",
		},
		{
			name: "oauth error with 200", status: 200, body: `{"error":"invalid_request"}`,
			wantErr: true, wantOAuth: "invalid_request", wantStatus: 200,
		},
		{name: "500 not json", status: 500, body: "Internal Server Error", wantErr: true, wantStatus: 500, wantText: "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, replyJSON(tt.status, tt.body), func(c *Config) { c.Now = func() time.Time { return now } })
			att, _ := env.startOAuth(t)

			result, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode})
			env.nextForm(t, att)

			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				if (result.ExpiresAt == nil) != (tt.wantExpiresAt == nil) ||
					(result.ExpiresAt != nil && !result.ExpiresAt.Equal(*tt.wantExpiresAt)) {
					t.Errorf("ExpiresAt = %v, want %v", result.ExpiresAt, tt.wantExpiresAt)
				}
				cred, err := env.store.Load()
				if err != nil || cred == nil || cred.APIKey != testAPIKey {
					t.Fatalf("Load = %v, %v; want the trimmed key stored", cred != nil, err)
				}
				return
			}

			var signInErr *SignInError
			if !errors.As(err, &signInErr) {
				t.Fatalf("error = %v, want *SignInError", err)
			}
			if signInErr.Reason != ReasonExchangeFailed {
				t.Errorf("Reason = %q, want %q", signInErr.Reason, ReasonExchangeFailed)
			}
			if signInErr.OAuthError != tt.wantOAuth {
				t.Errorf("OAuthError = %q, want %q", signInErr.OAuthError, tt.wantOAuth)
			}
			if signInErr.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", signInErr.Status, tt.wantStatus)
			}
			if tt.wantText != "" {
				mustContain(t, "error", err.Error(), tt.wantText)
			}
			if cred, err := env.store.Load(); cred != nil || err != nil {
				t.Errorf("Load = %v, %v; want nothing stored", cred != nil, err)
			}
		})
	}
}

func TestTokenExchangeDescriptionWithCode(t *testing.T) {
	env := newTestEnv(t, replyJSON(http.StatusBadRequest,
		`{"error":"invalid_grant","error_description":"code `+testCode+` is unknown"}`), nil)
	att, _ := env.startOAuth(t)

	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode})
	var signInErr *SignInError
	if !errors.As(err, &signInErr) {
		t.Fatalf("error = %v, want *SignInError", err)
	}
	if signInErr.OAuthDescription != "" {
		t.Errorf("OAuthDescription = %q, want it dropped because it contains the code", signInErr.OAuthDescription)
	}
}

func TestTokenExchangeSecretsInReply(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			env := newTestEnv(t, replyJSON(status,
				`{"error":"bad `+testCode+`","error_description":"code `+testCode+` is unknown"}`), nil)
			att, _ := env.startOAuth(t)

			_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode})
			var signInErr *SignInError
			if !errors.As(err, &signInErr) {
				t.Fatalf("error = %v, want *SignInError", err)
			}
			if strings.Contains(err.Error(), testCode) {
				t.Errorf("error %q contains the authorization code", err)
			}
			if strings.Contains(signInErr.OAuthError, testCode) {
				t.Errorf("OAuthError %q contains the authorization code", signInErr.OAuthError)
			}
			if signInErr.OAuthDescription != "" {
				t.Errorf("OAuthDescription = %q, want it dropped", signInErr.OAuthDescription)
			}
		})
	}
}

func TestTokenExchangeUnreachable(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	env.tokens.Close()
	att, _ := env.startOAuth(t)

	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode})
	var signInErr *SignInError
	if !errors.As(err, &signInErr) || signInErr.Reason != ReasonExchangeFailed || signInErr.Status != 0 {
		t.Fatalf("error = %v, want exchange_failed without a status", err)
	}
}

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		raw     string
		want    time.Duration
		wantNil bool
		wantErr bool
	}{
		{raw: "", wantNil: true},
		{raw: "null", wantNil: true},
		{raw: "0", want: 0},
		{raw: "1.5", want: 1500 * time.Millisecond},
		{raw: "2592000", want: 30 * 24 * time.Hour},
		{raw: "-0.5", wantErr: true},
		{raw: "1e300", wantErr: true},
		{raw: "true", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseExpiresIn([]byte(tt.raw))
		switch {
		case tt.wantErr:
			if err == nil {
				t.Errorf("parseExpiresIn(%q) = %v, want an error", tt.raw, got)
			}
		case err != nil:
			t.Errorf("parseExpiresIn(%q): %v", tt.raw, err)
		case tt.wantNil && got != nil:
			t.Errorf("parseExpiresIn(%q) = %v, want nil", tt.raw, *got)
		case !tt.wantNil && (got == nil || *got != tt.want):
			t.Errorf("parseExpiresIn(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
