// Command bare is the reference sidecar of the benchmark: the least a program
// needs to do to serve an editor the way poe-sidecar does, on the same
// JSON-RPC library (github.com/sourcegraph/jsonrpc2 with its LSP codec).
//
// It responds to initialize and shutdown, and exits on exit or when stdin
// closes. For chat/send it posts the request to POE_BASE_URL/chat/completions
// with POE_API_KEY, reads the server-sent events line by line and sends each
// delta as a chat/stream notification. It has no sign-in, no key file, no
// logging, no idle timer and no checks beyond what the benchmark needs, so
// its figures are the floor that poe-sidecar is compared with.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
)

func main() {
	h := &handler{
		baseURL: strings.TrimSuffix(os.Getenv("POE_BASE_URL"), "/"),
		apiKey:  os.Getenv("POE_API_KEY"),
	}
	stream := jsonrpc2.NewBufferedStream(stdio{}, jsonrpc2.VSCodeObjectCodec{})
	conn := jsonrpc2.NewConn(context.Background(), stream, h)
	<-conn.DisconnectNotify()
}

// stdio joins the process's standard streams into one io.ReadWriteCloser.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return os.Stdin.Close() }

type handler struct {
	baseURL string
	apiKey  string
}

// Handle runs on the connection's reading goroutine, so chat/send moves to
// a goroutine of its own.
func (h *handler) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	switch req.Method {
	case "initialize":
		result := map[string]any{
			"capabilities": map[string]any{},
			"serverInfo":   map[string]string{"name": "bare", "version": "0"},
		}
		_ = conn.Reply(ctx, req.ID, result)
	case "shutdown":
		_ = conn.Reply(ctx, req.ID, nil)
	case "exit":
		os.Exit(0)
	case "chat/send":
		go h.chatSend(ctx, conn, req)
	default:
		if !req.Notif {
			_ = conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "method not found"})
		}
	}
}

type chatSendParams struct {
	StreamID string            `json:"streamId"`
	Model    string            `json:"model"`
	Messages []json.RawMessage `json:"messages"`
}

type streamEvent struct {
	StreamID     string `json:"streamId"`
	Seq          int    `json:"seq"`
	Delta        string `json:"delta,omitempty"`
	Done         bool   `json:"done,omitempty"`
	FinishReason string `json:"finishReason,omitempty"`
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

func (h *handler) chatSend(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	var p chatSendParams
	if req.Params == nil || json.Unmarshal(*req.Params, &p) != nil {
		_ = conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "invalid params"})
		return
	}

	finish, err := h.relay(ctx, conn, p)
	if err != nil {
		_ = conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: 1020, Message: err.Error()})
		return
	}
	_ = conn.Reply(ctx, req.ID, map[string]string{"streamId": p.StreamID, "finishReason": finish})
}

// relay streams one completion and returns its finish reason. The done
// notification is sent on success only: the benchmark never makes it fail.
func (h *handler) relay(ctx context.Context, conn *jsonrpc2.Conn, p chatSendParams) (string, error) {
	body, err := json.Marshal(map[string]any{"model": p.Model, "messages": p.Messages, "stream": true})
	if err != nil {
		return "", err
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, h.baseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	httpReq.Header.Set("Authorization", "Bearer "+h.apiKey)
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &jsonrpc2.Error{Code: 1020, Message: resp.Status}
	}

	seq, finish := 0, ""
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 4<<20)
	for lines.Scan() {
		data, ok := bytes.CutPrefix(lines.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		if string(data) == "[DONE]" {
			break
		}
		var c chunk
		if err := json.Unmarshal(data, &c); err != nil {
			return "", err
		}
		if len(c.Choices) == 0 {
			continue
		}
		if text := c.Choices[0].Delta.Content; text != "" {
			_ = conn.Notify(ctx, "chat/stream", streamEvent{StreamID: p.StreamID, Seq: seq, Delta: text})
			seq++
		}
		if fr := c.Choices[0].FinishReason; fr != nil {
			finish = *fr
		}
	}
	if err := lines.Err(); err != nil && err != io.EOF {
		return "", err
	}

	_ = conn.Notify(ctx, "chat/stream", streamEvent{StreamID: p.StreamID, Seq: seq, Done: true, FinishReason: finish})
	return finish, nil
}
