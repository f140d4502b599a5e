package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/internal/client"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// These tests build the real binary and drive it over real pipes, as an
// editor does, against the fake Poe on 127.0.0.1.

var sidecarBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "poe-sidecar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sidecarBin = filepath.Join(dir, "poe-sidecar")
	build := exec.Command("go", "build", "-race", "-o", sidecarBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build poe-sidecar:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// session is one sidecar process with its fake Poe and scratch folders.
type session struct {
	t      *testing.T
	fake   *fakepoe.Server
	side   *client.Client
	home   string
	stderr *syncBuffer

	mu      sync.Mutex
	events  map[string][]streamEvent // chat/stream notifications by streamId
	changes chan authStatus          // auth/didChange notifications
}

type streamEvent struct {
	StreamID     string          `json:"streamId"`
	Seq          int             `json:"seq"`
	Delta        string          `json:"delta"`
	Done         bool            `json:"done"`
	FinishReason string          `json:"finishReason"`
	Usage        json.RawMessage `json:"usage"`
	Error        *jsonrpc2.Error `json:"error"`
}

type authStatus struct {
	SignedIn  bool    `json:"signedIn"`
	Method    string  `json:"method"`
	Source    string  `json:"source"`
	ExpiresAt *string `json:"expiresAt"`
	Expired   bool    `json:"expired"`
	Problem   *struct {
		Reason string `json:"reason"`
	} `json:"problem"`
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startSession(t *testing.T, opts fakepoe.Options, extraEnv ...string) *session {
	t.Helper()
	fake, err := fakepoe.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	s := &session{
		t:       t,
		fake:    fake,
		home:    t.TempDir(),
		stderr:  &syncBuffer{},
		events:  make(map[string][]streamEvent),
		changes: make(chan authStatus, 16),
	}
	env := append(withoutPoeEnv(os.Environ()),
		"XDG_DATA_HOME="+filepath.Join(s.home, "data"),
		"XDG_STATE_HOME="+filepath.Join(s.home, "state"),
		"POE_BASE_URL="+fake.BaseURL(),
		"POE_OAUTH_AUTHORIZE_URL="+fake.AuthorizeURL(),
		"POE_OAUTH_TOKEN_URL="+fake.TokenURL(),
	)
	env = append(env, extraEnv...)
	side, err := client.Start(sidecarBin, []string{"--stdio", "--log-level", "debug", "--trace"}, env, s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	s.side = side
	t.Cleanup(func() {
		side.Kill()
		if out := s.stderr.String(); out != "" {
			t.Errorf("the sidecar wrote to stderr, which must stay quiet by default:\n%s", out)
		}
	})

	side.OnNotification("chat/stream", func(params json.RawMessage) {
		var ev streamEvent
		if err := json.Unmarshal(params, &ev); err != nil {
			t.Errorf("chat/stream params %s: %v", params, err)
			return
		}
		s.mu.Lock()
		s.events[ev.StreamID] = append(s.events[ev.StreamID], ev)
		s.mu.Unlock()
	})
	side.OnNotification("auth/didChange", func(params json.RawMessage) {
		var st authStatus
		if err := json.Unmarshal(params, &st); err != nil {
			t.Errorf("auth/didChange params %s: %v", params, err)
			return
		}
		s.changes <- st
	})
	return s
}

func (s *session) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.side.Call(ctx, method, params, result)
}

func (s *session) mustCall(method string, params, result any) {
	s.t.Helper()
	if err := s.call(method, params, result); err != nil {
		s.t.Fatalf("%s: %v", method, err)
	}
}

func (s *session) initialize(options map[string]any) {
	s.t.Helper()
	var res struct {
		Capabilities struct {
			Experimental struct {
				Poe struct {
					ProtocolVersion int     `json:"protocolVersion"`
					LogFile         *string `json:"logFile"`
				} `json:"poe"`
			} `json:"experimental"`
		} `json:"capabilities"`
		ServerInfo struct {
			Name string `json:"name"`
		} `json:"serverInfo"`
	}
	s.mustCall("initialize", map[string]any{"processId": os.Getpid(), "capabilities": map[string]any{}, "initializationOptions": options}, &res)
	if got := res.Capabilities.Experimental.Poe.ProtocolVersion; got != 1 {
		s.t.Fatalf("protocolVersion = %d, want 1", got)
	}
	if res.ServerInfo.Name != "poe-sidecar" {
		s.t.Fatalf("serverInfo.name = %q, want poe-sidecar", res.ServerInfo.Name)
	}
	if lf := res.Capabilities.Experimental.Poe.LogFile; lf == nil || !strings.HasPrefix(*lf, filepath.Join(s.home, "state")) {
		s.t.Fatalf("logFile = %v, want a file under XDG_STATE_HOME", lf)
	}
	if err := s.side.Notify(context.Background(), "initialized", map[string]any{}); err != nil {
		s.t.Fatal(err)
	}
}

// signInOAuth runs browser sign-in, playing the browser with a plain HTTP
// client that follows the fake's redirect to the loopback callback.
func (s *session) signInOAuth() (page string) {
	s.t.Helper()
	var attempt struct {
		AttemptID        string `json:"attemptId"`
		Method           string `json:"method"`
		Mode             string `json:"mode"`
		URL              string `json:"url"`
		RedirectURI      string `json:"redirectUri"`
		AttemptExpiresAt string `json:"attemptExpiresAt"`
	}
	s.mustCall("auth/authorize", map[string]string{"method": "oauth"}, &attempt)
	if attempt.Mode != "auto" || attempt.Method != "oauth" || attempt.AttemptID == "" || attempt.AttemptExpiresAt == "" {
		s.t.Fatalf("auth/authorize result = %+v", attempt)
	}
	if !strings.HasPrefix(attempt.RedirectURI, "http://127.0.0.1:") || !strings.HasSuffix(attempt.RedirectURI, "/callback") {
		s.t.Fatalf("redirectUri = %q, want http://127.0.0.1:<port>/callback", attempt.RedirectURI)
	}

	done := make(chan error, 1)
	var res struct {
		SignedIn bool   `json:"signedIn"`
		Method   string `json:"method"`
	}
	go func() {
		done <- s.call("auth/complete", map[string]string{"attemptId": attempt.AttemptID}, &res)
	}()

	resp, err := http.Get(attempt.URL)
	if err != nil {
		s.t.Fatalf("browser: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("callback page status = %d, body %s", resp.StatusCode, body)
	}
	if err := <-done; err != nil {
		s.t.Fatalf("auth/complete: %v", err)
	}
	if !res.SignedIn || res.Method != "oauth" {
		s.t.Fatalf("auth/complete result = %+v", res)
	}
	return string(body)
}

func (s *session) waitChange(pred func(authStatus) bool) authStatus {
	s.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case st := <-s.changes:
			if pred(st) {
				return st
			}
		case <-timeout:
			s.t.Fatal("no matching auth/didChange within 15 s")
		}
	}
}

func (s *session) streamEvents(id string) []streamEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]streamEvent(nil), s.events[id]...)
}

type chatResult struct {
	StreamID     string          `json:"streamId"`
	Text         string          `json:"text"`
	FinishReason string          `json:"finishReason"`
	Usage        json.RawMessage `json:"usage"`
}

func userMessage(text string) []map[string]string {
	return []map[string]string{{"role": "user", "content": text}}
}

// checkStream checks the notifications of one finished stream: seq counts up
// from 0, exactly one done comes last, and the deltas add up to text.
func checkStream(t *testing.T, events []streamEvent, text string) streamEvent {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no chat/stream notifications")
	}
	var got strings.Builder
	for i, ev := range events {
		if ev.Seq != i {
			t.Fatalf("notification %d has seq %d", i, ev.Seq)
		}
		if ev.Done != (i == len(events)-1) {
			t.Fatalf("notification %d done=%v; want done only on the last of %d", i, ev.Done, len(events))
		}
		got.WriteString(ev.Delta)
	}
	if got.String() != text {
		t.Fatalf("deltas add up to %q, want %q", got.String(), text)
	}
	return events[len(events)-1]
}

func wireError(t *testing.T, err error) (*jsonrpc2.Error, map[string]any) {
	t.Helper()
	var e *jsonrpc2.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a JSON-RPC error", err)
	}
	var data map[string]any
	if e.Data != nil {
		if err := json.Unmarshal(*e.Data, &data); err != nil {
			t.Fatalf("error data %s: %v", *e.Data, err)
		}
	}
	return e, data
}

func TestOAuthSignInModelsAndChat(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(nil)

	var st authStatus
	s.mustCall("auth/status", nil, &st)
	if st.SignedIn {
		t.Fatalf("auth/status before sign-in = %+v, want signed out", st)
	}

	// Models need no key.
	var models struct {
		Models []struct {
			ID            string         `json:"id"`
			ContextWindow int            `json:"contextWindow"`
			Pricing       map[string]any `json:"pricing"`
		} `json:"models"`
	}
	s.mustCall("provider/models", map[string]any{}, &models)
	if len(models.Models) == 0 || models.Models[0].ID == "" {
		t.Fatalf("provider/models = %+v, want models", models)
	}

	page := s.signInOAuth()
	if !strings.Contains(strings.ToLower(page), "signed in") {
		t.Errorf("callback page does not say the user is signed in:\n%s", page)
	}
	changed := s.waitChange(func(st authStatus) bool { return st.SignedIn })
	if changed.Method != "oauth" || changed.Source != "file" {
		t.Errorf("auth/didChange = %+v, want method oauth from the file", changed)
	}

	info, err := os.Stat(filepath.Join(s.home, "data", "poe-sidecar", "auth.json"))
	if err != nil {
		t.Fatalf("credential file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("credential file mode = %o, want 600", mode)
	}

	var balance struct {
		Points *int64 `json:"points"`
	}
	s.mustCall("provider/balance", nil, &balance)
	if balance.Points == nil {
		t.Error("provider/balance points = null, want a number")
	}

	model := models.Models[0].ID
	msgs := userMessage("hello there")
	var res chatResult
	s.mustCall("chat/send", map[string]any{"streamId": "a", "model": model, "messages": msgs}, &res)
	want := fakepoe.ReplyFor(model, []fakepoe.Message{{Role: "user", Content: "hello there"}})
	if res.Text != want || res.FinishReason != "stop" || res.StreamID != "a" {
		t.Fatalf("chat/send result = %+v, want text %q finishing with stop", res, want)
	}
	if len(res.Usage) == 0 || string(res.Usage) == "null" {
		t.Error("chat/send result has no usage, though the fake reports it")
	}
	done := checkStream(t, s.streamEvents("a"), want)
	if done.FinishReason != "stop" || done.Error != nil {
		t.Errorf("done notification = %+v", done)
	}
}

func TestAPIKeySignIn(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	key := "sk-poe-" + strings.Repeat("Ab3_", 10)
	s.fake.AddKey(key, 4321)
	s.initialize(nil)

	authorize := func() string {
		var a struct {
			AttemptID string `json:"attemptId"`
			Mode      string `json:"mode"`
			URL       string `json:"url"`
		}
		s.mustCall("auth/authorize", map[string]string{"method": "apiKey"}, &a)
		if a.Mode != "prompt" || a.URL != "https://poe.com/api_key" {
			t.Fatalf("auth/authorize apiKey = %+v", a)
		}
		return a.AttemptID
	}

	cases := []struct {
		name string
		key  string
	}{
		{"empty", "   "},
		{"wrong shape", "hello"},
		{"unknown to Poe", "sk-poe-" + strings.Repeat("Zz9-", 10)},
	}
	for _, tc := range cases {
		err := s.call("auth/complete", map[string]string{"attemptId": authorize(), "apiKey": tc.key}, nil)
		e, data := wireError(t, err)
		if e.Code != 1010 || data["reason"] != "invalid_api_key" {
			t.Errorf("%s key: error = %d %v, want 1010 invalid_api_key", tc.name, e.Code, data)
		}
		if strings.Contains(e.Message, tc.key) && strings.TrimSpace(tc.key) != "" {
			t.Errorf("%s key: the error message shows the key", tc.name)
		}
	}

	var res struct {
		SignedIn  bool    `json:"signedIn"`
		Method    string  `json:"method"`
		ExpiresAt *string `json:"expiresAt"`
	}
	s.mustCall("auth/complete", map[string]string{"attemptId": authorize(), "apiKey": "  " + key + "\n"}, &res)
	if !res.SignedIn || res.Method != "apiKey" || res.ExpiresAt != nil {
		t.Fatalf("auth/complete = %+v, want signed in by apiKey with no expiry", res)
	}
	var balance struct {
		Points *int64 `json:"points"`
	}
	s.mustCall("provider/balance", nil, &balance)
	if balance.Points == nil || *balance.Points != 4321 {
		t.Fatalf("balance = %v, want 4321", balance.Points)
	}

	var st authStatus
	s.mustCall("auth/signOut", nil, &st)
	if st.SignedIn {
		t.Fatalf("auth/signOut = %+v, want signed out", st)
	}
	err := s.call("provider/balance", nil, nil)
	if e, data := wireError(t, err); e.Code != 1001 || data["reason"] != "not_signed_in" || data["action"] != "signIn" {
		t.Fatalf("balance after sign-out: %d %v, want 1001 not_signed_in with action signIn", e.Code, data)
	}
}

func TestEnvKeyOverridesFile(t *testing.T) {
	key := "sk-poe-" + strings.Repeat("Env1", 10)
	s := startSession(t, fakepoe.Options{}, "POE_API_KEY="+key)
	s.fake.AddKey(key, 7)
	s.initialize(nil)

	var st authStatus
	s.mustCall("auth/status", nil, &st)
	if !st.SignedIn || st.Source != "env" {
		t.Fatalf("auth/status = %+v, want signed in from env", st)
	}
	s.mustCall("auth/signOut", nil, &st)
	if !st.SignedIn || st.Source != "env" {
		t.Fatalf("auth/signOut with POE_API_KEY set = %+v, want still signed in from env", st)
	}
}

func TestConcurrentStreams(t *testing.T) {
	s := startSession(t, fakepoe.Options{ChunkDelay: 2 * time.Millisecond})
	s.initialize(nil)
	s.signInOAuth()

	prompts := map[string]string{"one": "/long 40", "two": "/long 60"}
	var wg sync.WaitGroup
	results := make(map[string]chatResult)
	var mu sync.Mutex
	for id, prompt := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res chatResult
			if err := s.call("chat/send", map[string]any{"streamId": id, "model": "GPT-5.4", "messages": userMessage(prompt)}, &res); err != nil {
				t.Errorf("chat/send %s: %v", id, err)
				return
			}
			mu.Lock()
			results[id] = res
			mu.Unlock()
		}()
	}
	wg.Wait()

	for id, prompt := range prompts {
		want := fakepoe.ReplyFor("GPT-5.4", []fakepoe.Message{{Role: "user", Content: prompt}})
		if results[id].Text != want {
			t.Errorf("stream %s text = %q, want %q", id, results[id].Text, want)
		}
		checkStream(t, s.streamEvents(id), want)
	}
}

func TestChatCancel(t *testing.T) {
	s := startSession(t, fakepoe.Options{ChunkDelay: 20 * time.Millisecond})
	s.initialize(nil)
	s.signInOAuth()

	resCh := make(chan chatResult, 1)
	errCh := make(chan error, 1)
	go func() {
		var res chatResult
		err := s.call("chat/send", map[string]any{"streamId": "long", "model": "GPT-5.4", "messages": userMessage("/long 5000")}, &res)
		resCh <- res
		errCh <- err
	}()

	waitFor(t, "three deltas", func() bool { return len(s.streamEvents("long")) >= 3 })
	var cancelled struct {
		Cancelled bool `json:"cancelled"`
	}
	s.mustCall("chat/cancel", map[string]string{"streamId": "long"}, &cancelled)
	if !cancelled.Cancelled {
		t.Fatal("chat/cancel = false for a live stream")
	}
	if err := <-errCh; err != nil {
		t.Fatalf("chat/send after chat/cancel: %v, want a normal result", err)
	}
	res := <-resCh
	if res.FinishReason != "cancelled" {
		t.Fatalf("finishReason = %q, want cancelled", res.FinishReason)
	}
	done := checkStream(t, s.streamEvents("long"), res.Text)
	if done.FinishReason != "cancelled" {
		t.Fatalf("done finishReason = %q, want cancelled", done.FinishReason)
	}
	waitFor(t, "the fake Poe to see the upstream request closed", func() bool { return s.fake.ClosedEarly() >= 1 })

	s.mustCall("chat/cancel", map[string]string{"streamId": "long"}, &cancelled)
	if cancelled.Cancelled {
		t.Fatal("chat/cancel = true for a stream that already ended")
	}
}

func TestCancelRequest(t *testing.T) {
	s := startSession(t, fakepoe.Options{ChunkDelay: 20 * time.Millisecond})
	s.initialize(nil)
	s.signInOAuth()

	ctx := context.Background()
	call, err := s.side.Conn().DispatchCall(ctx, "chat/send", map[string]any{"streamId": "x", "model": "GPT-5.4", "messages": userMessage("/long 5000")}, jsonrpc2.PickID(jsonrpc2.ID{Num: 9001}))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two deltas", func() bool { return len(s.streamEvents("x")) >= 2 })
	if err := s.side.Notify(ctx, "$/cancelRequest", map[string]any{"id": 9001}); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = call.Wait(waitCtx, nil)
	if e, _ := wireError(t, err); e.Code != -32800 {
		t.Fatalf("chat/send after $/cancelRequest: code %d, want -32800", e.Code)
	}
	events := s.streamEvents("x")
	var text strings.Builder
	for _, ev := range events {
		text.WriteString(ev.Delta)
	}
	if done := checkStream(t, events, text.String()); done.FinishReason != "cancelled" {
		t.Fatalf("done finishReason = %q, want cancelled", done.FinishReason)
	}
	waitFor(t, "the fake Poe to see the upstream request closed", func() bool { return s.fake.ClosedEarly() >= 1 })
}

func TestExpiredKey(t *testing.T) {
	expiresIn := int64(2)
	s := startSession(t, fakepoe.Options{KeyExpiresIn: &expiresIn})
	s.initialize(nil)
	s.signInOAuth()

	st := s.waitChange(func(st authStatus) bool { return st.Expired })
	if st.ExpiresAt == nil {
		t.Error("auth/didChange for an expired key has no expiresAt")
	}
	err := s.call("chat/send", map[string]any{"streamId": "e", "model": "GPT-5.4", "messages": userMessage("hi")}, nil)
	e, data := wireError(t, err)
	if e.Code != 1001 || data["reason"] != "expired" || data["action"] != "signIn" {
		t.Fatalf("chat/send with an expired key: %d %v, want 1001 expired with action signIn", e.Code, data)
	}
	events := s.streamEvents("e")
	if len(events) != 1 || !events[0].Done || events[0].Error == nil || events[0].Error.Code != 1001 {
		t.Fatalf("chat/stream events = %+v, want one done carrying the error", events)
	}
}

func TestLifecycle(t *testing.T) {
	s := startSession(t, fakepoe.Options{})

	err := s.call("auth/status", nil, nil)
	if e, _ := wireError(t, err); e.Code != -32002 {
		t.Fatalf("request before initialize: code %d, want -32002", e.Code)
	}
	s.initialize(map[string]any{"logLevel": "debug"})

	err = s.call("initialize", map[string]any{}, nil)
	if e, _ := wireError(t, err); e.Code != -32600 {
		t.Fatalf("second initialize: code %d, want -32600", e.Code)
	}
	err = s.call("no/such", nil, nil)
	if e, _ := wireError(t, err); e.Code != -32601 {
		t.Fatalf("unknown method: code %d, want -32601", e.Code)
	}
	err = s.call("chat/send", map[string]any{"streamId": "p", "model": "GPT-5.4", "messages": []any{}}, nil)
	if e, _ := wireError(t, err); e.Code != -32602 || !strings.Contains(e.Message, `"messages"`) {
		t.Fatalf("empty messages: %d %q, want -32602 naming messages", e.Code, e.Message)
	}
	err = s.call("chat/send", map[string]any{"streamId": 5, "model": "GPT-5.4", "messages": userMessage("x")}, nil)
	if e, _ := wireError(t, err); e.Code != -32602 || !strings.Contains(e.Message, "streamId") {
		t.Fatalf("numeric streamId: %d %q, want -32602 naming streamId", e.Code, e.Message)
	}
	if err := s.side.Notify(context.Background(), "$/unknownThing", map[string]any{}); err != nil {
		t.Fatal(err)
	}

	s.mustCall("shutdown", nil, nil)
	err = s.call("auth/status", nil, nil)
	if e, _ := wireError(t, err); e.Code != -32600 {
		t.Fatalf("request after shutdown: code %d, want -32600", e.Code)
	}
	if err := s.side.Notify(context.Background(), "exit", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.side.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the sidecar did not exit within 10 s of exit")
	}
	if code := s.side.ExitCode(); code != 0 {
		t.Fatalf("exit status after shutdown and exit = %d, want 0", code)
	}
}

func TestStdinCloseEndsSession(t *testing.T) {
	s := startSession(t, fakepoe.Options{ChunkDelay: 20 * time.Millisecond})
	s.initialize(nil)
	s.signInOAuth()

	go func() {
		_ = s.call("chat/send", map[string]any{"streamId": "z", "model": "GPT-5.4", "messages": userMessage("/long 5000")}, nil)
	}()
	waitFor(t, "a delta", func() bool { return len(s.streamEvents("z")) >= 1 })

	if err := s.side.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.side.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the sidecar did not exit within 10 s of stdin closing")
	}
	if code := s.side.ExitCode(); code != 1 {
		t.Errorf("exit status without shutdown = %d, want 1", code)
	}
	waitFor(t, "the fake Poe to see the upstream request closed", func() bool { return s.fake.ClosedEarly() >= 1 })
}

// waitFor polls cond until it holds, for at most 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 15 s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChatCancelRightAfterSend(t *testing.T) {
	s := startSession(t, fakepoe.Options{ChunkDelay: 5 * time.Millisecond})
	s.initialize(nil)
	s.signInOAuth()

	ctx := context.Background()
	for i := range 10 {
		id := fmt.Sprintf("early-%d", i)
		call, err := s.side.Conn().DispatchCall(ctx, "chat/send", map[string]any{"streamId": id, "model": "GPT-5.4", "messages": userMessage("/long 50")})
		if err != nil {
			t.Fatal(err)
		}
		// Sent before any delta can arrive: the stream must already be known.
		var cancelled struct {
			Cancelled bool `json:"cancelled"`
		}
		s.mustCall("chat/cancel", map[string]string{"streamId": id}, &cancelled)
		if !cancelled.Cancelled {
			t.Fatalf("round %d: chat/cancel sent right after chat/send = false, want true", i)
		}
		var res chatResult
		waitCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = call.Wait(waitCtx, &res)
		cancel()
		if err != nil {
			t.Fatalf("round %d: chat/send: %v", i, err)
		}
		if res.FinishReason != "cancelled" {
			t.Fatalf("round %d: finishReason = %q, want cancelled", i, res.FinishReason)
		}
	}
}

func TestShutdownClosesCallbackServer(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(nil)

	var attempt struct {
		RedirectURI string `json:"redirectUri"`
	}
	s.mustCall("auth/authorize", map[string]string{"method": "oauth"}, &attempt)
	s.mustCall("shutdown", nil, nil)

	resp, err := http.Get(attempt.RedirectURI + "?code=x&state=y")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("callback server answered %d after shutdown, want the port closed", resp.StatusCode)
	}
	err = s.call("shutdown", nil, nil)
	if e, _ := wireError(t, err); e.Code != -32600 {
		t.Fatalf("second shutdown: code %d, want -32600", e.Code)
	}
}

func TestParamsErrorsNameTheField(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(nil)

	cases := []struct {
		name   string
		method string
		params any
		want   string
	}{
		{"role type", "chat/send", map[string]any{"streamId": "p", "model": "m", "messages": []any{map[string]any{"role": "user", "content": "a"}, map[string]any{"role": 5, "content": "b"}}}, `"messages[1].role"`},
		{"message not object", "chat/send", map[string]any{"streamId": "p", "model": "m", "messages": []any{"hi"}}, `"messages[0]"`},
		{"unknown role", "chat/send", map[string]any{"streamId": "p", "model": "m", "messages": []any{map[string]any{"role": "bot", "content": "a"}}}, `"messages[0].role"`},
		{"missing model", "chat/send", map[string]any{"streamId": "p", "messages": userMessage("a")}, `"model"`},
		{"temperature range", "chat/send", map[string]any{"streamId": "p", "model": "m", "messages": userMessage("a"), "temperature": 3}, `"temperature"`},
		{"authorize method", "auth/authorize", map[string]any{"method": "sk-poe-pasted-in-the-wrong-field"}, `"method"`},
		{"complete attempt", "auth/complete", map[string]any{}, `"attemptId"`},
		{"cancel stream", "chat/cancel", map[string]any{"streamId": 7}, `"streamId"`},
		{"params array", "provider/models", []any{1}, "params"},
	}
	for _, tc := range cases {
		err := s.call(tc.method, tc.params, nil)
		e, _ := wireError(t, err)
		if e.Code != -32602 || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %d %q, want -32602 naming %s", tc.name, e.Code, e.Message, tc.want)
		}
		if strings.Contains(e.Message, "sk-poe-pasted") {
			t.Errorf("%s: the message quotes the value back: %q", tc.name, e.Message)
		}
	}
}

func TestUnusableCredentialFolder(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	// A file where the credential folder should be: nothing can be stored there.
	if err := os.MkdirAll(filepath.Join(s.home, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, "data", "poe-sidecar"), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.initialize(nil)

	var models struct {
		Models []json.RawMessage `json:"models"`
	}
	s.mustCall("provider/models", map[string]any{}, &models)
	if len(models.Models) == 0 {
		t.Fatal("provider/models returned nothing with an unusable credential folder")
	}
	var st authStatus
	s.mustCall("auth/status", nil, &st)
	if st.SignedIn || st.Problem == nil {
		t.Fatalf("auth/status = %+v, want signed out with a problem", st)
	}
}

func TestRejectedEnvKey(t *testing.T) {
	s := startSession(t, fakepoe.Options{}, "POE_API_KEY=sk-poe-"+strings.Repeat("Bad0", 10))
	s.initialize(nil)

	err := s.call("provider/balance", nil, nil)
	e, data := wireError(t, err)
	if e.Code != 1001 || data["reason"] != "rejected" {
		t.Fatalf("balance with a rejected POE_API_KEY: %d %v, want 1001 rejected", e.Code, data)
	}
	if !strings.Contains(e.Message, "POE_API_KEY") {
		t.Errorf("message %q does not name POE_API_KEY, the thing to fix", e.Message)
	}
	if _, ok := data["action"]; ok {
		t.Errorf("data.action = %v, want none: signing in cannot replace POE_API_KEY", data["action"])
	}
}

func TestEditorExitEndsSidecar(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	editor := exec.Command("sleep", "300")
	if err := editor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = editor.Process.Kill() })

	s.mustCall("initialize", map[string]any{"processId": editor.Process.Pid, "capabilities": map[string]any{}}, nil)
	if err := editor.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = editor.Wait()

	select {
	case <-s.side.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the sidecar did not exit within 10 s of the editor process dying")
	}
	if code := s.side.ExitCode(); code != 1 {
		t.Errorf("exit status = %d, want 1 (no shutdown was sent)", code)
	}
}
