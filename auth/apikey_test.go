package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckKeyShape(t *testing.T) {
	body34 := strings.Repeat("a1", 17)
	tests := []struct {
		name  string
		key   string
		valid bool
	}{
		{"prefixed", "sk-poe-" + body34, true},
		{"unprefixed", body34, true},
		{"underscore and dash", "sk-poe-" + strings.Repeat("_-", 16) + "x9", true},
		{"long", strings.Repeat("Z", 200), true},
		{"empty", "", false},
		{"33 characters", body34[:33], false},
		{"prefix and 33", "sk-poe-" + body34[:33], false},
		{"prefix counted as body", "sk-poe-" + body34[:27], false},
		{"only dashes", strings.Repeat("-_", 17), false},
		{"dot", body34 + ".", false},
		{"inner space", body34[:20] + " " + body34[20:], false},
		{"non-ascii", body34 + "é", false},
		{"too long", strings.Repeat("a", apiKeyMaxLength+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkKeyShape(tt.key)
			if tt.valid && err != nil {
				t.Errorf("checkKeyShape: %v, want valid", err)
			}
			if !tt.valid && err == nil {
				t.Error("checkKeyShape accepted the key")
			}
		})
	}
}

// keyChecker records the keys it gets and returns err.
type keyChecker struct {
	keys []string
	err  error
}

func (c *keyChecker) check(_ context.Context, key string) error {
	c.keys = append(c.keys, key)
	return c.err
}

func TestCompleteAPIKey(t *testing.T) {
	checker := &keyChecker{}
	env := newTestEnv(t, nil, func(c *Config) { c.CheckKey = checker.check })
	att := env.svc.StartAPIKey()
	if att.URL != "https://poe.com/api_key" || att.ID == "" || att.Instructions == "" {
		t.Errorf("attempt = %+v, want an ID, instructions and Poe's key page", att)
	}

	result, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: " \t" + testAPIKey + "\r\n"})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if result.Method != MethodAPIKey || result.ExpiresAt != nil {
		t.Errorf("Result = %+v, want apiKey without expiry", result)
	}
	if len(checker.keys) != 1 || checker.keys[0] != testAPIKey {
		t.Errorf("checker got %d keys, want the one trimmed key", len(checker.keys))
	}

	cred, err := env.store.Load()
	if err != nil || cred == nil {
		t.Fatalf("Load = %v, %v", cred, err)
	}
	if cred.APIKey != testAPIKey || cred.Method != MethodAPIKey || cred.ExpiresAt != nil {
		t.Errorf("stored credential: method %q, expiry %v, key matches %v", cred.Method, cred.ExpiresAt, cred.APIKey == testAPIKey)
	}
	if change := env.nextChange(t); !change.SignedIn || change.Method != MethodAPIKey {
		t.Errorf("OnChange state = %+v, want signed in with apiKey", change)
	}

	// The attempt has ended.
	_, err = env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey})
	if got := signInReason(err); got != ReasonUnknownAttempt {
		t.Errorf("second Complete: error = %v, want reason %s", err, ReasonUnknownAttempt)
	}
}

func TestCompleteAPIKeyBadShape(t *testing.T) {
	checker := &keyChecker{}
	env := newTestEnv(t, nil, func(c *Config) { c.CheckKey = checker.check })
	att := env.svc.StartAPIKey()

	for _, key := range []string{"", "   ", "short-key", "sk_test_51SAMPLEKEY"} {
		_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: key})
		if got := signInReason(err); got != ReasonInvalidAPIKey {
			t.Errorf("key %q: error = %v, want reason %s", key, err, ReasonInvalidAPIKey)
		}
	}
	if len(checker.keys) != 0 {
		t.Errorf("checker was asked %d times, want never", len(checker.keys))
	}
}

func TestCompleteAPIKeyRejected(t *testing.T) {
	checker := &keyChecker{err: fmt.Errorf("balance endpoint returned HTTP 401: %w", ErrKeyRejected)}
	env := newTestEnv(t, nil, func(c *Config) { c.CheckKey = checker.check })
	att := env.svc.StartAPIKey()

	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey})
	if got := signInReason(err); got != ReasonInvalidAPIKey {
		t.Fatalf("error = %v, want reason %s", err, ReasonInvalidAPIKey)
	}
	if !errors.Is(err, ErrKeyRejected) {
		t.Errorf("error = %v, want it to wrap ErrKeyRejected", err)
	}
	if cred, err := env.store.Load(); cred != nil || err != nil {
		t.Errorf("Load = %v, %v; want nothing stored", cred != nil, err)
	}

	// The attempt is still pending, so a good key works next.
	checker.err = nil
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}); err != nil {
		t.Errorf("retry: %v", err)
	}
}

func TestCompleteAPIKeyCheckFails(t *testing.T) {
	unreachable := errors.New("dial tcp 127.0.0.1:1: connection refused")
	checker := &keyChecker{err: unreachable}
	env := newTestEnv(t, nil, func(c *Config) { c.CheckKey = checker.check })
	att := env.svc.StartAPIKey()

	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey})
	if err != unreachable {
		t.Errorf("error = %v, want the checker's error unchanged", err)
	}
	if cred, err := env.store.Load(); cred != nil || err != nil {
		t.Errorf("Load = %v, %v; want nothing stored", cred != nil, err)
	}
}

func TestCompleteAPIKeyParamErrors(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att := env.svc.StartAPIKey()

	tests := []struct {
		params    CompleteParams
		wantField string
	}{
		{CompleteParams{AttemptID: att.ID, CallbackURL: "http://127.0.0.1:1/callback?code=x&state=y"}, "callbackUrl"},
		{CompleteParams{AttemptID: att.ID, Code: "x"}, "code"},
	}
	for _, tt := range tests {
		_, err := env.svc.Complete(context.Background(), tt.params)
		var paramErr *ParamError
		if !errors.As(err, &paramErr) || paramErr.Field != tt.wantField {
			t.Errorf("params %+v: error = %v, want a ParamError for %s", tt.params, err, tt.wantField)
		}
	}
}

func TestCompleteAPIKeyNoChecker(t *testing.T) {
	env := newTestEnv(t, nil, func(c *Config) { c.CheckKey = nil })
	att := env.svc.StartAPIKey()

	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: testAPIKey})
	if err == nil {
		t.Fatal("Complete succeeded without a key checker")
	}
	if cred, _ := env.store.Load(); cred != nil {
		t.Error("a key was stored without being checked")
	}
}
