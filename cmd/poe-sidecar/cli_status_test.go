package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// TestStatusAndLogout signs in with a key, reads the status, signs out twice and
// reads the status again.
func TestStatusAndLogout(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	e.fake.AddKey(testKey, 1234567)

	got := e.run("", "status")
	if got.code != exitAuthRequired {
		t.Fatalf("status before login: exit %d, want %d\n%s", got.code, exitAuthRequired, got.stdout)
	}
	for _, want := range []string{"Signed in:", "no", e.credPath(), "poe-sidecar login"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("status before login does not contain %q:\n%s", want, got.stdout)
		}
	}

	if got := e.run(testKey, "login", "--api-key"); got.code != exitOK {
		t.Fatalf("login: exit %d\n%s", got.code, got.stderr)
	}
	got = e.run("", "status")
	if got.code != exitOK {
		t.Fatalf("status after login: exit %d, want 0\n%s%s", got.code, got.stdout, got.stderr)
	}
	for _, want := range []string{"yes", "API key", "the credential file", "never", e.credPath(), "1,234,567"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("status after login does not contain %q:\n%s", want, got.stdout)
		}
	}
	checkNoEscapes(t, "status", got.stdout)

	got = e.run("", "logout")
	if got.code != exitOK || !strings.Contains(got.stdout, "removed the key") || !strings.Contains(got.stdout, "https://poe.com/api/keys") {
		t.Fatalf("logout: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	if _, err := os.Stat(e.credPath()); !os.IsNotExist(err) {
		t.Errorf("credential file after logout: %v, want none", err)
	}
	got = e.run("", "logout")
	if got.code != exitOK || !strings.Contains(got.stdout, "nothing to remove") {
		t.Errorf("second logout: exit %d\n%s", got.code, got.stdout)
	}
	if got := e.run("", "status"); got.code != exitAuthRequired {
		t.Errorf("status after logout: exit %d, want %d", got.code, exitAuthRequired)
	}
}

// TestStatusProblems covers the states in which status exits with 3 although a key
// or a file exists.
func TestStatusProblems(t *testing.T) {
	yesterday := time.Now().Add(-24 * time.Hour)
	cases := []struct {
		name    string
		prepare func(e *cliEnv)
		want    []string // in stdout and stderr together
	}{
		{
			name: "expired key",
			prepare: func(e *cliEnv) {
				e.storeKey(auth.Credential{APIKey: testKey, Method: auth.MethodOAuth, ExpiresAt: &yesterday})
			},
			want: []string{"no, the key expired", "browser sign-in (OAuth)", "(24 hours ago)", "poe-sidecar login"},
		},
		{
			name: "corrupt file",
			prepare: func(e *cliEnv) {
				if err := os.MkdirAll(filepath.Dir(e.credPath()), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(e.credPath(), []byte("{not json"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"Problem:", "unusable", "poe-sidecar login"},
		},
		{
			name:    "key rejected by Poe",
			prepare: func(e *cliEnv) { e.storeKey(auth.Credential{APIKey: testKey, Method: auth.MethodAPIKey}) },
			want:    []string{"Points:", "unknown", "Poe rejected the API key", "poe-sidecar login"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, fakepoe.Options{})
			tc.prepare(e)
			got := e.run("", "status")
			if got.code != exitAuthRequired {
				t.Fatalf("exit %d, want %d\n%s%s", got.code, exitAuthRequired, got.stdout, got.stderr)
			}
			output := got.stdout + got.stderr
			for _, want := range tc.want {
				if !strings.Contains(output, want) {
					t.Errorf("output does not contain %q:\n%s", want, output)
				}
			}
		})
	}
}

func TestStatusBalanceUnavailable(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	e.storeKey(auth.Credential{APIKey: testKey, Method: auth.MethodAPIKey})
	e.fake.SetFault(fakepoe.Fault{BalanceStatus: 503})

	got := e.run("", "status")
	if got.code != exitOK {
		t.Fatalf("exit %d, want 0 since the key is stored\n%s%s", got.code, got.stdout, got.stderr)
	}
	if !strings.Contains(got.stderr, "The balance could not be read.") || !strings.Contains(got.stderr, "HTTP 503") {
		t.Errorf("stderr:\n%s\nwant a note about the balance", got.stderr)
	}
}

func TestEnvKeyStatusAndLogout(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{}, "POE_API_KEY="+testKey)
	e.fake.AddKey(testKey, 5)

	got := e.run("", "status")
	if got.code != exitOK || !strings.Contains(got.stdout, "POE_API_KEY") {
		t.Fatalf("status: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	got = e.run("", "logout")
	if got.code != exitOK || !strings.Contains(got.stderr, "POE_API_KEY is still set") {
		t.Errorf("logout: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
}

func TestLogoutCorruptFile(t *testing.T) {
	e := newCLIEnv(t, fakepoe.Options{})
	if err := os.MkdirAll(filepath.Dir(e.credPath()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.credPath(), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}

	got := e.run("", "logout")
	if got.code != exitOK || !strings.Contains(got.stdout, "moved aside") {
		t.Fatalf("logout: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	aside, err := filepath.Glob(e.credPath() + ".corrupt-*")
	if err != nil || len(aside) != 1 {
		t.Errorf("files moved aside: %v, %v; want one", aside, err)
	}
}
