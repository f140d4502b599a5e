//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// These tests run commands under a pseudo-terminal, as a user at a terminal would, to
// check the hidden prompt, colour and the progress indicators. They read termios
// through Linux ioctls, hence the build constraint.

// ptyProcess is a command whose standard streams are the same pseudo-terminal.
type ptyProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	ptmx   *os.File
	output *outputLog
	done   chan struct{}
	code   int
}

func (e *cliEnv) startPTY(args ...string) *ptyProcess {
	e.t.Helper()
	cmd := e.command(context.Background(), args...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		e.t.Fatalf("start under a pseudo-terminal: %v", err)
	}

	p := &ptyProcess{t: e.t, cmd: cmd, ptmx: ptmx, output: newOutputLog(), done: make(chan struct{})}
	// Reading the master side fails with EIO once the command has exited and closed
	// the terminal, which ends the log.
	go p.output.copyFrom(ptmx)
	go func() {
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		ptmx.Close()
	})
	return p
}

// typeText writes text as if typed at the terminal; "\r" is the Enter key.
func (p *ptyProcess) typeText(text string) {
	p.t.Helper()
	if _, err := io.WriteString(p.ptmx, text); err != nil {
		p.t.Fatalf("type at the terminal: %v", err)
	}
}

// wait waits for the command to end and for its last output, and returns the exit
// status.
func (p *ptyProcess) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(cliTimeout):
		p.t.Fatalf("the command did not end within %v; terminal output:\n%s", cliTimeout, p.output)
	}
	p.output.waitEnd(p.t)
	return p.code
}

// echoOn reports whether the terminal echoes typed characters.
func (p *ptyProcess) echoOn() bool {
	p.t.Helper()
	termios, err := unix.IoctlGetTermios(int(p.ptmx.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatalf("read the terminal settings: %v", err)
	}
	return termios.Lflag&unix.ECHO != 0
}

// waitEchoOff waits until the command has turned echo off. Terminal settings change
// without any notification, so this polls them.
func (p *ptyProcess) waitEchoOff() {
	p.t.Helper()
	deadline := time.Now().Add(cliTimeout)
	for p.echoOn() {
		if time.Now().After(deadline) {
			p.t.Fatalf("echo still on after %v; terminal output:\n%s", cliTimeout, p.output)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoginAPIKeyPrompt(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "TERM=xterm")
	e.fake.AddKey(testKey, 77)
	unknownKey := "sk-poe-" + strings.Repeat("Zzz9", 10)

	p := e.startPTY("login", "--api-key")
	p.output.waitFor(t, regexp.MustCompile(`Poe API key: `))
	p.waitEchoOff()
	p.typeText(unknownKey + "\r")
	p.output.waitFor(t, regexp.MustCompile(`Poe rejected the API key`))
	p.output.waitFor(t, regexp.MustCompile(`(?s)Poe rejected the API key.*Poe API key: `))
	p.waitEchoOff()
	p.typeText(testKey + "\r")

	if code := p.wait(); code != exitOK {
		t.Fatalf("exit status = %d, want 0; terminal output:\n%s", code, p.output)
	}
	out := p.output.String()
	if !strings.Contains(out, "Signed in to Poe with an API key.") || !strings.Contains(out, "Points: 77") {
		t.Errorf("terminal output:\n%s\nwant the sign-in report with 77 points", out)
	}
	for _, key := range []string{testKey, unknownKey} {
		if strings.Contains(out, key) {
			t.Errorf("the terminal shows a typed key, so echo was on:\n%s", out)
		}
	}
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("no colour on a terminal with TERM=xterm and NO_COLOR unset:\n%q", out)
	}
	if !p.echoOn() {
		t.Error("echo is off after login ended")
	}
}

// TestLoginAPIKeyPromptInterrupt presses Ctrl-C at the hidden prompt and checks that
// login exits with 130 and turns echo back on.
func TestLoginAPIKeyPromptInterrupt(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "TERM=xterm")
	p := e.startPTY("login", "--api-key")
	p.output.waitFor(t, regexp.MustCompile(`Poe API key: `))
	p.waitEchoOff()

	p.typeText("\x03") // VINTR: the terminal sends SIGINT
	if code := p.wait(); code != exitInterrupted {
		t.Fatalf("exit status = %d, want %d; terminal output:\n%s", code, exitInterrupted, p.output)
	}
	if !p.echoOn() {
		t.Error("echo is still off after Ctrl-C at the hidden prompt")
	}
	if _, err := os.Stat(e.credPath()); !os.IsNotExist(err) {
		t.Errorf("credential file after an interrupted login: %v, want none", err)
	}
}

// TestLoginBrowserCountdown checks the progress indicator with the remaining time.
func TestLoginBrowserCountdown(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "TERM=xterm", "BROWSER=true")
	p := e.startPTY("login")
	authorizeURL := p.output.waitFor(t, authorizeURLPattern)
	p.output.waitFor(t, regexp.MustCompile(`approve in the browser, [0-5]:[0-5]\d left`))

	resp, err := http.Get(stripEscapes(authorizeURL))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	resp.Body.Close()
	if code := p.wait(); code != exitOK {
		t.Fatalf("exit status = %d, want 0; terminal output:\n%s", code, p.output)
	}
	if out := p.output.String(); !strings.Contains(out, clearLine) {
		t.Errorf("the spinner line was not erased:\n%q", out)
	}
}

// TestColour checks when commands print colour at a terminal.
func TestColour(t *testing.T) {
	cases := []struct {
		name       string
		env        []string
		wantColour bool
	}{
		{"terminal", []string{"TERM=xterm"}, true},
		{"NO_COLOR", []string{"TERM=xterm", "NO_COLOR=1"}, false},
		{"empty NO_COLOR", []string{"TERM=xterm", "NO_COLOR="}, true},
		{"dumb terminal", []string{"TERM=dumb"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{}, tc.env...)
			p := e.startPTY("status")
			if code := p.wait(); code != exitAuthRequired {
				t.Fatalf("status exit = %d, want %d; terminal output:\n%s", code, exitAuthRequired, p.output)
			}
			if got := strings.Contains(p.output.String(), "\x1b["); got != tc.wantColour {
				t.Errorf("escape codes printed = %v, want %v:\n%q", got, tc.wantColour, p.output)
			}
		})
	}
}

// TestChatTerminal checks that at a terminal the answer ends with a line end and the
// waiting spinner is erased before the answer.
func TestChatTerminal(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "TERM=xterm", "POE_API_KEY="+testKey)
	e.fake.AddKey(testKey, 10)
	p := e.startPTY("chat", "hello")
	if code := p.wait(); code != exitOK {
		t.Fatalf("exit status = %d, want 0; terminal output:\n%s", code, p.output)
	}

	want := fakepoe.ReplyFor(defaultChatModel, []fakepoe.Message{{Role: "user", Content: "hello"}})
	out := p.output.String()
	if !strings.Contains(out, want+"\r\n") {
		t.Errorf("terminal output:\n%q\nwant the answer %q ending with a line end", out, want)
	}
	if !strings.Contains(out, "Waiting for "+defaultChatModel) {
		t.Errorf("terminal output:\n%q\nwant the waiting spinner", out)
	}
	if before, _, _ := strings.Cut(out, want); !strings.HasSuffix(before, clearLine) {
		t.Errorf("the spinner line is not erased right before the answer:\n%q", out)
	}
}

// stripEscapes removes ANSI escape sequences, such as the bold around the URL.
func stripEscapes(s string) string {
	return regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`).ReplaceAllString(s, "")
}
