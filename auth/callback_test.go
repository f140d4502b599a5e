package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCallbackKeepsAttempt sends requests that must not end the attempt, then checks that
// a valid callback still signs in.
func TestCallbackKeepsAttempt(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		params     func(state string) []string
		host       func(port string) string // Host header; nil: the one in the redirect URI
		wantStatus int
		wantText   string
	}{
		{
			name: "wrong state", method: http.MethodGet, path: "/callback",
			params:     func(string) []string { return []string{"code", testCode, "state", "forged"} },
			wantStatus: http.StatusBadRequest, wantText: "does not belong",
		},
		{
			name: "missing state", method: http.MethodGet, path: "/callback",
			params:     func(string) []string { return []string{"code", testCode} },
			wantStatus: http.StatusBadRequest, wantText: "does not belong",
		},
		{
			name: "repeated state", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s, "state", s} },
			wantStatus: http.StatusBadRequest, wantText: "does not belong",
		},
		{
			name: "error with wrong state", method: http.MethodGet, path: "/callback",
			params:     func(string) []string { return []string{"error", "access_denied", "state", "forged"} },
			wantStatus: http.StatusBadRequest, wantText: "does not belong",
		},
		{
			name: "other path", method: http.MethodGet, path: "/other",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusNotFound, wantText: "Not found",
		},
		{
			name: "post", method: http.MethodPost, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusMethodNotAllowed, wantText: "Method not allowed",
		},
		{
			name: "favicon", method: http.MethodGet, path: "/favicon.ico",
			params:     func(string) []string { return nil },
			wantStatus: http.StatusNotFound, wantText: "Not found",
		},
		{
			name: "root", method: http.MethodGet, path: "/",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusNotFound, wantText: "Not found",
		},
		{
			name: "callback subpath", method: http.MethodGet, path: "/callback/x",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusNotFound, wantText: "Not found",
		},
		{
			name: "put", method: http.MethodPut, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusMethodNotAllowed, wantText: "Method not allowed",
		},
		{
			name: "options", method: http.MethodOptions, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			wantStatus: http.StatusMethodNotAllowed, wantText: "Method not allowed",
		},
		{
			name: "foreign host", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			host:       func(string) string { return "attacker.example" },
			wantStatus: http.StatusBadRequest, wantText: "Bad request",
		},
		{
			name: "foreign host with port", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			host:       func(port string) string { return "attacker.example:" + port },
			wantStatus: http.StatusBadRequest, wantText: "Bad request",
		},
		{
			name: "localhost suffix", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			host:       func(port string) string { return "localhost.attacker.example:" + port },
			wantStatus: http.StatusBadRequest, wantText: "Bad request",
		},
		{
			name: "loopback without port", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			host:       func(string) string { return "127.0.0.1" },
			wantStatus: http.StatusBadRequest, wantText: "Bad request",
		},
		{
			name: "loopback other port", method: http.MethodGet, path: "/callback",
			params:     func(s string) []string { return []string{"code", testCode, "state", s} },
			host:       func(port string) string { return "127.0.0.1:1" + port },
			wantStatus: http.StatusBadRequest, wantText: "Bad request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, nil)
			att, state := env.startOAuth(t)
			waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

			target := strings.Replace(callback(att, tt.params(state)...), "/callback?", tt.path+"?", 1)
			redirect, _ := url.Parse(att.RedirectURI)
			resp := visit(t, tt.method, target, func(r *http.Request) {
				if tt.host != nil {
					r.Host = tt.host(redirect.Port())
				}
			})
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.status, tt.wantStatus)
			}
			mustContain(t, "page", resp.body, tt.wantText)
			checkPageHeaders(t, resp.header)
			if tt.wantStatus == http.StatusMethodNotAllowed {
				if got := resp.header.Get("Allow"); got != http.MethodGet {
					t.Errorf("Allow = %q, want GET", got)
				}
			}
			select {
			case got := <-waiter:
				t.Fatalf("the attempt ended: %+v", got)
			default:
			}

			resp = visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
			if resp.status != http.StatusOK {
				t.Errorf("valid callback afterwards: status = %d, want 200\n%s", resp.status, resp.body)
			}
			if got := receive(t, waiter); got.err != nil {
				t.Errorf("Complete: %v", got.err)
			}
		})
	}
}

// TestCallbackEndsAttempt sends callbacks with the right state that end the attempt
// with an error.
func TestCallbackEndsAttempt(t *testing.T) {
	tests := []struct {
		name           string
		params         func(state string) []string
		wantStatus     int
		wantReason     string
		wantOAuthError string
		wantText       string
	}{
		{
			name:       "access denied",
			params:     func(s string) []string { return []string{"error", "access_denied", "state", s} },
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "access_denied",
			wantText: "Sign-in cancelled",
		},
		{
			name: "other oauth error",
			params: func(s string) []string {
				return []string{"error", "invalid_scope", "error_description", "scope is not supported", "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "invalid_scope",
			wantText: "scope is not supported",
		},
		{
			name:       "error with code",
			params:     func(s string) []string { return []string{"error", "server_error", "code", testCode, "state", s} },
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "server_error",
			wantText: "Sign-in failed",
		},
		{
			name:       "missing code",
			params:     func(s string) []string { return []string{"state", s} },
			wantStatus: http.StatusBadRequest, wantReason: ReasonMissingCode,
			wantText: "no authorization code",
		},
		{
			name:       "issuer mismatch",
			params:     func(s string) []string { return []string{"code", testCode, "state", s, "iss", "https://evil.example"} },
			wantStatus: http.StatusBadRequest, wantReason: ReasonIssuerMismatch,
			wantText: "unexpected issuer",
		},
		{
			name: "issuer mismatch on error",
			params: func(s string) []string {
				return []string{"error", "access_denied", "state", s, "iss", "https://poe.com.evil"}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonIssuerMismatch,
			wantText: "unexpected issuer",
		},
		{
			name: "hostile description",
			params: func(s string) []string {
				return []string{"error", "access_denied", "error_description", `<script>alert("x")</script>`, "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "access_denied",
			wantText: "&lt;script&gt;",
		},
		{
			name: "attribute breakout",
			params: func(s string) []string {
				return []string{"error", "invalid_request", "error_description", `"'><img src=x onerror=alert(1)>`, "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "invalid_request",
			wantText: "&lt;img src=x",
		},
		{
			name: "markup in error",
			params: func(s string) []string {
				return []string{"error", "<b>bold</b>", "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "<b>bold</b>",
			wantText: "&lt;b&gt;bold",
		},
		{
			name: "line breaks in error",
			params: func(s string) []string {
				return []string{"error", "bad\r\nSet-Cookie: a=1", "error_description", "one\r\ntwo", "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "badSet-Cookie: a=1",
			wantText: "onetwo",
		},
		{
			name: "long description",
			params: func(s string) []string {
				return []string{"error", "access_denied", "error_description", strings.Repeat("A", 10000), "state", s}
			},
			wantStatus: http.StatusBadRequest, wantReason: ReasonAccessDenied, wantOAuthError: "access_denied",
			wantText: strings.Repeat("A", 300) + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, nil)
			att, state := env.startOAuth(t)
			waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

			resp := visit(t, http.MethodGet, callback(att, tt.params(state)...), nil)
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.status, tt.wantStatus)
			}
			mustContain(t, "page", resp.body, tt.wantText)
			for _, markup := range []string{"<script", "<img", "<b>"} {
				if strings.Contains(resp.body, markup) {
					t.Errorf("page contains unescaped %q:\n%s", markup, resp.body)
				}
			}
			if len(resp.body) > 4096 {
				t.Errorf("page is %d bytes, want at most 4096", len(resp.body))
			}
			if got := resp.header.Get("Set-Cookie"); got != "" {
				t.Errorf("Set-Cookie = %q, want none", got)
			}
			checkPageHeaders(t, resp.header)

			got := receive(t, waiter)
			var signInErr *SignInError
			if !errors.As(got.err, &signInErr) {
				t.Fatalf("error = %v, want *SignInError", got.err)
			}
			if signInErr.Reason != tt.wantReason {
				t.Errorf("Reason = %q, want %q", signInErr.Reason, tt.wantReason)
			}
			if signInErr.OAuthError != tt.wantOAuthError {
				t.Errorf("OAuthError = %q, want %q", signInErr.OAuthError, tt.wantOAuthError)
			}
			select {
			case <-env.tokens.forms:
				t.Error("the code was exchanged")
			default:
			}
			if cred, err := env.store.Load(); cred != nil || err != nil {
				t.Errorf("Load = %v, %v; want no credential", cred, err)
			}
		})
	}
}

func TestCallbackIssuerEqual(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)

	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state, "iss", "https://poe.com"), nil)
	if resp.status != http.StatusOK {
		t.Errorf("status = %d, want 200\n%s", resp.status, resp.body)
	}
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID}); err != nil {
		t.Errorf("Complete: %v", err)
	}
}

func TestCallbackLocalhostHost(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)
	u, _ := url.Parse(att.RedirectURI)

	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), func(r *http.Request) {
		r.Host = "localhost:" + u.Port()
	})
	if resp.status != http.StatusOK {
		t.Errorf("status = %d, want 200\n%s", resp.status, resp.body)
	}
}

// TestCallbackSecondHit sends a second valid callback while the first one's exchange is
// still running.
func TestCallbackSecondHit(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	env := newTestEnv(t, func(w http.ResponseWriter, form url.Values) {
		close(entered)
		<-release
		replyKey(w, form)
	}, nil)
	att, state := env.startOAuth(t)

	first := make(chan browserResponse, 1)
	go func() {
		resp, err := fetch(http.MethodGet, callback(att, "code", testCode, "state", state), nil)
		if err != nil {
			t.Errorf("first hit: %v", err)
		}
		first <- resp
	}()
	<-entered

	second := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	if second.status != http.StatusConflict {
		t.Errorf("second hit: status = %d, want 409", second.status)
	}
	mustContain(t, "second page", second.body, "already")
	checkPageHeaders(t, second.header)

	close(release)
	if resp := <-first; resp.status != http.StatusOK {
		t.Errorf("first hit: status = %d, want 200", resp.status)
	}
	if n := len(env.tokens.forms); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestCallbackExchangeFailurePage(t *testing.T) {
	env := newTestEnv(t, replyJSON(http.StatusBadRequest,
		`{"error":"invalid_grant","error_description":"The provided authorization code is invalid or has expired."}`), nil)
	att, state := env.startOAuth(t)

	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	if resp.status != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.status)
	}
	mustContain(t, "page", resp.body, "Sign-in failed")
	mustContain(t, "page", resp.body, "invalid_grant")
	mustContain(t, "page", resp.body, "start the sign-in again")
}

func checkPageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
	}
	for name, value := range want {
		if got := h.Get(name); got != value {
			t.Errorf("header %s = %q, want %q", name, got, value)
		}
	}
}

// TestCallbackDescriptionHidesState sends descriptions that contain the state, also split
// by control characters that the page would remove, and checks that none is shown.
func TestCallbackDescriptionHidesState(t *testing.T) {
	for _, sep := range []string{"", "\x00", "\r\n", "\u200b"} {
		t.Run(fmt.Sprintf("%q", sep), func(t *testing.T) {
			env := newTestEnv(t, nil, nil)
			att, state := env.startOAuth(t)

			description := "bad " + state[:10] + sep + state[10:]
			resp := visit(t, http.MethodGet, callback(att, "error", "invalid_request", "error_description", description, "state", state), nil)
			_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID})
			if signInReason(err) != ReasonAccessDenied {
				t.Fatalf("error = %v, want reason %s", err, ReasonAccessDenied)
			}
			for what, out := range map[string]string{"page": resp.body, "error": err.Error(), "log": env.logs.String()} {
				if strings.Contains(out, state) {
					t.Errorf("the %s shows the state:\n%s", what, out)
				}
			}
		})
	}
}

func TestStripControl(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"line\r\nbreak", "linebreak"},
		{"nul\x00byte", "nulbyte"},
		{"bidi \u202eoverride\u202c", "bidi override"},
		{"zero\u200bwidth", "zerowidth"},
		{"accents stay: é ü", "accents stay: é ü"},
	}
	for _, tt := range tests {
		if got := stripControl(tt.in); got != tt.want {
			t.Errorf("stripControl(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCallbackMangledRedirect sends the redirect with its "?" escaped, as a broken browser
// or proxy may, which puts the code and state into the path. The request gets 404 and the
// log must not contain either value.
func TestCallbackMangledRedirect(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)

	target := att.RedirectURI + "%3Fcode=" + testCode + "%26state=" + state
	resp := visit(t, http.MethodGet, target, nil)
	if resp.status != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.status)
	}
	logs := env.logs.String()
	mustContain(t, "log", logs, "another path")
	for name, secret := range map[string]string{"code": testCode, "state": state} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s:\n%s", name, logs)
		}
	}
}
