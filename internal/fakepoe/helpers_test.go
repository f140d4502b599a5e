package fakepoe

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testKey has the shape of a Poe key: "sk-poe-" and 43 base64url characters.
const testKey = "sk-poe-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

// startServer starts a fake with opts and closes it when the test ends.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for name, values := range header {
		req.Header[name] = values
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", method, url, err)
	}
	return resp, got
}

// bearer returns the headers of an API request with key.
func bearer(key string) http.Header {
	return http.Header{
		"Authorization": {"Bearer " + key},
		"Content-Type":  {"application/json"},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// decodeObject decodes a JSON object, failing the test when body is not one.
func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	return got
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data string
}

// parseSSE splits a complete SSE body into events and comments. It accepts LF and
// CRLF line endings and "data:" with or without the space.
func parseSSE(raw string) (events []sseEvent, comments []string) {
	var current sseEvent
	var hasData bool
	for line := range strings.SplitSeq(raw, "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case line == "":
			if hasData {
				events = append(events, current)
			}
			current, hasData = sseEvent{}, false
		case strings.HasPrefix(line, ":"):
			comments = append(comments, strings.TrimPrefix(line[1:], " "))
		case strings.HasPrefix(line, "data:"):
			current.data = strings.TrimPrefix(line[len("data:"):], " ")
			hasData = true
		case strings.HasPrefix(line, "event:"):
			current.name = strings.TrimPrefix(line[len("event:"):], " ")
		}
	}
	return events, comments
}

// testChunk is the part of a chat.completion.chunk the tests read.
type testChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// chunksOf decodes every data event except "[DONE]" and error payloads.
func chunksOf(t *testing.T, events []sseEvent) []testChunk {
	t.Helper()
	var chunks []testChunk
	for _, e := range events {
		if e.data == "[DONE]" || e.name == "error" || strings.HasPrefix(e.data, `{"error"`) {
			continue
		}
		var c testChunk
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			t.Fatalf("event data %.80q is not a chunk: %v", e.data, err)
		}
		chunks = append(chunks, c)
	}
	return chunks
}

// textOf concatenates the delta contents of chunks.
func textOf(chunks []testChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		for _, choice := range c.Choices {
			if choice.Delta.Content != nil {
				b.WriteString(*choice.Delta.Content)
			}
		}
	}
	return b.String()
}

// chatBody returns a chat request body with one user message.
func chatBody(model, message string, stream bool, extra map[string]any) map[string]any {
	body := map[string]any{
		"model":    model,
		"messages": []map[string]any{{"role": "user", "content": message}},
		"stream":   stream,
	}
	for name, value := range extra {
		body[name] = value
	}
	return body
}
