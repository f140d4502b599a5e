package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNoSecretsInErrorsOrLogs runs successful and failed sign-ins with debug logging and
// checks that no API key, code, verifier or state shows up in an error, a page or the log.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	rejectedKey := "sk-poe-REJECTEDabcdefghijklmnopqrstuvwxyz0123"
	failingKey := "sk-poe-FAILINGabcdefghijklmnopqrstuvwxyz01234"
	badShapeKey := "sk-poe-BADSHAPE!!"

	var replies = []func(http.ResponseWriter, url.Values){
		replyKey,
		func(w http.ResponseWriter, form url.Values) {
			replyJSON(http.StatusBadRequest, fmt.Sprintf(`{"error":"invalid_grant","error_description":"code %s with verifier %s"}`,
				form.Get("code"), form.Get("code_verifier")))(w, form)
		},
		replyJSON(http.StatusInternalServerError, "upstream failure"),
		replyJSON(http.StatusOK, `{"api_key":"`+testAPIKey+`","api_key_expires_in":-5}`),
	}
	next := 0
	env := newTestEnv(t, func(w http.ResponseWriter, form url.Values) {
		reply := replies[next%len(replies)]
		next++
		reply(w, form)
	}, func(c *Config) {
		c.CheckKey = func(_ context.Context, key string) error {
			switch key {
			case rejectedKey:
				return fmt.Errorf("HTTP 401: %w", ErrKeyRejected)
			case failingKey:
				return fmt.Errorf("HTTP 503 from the balance endpoint")
			}
			return nil
		}
	})
	if err := env.svc.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	secrets := []string{testAPIKey, testCode, rejectedKey, failingKey, badShapeKey}
	var outputs []string

	// Browser sign-ins: one per token reply, each preceded by a forged callback.
	for range replies {
		att, state := env.startOAuth(t)
		secrets = append(secrets, state)
		forged := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state+"x"), nil)
		resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
		form := env.nextForm(t, att)
		secrets = append(secrets, form.Get("code_verifier"))
		_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID})
		outputs = append(outputs, forged.body, resp.body, fmt.Sprint(err))
	}

	// A pasted address with the wrong state, and an OAuth error that echoes the state.
	att, state := env.startOAuth(t)
	secrets = append(secrets, state)
	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, CallbackURL: callback(att, "code", testCode, "state", "forged")})
	outputs = append(outputs, fmt.Sprint(err))
	resp := visit(t, http.MethodGet, callback(att, "error", "invalid_request", "error_description", "bad state "+state, "state", state), nil)
	_, err = env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID})
	outputs = append(outputs, resp.body, fmt.Sprint(err))

	// Pasted addresses and codes with the right state.
	for i := 0; i < 2; i++ {
		att, state := env.startOAuth(t)
		secrets = append(secrets, state)
		_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, CallbackURL: callback(att, "code", testCode, "state", state)})
		outputs = append(outputs, fmt.Sprint(err))
		secrets = append(secrets, env.nextForm(t, att).Get("code_verifier"))

		att, _ = env.startOAuth(t)
		_, err = env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: testCode})
		outputs = append(outputs, fmt.Sprint(err))
		secrets = append(secrets, env.nextForm(t, att).Get("code_verifier"))
	}

	// API key sign-ins.
	for _, key := range []string{badShapeKey, rejectedKey, failingKey, testAPIKey} {
		keyAttempt := env.svc.StartAPIKey()
		_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: keyAttempt.ID, APIKey: key})
		outputs = append(outputs, fmt.Sprint(err))
	}

	// Credential errors and states.
	writeFile(t, env.store.Path, `{"version":1,"method":"oauth","apiKey":"`+testAPIKey+`","expiresAt":"soon"}`)
	_, err = env.svc.APIKey()
	outputs = append(outputs, fmt.Sprint(err), fmt.Sprintf("%+v", *env.svc.Status().Problem))
	if _, err := env.svc.SignOut(); err != nil {
		t.Fatalf("SignOut: %v", err)
	}

	logs := env.logs.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatal("the log has no debug lines; the test would prove nothing")
	}
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a secret is empty; the test would prove nothing")
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret %q", secret)
		}
		for _, out := range outputs {
			if strings.Contains(out, secret) {
				t.Errorf("an error or page contains the secret %q:\n%s", secret, out)
			}
		}
	}
}
