package provider

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// These tests run the client against upstream faults: untrusted TLS, HTML error pages,
// a 20 MiB line, and the fake Poe's wire quirks and failures.

func TestChatStreamTLSUntrusted(t *testing.T) {
	var handled, connections atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		handled.Add(1)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			connections.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	transport := &http.Transport{} // trusts the system roots, not the test certificate
	t.Cleanup(transport.CloseIdleConnections)
	client := &Client{BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{Transport: transport}, sleep: skipWait}

	deltas, _, err := collectChat(t, client)

	apiErr := requireAPIError(t, err, ReasonUnreachable)
	if apiErr.Status != 0 {
		t.Errorf("Status = %d, want 0", apiErr.Status)
	}
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		t.Errorf("error = %v, want a *tls.CertificateVerificationError as its cause", err)
	}
	text := apiErr.Error()
	for _, want := range []string{"could not reach Poe at " + srv.Listener.Addr().String(), "certificate", "trusted certificates"} {
		if !strings.Contains(text, want) {
			t.Errorf("Error() = %q, want %q in it", text, want)
		}
	}
	if len(deltas) != 0 {
		t.Errorf("deltas = %q, want none", deltas)
	}
	if got := handled.Load(); got != 0 {
		t.Errorf("the server handled %d requests, want none over an untrusted connection", got)
	}
	if got := connections.Load(); got != 1 {
		t.Errorf("the client opened %d connections, want 1: a TLS failure is not retried", got)
	}
}

func TestChatStreamHTMLErrorPages(t *testing.T) {
	tests := []struct {
		status     int
		wantReason Reason
	}{
		{401, ReasonUnauthorized},
		{402, ReasonInsufficientPoints},
		{403, ReasonForbidden},
		{404, ReasonBadRequest},
		{408, ReasonServerError},
		{413, ReasonBadRequest},
		{429, ReasonRateLimited},
		{500, ReasonServerError},
		{502, ReasonServerError},
		{503, ReasonServerError},
		{520, ReasonServerError},
		{529, ReasonServerError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			page := fmt.Sprintf("<!DOCTYPE html><html><head><title>%d</title><script>alert(1)</script></head><body>Error</body></html>", tt.status)
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=UTF-8")
				w.WriteHeader(tt.status)
				io.WriteString(w, page)
			})

			_, _, err := collectChat(t, newClient(srv))

			apiErr := requireAPIError(t, err, tt.wantReason)
			if apiErr.Status != tt.status {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.status)
			}
			if apiErr.Message != "" || apiErr.Type != "" || apiErr.Code != "" {
				t.Errorf("Message, Type, Code = %q, %q, %q, want all empty", apiErr.Message, apiErr.Type, apiErr.Code)
			}
			if !errors.Is(err, errNonJSONBody) {
				t.Errorf("error = %v, want errNonJSONBody as its cause", err)
			}
			if text := apiErr.Error(); strings.ContainsAny(text, "<>") || !strings.Contains(text, fmt.Sprintf("HTTP %d", tt.status)) {
				t.Errorf("Error() = %q, want the status and no HTML", text)
			}
		})
	}
}

func TestChatStreamTwentyMiBLine(t *testing.T) {
	huge := strings.Repeat("0123456789abcdef", 20<<20/16)
	frame := chunk(huge, "")
	if len(frame) < 20<<20 {
		t.Fatalf("frame has %d bytes, want at least 20 MiB", len(frame))
	}
	// The line arrives in 1 MiB writes, so the reader must grow its buffer many times.
	var writes []string
	for rest := frame; rest != ""; {
		n := min(len(rest), 1<<20)
		writes = append(writes, rest[:n])
		rest = rest[n:]
	}
	writes = append(writes, chunk(" tail", "stop"), doneFrame)
	srv := sseServer(t, writes...)

	deltas, result, err := collectChat(t, newClient(srv))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if len(deltas) != 2 {
		t.Fatalf("got %d deltas, want 2", len(deltas))
	}
	if deltas[0] != huge {
		t.Errorf("first delta has %d bytes, want the whole %d-byte text", len(deltas[0]), len(huge))
	}
	if deltas[1] != " tail" {
		t.Errorf("second delta = %q, want %q", deltas[1], " tail")
	}
	if result.FinishReason != "stop" {
		t.Errorf("FinishReason = %q, want stop", result.FinishReason)
	}
}

// startFake starts the fake Poe with testKey registered, closed when the test ends.
func startFake(t *testing.T, opts fakepoe.Options) *fakepoe.Server {
	t.Helper()
	fake, err := fakepoe.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.AddKey(testKey, 1000)
	return fake
}

// fakeClient returns a client of fake with its own connection pool, closed when the
// test ends, that retries without waiting.
func fakeClient(t *testing.T, fake *fakepoe.Server) *Client {
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &Client{BaseURL: fake.BaseURL(), HTTPClient: &http.Client{Transport: transport}, sleep: skipWait}
}

func chatRequestFor(text string) ChatRequest {
	return ChatRequest{Model: "GPT-5.4", Messages: []Message{{Role: "user", Content: text}}}
}

// TestChatStreamExactText checks that wire quirks that Poe or a proxy may produce
// change nothing in the pieces of text the caller receives.
func TestChatStreamExactText(t *testing.T) {
	const message = "héllo wörld, 世界 🎉 done"
	tests := []struct {
		name  string
		fault fakepoe.Fault
		idle  time.Duration // 0: the default
	}{
		{"byte per write", fakepoe.Fault{Stream: fakepoe.StreamBytePerWrite}, 0},
		{"crlf", fakepoe.Fault{Stream: fakepoe.StreamCRLF}, 0},
		{"no space", fakepoe.Fault{Stream: fakepoe.StreamNoSpace}, 0},
		{"keep-alive", fakepoe.Fault{Stream: fakepoe.StreamKeepAlive}, 0},
		{"no done", fakepoe.Fault{Stream: fakepoe.StreamNoDone}, 0},
		// Comments every 150ms over 1.5s keep a stream with a 1s idle timeout alive. The
		// wide margin keeps a loaded machine from turning a late comment into a stall.
		{"keep-alive longer than idle timeout", fakepoe.Fault{KeepAliveGapMillis: 1500}, time.Second},
		{"all at once", fakepoe.Fault{Stream: "byte_per_write,crlf,keepalive,nospace", KeepAliveGapMillis: 1500}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t, fakepoe.Options{})
			fake.SetFault(tt.fault)
			client := fakeClient(t, fake)
			client.IdleTimeout = tt.idle

			var deltas []string
			result, err := client.ChatStream(t.Context(), testKey, chatRequestFor(message), func(text string) {
				deltas = append(deltas, text)
			})
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}

			want := fakepoe.ReplyDeltas("GPT-5.4", []fakepoe.Message{{Role: "user", Content: message}})
			if !slices.Equal(deltas, want) {
				t.Errorf("deltas = %q, want %q", deltas, want)
			}
			if result.FinishReason != "stop" {
				t.Errorf("FinishReason = %q, want stop", result.FinishReason)
			}
		})
	}
}

// TestChatStreamFaultThenRecovers runs each upstream fault and then a normal request
// with the same client: the fault gives its Reason, the text that reached the caller
// is a prefix of the reply with no piece twice, and the next request succeeds.
func TestChatStreamFaultThenRecovers(t *testing.T) {
	tests := []struct {
		name       string
		fault      fakepoe.Fault
		wantReason Reason
		wantStatus int
		wantText   bool // whether some text reaches the caller before the error
	}{
		{name: "401", fault: fakepoe.Fault{ChatStatus: 401}, wantReason: ReasonUnauthorized, wantStatus: 401},
		{name: "402", fault: fakepoe.Fault{ChatStatus: 402}, wantReason: ReasonInsufficientPoints, wantStatus: 402},
		{name: "403", fault: fakepoe.Fault{ChatStatus: 403, ErrorShape: fakepoe.ShapeB}, wantReason: ReasonForbidden, wantStatus: 403},
		{name: "404", fault: fakepoe.Fault{ChatStatus: 404}, wantReason: ReasonBadRequest, wantStatus: 404},
		{name: "408", fault: fakepoe.Fault{ChatStatus: 408, ErrorShape: fakepoe.ShapeB}, wantReason: ReasonServerError, wantStatus: 408},
		{name: "413", fault: fakepoe.Fault{ChatStatus: 413}, wantReason: ReasonBadRequest, wantStatus: 413},
		{name: "429", fault: fakepoe.Fault{ChatStatus: 429}, wantReason: ReasonRateLimited, wantStatus: 429},
		{name: "429 Retry-After", fault: fakepoe.Fault{ChatStatus: 429, RetryAfter: "60"}, wantReason: ReasonRateLimited, wantStatus: 429},
		{name: "500", fault: fakepoe.Fault{ChatStatus: 500, ErrorShape: fakepoe.ShapeB}, wantReason: ReasonServerError, wantStatus: 500},
		{name: "502", fault: fakepoe.Fault{ChatStatus: 502}, wantReason: ReasonServerError, wantStatus: 502},
		{name: "529", fault: fakepoe.Fault{ChatStatus: 529, ErrorShape: fakepoe.ShapeB}, wantReason: ReasonServerError, wantStatus: 529},
		{name: "HTML page", fault: fakepoe.Fault{ChatStatus: 502, ErrorShape: fakepoe.ShapeHTML}, wantReason: ReasonServerError, wantStatus: 502},
		{name: "no headers", fault: fakepoe.Fault{Stream: fakepoe.StreamNoHeaders}, wantReason: ReasonUnreachable},
		{name: "stall", fault: fakepoe.Fault{Stream: fakepoe.StreamStall}, wantReason: ReasonStalled, wantStatus: 200, wantText: true},
		{name: "mid-stream data", fault: fakepoe.Fault{Stream: fakepoe.StreamMidstreamErrorData}, wantReason: ReasonServerError, wantStatus: 200, wantText: true},
		{name: "mid-stream event", fault: fakepoe.Fault{Stream: fakepoe.StreamMidstreamErrorEvent, ErrorShape: fakepoe.ShapeB}, wantReason: ReasonServerError, wantStatus: 200, wantText: true},
		{name: "cut", fault: fakepoe.Fault{Stream: fakepoe.StreamCut}, wantReason: ReasonMalformed, wantStatus: 200, wantText: true},
	}

	const message = "one two three four five six"
	want := fakepoe.ReplyFor("GPT-5.4", []fakepoe.Message{{Role: "user", Content: message}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t, fakepoe.Options{})
			client := fakeClient(t, fake)
			client.IdleTimeout = 500 * time.Millisecond
			client.HeaderTimeout = 500 * time.Millisecond
			fake.SetFault(tt.fault)

			var deltas []string
			_, err := client.ChatStream(t.Context(), testKey, chatRequestFor(message), func(text string) {
				deltas = append(deltas, text)
			})

			apiErr := requireAPIError(t, err, tt.wantReason)
			if apiErr.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.wantStatus)
			}
			got := strings.Join(deltas, "")
			if !strings.HasPrefix(want, got) {
				t.Errorf("text before the error = %q, want a prefix of %q", got, want)
			}
			if tt.wantText && got == "" {
				t.Error("no text reached the caller before the error")
			}
			if !tt.wantText && got != "" {
				t.Errorf("text before the error = %q, want none", got)
			}

			fake.SetFault(fakepoe.Fault{})
			deltas = nil
			if _, err := client.ChatStream(t.Context(), testKey, chatRequestFor(message), func(text string) {
				deltas = append(deltas, text)
			}); err != nil {
				t.Fatalf("ChatStream after the fault: %v", err)
			}
			if got := strings.Join(deltas, ""); got != want {
				t.Errorf("text after the fault = %q, want %q", got, want)
			}
		})
	}
}
