package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/provider"
)

// lockedBuffer is a bytes.Buffer that a test can read while others write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// libraryNotification returns the frame jsonrpc2.Conn.Notify writes for
// params through a Stream.
func libraryNotification(t *testing.T, method string, params any) string {
	t.Helper()
	input, closeInput := io.Pipe()
	var out lockedBuffer
	conn := jsonrpc2.NewConn(context.Background(), NewStream(input, &out, input, 0, nil),
		jsonrpc2.HandlerWithError(func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request) (any, error) { return nil, nil }),
		jsonrpc2.SetLogger(log.New(io.Discard, "", 0)))
	defer conn.Close()
	defer closeInput.Close()

	if err := conn.Notify(context.Background(), method, params); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWriteNotificationBytes(t *testing.T) {
	data := json.RawMessage(`{"reason":"rate_limited", "retryAfter": 3}`)
	cases := []struct {
		name  string
		event streamEvent
	}{
		{"plain delta", streamEvent{StreamID: "chat-1", Seq: 0, Delta: "Hello"}},
		{"html characters", streamEvent{StreamID: "<b>&", Seq: 1, Delta: `<a href="x">&amp;</a>`}},
		{"control characters", streamEvent{StreamID: "c", Seq: 2, Delta: "\x00\x01\x1f\b\f\n\r\t\\\"\x7f"}},
		{"invalid utf-8", streamEvent{StreamID: "c", Seq: 3, Delta: "a\xffb\xc3"}},
		{"line separators", streamEvent{StreamID: "c", Seq: 4, Delta: "\u2028\u2029 é 🙂"}},
		{"done with usage", streamEvent{StreamID: "c", Seq: 5, Done: true, FinishReason: "stop", Usage: &provider.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}}},
		{"done with error", streamEvent{StreamID: "c", Seq: 6, Done: true, Error: &jsonrpc2.Error{Code: 1020, Message: "Poe is <busy>", Data: &data}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := libraryNotification(t, "chat/stream", tc.event)

			var out bytes.Buffer
			s := NewStream(strings.NewReader(""), &out, nil, 0, nil)
			if err := s.writeNotification("chat/stream", tc.event); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != want {
				t.Fatalf("frame differs from jsonrpc2's:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestWriteNotificationAfterClose(t *testing.T) {
	var out bytes.Buffer
	s := NewStream(strings.NewReader(""), &out, nil, 0, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	err := s.writeNotification("chat/stream", streamEvent{StreamID: "c"})
	if !errors.Is(err, errStreamClosed) {
		t.Fatalf("err = %v, want errStreamClosed", err)
	}
	if out.Len() != 0 {
		t.Fatalf("stream wrote %q after Close, want nothing", out.String())
	}
}

// readFrames splits framed output into bodies.
func readFrames(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var bodies []string
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF && line == "" {
			return bodies, nil
		}
		if err != nil {
			return bodies, fmt.Errorf("read header: %w", err)
		}
		length, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Content-Length: ")))
		if err != nil {
			return bodies, fmt.Errorf("header line %q: %w", line, err)
		}
		if blank, _ := br.ReadString('\n'); blank != "\r\n" {
			return bodies, fmt.Errorf("header block ends with %q, want a blank line", blank)
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return bodies, fmt.Errorf("read body: %w", err)
		}
		bodies = append(bodies, string(body))
	}
}

func TestFrameWriterConcurrent(t *testing.T) {
	const senders, frames = 8, 300
	pr, pw := io.Pipe()
	fw := newFrameWriter(pw)

	var (
		got     []string
		readErr error
	)
	readDone := make(chan struct{})
	go func() {
		got, readErr = readFrames(pr)
		close(readDone)
	}()

	var wg sync.WaitGroup
	for sender := range senders {
		wg.Go(func() {
			for i := range frames {
				body := fmt.Sprintf(`{"sender":%d,"i":%d,"pad":%q}`, sender, i, strings.Repeat("x", i%50))
				if i == frames/2 {
					// One frame too large for pending, written in place.
					body = fmt.Sprintf(`{"sender":%d,"i":%d,"pad":%q}`, sender, i, strings.Repeat("y", 2*maxPending))
				}
				if err := fw.writeFrame([]byte(body)); err != nil {
					t.Errorf("sender %d frame %d: %v", sender, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	pw.Close()
	<-readDone

	if readErr != nil {
		t.Fatal(readErr)
	}
	if len(got) != senders*frames {
		t.Fatalf("read %d frames, want %d", len(got), senders*frames)
	}
	next := make([]int, senders)
	for _, body := range got {
		var f struct{ Sender, I int }
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatalf("frame %.60q is not the JSON sent: %v", body, err)
		}
		if f.I != next[f.Sender] {
			t.Fatalf("sender %d: frame %d arrived when %d was next", f.Sender, f.I, next[f.Sender])
		}
		next[f.Sender]++
	}
}

// failingWriter fails every Write after the first ok ones.
type failingWriter struct {
	ok  int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.ok == 0 {
		return 0, w.err
	}
	w.ok--
	return len(p), nil
}

func TestFrameWriterError(t *testing.T) {
	broken := errors.New("broken pipe")
	fw := newFrameWriter(&failingWriter{ok: 1, err: broken})

	if err := fw.writeFrame([]byte(`{}`)); err != nil {
		t.Fatalf("first frame: %v, want nil", err)
	}
	for i := range 2 {
		if err := fw.writeFrame([]byte(`{}`)); !errors.Is(err, broken) {
			t.Fatalf("frame %d after the failure: err = %v, want the write error", i+2, err)
		}
	}
}

func TestEncodeMessageShortcut(t *testing.T) {
	req := &jsonrpc2.Request{Method: "chat/stream", Notif: true}
	if err := req.SetParams(streamEvent{StreamID: "<c>", Delta: "a\u2028b"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		obj  any
		want bool
	}{
		{"jsonrpc2 request", req, true},
		{"jsonrpc2 response", &jsonrpc2.Response{}, true},
		{"nil jsonrpc2 pointer", (*jsonrpc2.Request)(nil), false},
		{"jsonrpc2 value", *req, false},
		{"raw message", &json.RawMessage{}, false},
		{"map", map[string]string{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromJSONRPC2(tc.obj); got != tc.want {
				t.Fatalf("fromJSONRPC2 = %v, want %v", got, tc.want)
			}
		})
	}

	got, err := encodeMessage(req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("encodeMessage = %s, want json.Marshal's %s", got, want)
	}
}
