package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// These helpers run the terminal commands of the binary that TestMain builds, as
// subprocesses against the fake Poe on 127.0.0.1, with a scratch home folder.

// cliTimeout bounds every wait in these tests, so that a hung command fails the test
// instead of the whole run.
const cliTimeout = 30 * time.Second

// testKey is an API key in Poe's shape. Tests register it with the fake as needed.
var testKey = "sk-poe-" + strings.Repeat("Cli7", 10)

// authorizeURLPattern finds the authorize URL in a command's output.
var authorizeURLPattern = regexp.MustCompile(`http://127\.0\.0\.1:\d+/oauth/authorize\?\S+`)

// cliEnv is a fake Poe and a scratch home for terminal commands.
type cliEnv struct {
	t    *testing.T
	fake *fakepoe.Server
	home string
	vars []string
}

// newCLIEnv starts a fake Poe and returns an environment that points the commands at
// it. It leaves out the user's Poe settings and the variables from which login decides
// whether to open a browser, so that tests behave the same over SSH, in WSL and on a
// desktop. extra adds variables back.
func newCLIEnv(t *testing.T, opts fakepoe.Options, extra ...string) *cliEnv {
	t.Helper()
	fake, err := fakepoe.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	home := t.TempDir()
	vars := []string{
		// The race detector otherwise waits a second before a process with running
		// goroutines exits; a race still fails the command with status 66.
		"GORACE=atexit_sleep_ms=0",
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"POE_BASE_URL=" + fake.BaseURL(),
		"POE_OAUTH_AUTHORIZE_URL=" + fake.AuthorizeURL(),
		"POE_OAUTH_TOKEN_URL=" + fake.TokenURL(),
	}
	for _, kv := range withoutPoeEnv(os.Environ()) {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "SSH_"), strings.HasPrefix(name, "WSL_"),
			name == "DISPLAY", name == "WAYLAND_DISPLAY", name == "BROWSER", name == "NO_COLOR", name == "TERM",
			name == "GORACE":
			continue
		}
		vars = append(vars, kv)
	}
	return &cliEnv{t: t, fake: fake, home: home, vars: append(vars, extra...)}
}

func (e *cliEnv) credPath() string {
	return filepath.Join(e.home, "data", "poe-sidecar", "auth.json")
}

// storeKey writes a credential file as a sign-in would.
func (e *cliEnv) storeKey(cred auth.Credential) {
	e.t.Helper()
	if cred.CreatedAt.IsZero() {
		cred.CreatedAt = time.Now()
	}
	if err := auth.NewStore(e.credPath()).Save(cred); err != nil {
		e.t.Fatal(err)
	}
}

// command returns the binary set up to run args in this environment.
func (e *cliEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, sidecarBin, args...)
	cmd.Env = e.vars
	return cmd
}

// cliResult is the outcome of a command that ran to its end.
type cliResult struct {
	stdout string
	stderr string
	code   int
}

// run runs args with stdin as standard input and waits for the command to end.
func (e *cliEnv) run(stdin string, args ...string) cliResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()

	cmd := e.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("poe-sidecar %s did not end within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), cliTimeout, stdout.String(), stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		e.t.Fatalf("run poe-sidecar %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// cliProcess is a running command whose output a test watches while it runs.
type cliProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *outputLog
	stderr *outputLog
	done   chan struct{} // closed when the process has ended and its output is read
	code   int
}

// start starts args with pipes for the standard streams.
func (e *cliEnv) start(args ...string) *cliProcess {
	e.t.Helper()
	cmd := e.command(context.Background(), args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}

	p := &cliProcess{t: e.t, cmd: cmd, stdin: stdin, stdout: newOutputLog(), stderr: newOutputLog(), done: make(chan struct{})}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); p.stdout.copyFrom(stdoutPipe) }()
	go func() { defer copying.Done(); p.stderr.copyFrom(stderrPipe) }()
	go func() {
		copying.Wait()
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// write sends text to the command's stdin.
func (p *cliProcess) write(text string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, text); err != nil {
		p.t.Fatalf("write to stdin: %v", err)
	}
}

// signal sends sig to the command.
func (p *cliProcess) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("send %v: %v", sig, err)
	}
}

// wait waits for the command to end and returns its exit status.
func (p *cliProcess) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(cliTimeout):
		p.t.Fatalf("the command did not end within %v\nstdout:\n%s\nstderr:\n%s", cliTimeout, p.stdout.String(), p.stderr.String())
		return -1
	}
}

// outputLog collects a stream's output and wakes the tests that wait for a pattern.
type outputLog struct {
	mu      sync.Mutex
	text    strings.Builder
	changed chan struct{} // closed and replaced on every write and at the end
	ended   bool
}

func newOutputLog() *outputLog {
	return &outputLog{changed: make(chan struct{})}
}

func (l *outputLog) copyFrom(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		l.mu.Lock()
		l.text.Write(buf[:n])
		if err != nil {
			l.ended = true
		}
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (l *outputLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// waitFor waits until the output matches pattern and returns the first match.
func (l *outputLog) waitFor(t *testing.T, pattern *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(cliTimeout)
	for {
		l.mu.Lock()
		match := pattern.FindString(l.text.String())
		ended, changed := l.ended, l.changed
		l.mu.Unlock()

		switch {
		case match != "":
			return match
		case ended:
			t.Fatalf("the output ended without matching %q:\n%s", pattern, l.String())
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no output matching %q within %v:\n%s", pattern, cliTimeout, l.String())
		}
	}
}

// waitEnd waits until the stream has ended.
func (l *outputLog) waitEnd(t *testing.T) {
	t.Helper()
	timeout := time.After(cliTimeout)
	for {
		l.mu.Lock()
		ended, changed := l.ended, l.changed
		l.mu.Unlock()
		if ended {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the output did not end within %v:\n%s", cliTimeout, l.String())
		}
	}
}

// redirectLocation requests the authorize URL without following the redirect, as a
// browser on another machine would end up, and returns the callback address.
func redirectLocation(t *testing.T, authorizeURL string) string {
	t.Helper()
	client := &http.Client{
		Timeout:       cliTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(authorizeURL)
	if err != nil {
		t.Fatalf("GET the authorize URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize URL status = %d, want a redirect", resp.StatusCode)
	}
	location := resp.Header.Get("Location")
	if !strings.HasPrefix(location, "http://127.0.0.1:") {
		t.Fatalf("redirect Location = %q, want the loopback callback", location)
	}
	return location
}

// checkNoEscapes fails when output written to a pipe contains terminal escape codes
// (colour or spinner), which belong only on a terminal.
func checkNoEscapes(t *testing.T, name, output string) {
	t.Helper()
	if strings.Contains(output, "\x1b") {
		t.Errorf("%s contains terminal escape codes, though it is a pipe:\n%q", name, output)
	}
}
