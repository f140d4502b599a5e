package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// recordingBrowser writes a BROWSER command that stores the URL it is given in a file
// and exits, and returns the command and the file.
func recordingBrowser(t *testing.T) (command, urlFile string) {
	t.Helper()
	dir := t.TempDir()
	urlFile = filepath.Join(dir, "opened-url")
	command = filepath.Join(dir, "browser")
	script := "#!/bin/sh\nprintf '%s' \"$1\" > '" + urlFile + "'\n"
	if err := os.WriteFile(command, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return command, urlFile
}

func TestLoginBrowser(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the recording browser is a shell script")
	}
	ninetyDays := int64(90 * 24 * 3600)
	cases := []struct {
		name       string
		expiresIn  *int64
		wantExpiry string
	}{
		{"key without expiry", nil, "The key never expires."},
		{"key with expiry", &ninetyDays, "(in 90 days)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			browser, urlFile := recordingBrowser(t)
			e := newCLIEnv(t, fakepoe.Options{KeyExpiresIn: tc.expiresIn}, "BROWSER="+browser)

			p := e.start("login")
			authorizeURL := p.stderr.waitFor(t, authorizeURLPattern)
			p.stderr.waitFor(t, regexp.MustCompile(`Waiting up to \d+:\d\d for the browser`))

			// Play the browser: follow Poe's redirect to the loopback callback.
			resp, err := http.Get(authorizeURL)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("callback page status = %d:\n%s", resp.StatusCode, page)
			}

			if code := p.wait(); code != exitOK {
				t.Fatalf("exit status = %d, want 0\nstderr:\n%s", code, p.stderr)
			}
			stdout := p.stdout.String()
			for _, want := range []string{"Signed in to Poe with the browser.", tc.wantExpiry, "Points: 1,000", e.credPath()} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, stdout)
				}
			}
			checkNoEscapes(t, "stdout", stdout)
			checkNoEscapes(t, "stderr", p.stderr.String())

			opened, err := os.ReadFile(urlFile)
			if err != nil {
				t.Fatalf("the BROWSER command was not run: %v", err)
			}
			if string(opened) != authorizeURL {
				t.Errorf("BROWSER got %q, want the printed URL %q", opened, authorizeURL)
			}

			cred, err := auth.NewStore(e.credPath()).Load()
			if err != nil || cred == nil {
				t.Fatalf("credential file: %v, %v", cred, err)
			}
			if cred.Method != auth.MethodOAuth || (cred.ExpiresAt != nil) != (tc.expiresIn != nil) {
				t.Errorf("stored credential method %q, expiry %v; want oauth, expiry set %v", cred.Method, cred.ExpiresAt, tc.expiresIn != nil)
			}
			info, err := os.Stat(e.credPath())
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("credential file mode = %o, want 600", mode)
			}
		})
	}
}

// TestLoginPaste drives the paste flow: the test plays a browser on another machine,
// which stops at Poe's redirect, and feeds the redirect address on stdin after a line
// that is no address and one with a wrong state.
func TestLoginPaste(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		env        []string
		wantReason string
	}{
		{"flag", []string{"--no-browser"}, []string{"BROWSER=true"}, "--no-browser is set"},
		{"ssh", nil, []string{"BROWSER=true", "SSH_CONNECTION=10.0.0.2 50000 10.0.0.1 22"}, "This is an SSH session (SSH_CONNECTION is set)"},
		{"wsl", nil, []string{"BROWSER=true", "WSL_DISTRO_NAME=Ubuntu"}, "This is WSL (WSL_DISTRO_NAME is set)"},
	}
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		cases = append(cases, struct {
			name       string
			args       []string
			env        []string
			wantReason string
		}{"no display", nil, nil, "No graphical display is available"})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{}, tc.env...)
			p := e.start(append([]string{"login"}, tc.args...)...)

			p.stderr.waitFor(t, regexp.MustCompile(regexp.QuoteMeta(tc.wantReason)))
			location := redirectLocation(t, p.stderr.waitFor(t, authorizeURLPattern))
			prompt := regexp.MustCompile(`Paste the address here and press Enter: `)
			p.stderr.waitFor(t, prompt)

			p.write("not an address\n")
			p.stderr.waitFor(t, regexp.MustCompile(`That is not the address the browser was sent to`))

			wrong, err := url.Parse(location)
			if err != nil {
				t.Fatal(err)
			}
			query := wrong.Query()
			query.Set("state", "forged-"+query.Get("state"))
			wrong.RawQuery = query.Encode()
			p.write(wrong.String() + "\n")
			p.stderr.waitFor(t, regexp.MustCompile(`does not belong to this attempt`))

			p.write(location + "\n")
			if code := p.wait(); code != exitOK {
				t.Fatalf("exit status = %d, want 0\nstderr:\n%s", code, p.stderr)
			}
			if !strings.Contains(p.stdout.String(), "Signed in to Poe with the browser.") {
				t.Errorf("stdout:\n%s\nwant the sign-in report", p.stdout)
			}
			if cred, err := auth.NewStore(e.credPath()).Load(); err != nil || cred == nil {
				t.Errorf("credential file after the paste: %v, %v", cred, err)
			}
			checkNoEscapes(t, "stderr", p.stderr.String())
		})
	}
}

func TestLoginPasteDenied(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	e.fake.SetFault(fakepoe.Fault{Authorize: fakepoe.AuthorizeAccessDenied})
	p := e.start("login", "--no-browser")

	location := redirectLocation(t, p.stderr.waitFor(t, authorizeURLPattern))
	p.write(location + "\n")

	if code := p.wait(); code != exitSignInFailed {
		t.Fatalf("exit status = %d, want %d\nstderr:\n%s", code, exitSignInFailed, p.stderr)
	}
	if stderr := p.stderr.String(); !strings.Contains(stderr, "denied in the browser") || !strings.Contains(stderr, "poe-sidecar login") {
		t.Errorf("stderr:\n%s\nwant the denial and the command to try again", stderr)
	}
	if _, err := os.Stat(e.credPath()); !os.IsNotExist(err) {
		t.Errorf("credential file after a denied sign-in: %v, want none", err)
	}
}

func TestLoginTimeout(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "BROWSER=true")
	got := e.run("", "login", "--timeout", "1s")

	if got.code != exitSignInFailed {
		t.Fatalf("exit status = %d, want %d\nstderr:\n%s", got.code, exitSignInFailed, got.stderr)
	}
	for _, want := range []string{"timed out", "--no-browser"} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, got.stderr)
		}
	}
}

// TestLoginInterrupt checks that Ctrl-C ends a waiting login with status 130 and closes
// the callback server.
func TestLoginInterrupt(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "BROWSER=true")
	p := e.start("login")
	authorizeURL := p.stderr.waitFor(t, authorizeURLPattern)
	p.stderr.waitFor(t, regexp.MustCompile(`Waiting up to`))

	p.signal(syscall.SIGINT)
	if code := p.wait(); code != exitInterrupted {
		t.Fatalf("exit status = %d, want %d\nstderr:\n%s", code, exitInterrupted, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "Interrupted.") {
		t.Errorf("stderr:\n%s\nwant Interrupted.", p.stderr)
	}

	authorize, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	callback := authorize.Query().Get("redirect_uri")
	if resp, err := http.Get(callback); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s after the interrupt answered %d, want the callback server closed", callback, resp.StatusCode)
	}
}

func TestLoginAPIKeyStdin(t *testing.T) {
	unknownKey := "sk-poe-" + strings.Repeat("Nope", 10)
	cases := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // in stdout on success, in stderr otherwise
	}{
		{"valid key", "  " + testKey + "\n", nil, exitOK, "Signed in to Poe with an API key."},
		{"key unknown to Poe", unknownKey + "\n", nil, exitSignInFailed, "The Poe API key is invalid: Poe rejected the API key"},
		{"wrong shape", "hello\n", nil, exitSignInFailed, "shorter than Poe's keys"},
		{"empty stdin", "", nil, exitSignInFailed, "no key was entered"},
		{"key as argument", "", []string{testKey}, exitUsage, "other users can see command-line arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{})
			e.fake.AddKey(testKey, 4321)
			got := e.run(tc.stdin, append([]string{"login", "--api-key"}, tc.args...)...)

			if got.code != tc.wantCode {
				t.Fatalf("exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, tc.wantCode, got.stdout, got.stderr)
			}
			output := got.stderr
			if tc.wantCode == exitOK {
				output = got.stdout
				if !strings.Contains(output, "Points: 4,321") {
					t.Errorf("stdout does not show the balance:\n%s", output)
				}
			}
			if !strings.Contains(output, tc.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tc.wantOut, output)
			}
			for _, key := range []string{testKey, unknownKey} {
				if strings.Contains(got.stdout+got.stderr, key) {
					t.Errorf("the output shows an API key")
				}
			}
		})
	}
}

func TestLoginUsage(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	cases := [][]string{
		{"login", "extra"},
		{"login", "--api-key", "--no-browser"},
		{"login", "--timeout", "0s"},
		{"login", "--no-such-flag"},
	}
	for _, args := range cases {
		got := e.run("", args...)
		if got.code != exitUsage {
			t.Errorf("%v: exit status = %d, want %d\nstderr:\n%s", args, got.code, exitUsage, got.stderr)
		}
		if !strings.Contains(got.stderr, "poe-sidecar login --help") {
			t.Errorf("%v: stderr does not point to the help:\n%s", args, got.stderr)
		}
	}
}
