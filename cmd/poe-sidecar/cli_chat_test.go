package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

func TestModels(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})

	got := e.run("", "models")
	if got.code != exitOK {
		t.Fatalf("models: exit %d\n%s", got.code, got.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if header := strings.Fields(lines[0]); !slices.Equal(header[:4], []string{"ID", "OWNER", "CONTEXT", "PRICE"}) {
		t.Errorf("header = %q", lines[0])
	}
	if len(lines)-1 != len(fakepoe.ModelIDs()) {
		t.Errorf("table has %d rows, want %d:\n%s", len(lines)-1, len(fakepoe.ModelIDs()), got.stdout)
	}
	for i, id := range fakepoe.ModelIDs() {
		if i+1 < len(lines) && strings.Fields(lines[i+1])[0] != id {
			t.Errorf("row %d = %q, want model %s", i+1, lines[i+1], id)
		}
	}
	if !strings.Contains(got.stdout, "Claude-Sonnet-4.6  Anthropic") || !strings.Contains(got.stdout, "200K") || !strings.Contains(got.stdout, "$2.60 / $13.00") {
		t.Errorf("the Claude-Sonnet-4.6 row lacks its owner, context window or price:\n%s", got.stdout)
	}
	checkNoEscapes(t, "models", got.stdout)

	got = e.run("", "models", "--json")
	if got.code != exitOK {
		t.Fatalf("models --json: exit %d\n%s", got.code, got.stderr)
	}
	var list struct {
		Models []provider.Model `json:"models"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &list); err != nil {
		t.Fatalf("models --json output is not JSON: %v\n%s", err, got.stdout)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, fakepoe.ModelIDs()) {
		t.Errorf("models --json ids = %v, want %v", ids, fakepoe.ModelIDs())
	}
	if m := list.Models[0]; m.ContextWindow != 200000 || m.OwnedBy != "Anthropic" || m.Pricing["prompt"] != "0.0000026" {
		t.Errorf("first model = %+v, want Poe's fields", m)
	}
	for _, r := range e.fake.Requests() {
		if r.Path == "/v1/models" && r.Header.Get("Authorization") != "" {
			t.Error("models sent an Authorization header, though Poe lists models without a key")
		}
	}
}

func TestModelsError(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	e.fake.SetFault(fakepoe.Fault{ModelsStatus: 503, RetryAfter: "7"})

	got := e.run("", "models", "--json")
	if got.code != exitPoeAPI {
		t.Fatalf("exit %d, want %d\n%s", got.code, exitPoeAPI, got.stderr)
	}
	if got.stdout != "" {
		t.Errorf("stdout = %q, want nothing for scripts to misread", got.stdout)
	}
	if !strings.Contains(got.stderr, "HTTP 503") || !strings.Contains(strings.ToLower(got.stderr), "wait 7 seconds") {
		t.Errorf("stderr:\n%s\nwant the status and the wait", got.stderr)
	}
}

// lastChatBody returns the body of the last chat request the fake received.
func lastChatBody(t *testing.T, fake *fakepoe.Server) (body struct {
	Model    string             `json:"model"`
	Messages []provider.Message `json:"messages"`
	Stream   bool               `json:"stream"`
}) {
	t.Helper()
	var last []byte
	for _, r := range fake.Requests() {
		if r.Method == "POST" && r.Path == "/v1/chat/completions" {
			last = r.Body
		}
	}
	if last == nil {
		t.Fatal("the fake received no chat request")
	}
	if err := json.Unmarshal(last, &body); err != nil {
		t.Fatalf("chat request body: %v", err)
	}
	return body
}

func TestChat(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		stdin     string
		env       []string
		wantModel string
		wantMsgs  []provider.Message
	}{
		{
			name:      "prompt argument",
			args:      []string{"hello", "there"},
			wantModel: defaultChatModel,
			wantMsgs:  []provider.Message{{Role: "user", Content: "hello there"}},
		},
		{
			name:      "flags after the prompt",
			args:      []string{"hi", "--model", "GPT-5.4", "--system", "Be brief."},
			wantModel: "GPT-5.4",
			wantMsgs:  []provider.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hi"}},
		},
		{
			name:      "prompt after --",
			args:      []string{"--", "--model", "x"},
			wantModel: defaultChatModel,
			wantMsgs:  []provider.Message{{Role: "user", Content: "--model x"}},
		},
		{
			name:      "prompt on stdin",
			stdin:     "line one\nline two\n",
			wantModel: defaultChatModel,
			wantMsgs:  []provider.Message{{Role: "user", Content: "line one\nline two"}},
		},
		{
			name:      "POE_MODEL",
			args:      []string{"hi"},
			env:       []string{"POE_MODEL=Gemini-3-Pro"},
			wantModel: "Gemini-3-Pro",
			wantMsgs:  []provider.Message{{Role: "user", Content: "hi"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{}, append(tc.env, "POE_API_KEY="+testKey)...)
			e.fake.AddKey(testKey, 100)

			got := e.run(tc.stdin, append([]string{"chat"}, tc.args...)...)
			if got.code != exitOK {
				t.Fatalf("exit %d, want 0\n%s", got.code, got.stderr)
			}
			want := fakepoe.ReplyFor(tc.wantModel, toFakeMessages(tc.wantMsgs))
			if got.stdout != want {
				t.Errorf("stdout = %q, want exactly the answer %q", got.stdout, want)
			}
			if got.stderr != "" {
				t.Errorf("stderr = %q, want nothing", got.stderr)
			}

			body := lastChatBody(t, e.fake)
			if body.Model != tc.wantModel || !body.Stream {
				t.Errorf("request model %q, stream %v; want %q, true", body.Model, body.Stream, tc.wantModel)
			}
			if !slices.Equal(body.Messages, tc.wantMsgs) {
				t.Errorf("request messages = %+v, want %+v", body.Messages, tc.wantMsgs)
			}
		})
	}
}

func toFakeMessages(msgs []provider.Message) []fakepoe.Message {
	out := make([]fakepoe.Message, len(msgs))
	for i, m := range msgs {
		out[i] = fakepoe.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// TestChatErrors checks the exit status and the message of each kind of failure.
func TestChatErrors(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		fault    fakepoe.Fault
		balance  int64
		args     []string
		stdin    string
		wantCode int
		want     []string
	}{
		{"not signed in", nil, fakepoe.Fault{}, 10, []string{"hi"}, "", exitAuthRequired,
			[]string{"You are not signed in to Poe.", "poe-sidecar login"}},
		{"key rejected", []string{"POE_API_KEY=" + "sk-poe-" + strings.Repeat("Gone", 10)}, fakepoe.Fault{}, 10, []string{"hi"}, "", exitAuthRequired,
			[]string{"Poe rejected the API key", "POE_API_KEY"}},
		{"unknown model", []string{"POE_API_KEY=" + testKey}, fakepoe.Fault{}, 10, []string{"--model", "No-Such-Bot", "hi"}, "", exitPoeAPI,
			[]string{"model_not_found", "poe-sidecar models"}},
		{"rate limited", []string{"POE_API_KEY=" + testKey}, fakepoe.Fault{ChatStatus: 429, RetryAfter: "30"}, 10, []string{"hi"}, "", exitPoeAPI,
			[]string{"rate-limited", "wait 30 seconds"}},
		{"no points", []string{"POE_API_KEY=" + testKey}, fakepoe.Fault{}, 0, []string{"hi"}, "", exitPoeAPI,
			[]string{"too few points", "https://poe.com/api_key"}},
		{"stream cut", []string{"POE_API_KEY=" + testKey}, fakepoe.Fault{Stream: fakepoe.StreamCut}, 10, []string{"/long 20"}, "", exitPoeAPI,
			[]string{"invalid response"}},
		{"empty prompt", []string{"POE_API_KEY=" + testKey}, fakepoe.Fault{}, 10, nil, "  \n", exitUsage,
			[]string{"the prompt is empty", "poe-sidecar chat --help"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{}, tc.env...)
			e.fake.AddKey(testKey, tc.balance)
			e.fake.SetFault(tc.fault)

			got := e.run(tc.stdin, append([]string{"chat"}, tc.args...)...)
			if got.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, tc.wantCode, got.stdout, got.stderr)
			}
			for _, want := range tc.want {
				// Case aside: a next step opens its own sentence after Poe's message.
				if !strings.Contains(strings.ToLower(got.stderr), strings.ToLower(want)) {
					t.Errorf("stderr does not contain %q:\n%s", want, got.stderr)
				}
			}
			checkNoEscapes(t, "stderr", got.stderr)
		})
	}
}

// TestChatInterrupt presses Ctrl-C while a long answer streams. chat must exit with 130
// and the fake must see the upstream request closed.
func TestChatInterrupt(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{ChunkDelay: 20 * time.Millisecond}, "POE_API_KEY="+testKey)
	e.fake.AddKey(testKey, 100)

	p := e.start("chat", "/long 5000")
	p.stdout.waitFor(t, regexp.MustCompile(`word3 `))
	p.signal(syscall.SIGINT)

	if code := p.wait(); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInterrupted, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "Interrupted.") {
		t.Errorf("stderr = %q, want Interrupted.", p.stderr)
	}
	if out := p.stdout.String(); !strings.HasPrefix(out, "word0 word1 word2 word3") || strings.Contains(out, "word4999") {
		t.Errorf("stdout = %q, want the start of the answer only", out)
	}
	select {
	case <-e.fake.StreamsClosedEarly():
	case <-time.After(cliTimeout):
		t.Fatal("the fake Poe did not see the chat request closed")
	}
}
