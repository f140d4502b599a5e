//go:build unix

package auth

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// markedKey is a well-formed key that contains secretMarker, so that a test can look for
// it in outputs.
const markedKey = "sk-poe-" + secretMarker + "abcdefghijklmnopqrstuvwxyz"

// pathSnapshot records what a path is, so that a test can check that the file kept aside
// is the same one.
type pathSnapshot struct {
	mode     os.FileMode // type bits only
	contents string      // regular files
	target   string      // symbolic links
}

func snapshotPath(t *testing.T, path string) pathSnapshot {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	snap := pathSnapshot{mode: info.Mode().Type()}
	switch {
	case info.Mode().IsRegular():
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		snap.contents = string(data)
	case info.Mode()&os.ModeSymlink != 0:
		if snap.target, err = os.Readlink(path); err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

// TestServiceBadFile puts every kind of unusable credential file in place and checks that
// the Service reports it without showing its contents, that a browser sign-in still
// works, and that the bad file is kept aside unchanged.
func TestServiceBadFile(t *testing.T) {
	writeContents := func(contents string) func(*testing.T, string) {
		return func(t *testing.T, path string) { writeFile(t, path, contents) }
	}
	tests := []struct {
		name     string
		prepare  func(t *testing.T, path string)
		wantText string // in the problem message
	}{
		{"empty", writeContents(""), "empty"},
		{"white space", writeContents(" \t\r\n\n"), "empty"},
		{"truncated", writeContents(validFile[:40]), "not valid JSON"},
		{"nul bytes", writeContents(strings.Repeat("\x00", 512)), "not valid JSON"},
		{"nul inside", writeContents(validFile[:30] + "\x00" + validFile[30:]), "not valid JSON"},
		{"not utf-8", writeContents(strings.Replace(validFile, "abc", "\xc3\x28", 1)), "UTF-8"},
		{"key number", writeContents(`{"version":1,"method":"oauth","apiKey":1,"note":"` + secretMarker + `"}`), `"apiKey"`},
		{"version string", writeContents(strings.Replace(validFile, `"version":1`, `"version":"1"`, 1)), `"version"`},
		{"future version", writeContents(strings.Replace(validFile, `"version":1`, `"version":7`, 1)), "newer"},
		{"upper-case names", writeContents(`{"VERSION":1,"METHOD":"oauth","APIKEY":"` + markedKey + `"}`), `"version"`},
		{"duplicate key", writeContents(strings.Replace(validFile, `"method"`, `"apiKey":"`+markedKey+`","method"`, 1)), "twice"},
		{"directory", func(t *testing.T, path string) {
			if err := os.MkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"fifo", func(t *testing.T, path string) {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Skipf("cannot make a FIFO here: %v", err)
			}
		}, "not a regular file"},
		{"symlink to valid file", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "elsewhere.json")
			writeFile(t, target, validFile)
			symlink(t, target, path)
		}, "symbolic link"},
		{"dangling symlink", func(t *testing.T, path string) {
			symlink(t, filepath.Join(t.TempDir(), "missing.json"), path)
		}, "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, nil)
			path := env.store.Path
			tt.prepare(t, path)
			before := snapshotPath(t, path)

			// The problem is reported without the file's contents.
			state := env.svc.Status()
			if state.SignedIn || state.Problem == nil {
				t.Fatalf("Status = %+v, want a problem and not signed in", state)
			}
			if state.Problem.Reason != ReasonCorruptCredentials || state.Problem.Path != path {
				t.Errorf("Problem = %+v, want %s for %s", state.Problem, ReasonCorruptCredentials, path)
			}
			mustContain(t, "problem message", state.Problem.Message, tt.wantText)
			mustContain(t, "problem message", state.Problem.Message, "sign in to Poe again")
			_, err := env.svc.APIKey()
			var credErr *CredentialError
			if !errors.As(err, &credErr) || credErr.Reason != ReasonCorruptCredentials {
				t.Fatalf("APIKey error = %v, want %s", err, ReasonCorruptCredentials)
			}
			for _, out := range []string{state.Problem.Message, err.Error()} {
				if strings.Contains(out, secretMarker) {
					t.Errorf("output shows the file contents: %s", out)
				}
			}

			// A browser sign-in replaces the bad file and keeps it aside.
			att, st := env.startOAuth(t)
			resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", st), nil)
			if resp.status != http.StatusOK {
				t.Fatalf("callback status = %d, want 200\n%s", resp.status, resp.body)
			}
			if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID}); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if got := env.svc.Status(); !got.SignedIn || got.Problem != nil {
				t.Errorf("Status after sign-in = %+v, want signed in without a problem", got)
			}
			if info, err := os.Lstat(path); err != nil || !info.Mode().IsRegular() {
				t.Errorf("credential path after sign-in: %v, %v; want a regular file", info, err)
			}
			asides, err := filepath.Glob(path + ".corrupt-*")
			if err != nil || len(asides) != 1 {
				t.Fatalf("files kept aside = %v (%v), want one", asides, err)
			}
			if after := snapshotPath(t, asides[0]); after != before {
				t.Errorf("file kept aside = %+v, want the bad file %+v", after, before)
			}

			if logs := env.logs.String(); strings.Contains(logs, secretMarker) {
				t.Errorf("the log shows the file contents:\n%s", logs)
			}
		})
	}
}

// TestStoreSymlinkNotFollowed checks that a symlinked credential file is neither read nor
// written through: the file it points to stays as it was.
func TestStoreSymlinkNotFollowed(t *testing.T) {
	store := newTestStore(t)
	target := filepath.Join(t.TempDir(), "shared.json")
	writeFile(t, target, validFile)
	symlink(t, target, store.Path)

	cred, err := store.Load()
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) {
		t.Fatalf("Load = %v, %v; want *CorruptError", cred, err)
	}
	mustContain(t, "error", err.Error(), "symbolic link")
	if strings.Contains(err.Error(), target) {
		t.Errorf("error shows the link's target: %v", err)
	}

	if err := store.Save(testCredential()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if data, err := os.ReadFile(target); err != nil || string(data) != validFile {
		t.Errorf("the link's target changed: %q, %v", data, err)
	}
	if got, err := store.Load(); err != nil || got == nil || got.APIKey != testAPIKey {
		t.Errorf("Load after Save = %v, %v; want the new key", got, err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// TestStoreLockSymlink puts a symbolic link where the lock file goes. Save must fail
// instead of creating or locking the file that the link points to.
func TestStoreLockSymlink(t *testing.T) {
	store := newTestStore(t)
	target := filepath.Join(t.TempDir(), "created-through-link")
	symlink(t, target, store.Path+".lock")

	err := store.Save(testCredential())
	if err == nil {
		t.Fatal("Save followed the symlinked lock file")
	}
	mustContain(t, "error", err.Error(), "lock credential file")
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target exists (stat error %v)", err)
	}
}
