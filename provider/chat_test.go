package provider

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestChatStreamSuccess(t *testing.T) {
	largeText := strings.Repeat("0123456789abcdef", 200<<10/16) // 200 KiB in one event

	tests := []struct {
		name       string
		body       string
		wantDeltas []string
		wantFinish string
		wantUsage  *Usage
	}{
		{
			name:       "done",
			body:       chunk("", "") + chunk("Hel", "") + chunk("lo", "") + chunk("", "stop") + usageChunk + doneFrame,
			wantDeltas: []string{"Hel", "lo"},
			wantFinish: "stop",
			wantUsage:  &Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12},
		},
		{
			name:       "finish without done",
			body:       chunk("Hel", "") + chunk("lo", "length"),
			wantDeltas: []string{"Hel", "lo"},
			wantFinish: "length",
		},
		{
			name:       "usage after finish",
			body:       chunk("Hi", "stop") + usageChunk,
			wantDeltas: []string{"Hi"},
			wantFinish: "stop",
			wantUsage:  &Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12},
		},
		{
			name:       "done without finish",
			body:       chunk("Hi", "") + doneFrame,
			wantDeltas: []string{"Hi"},
			wantFinish: "stop",
		},
		{
			name:       "crlf",
			body:       strings.ReplaceAll(chunk("a", "")+chunk("b", "stop")+doneFrame, "\n", "\r\n"),
			wantDeltas: []string{"a", "b"},
			wantFinish: "stop",
		},
		{
			name:       "lone cr",
			body:       strings.ReplaceAll(chunk("a", "")+chunk("b", "stop")+doneFrame, "\n", "\r"),
			wantDeltas: []string{"a", "b"},
			wantFinish: "stop",
		},
		{
			name: "comments and ignored fields",
			body: ": keep-alive\n\n" + "id: 1\nretry: 5000\n" + chunk("a", "") +
				": PROCESSING\n" + chunk("b", "stop") + ": keep-alive\n\n" + doneFrame,
			wantDeltas: []string{"a", "b"},
			wantFinish: "stop",
		},
		{
			name:       "data without space",
			body:       strings.ReplaceAll(chunk("a", "stop")+doneFrame, "data: ", "data:"),
			wantDeltas: []string{"a"},
			wantFinish: "stop",
		},
		{
			name: "multi-line data",
			body: "data: {\"choices\":[{\"delta\":\n" + "data: {\"content\":\"joined\"},\n" +
				"data: \"finish_reason\":\"stop\"}]}\n\n" + doneFrame,
			wantDeltas: []string{"joined"},
			wantFinish: "stop",
		},
		{
			name: "empty and missing choices",
			body: `data: {"object":"chat.completion.chunk","choices":[]}` + "\n\n" +
				`data: {"object":"chat.completion.chunk"}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":null},"finish_reason":null}]}` + "\n\n" +
				chunk("x", "stop") + doneFrame,
			wantDeltas: []string{"x"},
			wantFinish: "stop",
		},
		{
			name:       "other event type ignored",
			body:       "event: ping\ndata: {}\n\n" + chunk("a", "stop") + doneFrame,
			wantDeltas: []string{"a"},
			wantFinish: "stop",
		},
		{
			name:       "large event",
			body:       chunk(largeText, "stop") + doneFrame,
			wantDeltas: []string{largeText},
			wantFinish: "stop",
		},
		{
			name:       "empty data",
			body:       "data:\n\n" + chunk("a", "stop") + doneFrame,
			wantDeltas: []string{"a"},
			wantFinish: "stop",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sseServer(t, tt.body)

			gotDeltas, got, err := collectChat(t, newClient(srv))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if !reflect.DeepEqual(gotDeltas, tt.wantDeltas) {
				t.Errorf("deltas = %.80q, want %.80q", gotDeltas, tt.wantDeltas)
			}
			if got.FinishReason != tt.wantFinish {
				t.Errorf("FinishReason = %q, want %q", got.FinishReason, tt.wantFinish)
			}
			if !reflect.DeepEqual(got.Usage, tt.wantUsage) {
				t.Errorf("Usage = %+v, want %+v", got.Usage, tt.wantUsage)
			}
		})
	}
}

func TestChatStreamRequestBody(t *testing.T) {
	temperature := 0.0
	maxTokens := 256
	request := ChatRequest{
		Model: "GPT-5.4",
		Messages: []Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Hi \"there\" ☃"},
		},
		Temperature: &temperature,
		MaxTokens:   &maxTokens,
	}
	const wantBody = `{
		"model": "GPT-5.4",
		"messages": [
			{"role": "system", "content": "Be brief."},
			{"role": "user", "content": "Hi \"there\" ☃"}
		],
		"stream": true,
		"stream_options": {"include_usage": true},
		"temperature": 0,
		"max_tokens": 256
	}`
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		checkChatRequest(t, r, wantBody)
		if got := r.Header.Get("User-Agent"); got != "poe-sidecar/test" {
			t.Errorf("User-Agent = %q, want poe-sidecar/test", got)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunk("ok", "stop")+doneFrame)
	})
	client := newClient(srv)
	client.UserAgent = "poe-sidecar/test"

	if _, err := client.ChatStream(t.Context(), testKey, request, nil); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
}

func TestChatStreamDeltaOrder(t *testing.T) {
	var body strings.Builder
	var want []string
	for i := range 300 {
		text := strconv.Itoa(i) + " "
		want = append(want, text)
		body.WriteString(chunk(text, ""))
	}
	body.WriteString(chunk("", "stop") + doneFrame)
	srv := sseServer(t, body.String())

	got, _, err := collectChat(t, newClient(srv))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deltas out of order:\n got %q\nwant %q", got, want)
	}
}

func TestChatStreamSplitUTF8(t *testing.T) {
	const text = "héllo wörld, 世界 🎉"
	frames := []string{}
	for _, b := range []byte(chunk(text, "") + chunk("✓", "stop") + doneFrame) {
		frames = append(frames, string([]byte{b}))
	}
	srv := sseServer(t, frames...)

	got, _, err := collectChat(t, newClient(srv))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if want := []string{text, "✓"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deltas = %q, want %q", got, want)
	}
}

func TestChatStreamJSONBody(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantDeltas []string
		wantFinish string
		wantUsage  *Usage
		wantReason Reason
	}{
		{
			name: "completion",
			body: `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},` +
				`"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
			wantDeltas: []string{"whole answer"},
			wantFinish: "stop",
			wantUsage:  &Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
		},
		{
			name:       "error",
			body:       `{"error":{"code":402,"type":"insufficient_credits","message":"Not enough points"}}`,
			wantReason: ReasonInsufficientPoints,
		},
		{
			name:       "no choices",
			body:       `{"object":"list"}`,
			wantReason: ReasonMalformed,
		},
		{
			name:       "invalid",
			body:       `{"choices":`,
			wantReason: ReasonMalformed,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				checkChatRequest(t, r, defaultChatBody)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			})

			gotDeltas, got, err := collectChat(t, newClient(srv))
			if tt.wantReason != "" {
				apiErr := requireAPIError(t, err, tt.wantReason)
				if apiErr.Status != http.StatusOK {
					t.Errorf("Status = %d, want 200", apiErr.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if !reflect.DeepEqual(gotDeltas, tt.wantDeltas) {
				t.Errorf("deltas = %q, want %q", gotDeltas, tt.wantDeltas)
			}
			if got.FinishReason != tt.wantFinish {
				t.Errorf("FinishReason = %q, want %q", got.FinishReason, tt.wantFinish)
			}
			if !reflect.DeepEqual(got.Usage, tt.wantUsage) {
				t.Errorf("Usage = %+v, want %+v", got.Usage, tt.wantUsage)
			}
		})
	}
}

func TestChatStreamHTMLWith200(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Sign in to the Wi-Fi</body></html>")
	})

	_, _, err := collectChat(t, newClient(srv))

	apiErr := requireAPIError(t, err, ReasonMalformed)
	if strings.Contains(apiErr.Error(), "<html") {
		t.Errorf("message contains the HTML page: %v", apiErr)
	}
	if !strings.Contains(apiErr.Error(), `"text/html; charset=utf-8"`) {
		t.Errorf("message does not name the Content-Type: %v", apiErr)
	}
}

func TestChatStreamLogsNoKey(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var calls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, chunk("hi", "stop")+doneFrame)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Invalid API key `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
	})
	client := newClient(srv)
	client.Logger = logger

	if _, _, err := collectChat(t, client); err != nil {
		t.Fatalf("first ChatStream: %v", err)
	}
	_, _, err := collectChat(t, client)
	apiErr := requireAPIError(t, err, ReasonUnauthorized)

	if strings.Contains(logs.String(), testKey) {
		t.Errorf("logs contain the API key:\n%s", logs.String())
	}
	if !strings.Contains(apiErr.Message, "[redacted]") {
		t.Errorf("Message = %q, want the key replaced by [redacted]", apiErr.Message)
	}
	for _, want := range []string{`"msg":"poe response"`, `"status":200`, `"status":401`, `"duration"`, `"msg":"poe chat stream finished"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}

	var record map[string]any
	firstLine, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(firstLine), &record); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if got, want := record["url"], srv.URL+"/v1/chat/completions"; got != want {
		t.Errorf("logged url = %v, want %v", got, want)
	}
}
