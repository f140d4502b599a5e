package rpc

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sourcegraph/jsonrpc2"
)

// Benchmarks of the hot paths of a chat stream. Run them with
//
//	go test -run '^$' -bench . -benchmem ./rpc
//
// bench/README.md describes them with the end-to-end benchmark.

var streamEventForBench = streamEvent{StreamID: "chat-1", Seq: 41, Delta: " token"}

// BenchmarkFrameWriteObject measures Stream.WriteObject for one chat/stream
// notification, as jsonrpc2 hands it over: encoding and framing only.
func BenchmarkFrameWriteObject(b *testing.B) {
	s := NewStream(strings.NewReader(""), io.Discard, nil, 0, nil)
	req := &jsonrpc2.Request{Method: "chat/stream", Notif: true}
	if err := req.SetParams(streamEventForBench); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.WriteObject(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameNotify measures one chat/stream notification from
// jsonrpc2.Conn.Notify to the bytes written, which is what the relay pays per
// chunk on the sending side.
func BenchmarkFrameNotify(b *testing.B) {
	input, closeInput := io.Pipe()
	defer closeInput.Close()
	s := NewStream(input, io.Discard, input, 0, nil)
	conn := jsonrpc2.NewConn(context.Background(), s, jsonrpc2.HandlerWithError(func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request) (any, error) {
		return nil, nil
	}), jsonrpc2.SetLogger(log.New(io.Discard, "", 0)))
	defer conn.Close()

	b.ReportAllocs()
	for b.Loop() {
		if err := conn.Notify(context.Background(), "chat/stream", streamEventForBench); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameNotification measures the direct path that Server takes
// for chat/stream when Config.Stream is set: the same bytes as
// BenchmarkFrameNotify.
func BenchmarkFrameNotification(b *testing.B) {
	s := NewStream(strings.NewReader(""), io.Discard, nil, 0, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.writeNotification("chat/stream", streamEventForBench); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameRead measures reading and checking one incoming frame.
func BenchmarkFrameRead(b *testing.B) {
	body := `{"jsonrpc":"2.0","id":7,"method":"chat/cancel","params":{"streamId":"chat-1"}}`
	frame := []byte("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	input := &repeatReader{data: frame}
	s := NewStream(input, io.Discard, nil, 0, nil)
	b.ReportAllocs()
	for b.Loop() {
		var m rawMessage
		if err := s.ReadObject(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// repeatReader returns data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// BenchmarkRelayChunk measures one chunk through the whole sidecar: a
// Server relays b.N chunks of a chat stream from an in-memory Poe response to
// a Stream that discards its output. Each op is one chunk: reading the event,
// decoding the chunk, keeping its text and sending its notification. The
// final chat/send result, with all the text, is in the time too. "direct" is
// the Server with Config.Stream set, "jsonrpc2" without.
func BenchmarkRelayChunk(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchmarkRelayChunk(b, true) })
	b.Run("jsonrpc2", func(b *testing.B) { benchmarkRelayChunk(b, false) })
}

func benchmarkRelayChunk(b *testing.B, direct bool) {
	input, feed := io.Pipe()
	output := &responseWatcher{id: []byte(`"id":2,`), seen: make(chan struct{})}
	stream := NewStream(input, output, input, 0, nil)
	transport := &chunkTransport{}
	cfg := Config{
		CredentialPath: b.TempDir() + "/auth.json",
		Getenv: func(name string) string {
			switch name {
			case "POE_API_KEY":
				return "sk-poe-benchmarkbenchmarkbenchmarkbenchmark00"
			case "POE_BASE_URL":
				return "http://poe.invalid/v1"
			}
			return ""
		},
		HTTPClient: &http.Client{Transport: transport},
	}
	if direct {
		cfg.Stream = stream
	}
	server := NewServer(cfg)
	defer server.Close()
	conn := jsonrpc2.NewConn(context.Background(), stream, server)
	defer conn.Close()
	defer feed.Close()

	send := func(body string) {
		if _, err := io.WriteString(feed, "Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
			b.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)

	transport.chunks = b.N
	b.ReportAllocs()
	b.ResetTimer()
	send(`{"jsonrpc":"2.0","id":2,"method":"chat/send","params":{"streamId":"s","model":"m","messages":[{"role":"user","content":"hi"}]}}`)
	<-output.seen
	b.StopTimer()
}

// chunkTransport responds to every request with a chat stream of chunks events,
// each with the delta " token", generated as the body is read.
type chunkTransport struct {
	chunks int
}

func (t *chunkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(&chunkReader{left: t.chunks}),
		Request:    req,
	}, nil
}

type chunkReader struct {
	left    int
	pending []byte
	ended   bool
}

var benchChunkEvent = []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}` + "\n\n")

var benchStreamEnd = []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" + "data: [DONE]\n\n")

// Read returns at most a few events at a time, as a socket would.
func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		switch {
		case r.left > 0:
			r.pending = benchChunkEvent
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

// responseWatcher discards what is written and closes seen at the first
// write that contains id, the start of the awaited response.
type responseWatcher struct {
	id   []byte
	seen chan struct{}
	once sync.Once
}

func (w *responseWatcher) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.id) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
