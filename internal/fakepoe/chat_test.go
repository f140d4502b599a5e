package fakepoe

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestChatStream(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	body := chatBody("Claude-Sonnet-4.6", "How are you?", true, map[string]any{
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
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", got)
	}

	// Read the stream the simple way: "data: " lines, one JSON chunk each.
	var chunks []testChunk
	var lines []string
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		lines = append(lines, line)
		payload, ok := strings.CutPrefix(line, "data: ")
		if !ok || payload == "[DONE]" {
			continue
		}
		var c testChunk
		if err := json.Unmarshal([]byte(payload), &c); err != nil {
			t.Fatalf("chunk %q: %v", payload, err)
		}
		chunks = append(chunks, c)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read stream: %v", err)
	}

	messages := []Message{{Role: "user", Content: "How are you?"}}
	deltas := ReplyDeltas("Claude-Sonnet-4.6", messages)
	if got, want := textOf(chunks), ReplyFor("Claude-Sonnet-4.6", messages); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	// One chunk per delta, then the finish chunk and the usage chunk.
	if len(chunks) != len(deltas)+2 {
		t.Fatalf("got %d chunks, want %d", len(chunks), len(deltas)+2)
	}
	for i, c := range chunks {
		if c.Object != "chat.completion.chunk" || c.Model != "Claude-Sonnet-4.6" || c.ID != chunks[0].ID {
			t.Errorf("chunk %d: object %q model %q id %q", i, c.Object, c.Model, c.ID)
		}
	}
	if got := chunks[0].Choices[0].Delta.Role; got != "assistant" {
		t.Errorf("first delta role = %q, want assistant", got)
	}
	for i, c := range chunks[:len(deltas)] {
		if c.Choices[0].FinishReason != nil {
			t.Errorf("chunk %d finish_reason = %q, want null", i, *c.Choices[0].FinishReason)
		}
	}

	finish := chunks[len(deltas)]
	if fr := finish.Choices[0].FinishReason; fr == nil || *fr != "stop" {
		t.Errorf("finish chunk finish_reason = %v, want stop", fr)
	}
	usageChunk := chunks[len(deltas)+1]
	if len(usageChunk.Choices) != 0 {
		t.Errorf("usage chunk has %d choices, want 0", len(usageChunk.Choices))
	}
	if u := usageChunk.Usage; u == nil || u.PromptTokens != 3 || u.CompletionTokens != len(deltas) || u.TotalTokens != 3+len(deltas) {
		t.Errorf("usage = %+v, want 3 prompt and %d completion tokens", u, len(deltas))
	}
	if last := lines[len(lines)-2]; last != "data: [DONE]" {
		t.Errorf("last event line = %q, want data: [DONE]", last)
	}
	if usageLine := lines[len(lines)-4]; !strings.Contains(usageLine, `"choices":[]`) {
		t.Errorf("usage line %q does not carry \"choices\":[]", usageLine)
	}
}

func TestChatCompletion(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)

	resp, raw := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey),
		mustJSON(t, chatBody("GPT-5.4", "Say hi", false, nil)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, raw)
	}
	var got struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message      completionMessage `json:"message"`
			FinishReason string            `json:"finish_reason"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}

	want := ReplyFor("GPT-5.4", []Message{{Role: "user", Content: "Say hi"}})
	if got.Object != "chat.completion" || got.Model != "GPT-5.4" {
		t.Errorf("object %q model %q, want chat.completion GPT-5.4", got.Object, got.Model)
	}
	if len(got.Choices) != 1 {
		t.Fatalf("len(choices) = %d, want 1", len(got.Choices))
	}
	if got.Choices[0].Message != (completionMessage{Role: "assistant", Content: want}) {
		t.Errorf("message = %+v, want assistant %q", got.Choices[0].Message, want)
	}
	if got.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q, want stop", got.Choices[0].FinishReason)
	}
	if got.Usage.PromptTokens != 2 || got.Usage.TotalTokens != 2+got.Usage.CompletionTokens {
		t.Errorf("usage = %+v, want 2 prompt tokens and a matching total", got.Usage)
	}
}

func TestChatMaxTokens(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	body := chatBody("GPT-5.4", "/long 10", true, map[string]any{
		"max_tokens":     3,
		"stream_options": map[string]any{"include_usage": true},
	})

	_, raw := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), mustJSON(t, body))
	events, _ := parseSSE(string(raw))
	chunks := chunksOf(t, events)

	if got := textOf(chunks); got != "word0 word1 word2" {
		t.Errorf("text = %q, want %q", got, "word0 word1 word2")
	}
	if len(chunks) != 5 {
		t.Fatalf("got %d chunks, want 3 deltas, finish and usage", len(chunks))
	}
	if fr := chunks[3].Choices[0].FinishReason; fr == nil || *fr != "length" {
		t.Errorf("finish_reason = %v, want length", fr)
	}
	if u := chunks[4].Usage; u == nil || u.CompletionTokens != 3 {
		t.Errorf("usage = %+v, want 3 completion tokens", u)
	}
}

func TestChatLong(t *testing.T) {
	s := startServer(t, Options{ChunkDelay: time.Microsecond})
	s.AddKey(testKey, 100)

	_, raw := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey),
		mustJSON(t, chatBody("Grok-4", "/long 50", true, nil)))
	events, _ := parseSSE(string(raw))
	chunks := chunksOf(t, events)

	if len(chunks) != 51 {
		t.Errorf("got %d chunks, want 50 deltas and a finish chunk", len(chunks))
	}
	if got, want := textOf(chunks), ReplyFor("Grok-4", []Message{{"user", "/long 50"}}); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if !strings.HasSuffix(textOf(chunks), " word49") {
		t.Errorf("text ends %q, want word49", textOf(chunks)[len(textOf(chunks))-10:])
	}
	for _, c := range chunks {
		if c.Usage != nil {
			t.Error("usage chunk sent without stream_options.include_usage")
		}
	}
}

func TestChatContentParts(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	body := map[string]any{
		"model": "Gemini-3-Pro",
		"messages": []map[string]any{{"role": "user", "content": []map[string]any{
			{"type": "text", "text": "What is"},
			{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,AAAA"}},
			{"type": "text", "text": "this?"},
		}}},
	}

	_, raw := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), mustJSON(t, body))
	var got completion
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	want := ReplyFor("Gemini-3-Pro", []Message{{"user", "What is\nthis?"}})
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != want {
		t.Errorf("choices = %+v, want content %q", got.Choices, want)
	}
}

func TestChatErrors(t *testing.T) {
	valid := mustJSON(t, chatBody("GPT-5.4", "hi", true, nil))
	tests := []struct {
		name       string
		key        string
		body       []byte
		fault      Fault
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{"no key", "", valid, Fault{}, 401,
			`{"error":{"message":"Invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}`, ""},
		{"unknown key", "sk-poe-unknown", valid, Fault{}, 401,
			`{"error":{"message":"Invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}`, ""},
		{"unknown key shape B", "sk-poe-unknown", valid, Fault{ErrorShape: ShapeB}, 401,
			`{"error":{"code":401,"type":"authentication_error","message":"Invalid API key","metadata":{}}}`, ""},
		{"unknown model", testKey, mustJSON(t, chatBody("GPT-1", "hi", true, nil)), Fault{}, 404,
			`{"error":{"message":"Model 'GPT-1' not found","type":"invalid_request_error","code":"model_not_found"}}`, ""},
		{"no points", "sk-poe-empty", valid, Fault{}, 402,
			`{"error":{"message":"The account has no points left for this request.","type":"insufficient_quota","code":"insufficient_points"}}`, ""},
		{"rate limited", testKey, valid, Fault{ChatStatus: 429, RetryAfter: "7"}, 429,
			`{"error":{"message":"Rate limit exceeded. Retry after the time in the Retry-After header.","type":"rate_limit_error","code":"rate_limit_exceeded"}}`, "7"},
		{"overloaded shape B", testKey, valid, Fault{ChatStatus: 529, ErrorShape: ShapeB}, 529,
			`{"error":{"code":529,"type":"overloaded_error","message":"The service is overloaded.","metadata":{}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			s.AddKey(testKey, 100)
			s.AddKey("sk-poe-empty", 0)
			s.SetFault(tt.fault)

			resp, body := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(tt.key), tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %s, want %s", body, tt.wantBody)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
		})
	}
}

func TestChatBadRequest(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string
	}{
		{"not JSON", `{"model":`, "invalid_parameter"},
		{"missing messages", `{"model":"GPT-5.4","stream":true}`, "missing_parameter"},
		{"empty messages", `{"model":"GPT-5.4","messages":[]}`, "missing_parameter"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "missing_parameter"},
		{"temperature", `{"model":"GPT-5.4","temperature":2.5,"messages":[{"role":"user","content":"hi"}]}`, "invalid_parameter"},
		{"n", `{"model":"GPT-5.4","n":2,"messages":[{"role":"user","content":"hi"}]}`, "invalid_parameter"},
		{"zero max tokens", `{"model":"GPT-5.4","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "invalid_parameter"},
		{"role", `{"model":"GPT-5.4","messages":[{"role":"robot","content":"hi"}]}`, "invalid_parameter"},
		{"content number", `{"model":"GPT-5.4","messages":[{"role":"user","content":5}]}`, "invalid_parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			s.AddKey(testKey, 100)

			resp, raw := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), []byte(tt.body))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			errObj, _ := decodeObject(t, raw)["error"].(map[string]any)
			if errObj["type"] != "invalid_request_error" || errObj["code"] != tt.wantCode {
				t.Errorf("error = %v, want invalid_request_error %s", errObj, tt.wantCode)
			}
			if msg, _ := errObj["message"].(string); msg == "" {
				t.Error("message is empty")
			}
		})
	}
}

func TestChatExpiredKey(t *testing.T) {
	clock := newTestClock()
	lifetime := int64(60)
	s := startServer(t, Options{Now: clock.Now, KeyExpiresIn: &lifetime})
	pair := newPKCE()
	status, token := postToken(t, s, exchangeForm(issueCode(t, s, pair), pair))
	if status != http.StatusOK {
		t.Fatalf("token status = %d", status)
	}
	key := token["api_key"].(string)
	body := mustJSON(t, chatBody("GPT-5.4", "hi", false, nil))

	if resp, _ := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(key), body); resp.StatusCode != http.StatusOK {
		t.Errorf("before expiry: status = %d, want 200", resp.StatusCode)
	}
	clock.Advance(time.Minute)
	if resp, _ := do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(key), body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after expiry: status = %d, want 401", resp.StatusCode)
	}
}
