package fakepoe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// quirkMessage gives a reply of 12 deltas, so an interruption comes after 6.
const quirkMessage = "one two three four"

func quirkReply() string {
	return ReplyFor("GPT-5.4", []Message{{Role: "user", Content: quirkMessage}})
}

// streamRaw sends a streamed chat request with the given fault and returns the raw
// body and the error that ended reading it.
func streamRaw(t *testing.T, fault Fault) (string, error) {
	t.Helper()
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(fault)
	body := chatBody("GPT-5.4", quirkMessage, true, map[string]any{
		"stream_options": map[string]any{"include_usage": true},
	})

	req, err := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(string(mustJSON(t, body))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = bearer(testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	raw, err := io.ReadAll(resp.Body)
	return string(raw), err
}

// hasFinish reports whether any chunk carries a finish_reason.
func hasFinish(chunks []testChunk) bool {
	for _, c := range chunks {
		for _, choice := range c.Choices {
			if choice.FinishReason != nil {
				return true
			}
		}
	}
	return false
}

func TestStreamQuirks(t *testing.T) {
	tests := []struct {
		quirk string
		check func(t *testing.T, raw string, events []sseEvent, comments []string, chunks []testChunk)
	}{
		{StreamCRLF, func(t *testing.T, raw string, _ []sseEvent, _ []string, chunks []testChunk) {
			if strings.Count(raw, "\n") != strings.Count(raw, "\r\n") {
				t.Errorf("body has a bare LF: %q", raw)
			}
			if !strings.Contains(raw, "data: [DONE]\r\n\r\n") {
				t.Error("body lacks the CRLF [DONE] event")
			}
			if got := textOf(chunks); got != quirkReply() {
				t.Errorf("text = %q, want %q", got, quirkReply())
			}
		}},
		{StreamNoSpace, func(t *testing.T, raw string, _ []sseEvent, _ []string, chunks []testChunk) {
			if strings.Contains(raw, "data: ") {
				t.Error(`body contains "data: " with a space`)
			}
			if !strings.HasPrefix(raw, "data:{") || !strings.Contains(raw, "data:[DONE]\n\n") {
				t.Errorf("body does not use data: without a space: %.60q", raw)
			}
			if got := textOf(chunks); got != quirkReply() {
				t.Errorf("text = %q, want %q", got, quirkReply())
			}
		}},
		{StreamKeepAlive, func(t *testing.T, raw string, _ []sseEvent, comments []string, chunks []testChunk) {
			// One before the first chunk and one before each of the other 11 deltas and the finish chunk.
			if len(comments) != 13 {
				t.Errorf("got %d comments, want 13", len(comments))
			}
			if !strings.HasPrefix(raw, ": keep-alive\n\n") {
				t.Errorf("body starts %.20q, want a keep-alive comment", raw)
			}
			if got := textOf(chunks); got != quirkReply() {
				t.Errorf("text = %q, want %q", got, quirkReply())
			}
		}},
		{StreamNoDone, func(t *testing.T, raw string, _ []sseEvent, _ []string, chunks []testChunk) {
			if strings.Contains(raw, "[DONE]") {
				t.Error("body contains [DONE]")
			}
			if !strings.Contains(raw, `"finish_reason":"stop"`) {
				t.Error("body lacks the finish chunk")
			}
			if last := chunks[len(chunks)-1]; last.Usage == nil {
				t.Error("last chunk is not the usage chunk")
			}
		}},
		{StreamNoUsage, func(t *testing.T, raw string, _ []sseEvent, _ []string, _ []testChunk) {
			if strings.Contains(raw, `"usage"`) {
				t.Error("body contains usage")
			}
			if !strings.HasSuffix(raw, "data: [DONE]\n\n") {
				t.Error("body does not end with [DONE]")
			}
		}},
		{StreamHugeEvent, func(t *testing.T, raw string, events []sseEvent, _ []string, chunks []testChunk) {
			var longest int
			for _, e := range events {
				longest = max(longest, len(e.data))
			}
			if longest < HugeEventSize {
				t.Errorf("longest event = %d bytes, want at least %d", longest, HugeEventSize)
			}
			if got, want := textOf(chunks), quirkReply()+strings.Repeat("x", HugeEventSize); got != want {
				t.Errorf("text has %d bytes, want %d", len(got), len(want))
			}
		}},
		{StreamMidstreamErrorData, func(t *testing.T, raw string, events []sseEvent, _ []string, chunks []testChunk) {
			last := events[len(events)-1]
			if last.name != "" || last.data != `{"error":{"message":"The model provider returned an error.","type":"api_error","code":"internal_error"}}` {
				t.Errorf("last event = %+v, want the Shape A error as data", last)
			}
			if got := len(chunks); got != 6 {
				t.Errorf("got %d delta chunks before the error, want 6", got)
			}
			if hasFinish(chunks) || strings.Contains(raw, "[DONE]") {
				t.Error("stream finished after the error")
			}
		}},
		{StreamMidstreamErrorEvent, func(t *testing.T, raw string, events []sseEvent, _ []string, chunks []testChunk) {
			if !strings.Contains(raw, "\nevent: error\ndata: {\"error\":") {
				t.Errorf("body lacks an event: error frame: %q", raw)
			}
			if last := events[len(events)-1]; last.name != "error" {
				t.Errorf("last event name = %q, want error", last.name)
			}
			if got := len(chunks); got != 6 {
				t.Errorf("got %d delta chunks before the error, want 6", got)
			}
			if hasFinish(chunks) || strings.Contains(raw, "[DONE]") {
				t.Error("stream finished after the error")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.quirk, func(t *testing.T) {
			raw, err := streamRaw(t, Fault{Stream: tt.quirk})
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			events, comments := parseSSE(raw)
			tt.check(t, raw, events, comments, chunksOf(t, events))
		})
	}
}

func TestStreamCombinedQuirks(t *testing.T) {
	raw, err := streamRaw(t, Fault{Stream: "crlf, nospace,keepalive"})
	if err != nil {
		t.Fatalf("read body: %v", err)
	}

	if !strings.HasPrefix(raw, ": keep-alive\r\n\r\ndata:{") {
		t.Errorf("body starts %.30q, want a CRLF keep-alive and data: without a space", raw)
	}
	events, _ := parseSSE(raw)
	if got := textOf(chunksOf(t, events)); got != quirkReply() {
		t.Errorf("text = %q, want %q", got, quirkReply())
	}
}

func TestStreamErrorShapeB(t *testing.T) {
	raw, err := streamRaw(t, Fault{Stream: StreamMidstreamErrorEvent, ErrorShape: ShapeB})
	if err != nil {
		t.Fatalf("read body: %v", err)
	}

	events, _ := parseSSE(raw)
	last := events[len(events)-1]
	if last.name != "error" {
		t.Errorf("last event name = %q, want error", last.name)
	}
	want := `{"error":{"code":500,"type":"provider_error","message":"The model provider returned an error.","metadata":{}}}`
	if last.data != want {
		t.Errorf("last event data = %s, want %s", last.data, want)
	}
}

func TestStreamCut(t *testing.T) {
	raw, err := streamRaw(t, Fault{Stream: StreamCut})
	if err == nil {
		t.Fatal("reading a cut stream succeeded, want an error")
	}
	if strings.Contains(raw, `"finish_reason":"`) {
		t.Error("cut stream carries a finish_reason")
	}
	if strings.Contains(raw, "[DONE]") {
		t.Error("cut stream carries [DONE]")
	}
	events, _ := parseSSE(raw)
	if got := len(chunksOf(t, events)); got != 6 {
		t.Errorf("got %d chunks before the cut, want 6", got)
	}
}

// TestStreamBytePerWrite reads the raw HTTP/1.1 response to see the chunked framing.
func TestStreamBytePerWrite(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{Stream: StreamBytePerWrite})
	body := mustJSON(t, chatBody("GPT-5.4", "hi", true, nil))

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", testKey, len(body), body)

	reader := bufio.NewReader(conn)
	resp, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got := resp.TransferEncoding; len(got) != 1 || got[0] != "chunked" {
		t.Fatalf("Transfer-Encoding = %q, want chunked", got)
	}

	// http.ReadResponse has read only the header, so reader is at the first chunk.
	var payload strings.Builder
	var sizes []int
	for {
		sizeLine, err := reader.ReadString('\n')
		if err != nil {
			t.Fatalf("read chunk size: %v", err)
		}
		size, err := strconv.ParseInt(strings.TrimSpace(sizeLine), 16, 64)
		if err != nil {
			t.Fatalf("chunk size line %q: %v", sizeLine, err)
		}
		if size == 0 {
			break
		}
		sizes = append(sizes, int(size))
		data := make([]byte, size+2)
		if _, err := io.ReadFull(reader, data); err != nil {
			t.Fatalf("read chunk: %v", err)
		}
		payload.Write(data[:size])
	}

	for i, size := range sizes {
		if size != 1 {
			t.Fatalf("chunk %d has %d bytes, want 1", i, size)
		}
	}
	if !strings.HasSuffix(payload.String(), "data: [DONE]\n\n") {
		t.Errorf("payload ends %q, want [DONE]", payload.String()[max(0, payload.Len()-20):])
	}
	events, _ := parseSSE(payload.String())
	if got, want := textOf(chunksOf(t, events)), ReplyFor("GPT-5.4", []Message{{"user", "hi"}}); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

// openStream starts a streamed chat request and returns the response and a reader
// positioned at the start of the body.
func openStream(t *testing.T, ctx context.Context, s *Server, message string) (*http.Response, *bufio.Reader) {
	t.Helper()
	body := mustJSON(t, chatBody("GPT-5.4", message, true, nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = bearer(testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	return resp, bufio.NewReader(resp.Body)
}

// readEvent returns the next "data:" line of r.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: "); ok {
			return data
		}
	}
}

// waitClosedEarly waits for one value on s.StreamsClosedEarly. The timeout only
// bounds a failing test; a passing one returns as soon as the server records the close.
func waitClosedEarly(t *testing.T, s *Server) {
	t.Helper()
	select {
	case <-s.StreamsClosedEarly():
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not record the early close within 10s")
	}
}

func TestStreamClientDisconnect(t *testing.T) {
	s := startServer(t, Options{ChunkDelay: time.Millisecond})
	s.AddKey(testKey, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	_, reader := openStream(t, ctx, s, "/long 100000")
	for range 3 {
		readEvent(t, reader)
	}
	cancel()

	waitClosedEarly(t, s)
	if got := s.ClosedEarly(); got != 1 {
		t.Errorf("ClosedEarly = %d, want 1", got)
	}
}

func TestStreamStall(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{Stream: StreamStall})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	resp, reader := openStream(t, ctx, s, quirkMessage)
	first := readEvent(t, reader)
	if !strings.Contains(first, `"content":"Hello"`) {
		t.Errorf("first event = %q, want the first delta", first)
	}
	if line, err := reader.ReadString('\n'); err != nil || line != "\n" {
		t.Errorf("line after the first data line = %q, %v; want the blank line", line, err)
	}
	if got := reader.Buffered(); got != 0 {
		t.Errorf("%d bytes follow the first event, want none", got)
	}
	resp.Body.Close()

	waitClosedEarly(t, s)
}

func TestStreamCompleteNotCounted(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)

	do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), mustJSON(t, chatBody("GPT-5.4", "hi", true, nil)))
	s.Close()
	if got := s.ClosedEarly(); got != 0 {
		t.Errorf("ClosedEarly = %d, want 0", got)
	}
}

func TestCloseEndsStalledStream(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	s.SetFault(Fault{Stream: StreamStall})

	_, reader := openStream(t, context.Background(), s, quirkMessage)
	readEvent(t, reader)

	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s while a stream stalled")
	}

	if _, err := io.ReadAll(reader); err == nil {
		t.Error("reading the stalled stream after Close succeeded, want an error")
	}
	if got := s.ClosedEarly(); got != 0 {
		t.Errorf("ClosedEarly = %d, want 0 for a stream that Close ended", got)
	}
}
