//go:build unix

package auth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperProcess is this test binary running in a helper mode.
type helperProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, closed at its end
	stderr *syncBuffer
}

// startHelper runs this test binary in a helper mode with the extra environment env.
func startHelper(t *testing.T, mode string, env ...string) *helperProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// By default the race detector sleeps 1 s before a process exits.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, "GORACE="+race)
	cmd.Env = append(cmd.Env, env...)
	p := &helperProcess{cmd: cmd, lines: make(chan string, 64), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	go func() {
		defer close(p.lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			p.lines <- scanner.Text()
		}
	}()
	return p
}

// next returns the next line of the helper's output.
func (p *helperProcess) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.cmd.Wait()
			t.Fatalf("helper ended early (%v); stderr:\n%s", p.cmd.ProcessState, p.stderr)
		}
		return line
	case <-time.After(waitLimit):
		t.Fatalf("helper sent nothing for %v; stderr:\n%s", waitLimit, p.stderr)
		return ""
	}
}

// TestStoreTwoProcesses runs two sidecar-like processes that sign in and out against the
// same credential file at the same time, and checks the file after every round.
func TestStoreTwoProcesses(t *testing.T) {
	const rounds = 300
	store := newTestStore(t)
	var signers []*helperProcess
	for _, editor := range []string{"VSCODE", "NEOVIM"} {
		key := signerKeyPrefix + editor + "abcdefghijklmnopqrstuvwxyz0123"
		p := startHelper(t, helperSigner, helperPathEnv+"="+store.Path, helperKeyEnv+"="+key)
		signers = append(signers, p)
		t.Cleanup(func() {
			p.stdin.Close()
			p.cmd.Wait()
		})
	}

	for round := 0; round < rounds; round++ {
		for _, p := range signers {
			if _, err := io.WriteString(p.stdin, "round\n"); err != nil {
				t.Fatalf("round %d: %v; stderr:\n%s", round, err, p.stderr)
			}
		}
		for i, p := range signers {
			if answer := p.next(t); answer != "ok" {
				t.Fatalf("round %d: process %d: %s", round, i, answer)
			}
		}

		if err := checkSignerFile(store); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if asides, _ := filepath.Glob(store.Path + ".corrupt-*"); len(asides) != 0 {
			t.Fatalf("round %d: a corrupt file was moved aside: %v", round, asides)
		}
		if temps := tempFiles(t, store); len(temps) != 0 {
			t.Fatalf("round %d: temporary files left: %v", round, temps)
		}
	}

	for i, p := range signers {
		p.stdin.Close()
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("process %d: %v; stderr:\n%s", i, err, p.stderr)
		}
	}
}

// TestStoreKillDuringSave kills a process that saves in a loop with SIGKILL at random
// moments. After each kill, the file must hold the last key that the process confirmed
// or the one it was saving, and the next Save must remove any temporary file.
func TestStoreKillDuringSave(t *testing.T) {
	const rounds = 200
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	store := newTestStore(t)
	current := 0
	if err := store.Save(Credential{APIKey: numberedKey(current), Method: MethodAPIKey}); err != nil {
		t.Fatal(err)
	}

	leftTemps := 0
	for round := 0; round < rounds; round++ {
		p := startHelper(t, helperSaver, helperPathEnv+"="+store.Path, helperStartEnv+"="+strconv.Itoa(current+1))

		// The kill comes after 0 to 2 confirmed saves and up to 2 ms more, which lands at a
		// random point of the following Save.
		confirmed := current
		for i := rng.IntN(3); i > 0; i-- {
			confirmed = savedNumber(t, p.next(t))
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for line := range p.lines {
			confirmed = savedNumber(t, line)
		}
		p.cmd.Wait()
		if status, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !status.Signaled() {
			t.Fatalf("round %d: saver ended with %v, not by the kill; stderr:\n%s", round, p.cmd.ProcessState, p.stderr)
		}

		cred, err := store.Load()
		if err != nil || cred == nil {
			t.Fatalf("round %d: Load after the kill = %v, %v; want a complete credential", round, cred, err)
		}
		got, err := keyNumber(cred.APIKey)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got != confirmed && got != confirmed+1 {
			t.Fatalf("round %d: the file holds key %d, want the confirmed %d or the next one", round, got, confirmed)
		}

		if len(tempFiles(t, store)) > 0 {
			leftTemps++
		}
		current = got + 1
		if err := store.Save(Credential{APIKey: numberedKey(current), Method: MethodAPIKey}); err != nil {
			t.Fatalf("round %d: Save after the kill: %v", round, err)
		}
		if temps := tempFiles(t, store); len(temps) != 0 {
			t.Fatalf("round %d: Save left temporary files: %v", round, temps)
		}
	}
	t.Logf("%d of %d kills left a temporary file, and the next Save removed each one", leftTemps, rounds)
}

// savedNumber returns n from a saver's "saved <n>" line.
func savedNumber(t *testing.T, line string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(line, "saved %d", &n); err != nil {
		t.Fatalf("saver line %q: %v", line, err)
	}
	return n
}
