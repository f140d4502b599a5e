package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testKey has the shape of a Poe API key; tests check that it never leaks.
const testKey = "sk-poe-Test_0123456789abcdefghijklmnopqrstuvwxyz"

// defaultChatBody is the body ChatStream must send for testChatRequest.
const defaultChatBody = `{
	"model": "Claude-Sonnet-4.6",
	"messages": [{"role": "user", "content": "Hi"}],
	"stream": true,
	"stream_options": {"include_usage": true}
}`

var testChatRequest = ChatRequest{
	Model:    "Claude-Sonnet-4.6",
	Messages: []Message{{Role: "user", Content: "Hi"}},
}

// newServer starts an httptest server on 127.0.0.1 that is closed when the test ends.
func newServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a client of srv that retries without waiting.
func newClient(srv *httptest.Server) *Client {
	return &Client{BaseURL: srv.URL + "/v1", HTTPClient: srv.Client(), sleep: skipWait}
}

// skipWait replaces the wait before a retry, so that tests do not sleep.
func skipWait(ctx context.Context, _ time.Duration) error {
	return ctx.Err()
}

// checkChatRequest reports every way r differs from the chat request ChatStream must
// send with wantBody as its JSON body.
func checkChatRequest(t *testing.T, r *http.Request, wantBody string) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %q, want POST", r.Method)
	}
	if r.URL.Path != "/v1/chat/completions" {
		t.Errorf("path = %q, want /v1/chat/completions", r.URL.Path)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+testKey; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := r.Header.Get("Accept"); got != "text/event-stream" {
		t.Errorf("Accept = %q, want text/event-stream", got)
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request body: %v", err)
		return
	}
	checkJSONEqual(t, "request body", body, wantBody)
}

// checkJSONEqual reports when got and want are not the same JSON value.
func checkJSONEqual(t *testing.T, label string, got []byte, want string) {
	t.Helper()
	var gotValue, wantValue any
	if err := json.Unmarshal(got, &gotValue); err != nil {
		t.Errorf("%s is not JSON: %v\n%s", label, err, got)
		return
	}
	if err := json.Unmarshal([]byte(want), &wantValue); err != nil {
		t.Fatalf("want %s is not JSON: %v", label, err)
	}
	if !reflect.DeepEqual(gotValue, wantValue) {
		t.Errorf("%s:\n got %s\nwant %s", label, got, want)
	}
}

// sseServer returns a server that checks the chat request and then writes each frame as
// a text/event-stream body, flushing after each one.
func sseServer(t *testing.T, frames ...string) *httptest.Server {
	t.Helper()
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		checkChatRequest(t, r, defaultChatBody)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, frame := range frames {
			io.WriteString(w, frame)
			w.(http.Flusher).Flush()
		}
	})
}

// collectChat runs ChatStream with testChatRequest and returns the deltas it received.
func collectChat(t *testing.T, client *Client) ([]string, ChatResult, error) {
	t.Helper()
	var deltas []string
	result, err := client.ChatStream(t.Context(), testKey, testChatRequest, func(text string) {
		deltas = append(deltas, text)
	})
	return deltas, result, err
}

// requireAPIError fails the test unless err is an *Error with the wanted Reason, and
// checks that its message does not contain the API key.
func requireAPIError(t *testing.T, err error, want Reason) *Error {
	t.Helper()
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want *Error with Reason %q", err, err, want)
	}
	if apiErr.Reason != want {
		t.Fatalf("Reason = %q, want %q (error: %v)", apiErr.Reason, want, err)
	}
	if strings.Contains(apiErr.Error(), testKey) {
		t.Errorf("error message contains the API key: %v", apiErr)
	}
	return apiErr
}

// chunk returns an SSE frame carrying a chat.completion.chunk with the given content
// and finish_reason ("" sends null).
func chunk(content, finishReason string) string {
	finish := "null"
	if finishReason != "" {
		finish = `"` + finishReason + `"`
	}
	data, _ := json.Marshal(content)
	return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Claude-Sonnet-4.6",` +
		`"choices":[{"index":0,"delta":{"role":"assistant","content":` + string(data) + `},"finish_reason":` + finish + `}]}` + "\n\n"
}

const usageChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],` +
	`"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}` + "\n\n"

const doneFrame = "data: [DONE]\n\n"
