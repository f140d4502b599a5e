package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/internal/client"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// TestTwoSidecarsShareKeyFile runs two sidecars, as a VS Code window and a
// Neovim window would, signing in and out against one key file at the same
// time, and checks after every round that the file is absent or complete.
func TestTwoSidecarsShareKeyFile(t *testing.T) {
	const rounds = 150
	fake, err := fakepoe.Start(fakepoe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	keys := []string{"sk-poe-" + strings.Repeat("VsCode", 6), "sk-poe-" + strings.Repeat("Neovim", 6)}
	for _, k := range keys {
		fake.AddKey(k, 100)
	}

	home := t.TempDir()
	keyFile := filepath.Join(home, "data", "poe-sidecar", "auth.json")
	env := append(withoutPoeEnv(os.Environ()),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"POE_BASE_URL="+fake.BaseURL(),
	)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i, key := range keys {
		side, err := client.Start(sidecarBin, nil, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer side.Kill()
		if err := side.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
			t.Fatal(err)
		}

		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range rounds {
				var attempt struct {
					AttemptID string `json:"attemptId"`
				}
				if err := side.Call(ctx, "auth/authorize", map[string]string{"method": "apiKey"}, &attempt); err != nil {
					t.Errorf("sidecar %d round %d: auth/authorize: %v", i, round, err)
					return
				}
				if err := side.Call(ctx, "auth/complete", map[string]string{"attemptId": attempt.AttemptID, "apiKey": key}, nil); err != nil {
					t.Errorf("sidecar %d round %d: auth/complete: %v", i, round, err)
					return
				}
				checkKeyFile(t, keyFile, keys)
				if err := side.Call(ctx, "auth/signOut", nil, nil); err != nil {
					t.Errorf("sidecar %d round %d: auth/signOut: %v", i, round, err)
					return
				}
				checkKeyFile(t, keyFile, keys)
			}
		}()
	}
	wg.Wait()

	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(keyFile), "auth.json.*"))
	for _, f := range leftovers {
		if !strings.HasSuffix(f, ".lock") {
			t.Errorf("left behind: %s", filepath.Base(f))
		}
	}
}

// checkKeyFile fails the test unless path is absent or holds one of keys in
// a complete credential file.
func checkKeyFile(t *testing.T, path string, keys []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Errorf("read key file: %v", err)
		return
	}
	var cred struct {
		Version int    `json:"version"`
		APIKey  string `json:"apiKey"`
	}
	if err := json.Unmarshal(b, &cred); err != nil {
		t.Errorf("key file is not complete JSON (%d bytes): %v", len(b), err)
		return
	}
	if cred.Version != 1 || (cred.APIKey != keys[0] && cred.APIKey != keys[1]) {
		t.Errorf("key file holds version %d and an unknown key of %d bytes", cred.Version, len(cred.APIKey))
	}
}
