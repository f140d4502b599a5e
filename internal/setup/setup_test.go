package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

func TestReadEnv(t *testing.T) {
	vars := map[string]string{
		"POE_API_KEY":             "sk-poe-env",
		"POE_BASE_URL":            "http://127.0.0.1:9/v1",
		"POE_OAUTH_AUTHORIZE_URL": "http://127.0.0.1:9/oauth/authorize",
		"POE_OAUTH_TOKEN_URL":     "http://127.0.0.1:9/token",
		"POE_OAUTH_CLIENT_ID":     "client_test",
		"UNRELATED":               "x",
	}
	got := ReadEnv(func(name string) string { return vars[name] })
	want := Env{
		APIKey:       "sk-poe-env",
		BaseURL:      "http://127.0.0.1:9/v1",
		AuthorizeURL: "http://127.0.0.1:9/oauth/authorize",
		TokenURL:     "http://127.0.0.1:9/token",
		ClientID:     "client_test",
	}
	if got != want {
		t.Fatalf("ReadEnv = %+v, want %+v", got, want)
	}
}

func TestResolveBaseURL(t *testing.T) {
	cases := []struct {
		name    string
		value   string
		want    string
		wantErr bool
	}{
		{"unset", "", DefaultBaseURL, false},
		{"http", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1", false},
		{"https", "https://proxy.example/poe/v1", "https://proxy.example/poe/v1", false},
		{"no scheme", "api.poe.com/v1", "", true},
		{"other scheme", "ftp://api.poe.com/v1", "", true},
		{"no host", "http:///v1", "", true},
		{"unparsable", "http://[::1", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Env{BaseURL: tc.value}.ResolveBaseURL()
			if tc.wantErr {
				var urlErr *BaseURLError
				if !errors.As(err, &urlErr) {
					t.Fatalf("ResolveBaseURL(%q) error = %v, want a *BaseURLError", tc.value, err)
				}
				if urlErr.Source != VarBaseURL || urlErr.Value != tc.value {
					t.Errorf("error = %+v, want source %s and value %q", urlErr, VarBaseURL, tc.value)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveBaseURL(%q) error = %v", tc.value, err)
			}
			if got != tc.want {
				t.Errorf("ResolveBaseURL(%q) = %q, want %q", tc.value, got, tc.want)
			}
		})
	}
}

func TestNewProvider(t *testing.T) {
	got := NewProvider(ProviderOptions{IdleTimeout: 7 * time.Second, UserAgent: "poe-sidecar/test"})
	if got.BaseURL != DefaultBaseURL {
		t.Errorf("BaseURL = %q, want %q", got.BaseURL, DefaultBaseURL)
	}
	if got.IdleTimeout != 7*time.Second || got.HeaderTimeout != 7*time.Second {
		t.Errorf("IdleTimeout, HeaderTimeout = %v, %v, want 7s for both", got.IdleTimeout, got.HeaderTimeout)
	}
	if got.UserAgent != "poe-sidecar/test" {
		t.Errorf("UserAgent = %q", got.UserAgent)
	}
}

func TestAuthConfig(t *testing.T) {
	env := Env{APIKey: "sk-poe-env", AuthorizeURL: "http://127.0.0.1:9/a", TokenURL: "http://127.0.0.1:9/t", ClientID: "client_x"}
	got := env.AuthConfig("/tmp/creds/auth.json", NewProvider(ProviderOptions{}))
	if got.ClientID != "client_x" || got.AuthorizeURL != "http://127.0.0.1:9/a" || got.TokenURL != "http://127.0.0.1:9/t" {
		t.Errorf("OAuth settings = %q %q %q", got.ClientID, got.AuthorizeURL, got.TokenURL)
	}
	if got.EnvKey != "sk-poe-env" {
		t.Errorf("EnvKey = %q, want POE_API_KEY's value", got.EnvKey)
	}
	if got.Store == nil || got.Store.Path != "/tmp/creds/auth.json" {
		t.Errorf("Store = %+v, want the credential path", got.Store)
	}
	if got.CheckKey == nil {
		t.Error("CheckKey is nil")
	}
}

// TestKeyChecker runs the checker against a balance endpoint that responds with each
// status in turn.
func TestKeyChecker(t *testing.T) {
	const key = "sk-poe-0123456789abcdefghijklmnopqrstuvwxyz"
	cases := []struct {
		name         string
		status       int
		wantRejected bool
		wantReason   provider.Reason // "" when the check passes
	}{
		{"accepted", http.StatusOK, false, ""},
		{"unauthorized", http.StatusUnauthorized, true, provider.ReasonUnauthorized},
		{"forbidden", http.StatusForbidden, true, provider.ReasonForbidden},
		{"server error", http.StatusInternalServerError, false, provider.ReasonServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/usage/current_balance" {
					t.Errorf("request = %s %s, want GET /usage/current_balance", r.Method, r.URL.Path)
				}
				if got := r.Header.Get("Authorization"); got != "Bearer "+key {
					t.Errorf("Authorization header does not carry the key")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				if tc.status == http.StatusOK {
					_, _ = w.Write([]byte(`{"current_point_balance": 5}`))
					return
				}
				fmt.Fprintf(w, `{"error":{"code":%d,"type":"authentication_error","message":"refused by the test server"}}`, tc.status)
			}))
			defer server.Close()

			check := KeyChecker(NewProvider(ProviderOptions{BaseURL: server.URL + "/v1"}))
			err := check(context.Background(), key)

			if got := errors.Is(err, auth.ErrKeyRejected); got != tc.wantRejected {
				t.Errorf("errors.Is(err, auth.ErrKeyRejected) = %v, want %v (err %v)", got, tc.wantRejected, err)
			}
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("check error = %v, want nil", err)
				}
				return
			}
			var apiErr *provider.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("check error = %v, want a *provider.Error inside", err)
			}
			if apiErr.Reason != tc.wantReason {
				t.Errorf("Reason = %q, want %q", apiErr.Reason, tc.wantReason)
			}
		})
	}
}
