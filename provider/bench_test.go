package provider

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkChatStreamChunk measures one chunk through Client.ChatStream: the
// idle timer, the SSE reader, decoding the chunk's JSON and the onDelta call.
// The response comes from memory, generated as it is read, so no socket is in
// the time.
func BenchmarkChatStreamChunk(b *testing.B) {
	transport := &memoryStream{}
	client := &Client{BaseURL: "http://poe.invalid/v1", HTTPClient: &http.Client{Transport: transport}}
	req := ChatRequest{Model: "m", Messages: []Message{{Role: "user", Content: "hi"}}}
	deltas := 0

	transport.chunks = b.N
	b.ReportAllocs()
	b.ResetTimer()
	result, err := client.ChatStream(context.Background(), "sk-poe-benchmark", req, func(string) { deltas++ })
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if deltas != b.N || result.FinishReason != "stop" {
		b.Fatalf("got %d deltas and finish reason %q, want %d and stop", deltas, result.FinishReason, b.N)
	}
}

// memoryStream responds to every request with a chat stream of chunks events.
type memoryStream struct {
	chunks int
}

func (t *memoryStream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(&chunkSource{left: t.chunks}),
		Request:    req,
	}, nil
}

var (
	benchChunk     = []byte(chunk(" token", ""))
	benchStreamEnd = []byte(chunk("", "stop") + usageChunk + doneFrame)
)

// chunkSource produces left chunk events, then the end of the stream, at
// most one event per Read, as a socket delivers a server's flushes.
type chunkSource struct {
	left    int
	pending []byte
	ended   bool
}

func (r *chunkSource) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		switch {
		case r.left > 0:
			r.pending = benchChunk
			r.left--
		case !r.ended:
			r.pending = benchStreamEnd
			r.ended = true
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}
