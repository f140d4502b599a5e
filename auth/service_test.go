package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServiceNotSignedIn(t *testing.T) {
	env := newTestEnv(t, nil, nil)

	_, err := env.svc.APIKey()
	var credErr *CredentialError
	if !errors.As(err, &credErr) || credErr.Reason != ReasonNotSignedIn {
		t.Fatalf("APIKey error = %v, want reason %s", err, ReasonNotSignedIn)
	}
	if got := env.svc.Status(); !got.equal(State{}) {
		t.Errorf("Status = %+v, want the zero State", got)
	}
}

func TestServiceEnvKeyWins(t *testing.T) {
	const envKey = "env-key-0123456789abcdefghijklmnopqrstu"
	env := newTestEnv(t, nil, func(c *Config) { c.EnvKey = envKey })
	if err := env.store.Save(testCredential()); err != nil {
		t.Fatal(err)
	}

	if key, err := env.svc.APIKey(); err != nil || key != envKey {
		t.Errorf("APIKey() error = %v, returns the env key: %v", err, key == envKey)
	}
	want := State{SignedIn: true, Source: SourceEnv}
	if got := env.svc.Status(); !got.equal(want) {
		t.Errorf("Status = %+v, want %+v", got, want)
	}

	state, err := env.svc.SignOut()
	if err != nil {
		t.Fatalf("SignOut: %v", err)
	}
	if !state.equal(want) {
		t.Errorf("SignOut state = %+v, want %+v", state, want)
	}
	if cred, _ := env.store.Load(); cred != nil {
		t.Error("SignOut left the stored key")
	}
}

func TestServiceEnvKeyWithCorruptFile(t *testing.T) {
	env := newTestEnv(t, nil, func(c *Config) { c.EnvKey = "env-key" })
	writeFile(t, env.store.Path, "garbage")

	got := env.svc.Status()
	if !got.SignedIn || got.Source != SourceEnv {
		t.Errorf("Status = %+v, want signed in from env", got)
	}
	if got.Problem == nil || got.Problem.Reason != ReasonCorruptCredentials || got.Problem.Path != env.store.Path {
		t.Errorf("Problem = %+v, want corrupt_credentials for %s", got.Problem, env.store.Path)
	}
}

func TestServiceExpired(t *testing.T) {
	now := time.Date(2036, 12, 2, 0, 0, 0, 0, time.UTC)
	env := newTestEnv(t, nil, func(c *Config) { c.Now = func() time.Time { return now } })
	cred := testCredential() // expires 2036-12-01
	if err := env.store.Save(cred); err != nil {
		t.Fatal(err)
	}

	_, err := env.svc.APIKey()
	var credErr *CredentialError
	if !errors.As(err, &credErr) || credErr.Reason != ReasonExpired {
		t.Fatalf("APIKey error = %v, want reason %s", err, ReasonExpired)
	}
	if !credErr.ExpiresAt.Equal(*cred.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", credErr.ExpiresAt, cred.ExpiresAt)
	}
	mustContain(t, "error", err.Error(), "2036-12-01")

	got := env.svc.Status()
	if got.SignedIn || !got.Expired || got.Source != SourceFile || got.Method != MethodOAuth || got.ExpiresAt == nil {
		t.Errorf("Status = %+v, want an expired oauth key from the file", got)
	}
}

func TestServiceExpiryTimer(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	cred := testCredential()
	expires := time.Now().Add(300 * time.Millisecond)
	cred.ExpiresAt = &expires
	if err := env.store.Save(cred); err != nil {
		t.Fatal(err)
	}
	if got := env.svc.Status(); !got.SignedIn {
		t.Fatalf("Status before expiry = %+v, want signed in", got)
	}
	if err := env.svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	// Status saw the new file, which may already have been reported.
	var change State
	for change = env.nextChange(t); !change.Expired; change = env.nextChange(t) {
	}
	if change.SignedIn || change.ExpiresAt == nil || !change.ExpiresAt.Equal(expires) {
		t.Errorf("OnChange state = %+v, want expired at %v", change, expires)
	}
	var credErr *CredentialError
	if _, err := env.svc.APIKey(); !errors.As(err, &credErr) || credErr.Reason != ReasonExpired {
		t.Errorf("APIKey error = %v, want reason %s", err, ReasonExpired)
	}
}

func TestServiceWatchesFile(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	if err := env.svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	other := NewStore(env.store.Path)

	cred := testCredential()
	cred.Method = MethodAPIKey
	cred.ExpiresAt = nil
	if err := other.Save(cred); err != nil {
		t.Fatal(err)
	}
	change := env.nextChange(t)
	if !change.SignedIn || change.Source != SourceFile || change.Method != MethodAPIKey {
		t.Errorf("after another process signed in: %+v", change)
	}

	if err := other.Delete(); err != nil {
		t.Fatal(err)
	}
	if change := env.nextChange(t); change.SignedIn || change.Source != "" {
		t.Errorf("after another process signed out: %+v", change)
	}
}

func TestServiceStartTwice(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	if err := env.svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := env.svc.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	info, err := os.Stat(filepath.Dir(env.store.Path))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("credential folder: %v, %v; want mode 700", info, err)
	}
}

// TestServiceStatusStatsFirst rewrites the file in place with the same size and
// modification time, which Status cannot tell from no change.
func TestServiceStatusStatsFirst(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	cred := testCredential()
	cred.ExpiresAt = nil
	if err := env.store.Save(cred); err != nil {
		t.Fatal(err)
	}
	if key, err := env.svc.APIKey(); key != testAPIKey {
		t.Fatalf("APIKey does not return the stored key: %v", err)
	}
	// The notifier reads the file after this change too. Wait for it, so that it cannot
	// read the file while the test rewrites it.
	env.nextChange(t)

	info, err := os.Stat(env.store.Path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(env.store.Path)
	other := strings.Replace(string(data), "TESTKEY", "OTHRKEY", 1)
	if err := os.WriteFile(env.store.Path, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(env.store.Path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if key, _ := env.svc.APIKey(); key != testAPIKey {
		t.Error("APIKey parsed the file again although stat saw no change")
	}

	// A new modification time makes it parse the file again.
	later := info.ModTime().Add(time.Second)
	if err := os.Chtimes(env.store.Path, later, later); err != nil {
		t.Fatal(err)
	}
	if key, _ := env.svc.APIKey(); !strings.Contains(key, "OTHRKEY") {
		t.Error("APIKey did not parse the changed file")
	}
}

func TestServiceCorruptFile(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	writeFile(t, env.store.Path, "garbage")

	got := env.svc.Status()
	if got.SignedIn || got.Problem == nil || got.Problem.Reason != ReasonCorruptCredentials {
		t.Fatalf("Status = %+v, want a corrupt_credentials problem", got)
	}
	mustContain(t, "problem message", got.Problem.Message, "sign in to Poe again")

	_, err := env.svc.APIKey()
	var credErr *CredentialError
	if !errors.As(err, &credErr) || credErr.Reason != ReasonCorruptCredentials || credErr.Path != env.store.Path {
		t.Fatalf("APIKey error = %v, want corrupt_credentials for the file", err)
	}

	// A new sign-in moves the corrupt file aside and clears the problem.
	att := env.svc.StartAPIKey()
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := env.svc.Status(); !got.SignedIn || got.Problem != nil {
		t.Errorf("Status after sign-in = %+v, want signed in without a problem", got)
	}
	if asides, _ := filepath.Glob(env.store.Path + ".corrupt-*"); len(asides) != 1 {
		t.Errorf("corrupt copies = %v, want one", asides)
	}
}

func TestServiceSignOut(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	if err := env.svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	att := env.svc.StartAPIKey()
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if change := env.nextChange(t); !change.SignedIn {
		t.Fatalf("OnChange after sign-in = %+v", change)
	}

	// Status calls without a change do not call OnChange, so the next call is the sign-out.
	for i := 0; i < 3; i++ {
		env.svc.Status()
	}
	state, err := env.svc.SignOut()
	if err != nil {
		t.Fatalf("SignOut: %v", err)
	}
	if !state.equal(State{}) {
		t.Errorf("SignOut state = %+v, want the zero State", state)
	}
	if change := env.nextChange(t); !change.equal(State{}) {
		t.Errorf("OnChange after sign-out = %+v, want the zero State", change)
	}

	// Every sign-out is reported, even one that changes nothing.
	if _, err := env.svc.SignOut(); err != nil {
		t.Fatalf("second SignOut: %v", err)
	}
	if change := env.nextChange(t); !change.equal(State{}) {
		t.Errorf("OnChange after second sign-out = %+v", change)
	}
}

func TestStateEqual(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)
	base := State{SignedIn: true, Method: MethodOAuth, Source: SourceFile, ExpiresAt: &t1}

	tests := []struct {
		name  string
		other State
		want  bool
	}{
		{"same", State{SignedIn: true, Method: MethodOAuth, Source: SourceFile, ExpiresAt: &t1}, true},
		{"other expiry", State{SignedIn: true, Method: MethodOAuth, Source: SourceFile, ExpiresAt: &t2}, false},
		{"no expiry", State{SignedIn: true, Method: MethodOAuth, Source: SourceFile}, false},
		{"problem", State{SignedIn: true, Method: MethodOAuth, Source: SourceFile, ExpiresAt: &t1, Problem: &Problem{Reason: ReasonCorruptCredentials}}, false},
		{"expired", State{Method: MethodOAuth, Source: SourceFile, ExpiresAt: &t1, Expired: true}, false},
	}
	for _, tt := range tests {
		if got := base.equal(tt.other); got != tt.want {
			t.Errorf("%s: equal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
