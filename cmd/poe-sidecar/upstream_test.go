package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
	"github.com/poe-sidecar/poe-sidecar/rpc"
)

// These tests run chat/send through the real binary while the fake Poe fails in
// the ways Poe, a proxy or the network can. Each failure must reach the editor
// with its documented code and reason, the text sent before it must be a prefix
// of the reply with no piece twice, and the session must go on serving.

const upstreamMessage = "one two three four five six"

func upstreamReply() []string {
	return fakepoe.ReplyDeltas("GPT-5.4", []fakepoe.Message{{Role: "user", Content: upstreamMessage}})
}

// chatRequests returns how many chat requests the fake has received.
func chatRequests(fake *fakepoe.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/chat/completions" {
			n++
		}
	}
	return n
}

// sendFailing runs a chat/send that must fail and checks its notifications: seq
// counts up, the last one is done and carries the same error code, and the deltas
// before it are the first pieces of the reply. It returns the error data and the
// number of deltas.
func (s *session) sendFailing(t *testing.T, streamID, model string, wantCode int64) (data map[string]any, deltaCount int) {
	t.Helper()
	err := s.call("chat/send", map[string]any{"streamId": streamID, "model": model, "messages": userMessage(upstreamMessage)}, nil)
	if err == nil {
		t.Fatal("chat/send succeeded, want an error")
	}
	e, data := wireError(t, err)
	if data == nil {
		t.Fatalf("error %d %q has no data", e.Code, e.Message)
	}
	if e.Code != wantCode {
		t.Errorf("code = %d, want %d (message %q, data %v)", e.Code, wantCode, e.Message, data)
	}
	for _, key := range s.fake.IssuedKeys() {
		if strings.Contains(e.Message, key) || strings.Contains(fmt.Sprint(data), key) {
			t.Error("the error shows the API key")
		}
	}

	events := s.streamEvents(streamID)
	if len(events) == 0 {
		t.Fatal("no chat/stream notifications")
	}
	var deltas []string
	for i, ev := range events {
		if ev.Seq != i {
			t.Fatalf("notification %d has seq %d", i, ev.Seq)
		}
		if ev.Done != (i == len(events)-1) {
			t.Fatalf("notification %d done=%v; want done only on the last of %d", i, ev.Done, len(events))
		}
		if !ev.Done {
			deltas = append(deltas, ev.Delta)
		}
	}
	done := events[len(events)-1]
	if done.Error == nil || done.Error.Code != e.Code {
		t.Errorf("done notification error = %+v, want code %d", done.Error, e.Code)
	}

	want := upstreamReply()
	if model == "GPT-5.4" && (len(deltas) > len(want) || !slices.Equal(deltas, want[:len(deltas)])) {
		t.Errorf("deltas before the error = %q, want the first pieces of %q, each once", deltas, want)
	}
	return data, len(deltas)
}

// sendOK runs a chat/send that must return the whole reply.
func (s *session) sendOK(t *testing.T, streamID string) {
	t.Helper()
	var res chatResult
	s.mustCall("chat/send", map[string]any{"streamId": streamID, "model": "GPT-5.4", "messages": userMessage(upstreamMessage)}, &res)
	want := strings.Join(upstreamReply(), "")
	if res.Text != want || res.FinishReason != "stop" {
		t.Fatalf("chat/send result = %+v, want text %q finishing with stop", res, want)
	}
	checkStream(t, s.streamEvents(streamID), want)
}

func TestUpstreamFaults(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(map[string]any{"streamIdleTimeoutSeconds": 1})
	s.signInOAuth()

	cases := []struct {
		name         string
		fault        fakepoe.Fault
		model        string // "" means GPT-5.4
		wantCode     int64
		wantReason   string
		wantStatus   float64 // 0: no status in data
		wantRetry    float64 // data.retryAfter; 0: none
		wantMessage  string  // Poe's message in data.message; "": not checked
		wantText     bool    // whether deltas arrive before the error
		wantRequests int     // chat requests the fake receives
	}{
		{name: "401", fault: fakepoe.Fault{ChatStatus: 401}, wantCode: 1001, wantReason: "rejected", wantStatus: 401, wantRequests: 1},
		{name: "402", fault: fakepoe.Fault{ChatStatus: 402}, wantCode: 1020, wantReason: "insufficient_points", wantStatus: 402, wantRequests: 1},
		{name: "403", fault: fakepoe.Fault{ChatStatus: 403, ErrorShape: fakepoe.ShapeB}, wantCode: 1020, wantReason: "forbidden", wantStatus: 403, wantRequests: 1},
		{name: "404", fault: fakepoe.Fault{ChatStatus: 404}, wantCode: 1020, wantReason: "bad_request", wantStatus: 404, wantRequests: 1},
		{name: "unknown model", model: "No-Such-Bot", wantCode: 1020, wantReason: "bad_request", wantStatus: 404,
			wantMessage: "Model 'No-Such-Bot' not found", wantRequests: 1},
		{name: "408", fault: fakepoe.Fault{ChatStatus: 408, ErrorShape: fakepoe.ShapeB}, wantCode: 1020, wantReason: "server_error", wantStatus: 408, wantRequests: 1},
		{name: "413", fault: fakepoe.Fault{ChatStatus: 413}, wantCode: 1020, wantReason: "bad_request", wantStatus: 413, wantRequests: 1},
		{name: "429", fault: fakepoe.Fault{ChatStatus: 429}, wantCode: 1020, wantReason: "rate_limited", wantStatus: 429, wantRequests: 2},
		{name: "429 Retry-After 1", fault: fakepoe.Fault{ChatStatus: 429, RetryAfter: "1"}, wantCode: 1020, wantReason: "rate_limited",
			wantStatus: 429, wantRetry: 1, wantRequests: 2},
		{name: "429 Retry-After 60", fault: fakepoe.Fault{ChatStatus: 429, RetryAfter: "60", ErrorShape: fakepoe.ShapeB}, wantCode: 1020,
			wantReason: "rate_limited", wantStatus: 429, wantRetry: 60, wantRequests: 1},
		{name: "500", fault: fakepoe.Fault{ChatStatus: 500}, wantCode: 1020, wantReason: "server_error", wantStatus: 500, wantRequests: 2},
		{name: "502", fault: fakepoe.Fault{ChatStatus: 502, ErrorShape: fakepoe.ShapeB}, wantCode: 1020, wantReason: "server_error", wantStatus: 502, wantRequests: 2},
		{name: "529", fault: fakepoe.Fault{ChatStatus: 529}, wantCode: 1020, wantReason: "server_error", wantStatus: 529, wantRequests: 2},
		{name: "HTML page", fault: fakepoe.Fault{ChatStatus: 502, ErrorShape: fakepoe.ShapeHTML}, wantCode: 1020, wantReason: "server_error", wantStatus: 502, wantRequests: 2},
		{name: "no headers", fault: fakepoe.Fault{Stream: fakepoe.StreamNoHeaders}, wantCode: 1020, wantReason: "unreachable", wantRequests: 1},
		{name: "stall", fault: fakepoe.Fault{Stream: fakepoe.StreamStall}, wantCode: 1020, wantReason: "stalled", wantStatus: 200, wantText: true, wantRequests: 1},
		{name: "mid-stream data", fault: fakepoe.Fault{Stream: fakepoe.StreamMidstreamErrorData}, wantCode: 1020, wantReason: "server_error",
			wantStatus: 200, wantMessage: "The model provider returned an error.", wantText: true, wantRequests: 1},
		{name: "mid-stream event", fault: fakepoe.Fault{Stream: fakepoe.StreamMidstreamErrorEvent, ErrorShape: fakepoe.ShapeB}, wantCode: 1020,
			wantReason: "server_error", wantStatus: 200, wantText: true, wantRequests: 1},
		{name: "cut", fault: fakepoe.Fault{Stream: fakepoe.StreamCut}, wantCode: 1020, wantReason: "malformed_response", wantStatus: 200, wantText: true, wantRequests: 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			model := tc.model
			if model == "" {
				model = "GPT-5.4"
			}
			s.fake.SetFault(tc.fault)
			before := chatRequests(s.fake)

			data, deltaCount := s.sendFailing(t, fmt.Sprintf("fault-%d", i), model, tc.wantCode)

			if data["reason"] != tc.wantReason {
				t.Errorf("data.reason = %v, want %s", data["reason"], tc.wantReason)
			}
			if got, _ := data["status"].(float64); got != tc.wantStatus {
				t.Errorf("data.status = %v, want %v", data["status"], tc.wantStatus)
			}
			if got, _ := data["retryAfter"].(float64); got != tc.wantRetry {
				t.Errorf("data.retryAfter = %v, want %v", data["retryAfter"], tc.wantRetry)
			}
			if tc.wantMessage != "" && data["message"] != tc.wantMessage {
				t.Errorf("data.message = %v, want %q", data["message"], tc.wantMessage)
			}
			if (deltaCount > 0) != tc.wantText {
				t.Errorf("%d deltas before the error, want some: %v", deltaCount, tc.wantText)
			}
			if got := chatRequests(s.fake) - before; got != tc.wantRequests {
				t.Errorf("the fake got %d chat requests, want %d", got, tc.wantRequests)
			}

			s.fake.SetFault(fakepoe.Fault{})
			s.sendOK(t, fmt.Sprintf("after-%d", i))
		})
	}
}

// TestUpstreamRetrySucceeds checks that a failure that Poe clears by the retry
// reaches the editor as one clean stream.
func TestUpstreamRetrySucceeds(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(nil)
	s.signInOAuth()

	faults := []fakepoe.Fault{
		{ChatStatus: 502, ChatStatusCount: 1},
		{ChatStatus: 429, ChatStatusCount: 1, RetryAfter: "1"},
		{ChatStatus: 529, ChatStatusCount: 1, ErrorShape: fakepoe.ShapeHTML},
	}
	for i, fault := range faults {
		before := chatRequests(s.fake)
		s.fake.SetFault(fault)

		s.sendOK(t, fmt.Sprintf("retry-%d", i))

		if got := chatRequests(s.fake) - before; got != 2 {
			t.Errorf("fault %+v: the fake got %d chat requests, want 2", fault, got)
		}
	}
}

// TestUpstreamExactText checks that wire quirks leave the pieces of text the
// editor receives unchanged.
func TestUpstreamExactText(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	s.initialize(map[string]any{"streamIdleTimeoutSeconds": 1})
	s.signInOAuth()

	const message = "héllo wörld, 世界 🎉 done"
	want := fakepoe.ReplyDeltas("GPT-5.4", []fakepoe.Message{{Role: "user", Content: message}})
	faults := []fakepoe.Fault{
		{Stream: fakepoe.StreamBytePerWrite},
		{Stream: fakepoe.StreamCRLF},
		// Comments every 150ms over 1.5s keep a stream with a 1s idle timeout alive.
		{KeepAliveGapMillis: 1500},
		{Stream: "byte_per_write,crlf,keepalive,nospace,no_done", KeepAliveGapMillis: 1500},
	}
	for i, fault := range faults {
		s.fake.SetFault(fault)
		id := fmt.Sprintf("exact-%d", i)
		var res chatResult
		s.mustCall("chat/send", map[string]any{"streamId": id, "model": "GPT-5.4", "messages": userMessage(message)}, &res)

		if res.Text != strings.Join(want, "") {
			t.Errorf("fault %+v: text = %q, want %q", fault, res.Text, strings.Join(want, ""))
		}
		events := s.streamEvents(id)
		checkStream(t, events, res.Text)
		var deltas []string
		for _, ev := range events[:len(events)-1] {
			deltas = append(deltas, ev.Delta)
		}
		if !slices.Equal(deltas, want) {
			t.Errorf("fault %+v: deltas = %q, want %q", fault, deltas, want)
		}
	}
}

// TestUpstreamHugeLine checks that a 20 MiB data line reaches the editor whole,
// as one delta, since it is under the 32 MiB cap on one server-sent event. The
// shared test client reads at most 16 MiB per message, so this test reads the
// sidecar's stdout with a larger limit, as an editor without a limit would.
func TestUpstreamHugeLine(t *testing.T) {
	const size = 20 << 20
	fake, err := fakepoe.Start(fakepoe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	key := "sk-poe-" + strings.Repeat("Huge", 10)
	fake.AddKey(key, 100)
	fake.SetFault(fakepoe.Fault{Stream: fakepoe.StreamHugeEvent, HugeEventSize: size})

	home := t.TempDir()
	cmd := exec.Command(sidecarBin, "--stdio")
	cmd.Env = append(withoutPoeEnv(os.Environ()),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"POE_BASE_URL="+fake.BaseURL(),
		"POE_API_KEY="+key,
	)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if out := stderr.String(); out != "" {
			t.Errorf("the sidecar wrote to stderr:\n%s", out)
		}
	})

	var (
		mu     sync.Mutex
		deltas []string
	)
	handler := jsonrpc2.HandlerWithError(func(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
		if req.Method == "chat/stream" && req.Params != nil {
			var ev streamEvent
			if err := json.Unmarshal(*req.Params, &ev); err != nil {
				t.Errorf("chat/stream params: %v", err)
				return nil, nil
			}
			if !ev.Done {
				mu.Lock()
				deltas = append(deltas, ev.Delta)
				mu.Unlock()
			}
		}
		return nil, nil
	})
	stream := rpc.NewStream(stdout, stdin, stdin, 64<<20, nil)
	conn := jsonrpc2.NewConn(context.Background(), stream, handler, jsonrpc2.SetLogger(log.New(io.Discard, "", 0)))
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if err := conn.Call(ctx, "initialize", map[string]any{"processId": os.Getpid(), "capabilities": map[string]any{}}, nil); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if err := conn.Notify(ctx, "initialized", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	var res chatResult
	if err := conn.Call(ctx, "chat/send", map[string]any{"streamId": "huge", "model": "GPT-5.4", "messages": userMessage(upstreamMessage)}, &res); err != nil {
		t.Fatalf("chat/send: %v", err)
	}

	want := strings.Join(upstreamReply(), "") + strings.Repeat("x", size)
	if res.Text != want {
		t.Errorf("chat/send text has %d bytes, want %d", len(res.Text), len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(deltas, ""); got != want {
		t.Errorf("deltas add up to %d bytes, want %d", len(got), len(want))
	}
	if len(deltas) == 0 || len(deltas[len(deltas)-1]) != size {
		t.Errorf("the last delta is not the whole %d-byte line", size)
	}
}

// TestUpstreamConnectionRefused points the sidecar at a closed port, then opens
// the port: the first chat/send fails as unreachable and the next one succeeds.
func TestUpstreamConnectionRefused(t *testing.T) {
	key := "sk-poe-" + strings.Repeat("Conn", 10)
	s := startSession(t, fakepoe.Options{}, "POE_API_KEY="+key)
	s.fake.AddKey(key, 100)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	s.initialize(map[string]any{"baseUrl": "http://" + addr + "/v1"})

	data, _ := s.sendFailing(t, "refused", "GPT-5.4", 1020)
	if data["reason"] != "unreachable" {
		t.Errorf("data.reason = %v, want unreachable", data["reason"])
	}
	if _, ok := data["status"]; ok {
		t.Errorf("data.status = %v, want none: no response arrived", data["status"])
	}
	if got := chatRequests(s.fake); got != 0 {
		t.Errorf("the fake got %d chat requests, want none", got)
	}

	// The same port now forwards to the fake Poe.
	listener, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again, so recovery is not checked: %v", addr, err)
	}
	target, err := url.Parse(s.fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httptest.Server{Listener: listener, Config: &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}}
	proxy.Start()
	t.Cleanup(proxy.Close)

	s.sendOK(t, "after-refused")
}

// TestUpstreamUntrustedTLS points the sidecar at an HTTPS server whose
// certificate it does not trust: chat/send fails as unreachable, names the
// certificate, sends nothing to Poe, and the session keeps serving.
func TestUpstreamUntrustedTLS(t *testing.T) {
	key := "sk-poe-" + strings.Repeat("Tls0", 10)
	s := startSession(t, fakepoe.Options{}, "POE_API_KEY="+key)
	s.fake.AddKey(key, 100)
	target, err := url.Parse(s.fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	tlsServer := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	s.initialize(map[string]any{"baseUrl": tlsServer.URL + "/v1"})

	for _, id := range []string{"tls-1", "tls-2"} {
		data, _ := s.sendFailing(t, id, "GPT-5.4", 1020)
		if data["reason"] != "unreachable" {
			t.Errorf("%s: data.reason = %v, want unreachable", id, data["reason"])
		}
	}
	err = s.call("chat/send", map[string]any{"streamId": "tls-3", "model": "GPT-5.4", "messages": userMessage("hi")}, nil)
	if e, _ := wireError(t, err); !strings.Contains(e.Message, "certificate") {
		t.Errorf("message = %q, want it to name the certificate", e.Message)
	}
	if got := chatRequests(s.fake); got != 0 {
		t.Errorf("the fake got %d chat requests, want none through an untrusted connection", got)
	}
	var st authStatus
	s.mustCall("auth/status", nil, &st)
	if !st.SignedIn {
		t.Errorf("auth/status = %+v, want still signed in from env", st)
	}
}
