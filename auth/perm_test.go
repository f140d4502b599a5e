//go:build unix

package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// unprivilegedID is the user and group id that permission tests run as when the tests
// run as root, because root reads and writes files whatever their modes. It is "nobody"
// on Debian.
const unprivilegedID = 65534

// TestStoreLooseModes gives the credential file and folder permissions for other users and
// checks that Load removes them, warns, and never adds a permission.
func TestStoreLooseModes(t *testing.T) {
	tests := []struct {
		name              string
		fileMode, dirMode os.FileMode
		wantFile, wantDir os.FileMode
		wantWarning       bool
	}{
		{"private", 0o600, 0o700, 0o600, 0o700, false},
		{"file readable by all", 0o644, 0o700, 0o600, 0o700, true},
		{"file writable by all", 0o666, 0o700, 0o600, 0o700, true},
		{"file readable by group", 0o640, 0o700, 0o600, 0o700, true},
		{"file read-only for owner", 0o400, 0o700, 0o400, 0o700, false},
		{"folder listable by all", 0o600, 0o755, 0o600, 0o700, true},
		{"folder writable by all", 0o600, 0o777, 0o600, 0o700, true},
		{"folder searchable by others", 0o600, 0o701, 0o600, 0o700, true},
		{"both loose", 0o604, 0o750, 0o600, 0o700, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			store := newTestStore(t)
			store.Logger = slog.New(slog.NewTextHandler(logs, nil))
			if err := store.Save(testCredential()); err != nil {
				t.Fatal(err)
			}
			chmod(t, store.Path, tt.fileMode)
			chmod(t, filepath.Dir(store.Path), tt.dirMode)

			cred, err := store.Load()
			if err != nil || cred == nil {
				t.Fatalf("Load = %v, %v; want the credential", cred, err)
			}
			checkMode(t, store.Path, tt.wantFile)
			checkMode(t, filepath.Dir(store.Path), tt.wantDir)
			if got := strings.Contains(logs.String(), "other users"); got != tt.wantWarning {
				t.Errorf("warning logged = %v, want %v:\n%s", got, tt.wantWarning, logs)
			}
			if strings.Contains(logs.String(), testAPIKey) {
				t.Error("the log contains the key")
			}

			// A write leaves the usual modes, except for an owner's own restriction on the file,
			// which the new file does not inherit.
			if err := store.Save(testCredential()); err != nil {
				t.Fatalf("Save: %v", err)
			}
			checkMode(t, store.Path, 0o600)
			checkMode(t, filepath.Dir(store.Path), 0o700)
		})
	}
}

// TestStoreForeignOwner gives the credential file to another user. Load must reject it,
// because the owner of the file chose the key in it.
func TestStoreForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: giving a file to another user needs root, so the foreign-owner case did not run")
	}
	env := newTestEnv(t, nil, nil)
	if err := env.store.Save(testCredential()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(env.store.Path, unprivilegedID, unprivilegedID); err != nil {
		t.Fatal(err)
	}

	_, err := env.store.Load()
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) {
		t.Fatalf("Load error = %v, want *CorruptError", err)
	}
	mustContain(t, "error", err.Error(), "another user")
	mustContain(t, "error", err.Error(), fmt.Sprint(unprivilegedID))
	if state := env.svc.Status(); state.SignedIn || state.Problem == nil {
		t.Errorf("Status = %+v, want a problem and not signed in", state)
	}

	att := env.svc.StartAPIKey()
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if asides, _ := filepath.Glob(env.store.Path + ".corrupt-*"); len(asides) != 1 {
		t.Errorf("files kept aside = %v, want one", asides)
	}
}

// TestCredentialPermissions runs the cases in which modes must bind: a read-only folder,
// an unreadable file and folder. Under root it runs itself again as an unprivileged user.
func TestCredentialPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		runUnprivileged(t)
		return
	}

	t.Run("read-only folder", func(t *testing.T) {
		env := newTestEnv(t, nil, nil)
		dir := filepath.Dir(env.store.Path)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		chmod(t, dir, 0o500)

		err := env.store.Save(testCredential())
		checkNotWritable(t, err, dir)
		checkMode(t, dir, 0o500)

		// The browser sign-in shows the failure on its page and to Complete.
		oauth, state := env.startOAuth(t)
		resp := visit(t, http.MethodGet, callback(oauth, "code", testCode, "state", state), nil)
		if resp.status == http.StatusOK {
			t.Errorf("callback status = 200, want a failure")
		}
		mustContain(t, "page", resp.body, "not writable")
		_, err = env.svc.Complete(context.Background(), CompleteParams{AttemptID: oauth.ID})
		checkNotWritable(t, err, dir)

		// The API key sign-in fails the same way and leaves the attempt pending.
		att := env.svc.StartAPIKey()
		_, err = env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey})
		checkNotWritable(t, err, dir)
		if strings.Contains(err.Error(), testAPIKey) {
			t.Errorf("error contains the key: %v", err)
		}

		// Once the folder is writable, the API key attempt still works.
		chmod(t, dir, 0o700)
		if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
			t.Errorf("Complete after chmod: %v", err)
		}
	})

	t.Run("read-only folder sign-out", func(t *testing.T) {
		env := newTestEnv(t, nil, nil)
		if err := env.store.Save(testCredential()); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(env.store.Path)
		chmod(t, dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })

		if key, err := env.svc.APIKey(); err != nil || key != testAPIKey {
			t.Errorf("APIKey in a read-only folder: %v", err)
		}
		_, err := env.svc.SignOut()
		checkNotWritable(t, err, dir)
		if cred, err := env.store.Load(); err != nil || cred == nil {
			t.Errorf("Load after the failed sign-out = %v, %v; want the key still there", cred, err)
		}
	})

	t.Run("missing folder in read-only parent", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(parent, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(parent, 0o700) })
		store := NewStore(filepath.Join(parent, "poe-sidecar", "auth.json"))

		err := store.Save(testCredential())
		checkNotWritable(t, err, filepath.Dir(store.Path))
	})

	t.Run("unreadable file", func(t *testing.T) {
		env := newTestEnv(t, nil, nil)
		writeFile(t, env.store.Path, validFile)
		chmod(t, env.store.Path, 0o000)

		state := env.svc.Status()
		if state.Problem == nil || state.Problem.Reason != ReasonCorruptCredentials {
			t.Fatalf("Status = %+v, want %s", state, ReasonCorruptCredentials)
		}
		mustContain(t, "problem", state.Problem.Message, "permission denied")

		att := env.svc.StartAPIKey()
		if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		asides, _ := filepath.Glob(env.store.Path + ".corrupt-*")
		if len(asides) != 1 {
			t.Fatalf("files kept aside = %v, want one", asides)
		}
		chmod(t, asides[0], 0o600)
		if data, _ := os.ReadFile(asides[0]); string(data) != validFile {
			t.Errorf("file kept aside holds %q, want the old contents", data)
		}
	})

	t.Run("unsearchable folder", func(t *testing.T) {
		env := newTestEnv(t, nil, nil)
		if err := env.store.Save(testCredential()); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(env.store.Path)
		chmod(t, dir, 0o000)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })

		state := env.svc.Status()
		if state.Problem == nil || state.Problem.Path != env.store.Path {
			t.Errorf("Status = %+v, want a problem for the file", state)
		}
		err := env.store.Save(testCredential())
		checkNotWritable(t, err, dir)
	})
}

// checkNotWritable checks that err states that dir is not writable, and the fix.
func checkNotWritable(t *testing.T, err error, dir string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying that %s is not writable", dir)
	}
	mustContain(t, "error", err.Error(), dir)
	mustContain(t, "error", err.Error(), "not writable")
	mustContain(t, "error", err.Error(), "XDG_DATA_HOME")
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("error %v does not wrap os.ErrPermission", err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// runUnprivileged runs the current top-level test again in a copy of the test binary as
// user and group unprivilegedID with no supplementary groups, and passes on its output.
// It skips the test when the system does not allow that.
func runUnprivileged(t *testing.T) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("SKIPPED: cannot find the test binary to run it as uid %d: %v", unprivilegedID, err)
	}

	// The build folder of `go test` is private to root, so the binary is copied to a
	// folder that the user can enter, next to a temporary folder it owns.
	dir, err := os.MkdirTemp("", "poe-auth-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	chmod(t, dir, 0o755)
	binary := filepath.Join(dir, "auth.test")
	copyFile(t, exe, binary, 0o755)
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, unprivilegedID, unprivilegedID); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(binary, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp, "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID, Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		t.Fatalf("the run as uid %d failed (%v):\n%s", unprivilegedID, err, out)
	case err != nil:
		t.Skipf("SKIPPED: cannot run the permission cases as uid %d, and as root they prove nothing: %v", unprivilegedID, err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the run as uid %d did not pass:\n%s", unprivilegedID, out)
	}
	t.Logf("ran as uid %d:\n%s", unprivilegedID, out)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
