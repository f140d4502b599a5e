package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

// TestSecretsNeverLogged signs in both ways and chats with debug logging and
// the message trace on, then looks for every key, code, verifier and state
// that passed through the sidecar in everything it wrote besides protocol
// results: the log files and stderr.
func TestSecretsNeverLogged(t *testing.T) {
	s := startSession(t, fakepoe.Options{})
	pasted := "sk-poe-" + strings.Repeat("Paste9", 7)
	s.fake.AddKey(pasted, 10)
	s.initialize(map[string]any{"logLevel": "debug"})

	s.signInOAuth()
	var attempt struct {
		AttemptID string `json:"attemptId"`
	}
	s.mustCall("auth/authorize", map[string]string{"method": "apiKey"}, &attempt)
	_ = s.call("auth/complete", map[string]string{"attemptId": attempt.AttemptID, "apiKey": "sk-poe-" + strings.Repeat("Wrong1", 7)}, nil)
	s.mustCall("auth/complete", map[string]string{"attemptId": attempt.AttemptID, "apiKey": pasted}, nil)
	s.mustCall("chat/send", map[string]any{"streamId": "s", "model": "GPT-5.4", "messages": userMessage("hi")}, nil)

	secrets := map[string]string{"pasted key": pasted, "rejected key": "sk-poe-" + strings.Repeat("Wrong1", 7)}
	for i, key := range s.fake.IssuedKeys() {
		secrets["issued key "+string(rune('0'+i))] = key
	}
	for _, req := range s.fake.Requests() {
		switch req.Path {
		case "/oauth/authorize":
			q, _ := url.ParseQuery(req.RawQuery)
			secrets["state"] = q.Get("state")
		case "/token":
			form, _ := url.ParseQuery(string(req.Body))
			secrets["authorization code"] = form.Get("code")
			secrets["PKCE verifier"] = form.Get("code_verifier")
		}
	}
	for _, name := range []string{"issued key 0", "state", "authorization code", "PKCE verifier"} {
		if secrets[name] == "" {
			t.Fatalf("the test did not capture the %s", name)
		}
	}

	outputs := map[string]string{"stderr": s.stderr.String()}
	logDir := filepath.Join(s.home, "state", "poe-sidecar")
	entries, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(logDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outputs[e.Name()] = string(b)
	}
	if !strings.Contains(outputs["sidecar.log"], "trace message") {
		t.Fatal("the log has no trace lines; the test would prove nothing")
	}

	for where, text := range outputs {
		for name, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the %s", where, name)
			}
		}
	}
}
