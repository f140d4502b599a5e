package fakepoe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestChatStatusCount(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{ChatStatus: http.StatusBadGateway, ChatStatusCount: 2})
	body := mustJSON(t, chatBody("GPT-5.4", "hi", false, nil))

	var got []int
	for range 4 {
		resp, _ := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), body)
		got = append(got, resp.StatusCode)
	}

	want := []int{502, 502, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statuses = %v, want %v", got, want)
			break
		}
	}
}

func TestChatStatusCountZeroMeansEvery(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{ChatStatus: http.StatusTooManyRequests})
	body := mustJSON(t, chatBody("GPT-5.4", "hi", false, nil))

	for i := range 3 {
		resp, _ := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), body)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("request %d: status = %d, want 429", i, resp.StatusCode)
		}
	}
}

func TestHTMLErrorShape(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{ChatStatus: 529, ModelsStatus: 502, BalanceStatus: 503, ErrorShape: ShapeHTML, RetryAfter: "3"})

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{"chat", http.MethodPost, "/v1/chat/completions", 529},
		{"models", http.MethodGet, "/v1/models", 502},
		{"balance", http.MethodGet, "/usage/current_balance", 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.method == http.MethodPost {
				body = mustJSON(t, chatBody("GPT-5.4", "hi", true, nil))
			}
			resp, got := do(t, tt.method, s.URL()+tt.path, bearer(testKey), body)

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			if ra := resp.Header.Get("Retry-After"); ra != "3" {
				t.Errorf("Retry-After = %q, want 3", ra)
			}
			if !strings.HasPrefix(string(got), "<!DOCTYPE html>") {
				t.Errorf("body = %.60q, want an HTML page", got)
			}
		})
	}
}

func TestHTMLShapeMidstreamUsesShapeA(t *testing.T) {
	raw, err := streamRaw(t, Fault{Stream: StreamMidstreamErrorData, ErrorShape: ShapeHTML})
	if err != nil {
		t.Fatalf("read body: %v", err)
	}

	events, _ := parseSSE(raw)
	last := events[len(events)-1]
	if !strings.HasPrefix(last.data, `{"error":{"message":`) {
		t.Errorf("last event data = %s, want a Shape A error", last.data)
	}
}

func TestStreamNoHeaders(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{Stream: StreamNoHeaders})
	body := mustJSON(t, chatBody("GPT-5.4", "hi", true, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = bearer(testKey)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want no response", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the client's deadline", err)
	}

	waitClosedEarly(t, s)
}

func TestCloseEndsNoHeadersStream(t *testing.T) {
	arrived := make(chan struct{}, 1)
	s := startServer(t, Options{Logger: slog.New(requestSignal{arrived})})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{Stream: StreamNoHeaders})
	body := mustJSON(t, chatBody("GPT-5.4", "hi", true, nil))

	sent := make(chan error, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(string(body)))
		if err != nil {
			sent <- err
			return
		}
		req.Header = bearer(testKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the chat request did not arrive within 10s")
	}
	s.Close()

	select {
	case err := <-sent:
		if err == nil {
			t.Error("request got a response, want the connection closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not end within 10s of Close")
	}
	if got := s.ClosedEarly(); got != 0 {
		t.Errorf("ClosedEarly = %d, want 0 for a request that Close ended", got)
	}
}

func TestStreamHugeEventSize(t *testing.T) {
	const size = 3 << 20
	raw, err := streamRaw(t, Fault{Stream: StreamHugeEvent, HugeEventSize: size})
	if err != nil {
		t.Fatalf("read body: %v", err)
	}

	events, _ := parseSSE(raw)
	if got, want := textOf(chunksOf(t, events)), quirkReply()+strings.Repeat("x", size); got != want {
		t.Errorf("text has %d bytes, want %d", len(got), len(want))
	}
}

func TestStreamKeepAliveGap(t *testing.T) {
	start := time.Now()
	raw, err := streamRaw(t, Fault{KeepAliveGapMillis: 300})
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	elapsed := time.Since(start)

	events, comments := parseSSE(raw)
	if got := textOf(chunksOf(t, events)); got != quirkReply() {
		t.Errorf("text = %q, want %q", got, quirkReply())
	}
	// A tick every 30ms over 300ms; a loaded machine may drop a few ticks.
	if len(comments) < 5 || len(comments) > 10 {
		t.Errorf("got %d keep-alive comments, want about 10", len(comments))
	}
	if elapsed < 300*time.Millisecond {
		t.Errorf("stream took %v, want at least the 300ms gap", elapsed)
	}

	// The comments come between the second-to-last and the last delta.
	lastDelta := strings.LastIndex(raw, `"content":" four"`)
	firstComment := strings.Index(raw, ": keep-alive")
	if firstComment < 0 || lastDelta < firstComment {
		t.Errorf("keep-alive comments at %d, last delta at %d; want the comments before the last delta", firstComment, lastDelta)
	}
}

func TestFaultValidateNewFields(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		wantErr string
	}{
		{"valid", Fault{ChatStatus: 502, ChatStatusCount: 1, ErrorShape: ShapeHTML, Stream: "huge_event,no_headers",
			HugeEventSize: 20 << 20, KeepAliveGapMillis: 500}, ""},
		{"negative count", Fault{ChatStatusCount: -1}, "invalid ChatStatusCount -1"},
		{"huge event too large", Fault{HugeEventSize: 65 << 20}, "invalid HugeEventSize"},
		{"negative huge event", Fault{HugeEventSize: -1}, "invalid HugeEventSize -1"},
		{"negative gap", Fault{KeepAliveGapMillis: -5}, "invalid KeepAliveGapMillis -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fault.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// requestSignal is a slog.Handler that sends on arrived when the server logs a request.
type requestSignal struct {
	arrived chan<- struct{}
}

func (h requestSignal) Enabled(context.Context, slog.Level) bool { return true }

func (h requestSignal) Handle(_ context.Context, record slog.Record) error {
	if record.Message == "fake Poe request" {
		select {
		case h.arrived <- struct{}{}:
		default:
		}
	}
	return nil
}

func (h requestSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h requestSignal) WithGroup(string) slog.Handler      { return h }
