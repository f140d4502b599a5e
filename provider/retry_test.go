package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reply is one canned response of a scripted server.
type reply func(w http.ResponseWriter)

func statusReply(status int, retryAfter, message string) reply {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"type":"test_error","message":%q}}`, status, message)
	}
}

func htmlReply(status int) reply {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, "<html><body><h1>Bad Gateway</h1></body></html>")
	}
}

func streamReply(frames ...string) reply {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, frame := range frames {
			io.WriteString(w, frame)
			w.(http.Flusher).Flush()
		}
	}
}

// scriptedServer responds to the n-th chat request with replies[n], and to every later
// one with the last reply. It records each request body.
type scriptedServer struct {
	replies []reply

	mu     sync.Mutex
	bodies [][]byte
}

func newScriptedServer(t *testing.T, replies ...reply) (*scriptedServer, *Client) {
	t.Helper()
	s := &scriptedServer{replies: replies}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		s.replies[min(n, len(s.replies)-1)](w)
	})
	return s, newClient(srv)
}

func (s *scriptedServer) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// waitRecorder records the waits a client asks for instead of sleeping.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *waitRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *waitRecorder) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

func TestChatStreamRetry(t *testing.T) {
	ok := streamReply(chunk("Hel", ""), chunk("lo", "stop"), doneFrame)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const jitter = -1 // wantWait for a wait of retryBackoff plus jitter

	tests := []struct {
		name         string
		replies      []reply
		wantRequests int
		wantWait     time.Duration // 0: no wait
		wantReason   Reason        // "": success with the text "Hello"
		wantStatus   int
		wantMessage  string
	}{
		{name: "429 without Retry-After", replies: []reply{statusReply(429, "", "slow down"), ok},
			wantRequests: 2, wantWait: jitter},
		{name: "429 Retry-After 2", replies: []reply{statusReply(429, "2", "slow down"), ok},
			wantRequests: 2, wantWait: 2 * time.Second},
		{name: "429 Retry-After at cap", replies: []reply{statusReply(429, "5", "slow down"), ok},
			wantRequests: 2, wantWait: 5 * time.Second},
		{name: "429 Retry-After date", replies: []reply{statusReply(429, now.Add(3*time.Second).Format(http.TimeFormat), "slow down"), ok},
			wantRequests: 2, wantWait: 3 * time.Second},
		{name: "429 Retry-After over cap", replies: []reply{statusReply(429, "6", "slow down"), ok},
			wantRequests: 1, wantReason: ReasonRateLimited, wantStatus: 429, wantMessage: "slow down"},
		{name: "500", replies: []reply{statusReply(500, "", "provider failed"), ok}, wantRequests: 2, wantWait: jitter},
		{name: "502", replies: []reply{statusReply(502, "", "backend down"), ok}, wantRequests: 2, wantWait: jitter},
		{name: "502 HTML page", replies: []reply{htmlReply(502), ok}, wantRequests: 2, wantWait: jitter},
		{name: "503 Retry-After 1", replies: []reply{statusReply(503, "1", "busy"), ok}, wantRequests: 2, wantWait: time.Second},
		{name: "529", replies: []reply{statusReply(529, "", "overloaded"), ok}, wantRequests: 2, wantWait: jitter},
		{name: "529 Retry-After over cap", replies: []reply{statusReply(529, "30", "overloaded"), ok},
			wantRequests: 1, wantReason: ReasonServerError, wantStatus: 529, wantMessage: "overloaded"},
		{name: "second failure returned", replies: []reply{statusReply(500, "", "first"), statusReply(502, "", "second")},
			wantRequests: 2, wantWait: jitter, wantReason: ReasonServerError, wantStatus: 502, wantMessage: "second"},
		{name: "only one retry", replies: []reply{statusReply(429, "", "first"), statusReply(429, "", "second"), ok},
			wantRequests: 2, wantWait: jitter, wantReason: ReasonRateLimited, wantStatus: 429, wantMessage: "second"},
		{name: "400", replies: []reply{statusReply(400, "", "bad"), ok}, wantRequests: 1, wantReason: ReasonBadRequest, wantStatus: 400, wantMessage: "bad"},
		{name: "401", replies: []reply{statusReply(401, "", "bad key"), ok}, wantRequests: 1, wantReason: ReasonUnauthorized, wantStatus: 401, wantMessage: "bad key"},
		{name: "402", replies: []reply{statusReply(402, "", "no points"), ok}, wantRequests: 1, wantReason: ReasonInsufficientPoints, wantStatus: 402, wantMessage: "no points"},
		{name: "403", replies: []reply{statusReply(403, "", "denied"), ok}, wantRequests: 1, wantReason: ReasonForbidden, wantStatus: 403, wantMessage: "denied"},
		{name: "404", replies: []reply{statusReply(404, "", "Model 'X' not found"), ok}, wantRequests: 1, wantReason: ReasonBadRequest, wantStatus: 404, wantMessage: "Model 'X' not found"},
		{name: "408", replies: []reply{statusReply(408, "", "too slow"), ok}, wantRequests: 1, wantReason: ReasonServerError, wantStatus: 408, wantMessage: "too slow"},
		{name: "413", replies: []reply{statusReply(413, "", "too large"), ok}, wantRequests: 1, wantReason: ReasonBadRequest, wantStatus: 413, wantMessage: "too large"},
		{name: "504", replies: []reply{statusReply(504, "", "gateway timeout"), ok}, wantRequests: 1, wantReason: ReasonServerError, wantStatus: 504, wantMessage: "gateway timeout"},
		{name: "200 error before text", replies: []reply{streamReply(`data: {"error":{"code":500,"type":"provider_error","message":"boom"}}` + "\n\n"), ok},
			wantRequests: 1, wantReason: ReasonServerError, wantStatus: 200, wantMessage: "boom"},
		{name: "200 cut before text", replies: []reply{streamReply(": keep-alive\n\n"), ok},
			wantRequests: 1, wantReason: ReasonMalformed, wantStatus: 200},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newScriptedServer(t, tt.replies...)
			waits := &waitRecorder{}
			client.sleep = waits.sleep
			client.now = func() time.Time { return now }

			deltas, result, err := collectChat(t, client)

			requests := server.requests()
			if len(requests) != tt.wantRequests {
				t.Errorf("server got %d requests, want %d", len(requests), tt.wantRequests)
			}
			for i, body := range requests {
				if !bytes.Equal(body, requests[0]) {
					t.Errorf("request %d body = %s, want the first request's body %s", i, body, requests[0])
				}
			}
			checkRetryWait(t, waits.recorded(), tt.wantWait)

			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("ChatStream: %v", err)
				}
				if want := []string{"Hel", "lo"}; !reflect.DeepEqual(deltas, want) {
					t.Errorf("deltas = %q, want %q", deltas, want)
				}
				if result.FinishReason != "stop" {
					t.Errorf("FinishReason = %q, want stop", result.FinishReason)
				}
				return
			}
			apiErr := requireAPIError(t, err, tt.wantReason)
			if apiErr.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.wantStatus)
			}
			if apiErr.Message != tt.wantMessage {
				t.Errorf("Message = %q, want %q", apiErr.Message, tt.wantMessage)
			}
			if len(deltas) != 0 {
				t.Errorf("deltas = %q, want none", deltas)
			}
		})
	}
}

// checkRetryWait checks the waits a client asked for against one wanted wait: 0 for
// none, -1 for retryBackoff plus jitter, or an exact duration.
func checkRetryWait(t *testing.T, got []time.Duration, want time.Duration) {
	t.Helper()
	switch {
	case want == 0:
		if len(got) != 0 {
			t.Errorf("waits = %v, want none", got)
		}
	case len(got) != 1:
		t.Errorf("waits = %v, want exactly one", got)
	case want < 0:
		if got[0] < retryBackoff || got[0] >= 2*retryBackoff {
			t.Errorf("wait = %v, want from %v up to %v", got[0], retryBackoff, 2*retryBackoff)
		}
	case got[0] != want:
		t.Errorf("wait = %v, want %v", got[0], want)
	}
}

// TestChatStreamNoRetryAfterText checks that an error after text ends the call at
// once, so the text is never sent to onDelta a second time.
func TestChatStreamNoRetryAfterText(t *testing.T) {
	tests := []struct {
		name       string
		reply      reply
		wantReason Reason
	}{
		{"mid-stream 429", streamReply(chunk("Hel", ""), `data: {"error":{"code":429,"type":"rate_limit_error","message":"slow"}}`+"\n\n"), ReasonRateLimited},
		{"mid-stream 529 event", streamReply(chunk("Hel", ""), "event: error\n"+`data: {"code":529,"message":"overloaded"}`+"\n\n"), ReasonServerError},
		{"ended early", streamReply(chunk("Hel", "")), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newScriptedServer(t, tt.reply, streamReply(chunk("Hel", ""), chunk("lo", "stop"), doneFrame))
			waits := &waitRecorder{}
			client.sleep = waits.sleep

			deltas, _, err := collectChat(t, client)

			requireAPIError(t, err, tt.wantReason)
			if want := []string{"Hel"}; !reflect.DeepEqual(deltas, want) {
				t.Errorf("deltas = %q, want %q", deltas, want)
			}
			if got := len(server.requests()); got != 1 {
				t.Errorf("server got %d requests, want 1", got)
			}
			if got := waits.recorded(); len(got) != 0 {
				t.Errorf("waits = %v, want none", got)
			}
		})
	}
}

// refusingDialer dials a closed port for the first refusals dials and addr after that.
type refusingDialer struct {
	closedAddr string
	addr       string
	refusals   int32
	dials      atomic.Int32
}

func (d *refusingDialer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	target := d.addr
	if d.dials.Add(1) <= d.refusals {
		target = d.closedAddr
	}
	var dialer net.Dialer
	return dialer.DialContext(ctx, network, target)
}

// closedPort returns a 127.0.0.1 address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func TestChatStreamRetryConnectionRefused(t *testing.T) {
	tests := []struct {
		name      string
		refusals  int32
		wantDials int32
		wantErr   bool
	}{
		{"refused once", 1, 2, false},
		{"refused twice", 2, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sseServer(t, chunk("Hel", ""), chunk("lo", "stop"), doneFrame)
			dialer := &refusingDialer{closedAddr: closedPort(t), addr: srv.Listener.Addr().String(), refusals: tt.refusals}
			transport := &http.Transport{DialContext: dialer.dial}
			t.Cleanup(transport.CloseIdleConnections)
			waits := &waitRecorder{}
			client := &Client{BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{Transport: transport}, sleep: waits.sleep}

			deltas, _, err := collectChat(t, client)

			if got := dialer.dials.Load(); got != tt.wantDials {
				t.Errorf("dials = %d, want %d", got, tt.wantDials)
			}
			checkRetryWait(t, waits.recorded(), -1)
			if tt.wantErr {
				apiErr := requireAPIError(t, err, ReasonUnreachable)
				if !strings.Contains(apiErr.Error(), "connection refused") {
					t.Errorf("Error() = %q, want it to say the connection was refused", apiErr.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if want := []string{"Hel", "lo"}; !reflect.DeepEqual(deltas, want) {
				t.Errorf("deltas = %q, want %q", deltas, want)
			}
		})
	}
}

func TestIsDialFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{"wrapped", fmt.Errorf("chat request: %w", &net.OpError{Op: "dial", Err: errors.New("network is unreachable")}), true},
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.poe.com"}}, false},
		{"dial timeout", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, false},
		{"read", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false},
		{"proxy", &net.OpError{Op: "proxyconnect", Err: errors.New("connection refused")}, false},
		{"other", errors.New("tls: failed to verify certificate"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isDialFailure(tt.err); got != tt.want {
				t.Errorf("isDialFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestChatStreamNoRetryOnHeaderTimeout(t *testing.T) {
	var requests atomic.Int32
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if requests.Add(1) == 1 {
			awaitCancel(t, r, serverSawCancel)
		}
	})
	client := newClient(srv)
	client.HeaderTimeout = 100 * time.Millisecond

	_, _, err := collectChat(t, client)

	requireAPIError(t, err, ReasonUnreachable)
	waitClosed(t, serverSawCancel, "server-side cancellation")
	if got := requests.Load(); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
}

func TestChatStreamRetryWaitCancelled(t *testing.T) {
	server, client := newScriptedServer(t, statusReply(503, "5", "busy"), streamReply(chunk("Hi", "stop"), doneFrame))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	waitStarted := false
	client.sleep = func(ctx context.Context, d time.Duration) error {
		waitStarted = true
		cancel()
		// The real wait, which must end early because ctx has ended.
		return (&Client{}).pause(ctx, d)
	}

	_, err := client.ChatStream(ctx, testKey, testChatRequest, nil)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		t.Errorf("error = %v, want no *Error on cancellation", err)
	}
	if !waitStarted {
		t.Error("the client did not wait before retrying")
	}
	if got := len(server.requests()); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
}

func TestPauseWaits(t *testing.T) {
	start := time.Now()
	if err := (&Client{}).pause(t.Context(), 20*time.Millisecond); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond {
		t.Errorf("pause returned after %v, want at least 20ms", elapsed)
	}
}

func TestBackoffRange(t *testing.T) {
	client := &Client{}
	seen := make(map[time.Duration]bool)
	for range 200 {
		d := client.backoff()
		if d < retryBackoff || d >= 2*retryBackoff {
			t.Fatalf("backoff = %v, want from %v up to %v", d, retryBackoff, 2*retryBackoff)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Error("backoff returned the same wait 200 times, want jitter")
	}
}

func TestQueriesRetry(t *testing.T) {
	tests := []struct {
		name string
		call func(*Client) error
		ok   string // the body of a successful response
	}{
		{"models", func(c *Client) error { _, err := c.Models(t.Context()); return err }, `{"object":"list","data":[{"id":"GPT-5.4"}]}`},
		{"balance", func(c *Client) error { _, err := c.Balance(t.Context(), testKey); return err }, `{"current_point_balance":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if requests.Add(1) == 1 {
					statusReply(http.StatusServiceUnavailable, "", "busy")(w)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.ok)
			})

			if err := tt.call(newClient(srv)); err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := requests.Load(); got != 2 {
				t.Errorf("server got %d requests, want 2", got)
			}
		})
	}
}

func TestRetryLogged(t *testing.T) {
	var logs bytes.Buffer
	_, client := newScriptedServer(t,
		statusReply(502, "", "backend down for "+testKey),
		streamReply(chunk("Hi", "stop"), doneFrame))
	client.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	if _, _, err := collectChat(t, client); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}

	text := logs.String()
	for _, want := range []string{`"msg":"retrying poe request"`, `"status":502`, `"wait":`, "backend down for [redacted]"} {
		if !strings.Contains(text, want) {
			t.Errorf("logs lack %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, testKey) {
		t.Errorf("logs contain the API key:\n%s", text)
	}
}
