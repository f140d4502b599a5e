// Package client spawns a poe-sidecar process and talks to it over its
// standard streams, as an editor does. The demo command and the end-to-end
// tests use it.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os/exec"
	"sync"
	"syscall"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/rpc"
)

// Client is one running sidecar and the JSON-RPC connection to it.
type Client struct {
	cmd   *exec.Cmd
	stdin io.Closer
	conn  *jsonrpc2.Conn
	done  chan struct{} // closed when the process has exited
	err   error         // the process's exit error, valid after done

	mu       sync.Mutex
	handlers map[string]func(json.RawMessage)
}

// Start runs the sidecar at path with args and env (nil env inherits this
// process's environment) and connects to it. Stderr of the process goes to
// stderr when it is non-nil.
func Start(path string, args, env []string, stderr io.Writer) (*Client, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("create stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}

	c := &Client{
		cmd:      cmd,
		stdin:    stdin,
		done:     make(chan struct{}),
		handlers: make(map[string]func(json.RawMessage)),
	}
	stream := rpc.NewStream(stdout, stdin, stdin, 0, nil)
	// The library logs to stderr by default; a client that plays an editor
	// keeps quiet instead.
	quiet := log.New(io.Discard, "", 0)
	c.conn = jsonrpc2.NewConn(context.Background(), stream, jsonrpc2.HandlerWithError(c.handle), jsonrpc2.SetLogger(quiet))
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// OnNotification calls fn with the params of every notification named
// method. Notifications are delivered one at a time, in the order sent.
func (c *Client) OnNotification(method string, fn func(params json.RawMessage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers[method] = fn
}

func (c *Client) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	c.mu.Lock()
	fn := c.handlers[req.Method]
	c.mu.Unlock()
	if fn != nil && req.Params != nil {
		fn(*req.Params)
	}
	if req.Notif {
		return nil, nil
	}
	return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "the test client handles no requests"}
}

// Call sends a request and decodes its result into result (which may be nil).
func (c *Client) Call(ctx context.Context, method string, params, result any, opts ...jsonrpc2.CallOption) error {
	return c.conn.Call(ctx, method, params, result, opts...)
}

// Notify sends a notification.
func (c *Client) Notify(ctx context.Context, method string, params any) error {
	return c.conn.Notify(ctx, method, params)
}

// Conn is the underlying connection, for tests that need to dispatch a call
// and cancel it.
func (c *Client) Conn() *jsonrpc2.Conn { return c.conn }

// Done is closed when the process has exited.
func (c *Client) Done() <-chan struct{} { return c.done }

// ExitCode returns the process's exit status; call it after Done is closed.
func (c *Client) ExitCode() int {
	if c.cmd.ProcessState == nil {
		return -1
	}
	return c.cmd.ProcessState.ExitCode()
}

// CloseStdin closes the sidecar's standard input, which ends its session.
func (c *Client) CloseStdin() error { return c.stdin.Close() }

// Kill ends the process at once.
func (c *Client) Kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}
