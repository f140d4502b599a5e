package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adrg/xdg"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(filepath.Join(t.TempDir(), "data", "poe-sidecar", "auth.json"))
}

func testCredential() Credential {
	expires := time.Date(2036, 12, 1, 0, 0, 0, 0, time.UTC)
	return Credential{
		APIKey:    testAPIKey,
		Method:    MethodOAuth,
		ExpiresAt: &expires,
		CreatedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestStoreRoundTrip(t *testing.T) {
	store := newTestStore(t)
	want := testCredential()
	if err := store.Save(want); err != nil {
		t.Fatalf("Save: %v", err)
	}

	got, err := store.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.APIKey != want.APIKey || got.Method != want.Method || !got.CreatedAt.Equal(want.CreatedAt) ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(*want.ExpiresAt) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
}

func TestStoreFileFormat(t *testing.T) {
	store := newTestStore(t)
	cred := testCredential()
	cred.ExpiresAt = nil
	if err := store.Save(cred); err != nil {
		t.Fatalf("Save: %v", err)
	}

	data, err := os.ReadFile(store.Path)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatalf("file is not JSON: %v", err)
	}
	want := map[string]any{
		"version":   float64(1),
		"method":    "oauth",
		"apiKey":    testAPIKey,
		"expiresAt": nil,
		"createdAt": "2026-05-01T12:00:00Z",
	}
	if len(fields) != len(want) {
		t.Errorf("file has fields %v, want %v", keysOf(fields), keysOf(want))
	}
	for key, value := range want {
		if got, ok := fields[key]; !ok || got != value {
			t.Errorf("%s = %#v (present %v), want %#v", key, got, ok, value)
		}
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestStoreModes(t *testing.T) {
	for _, umask := range []int{0, 0o077} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)

			store := newTestStore(t)
			if err := store.Save(testCredential()); err != nil {
				t.Fatalf("Save: %v", err)
			}
			checkMode(t, filepath.Dir(store.Path), 0o700)
			checkMode(t, store.Path, 0o600)

			// A rewrite keeps the modes.
			if err := store.Save(testCredential()); err != nil {
				t.Fatalf("second Save: %v", err)
			}
			checkMode(t, store.Path, 0o600)
		})
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %03o, want %03o", filepath.Base(path), got, want)
	}
}

func TestStoreLeavesNoTempFiles(t *testing.T) {
	store := newTestStore(t)
	for i := 0; i < 3; i++ {
		if err := store.Save(testCredential()); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	if temps := tempFiles(t, store); len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

func TestStoreRemovesStaleTemp(t *testing.T) {
	store := newTestStore(t)
	if err := store.Save(testCredential()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	stale := store.Path + ".tmp-123456"
	if err := os.WriteFile(stale, []byte(`{"version":1,"apiK`), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := store.Save(testCredential()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still exists (stat error %v)", err)
	}
}

func tempFiles(t *testing.T, store *Store) []string {
	t.Helper()
	matches, err := filepath.Glob(store.Path + ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

// secretMarker appears in every corrupt file below; error messages must not show it.
const secretMarker = "SECRETCONTENT"

func TestStoreCorrupt(t *testing.T) {
	tests := []struct {
		name     string
		contents string
		wantText string
	}{
		{"empty", "", "empty"},
		{"blank", " \n", "empty"},
		{"garbage", "x" + secretMarker, "not valid JSON"},
		{"truncated", `{"version":1,"apiKey":"` + secretMarker, "not valid JSON"},
		{"array", `["` + secretMarker + `"]`, "array"},
		{"key not string", `{"version":1,"method":"oauth","apiKey":1234,"createdAt":"2026-05-01T12:00:00Z","x":"` + secretMarker + `"}`, `"apiKey"`},
		{"version string", `{"version":"1","method":"oauth","apiKey":"` + secretMarker + `"}`, `"version"`},
		{"version missing", `{"method":"oauth","apiKey":"` + secretMarker + `"}`, "version"},
		{"version future", `{"version":2,"method":"oauth","apiKey":"` + secretMarker + `"}`, "newer"},
		{"version zero", `{"version":0,"method":"oauth","apiKey":"` + secretMarker + `"}`, "format version is invalid"},
		{"method unknown", `{"version":1,"method":"` + secretMarker + `","apiKey":"k` + secretMarker + `"}`, "method"},
		{"key empty", `{"version":1,"method":"oauth","apiKey":"","x":"` + secretMarker + `"}`, "empty"},
		{"expiry not time", `{"version":1,"method":"oauth","apiKey":"k` + secretMarker + `","expiresAt":"` + secretMarker + `"}`, "expiresAt"},
		{"expiry number", `{"version":1,"method":"oauth","apiKey":"k` + secretMarker + `","expiresAt":5}`, "expiresAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newTestStore(t)
			writeFile(t, store.Path, tt.contents)

			cred, err := store.Load()
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) {
				t.Fatalf("Load = %v, %v; want *CorruptError", cred, err)
			}
			if corrupt.Path != store.Path {
				t.Errorf("Path = %q, want %q", corrupt.Path, store.Path)
			}
			mustContain(t, "error", err.Error(), tt.wantText)
			if strings.Contains(err.Error(), secretMarker) {
				t.Errorf("error shows the file contents: %v", err)
			}
		})
	}
}

func TestStoreLoadMissing(t *testing.T) {
	cred, err := newTestStore(t).Load()
	if cred != nil || err != nil {
		t.Errorf("Load = %v, %v; want nil, nil", cred, err)
	}
}

func TestStoreLoadUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	store := newTestStore(t)
	if err := store.Save(testCredential()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(store.Path, 0); err != nil {
		t.Fatal(err)
	}

	var corrupt *CorruptError
	if _, err := store.Load(); !errors.As(err, &corrupt) {
		t.Errorf("Load error = %v, want *CorruptError", err)
	}
}

func TestStoreSaveMovesCorruptAside(t *testing.T) {
	store := newTestStore(t)
	writeFile(t, store.Path, "garbage")

	if err := store.Save(testCredential()); err != nil {
		t.Fatalf("Save: %v", err)
	}

	if cred, err := store.Load(); err != nil || cred == nil {
		t.Errorf("Load after Save = %v, %v", cred, err)
	}
	asides, err := filepath.Glob(store.Path + ".corrupt-*")
	if err != nil || len(asides) != 1 {
		t.Fatalf("corrupt copies = %v (%v), want one", asides, err)
	}
	if data, _ := os.ReadFile(asides[0]); string(data) != "garbage" {
		t.Errorf("corrupt copy holds %q, want the old contents", data)
	}
	if !strings.HasPrefix(filepath.Base(asides[0]), "auth.json.corrupt-20") {
		t.Errorf("corrupt copy name %q lacks the UTC time", filepath.Base(asides[0]))
	}

	// A second corrupt file gets its own name.
	writeFile(t, store.Path, "garbage 2")
	if err := store.Save(testCredential()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if asides, _ := filepath.Glob(store.Path + ".corrupt-*"); len(asides) != 2 {
		t.Errorf("corrupt copies = %v, want two", asides)
	}
}

func TestStoreDelete(t *testing.T) {
	store := newTestStore(t)
	if err := store.Delete(); err != nil {
		t.Errorf("Delete without a folder: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(store.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Delete created the folder (stat error %v)", err)
	}

	if err := store.Save(testCredential()); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if cred, err := store.Load(); cred != nil || err != nil {
		t.Errorf("Load after Delete = %v, %v; want nil, nil", cred, err)
	}
	if err := store.Delete(); err != nil {
		t.Errorf("Delete of a missing file: %v", err)
	}
}

func TestStoreDeleteKeepsCorrupt(t *testing.T) {
	store := newTestStore(t)
	writeFile(t, store.Path, "garbage")

	if err := store.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := os.Stat(store.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("corrupt file still at its path (stat error %v)", err)
	}
	if asides, _ := filepath.Glob(store.Path + ".corrupt-*"); len(asides) != 1 {
		t.Errorf("corrupt copies = %v, want one", asides)
	}
}

func TestStoreConcurrentSaves(t *testing.T) {
	const rounds = 200
	path := newTestStore(t).Path
	stores := []*Store{NewStore(path), NewStore(path)}

	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds+1)
	for i, store := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				cred := testCredential()
				cred.APIKey = fmt.Sprintf("%s-%d-%d", testAPIKey, i, r)
				if err := store.Save(cred); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	// Read while the writers run. Every read must get a whole, valid file.
	reader := NewStore(path)
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		if _, err := reader.Load(); err != nil {
			t.Fatalf("Load during concurrent saves: %v", err)
		}
	}
	close(errs)
	for err := range errs {
		t.Errorf("Save: %v", err)
	}

	if cred, err := reader.Load(); err != nil || cred == nil {
		t.Errorf("final Load = %v, %v", cred, err)
	}
	if temps := tempFiles(t, reader); len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

func TestDefaultPath(t *testing.T) {
	dataHome := t.TempDir()
	// Registered before Setenv, so it runs after the variable is restored.
	t.Cleanup(xdg.Reload)
	t.Setenv("XDG_DATA_HOME", dataHome)
	xdg.Reload()

	got, err := DefaultPath()
	if err != nil {
		t.Fatalf("DefaultPath: %v", err)
	}
	if want := filepath.Join(dataHome, "poe-sidecar", "auth.json"); got != want {
		t.Errorf("DefaultPath = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Dir(got)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DefaultPath created the folder (stat error %v)", err)
	}
}

func writeFile(t *testing.T, path, contents string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
}
