package auth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// callbackHost returns the host:port of an attempt's callback server.
func callbackHost(t *testing.T, att OAuthAttempt) string {
	t.Helper()
	u, err := url.Parse(att.RedirectURI)
	if err != nil {
		t.Fatalf("redirect URI %q: %v", att.RedirectURI, err)
	}
	return u.Host
}

// dialCallback opens a raw connection to an attempt's callback server.
func dialCallback(t *testing.T, att OAuthAttempt) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", callbackHost(t, att), waitLimit)
	if err != nil {
		t.Fatalf("dial callback server: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// idleConnection sends one keep-alive request for another path on a raw connection, reads
// the 404 and returns the connection, which the server then keeps idle.
func idleConnection(t *testing.T, att OAuthAttempt) net.Conn {
	t.Helper()
	conn := dialCallback(t, att)
	request := "GET /favicon.ico HTTP/1.1\r\nHost: " + callbackHost(t, att) + "\r\n\r\n"
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatalf("write request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("favicon status = %d, want 404", resp.StatusCode)
	}
	if resp.Close {
		t.Fatal("the server closes the connection after a 404; the test needs it kept alive")
	}
	return conn
}

// expectClosed reads from conn until the server closes it, and fails if that takes
// longer than waitLimit.
func expectClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	_, err := io.Copy(io.Discard, conn)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("the server kept the connection open for %v", waitLimit)
	}
}

// expectPending fails if the attempt behind waiter has ended.
func expectPending(t *testing.T, waiter <-chan outcome) {
	t.Helper()
	select {
	case got := <-waiter:
		t.Fatalf("the attempt ended: %+v", got)
	default:
	}
}

// expectSignIn sends a valid callback and checks that it signs in.
func expectSignIn(t *testing.T, att OAuthAttempt, state string, waiter <-chan outcome) {
	t.Helper()
	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	if resp.status != http.StatusOK {
		t.Errorf("valid callback: status = %d, want 200\n%s", resp.status, resp.body)
	}
	if got := receive(t, waiter); got.err != nil {
		t.Errorf("Complete: %v", got.err)
	}
}

// TestCallbackSlowHeaders sends a request whose headers never end, one byte at a time,
// and expects the server to cut it after ReadHeaderTimeout while the attempt goes on.
func TestCallbackSlowHeaders(t *testing.T) {
	env := newTestEnv(t, nil, func(c *Config) {
		c.CallbackLimits = CallbackLimits{ReadHeaderTimeout: 100 * time.Millisecond}
	})
	att, state := env.startOAuth(t)
	waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

	conn := dialCallback(t, att)
	start := "GET /callback?" + url.Values{"code": {testCode}, "state": {state}}.Encode() + " HTTP/1.1\r\n" +
		"Host: " + callbackHost(t, att) + "\r\nX-Slow: "
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		if _, err := io.WriteString(conn, start); err != nil {
			return
		}
		// The pace is part of the scenario: the client keeps sending, but too slowly.
		ticker := time.NewTicker(10 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
			if _, err := io.WriteString(conn, "a"); err != nil {
				return
			}
		}
	}()

	began := time.Now()
	expectClosed(t, conn)
	close(stop)
	<-writerDone
	t.Logf("the server closed the slow connection after %v", time.Since(began).Round(time.Millisecond))

	expectPending(t, waiter)
	expectSignIn(t, att, state, waiter)
}

func TestCallbackIdleConnection(t *testing.T) {
	env := newTestEnv(t, nil, func(c *Config) {
		c.CallbackLimits = CallbackLimits{IdleTimeout: 100 * time.Millisecond}
	})
	att, state := env.startOAuth(t)
	waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

	expectClosed(t, idleConnection(t, att))

	expectPending(t, waiter)
	expectSignIn(t, att, state, waiter)
}

// TestCallbackHugeRequest sends requests above the header limit, which net/http rejects
// with 431 before the handler runs.
func TestCallbackHugeRequest(t *testing.T) {
	huge := strings.Repeat("a", 64<<10)
	tests := []struct {
		name   string
		params func(state string) []string
		edit   func(*http.Request)
	}{
		{
			name:   "header",
			params: func(s string) []string { return []string{"code", testCode, "state", s} },
			edit:   func(r *http.Request) { r.Header.Set("X-Huge", huge) },
		},
		{
			name:   "many headers",
			params: func(s string) []string { return []string{"code", testCode, "state", s} },
			edit: func(r *http.Request) {
				for i := 0; i < 2000; i++ {
					r.Header.Add("X-Many", "0123456789abcdef")
				}
			},
		},
		{
			name:   "query",
			params: func(s string) []string { return []string{"code", testCode, "state", s, "pad", huge} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, nil)
			att, state := env.startOAuth(t)
			waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

			resp := visit(t, http.MethodGet, callback(att, tt.params(state)...), tt.edit)
			if resp.status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status = %d, want 431", resp.status)
			}
			select {
			case <-env.tokens.forms:
				t.Error("the code was exchanged")
			default:
			}

			expectPending(t, waiter)
			expectSignIn(t, att, state, waiter)
		})
	}
}

// TestCallbackPortClosed ends attempts in every way and checks that the callback port
// refuses new connections and that an idle keep-alive connection is closed at once,
// long before the 15 s idle timeout.
func TestCallbackPortClosed(t *testing.T) {
	tests := []struct {
		name       string
		reply      func(http.ResponseWriter, url.Values) // token endpoint; nil: a key
		edit       func(*Config)
		end        func(t *testing.T, env *testEnv, att OAuthAttempt, state string)
		wantReason string // "" for a successful sign-in
	}{
		{
			name: "success",
			end: func(t *testing.T, _ *testEnv, att OAuthAttempt, state string) {
				visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
			},
		},
		{
			name: "denied",
			end: func(t *testing.T, _ *testEnv, att OAuthAttempt, state string) {
				visit(t, http.MethodGet, callback(att, "error", "access_denied", "state", state), nil)
			},
			wantReason: ReasonAccessDenied,
		},
		{
			name:  "exchange failed",
			reply: replyJSON(http.StatusBadRequest, `{"error":"invalid_grant"}`),
			end: func(t *testing.T, _ *testEnv, att OAuthAttempt, state string) {
				visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
			},
			wantReason: ReasonExchangeFailed,
		},
		{
			name: "pasted code",
			end: func(t *testing.T, env *testEnv, att OAuthAttempt, _ string) {
				if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode}); err != nil {
					t.Errorf("Complete with code: %v", err)
				}
			},
		},
		{
			name:       "timeout",
			edit:       func(c *Config) { c.AttemptTimeout = 500 * time.Millisecond },
			end:        func(*testing.T, *testEnv, OAuthAttempt, string) {},
			wantReason: ReasonTimeout,
		},
		{
			name: "close",
			end: func(_ *testing.T, env *testEnv, _ OAuthAttempt, _ string) {
				env.svc.Close()
			},
			wantReason: ReasonUnknownAttempt,
		},
		{
			name: "superseded",
			end: func(t *testing.T, env *testEnv, _ OAuthAttempt, _ string) {
				env.startOAuth(t)
			},
			wantReason: ReasonUnknownAttempt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.reply, tt.edit)
			att, state := env.startOAuth(t)
			waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})
			idle := idleConnection(t, att)

			tt.end(t, env, att, state)
			got := receive(t, waiter)
			if reason := signInReason(got.err); reason != tt.wantReason {
				t.Errorf("Complete error = %v, want reason %q", got.err, tt.wantReason)
			}

			if conn, err := net.Dial("tcp", callbackHost(t, att)); err == nil {
				conn.Close()
				t.Error("the callback port accepts connections after the attempt ended")
			}
			expectClosed(t, idle)
		})
	}
}
