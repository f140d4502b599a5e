package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// pipeConn connects a Server to a jsonrpc2 client over in-memory pipes with
// the production framing on both ends.
func pipeConn(t *testing.T, cfg Config) (*Server, *jsonrpc2.Conn) {
	t.Helper()
	toServerR, toServerW := io.Pipe()
	toClientR, toClientW := io.Pipe()

	if cfg.CredentialPath == "" {
		cfg.CredentialPath = filepath.Join(t.TempDir(), "poe-sidecar", "auth.json")
	}
	srv := NewServer(cfg)
	serverConn := jsonrpc2.NewConn(context.Background(), NewStream(toServerR, toClientW, toClientW, 0, cfg.Logger), srv)
	client := jsonrpc2.NewConn(context.Background(), NewStream(toClientR, toServerW, toServerW, 0, nil), jsonrpc2.HandlerWithError(func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request) (any, error) {
		return nil, nil
	}))
	t.Cleanup(func() {
		client.Close()
		serverConn.Close()
		srv.Close()
	})
	return srv, client
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHandlerPanicBecomesInternalError(t *testing.T) {
	methods["test/panic"] = method{handle: func(*Server, context.Context, *jsonrpc2.Request) (any, error) {
		panic("boom")
	}}
	methods["test/panicAsync"] = method{async: true, handle: func(*Server, context.Context, *jsonrpc2.Request) (any, error) {
		panic("boom async")
	}}
	t.Cleanup(func() {
		delete(methods, "test/panic")
		delete(methods, "test/panicAsync")
	})

	var logs logBuffer
	_, client := pipeConn(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Call(ctx, "initialize", map[string]any{}, nil); err != nil {
		t.Fatalf("initialize: %v", err)
	}

	for _, m := range []string{"test/panic", "test/panicAsync"} {
		err := client.Call(ctx, m, nil, nil)
		var e *jsonrpc2.Error
		if !errors.As(err, &e) || e.Code != jsonrpc2.CodeInternalError {
			t.Fatalf("%s: err = %v, want -32603", m, err)
		}
		if strings.Contains(e.Message, "boom") {
			t.Errorf("%s: message %q shows the panic value, which belongs in the log", m, e.Message)
		}
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Error("the panic was not logged")
	}

	// The session goes on.
	var res struct {
		Methods []any `json:"methods"`
	}
	if err := client.Call(ctx, "auth/methods", nil, &res); err != nil || len(res.Methods) != 2 {
		t.Fatalf("auth/methods after a panic: %v %v", res, err)
	}
}

func TestWatchParentMissingProcess(t *testing.T) {
	stop, err := watchParent(1<<30, func() {})
	if err == nil {
		stop()
		t.Fatal("watchParent accepted a process id that does not exist")
	}
}

func TestInitializeEmptyArrayOptions(t *testing.T) {
	_, client := pipeConn(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := map[string]any{"processId": nil, "capabilities": map[string]any{}, "initializationOptions": []any{}}
	if err := client.Call(ctx, "initialize", params, nil); err != nil {
		t.Fatalf("initialize with initializationOptions [] (Neovim's empty table): %v", err)
	}
}

func TestInitializeRejectsBadOptions(t *testing.T) {
	_, client := pipeConn(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := map[string]any{"initializationOptions": map[string]any{"logLevel": "loud"}}
	err := client.Call(ctx, "initialize", params, nil)
	var e *jsonrpc2.Error
	if !errors.As(err, &e) || e.Code != jsonrpc2.CodeInvalidParams || !strings.Contains(e.Message, "logLevel") {
		t.Fatalf("initialize with logLevel loud: %v, want -32602 naming logLevel", err)
	}
}
