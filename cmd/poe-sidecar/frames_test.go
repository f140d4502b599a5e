package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawSidecar runs the binary with raw pipes, for tests that send bytes no
// JSON-RPC library would.
type rawSidecar struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
}

func startRaw(t *testing.T) *rawSidecar {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(sidecarBin, "--log-level", "debug")
	cmd.Env = append(withoutPoeEnv(os.Environ()),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"POE_BASE_URL=http://127.0.0.1:9/v1",
	)
	r := &rawSidecar{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = r.stderr
	var err error
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return r
}

func (r *rawSidecar) write(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(r.stdin, s); err != nil {
		t.Fatal(err)
	}
}

// read reads one frame and fails the test on anything that is not a frame.
func (r *rawSidecar) read(t *testing.T) map[string]any {
	t.Helper()
	type result struct {
		msg map[string]any
		err error
	}
	done := make(chan result, 1)
	go func() {
		line, err := r.stdout.ReadString('\n')
		if err != nil {
			done <- result{err: err}
			return
		}
		value, ok := strings.CutPrefix(line, "Content-Length: ")
		if !ok {
			done <- result{err: fmt.Errorf("stdout line %q is not a frame header", line)}
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			done <- result{err: err}
			return
		}
		if blank, _ := r.stdout.ReadString('\n'); blank != "\r\n" {
			done <- result{err: fmt.Errorf("header ends with %q", blank)}
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r.stdout, body); err != nil {
			done <- result{err: err}
			return
		}
		var msg map[string]any
		err = json.Unmarshal(body, &msg)
		done <- result{msg, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("reading stdout: %v", res.err)
		}
		return res.msg
	case <-time.After(15 * time.Second):
		t.Fatal("no frame on stdout within 15 s")
		return nil
	}
}

func rawFrame(body string) string {
	return "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func TestFramesTolerated(t *testing.T) {
	r := startRaw(t)
	r.write(t, rawFrame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	if msg := r.read(t); msg["id"] != 1.0 || msg["result"] == nil {
		t.Fatalf("initialize reply = %v", msg)
	}

	// None of these gets a reply, and none ends the session.
	body := `{"jsonrpc":"2.0","method":"$/someFutureThing","params":{}}`
	r.write(t, "content-length: "+strconv.Itoa(len(body))+"\r\nX-Extra: 1\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"+body)
	r.write(t, "\r\n\r\n")
	r.write(t, rawFrame(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":424242}}`))
	r.write(t, rawFrame(`{"jsonrpc":"2.0","id":77,"result":{"answer":"to nothing"}}`))

	// These get an error reply with id null, and the session goes on.
	for _, tc := range []struct{ body, wantCode string }{
		{`{"jsonrpc":"2.0","id":2,"method":`, "-32700"},
		{`[{"jsonrpc":"2.0","id":3,"method":"auth/methods"}]`, "-32600"},
	} {
		r.write(t, rawFrame(tc.body))
		msg := r.read(t)
		e, _ := msg["error"].(map[string]any)
		if msg["id"] != nil || e == nil || fmt.Sprint(e["code"]) != tc.wantCode {
			t.Fatalf("reply to %s = %v, want error %s with id null", tc.body, msg, tc.wantCode)
		}
	}

	r.write(t, rawFrame(`{"jsonrpc":"2.0","id":4,"method":"auth/methods"}`))
	if msg := r.read(t); msg["id"] != 4.0 || msg["result"] == nil {
		t.Fatalf("auth/methods after the bad frames = %v, want its result", msg)
	}
	if out := r.stderr.String(); out != "" {
		t.Fatalf("stderr = %q, want nothing", out)
	}
}

func TestFramesFatal(t *testing.T) {
	cases := []struct{ name, input string }{
		{"no colon", "Content-Length 10\r\n\r\n"},
		{"over the maximum", "Content-Length: 16777217\r\n\r\n"},
		{"length not a number", "Content-Length: many\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRaw(t)
			r.write(t, tc.input)
			done := make(chan error, 1)
			go func() { done <- r.cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the sidecar did not exit within 10 s of a fatal frame")
			}
			if code := r.cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit status = %d, want 1", code)
			}
			if rest, _ := io.ReadAll(r.stdout); len(rest) != 0 {
				t.Errorf("stdout carried %q, want nothing", rest)
			}
		})
	}
}
