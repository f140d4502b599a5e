package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestPKCEChallengeRFC7636(t *testing.T) {
	// RFC 7636 appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const want = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

	if got := oauth2.S256ChallengeFromVerifier(verifier); got != want {
		t.Errorf("S256ChallengeFromVerifier = %q, want %q", got, want)
	}

	conf := oauth2.Config{Endpoint: oauth2.Endpoint{AuthURL: DefaultAuthorizeURL}}
	u, err := url.Parse(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("code_challenge"); got != want {
		t.Errorf("S256ChallengeOption code_challenge = %q, want %q", got, want)
	}
}

func TestStartOAuthAuthorizeURL(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	env := newTestEnv(t, nil, func(c *Config) { c.Now = func() time.Time { return now } })
	att, state := env.startOAuth(t)

	u, err := url.Parse(att.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, DefaultAuthorizeURL; got != want {
		t.Errorf("authorize endpoint = %q, want %q", got, want)
	}

	q := u.Query()
	gotKeys := keys(q)
	sort.Strings(gotKeys)
	wantKeys := []string{"client_id", "code_challenge", "code_challenge_method", "redirect_uri", "response_type", "scope", "state"}
	if strings.Join(gotKeys, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("query parameters = %v, want %v", gotKeys, wantKeys)
	}
	for key, want := range map[string]string{
		"client_id":             testClientID,
		"redirect_uri":          att.RedirectURI,
		"response_type":         "code",
		"scope":                 "apikey:create",
		"code_challenge_method": "S256",
	} {
		if got := q.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for key, values := range q {
		if len(values) != 1 {
			t.Errorf("%s appears %d times", key, len(values))
		}
	}

	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/callback$`).MatchString(att.RedirectURI) {
		t.Errorf("RedirectURI = %q, want http://127.0.0.1:<port>/callback", att.RedirectURI)
	}
	raw, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(raw) != 32 {
		t.Errorf("state decodes to %d bytes (err %v), want 32 bytes of base64url", len(raw), err)
	}
	challenge, err := base64.RawURLEncoding.DecodeString(q.Get("code_challenge"))
	if err != nil || len(challenge) != 32 {
		t.Errorf("code_challenge decodes to %d bytes (err %v), want a SHA-256", len(challenge), err)
	}
	if want := now.Add(DefaultAttemptTimeout); !att.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", att.ExpiresAt, want)
	}
	if att.ID == "" || att.Instructions == "" {
		t.Errorf("attempt %+v lacks an ID or instructions", att)
	}
	mustContain(t, "Instructions", att.Instructions, att.RedirectURI)
}

func TestStartOAuthFreshSecrets(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	first, firstState := env.startOAuth(t)
	second, secondState := env.startOAuth(t)

	if firstState == secondState {
		t.Error("two attempts have the same state")
	}
	if challengeOf(t, first.URL) == challengeOf(t, second.URL) {
		t.Error("two attempts have the same code_challenge")
	}
	if first.ID == second.ID || first.RedirectURI == second.RedirectURI {
		t.Errorf("two attempts share an ID or port: %q %q, %q %q", first.ID, second.ID, first.RedirectURI, second.RedirectURI)
	}
}

func TestStartOAuthOpensBrowser(t *testing.T) {
	opened := make(chan string, 1)
	env := newTestEnv(t, nil, func(c *Config) {
		c.OpenBrowser = func(u string) error {
			opened <- u
			return fmt.Errorf("no browser can open %q", u)
		}
	})
	att, _ := env.startOAuth(t)

	select {
	case got := <-opened:
		if got != att.URL {
			t.Errorf("OpenBrowser got %q, want %q", got, att.URL)
		}
	default:
		t.Error("OpenBrowser was not called")
	}
	mustContain(t, "log", env.logs.String(), "cannot open the browser")
	u, _ := url.Parse(att.URL)
	if state := u.Query().Get("state"); strings.Contains(env.logs.String(), state) {
		t.Error("the log contains the state from the opener's error")
	}
}

func TestOAuthBrowserSuccess(t *testing.T) {
	env := newTestEnv(t, replyJSON(http.StatusOK, `{"api_key":"`+testAPIKey+`","api_key_expires_in":3600}`), nil)
	att, state := env.startOAuth(t)
	waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	if resp.status != http.StatusOK {
		t.Errorf("callback status = %d, want 200\n%s", resp.status, resp.body)
	}
	mustContain(t, "success page", resp.body, "Signed in to Poe")
	mustContain(t, "success page", resp.body, "You can close this tab and return to your editor.")

	form := env.nextForm(t, att)
	if got := form.Get("code"); got != testCode {
		t.Errorf("code sent = %q, want %q", got, testCode)
	}

	got := receive(t, waiter)
	if got.err != nil {
		t.Fatalf("Complete: %v", got.err)
	}
	if got.result.Method != MethodOAuth || got.result.ExpiresAt == nil {
		t.Fatalf("Result = %+v, want oauth with an expiry", got.result)
	}
	if left := time.Until(*got.result.ExpiresAt); left < 3590*time.Second || left > 3600*time.Second {
		t.Errorf("key expires in %v, want about 1h", left)
	}

	cred, err := env.store.Load()
	if err != nil || cred == nil {
		t.Fatalf("Load = %v, %v; want the stored key", cred, err)
	}
	if cred.APIKey != testAPIKey || cred.Method != MethodOAuth {
		t.Errorf("stored credential has method %q and the wrong key", cred.Method)
	}
	if key, err := env.svc.APIKey(); err != nil || key != testAPIKey {
		t.Errorf("APIKey() error = %v, key matches = %v", err, key == testAPIKey)
	}

	change := env.nextChange(t)
	if !change.SignedIn || change.Method != MethodOAuth || change.Source != SourceFile {
		t.Errorf("OnChange state = %+v, want signed in with oauth from the file", change)
	}
}

func TestCompleteCallbackURL(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)

	_, err := env.svc.Complete(context.Background(), CompleteParams{
		AttemptID:   att.ID,
		CallbackURL: callback(att, "code", testCode, "state", "not-the-state"),
	})
	if got := signInReason(err); got != ReasonStateMismatch {
		t.Fatalf("wrong state: error = %v, want reason %s", err, ReasonStateMismatch)
	}

	// The attempt is still pending, so the right address works afterwards.
	result, err := env.svc.Complete(context.Background(), CompleteParams{
		AttemptID:   att.ID,
		CallbackURL: "  " + callback(att, "code", testCode, "state", state) + "\n",
	})
	if err != nil {
		t.Fatalf("right state: %v", err)
	}
	if result.Method != MethodOAuth || result.ExpiresAt != nil {
		t.Errorf("Result = %+v, want oauth without expiry", result)
	}
	if form := env.nextForm(t, att); form.Get("code") != testCode {
		t.Errorf("code sent = %q, want %q", form.Get("code"), testCode)
	}

	// The browser path is closed now that the attempt has ended.
	if conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(att.RedirectURI, "/callback"), "http://")); err == nil {
		conn.Close()
		t.Error("callback port still accepts connections after the attempt ended")
	}
}

func TestCompleteCallbackURLError(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)

	_, err := env.svc.Complete(context.Background(), CompleteParams{
		AttemptID:   att.ID,
		CallbackURL: callback(att, "error", "access_denied", "state", state),
	})
	var signInErr *SignInError
	if !errors.As(err, &signInErr) || signInErr.Reason != ReasonAccessDenied || signInErr.OAuthError != "access_denied" {
		t.Fatalf("error = %v, want access_denied", err)
	}
}

func TestCompleteCode(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, _ := env.startOAuth(t)

	result, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: " " + testCode + " "})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if result.Method != MethodOAuth {
		t.Errorf("Method = %q, want oauth", result.Method)
	}
	if form := env.nextForm(t, att); form.Get("code") != testCode {
		t.Errorf("code sent = %q, want the trimmed %q", form.Get("code"), testCode)
	}

	// A second code for the ended attempt returns its outcome without another exchange.
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, Code: "other"}); err != nil {
		t.Errorf("second code: %v, want the first outcome", err)
	}
	select {
	case <-env.tokens.forms:
		t.Error("a second code was sent to the token endpoint")
	default:
	}
}

func TestCompleteWaitCancelled(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)

	ctx, cancel := context.WithCancel(context.Background())
	waiter := completeAsync(ctx, env.svc, CompleteParams{AttemptID: att.ID})
	cancel()
	if got := receive(t, waiter); !errors.Is(got.err, context.Canceled) {
		t.Fatalf("cancelled wait: error = %v, want context.Canceled", got.err)
	}

	// The attempt goes on: a new waiter and the browser still finish it.
	second := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})
	resp := visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	if resp.status != http.StatusOK {
		t.Errorf("callback status = %d, want 200", resp.status)
	}
	if got := receive(t, second); got.err != nil || got.result.Method != MethodOAuth {
		t.Errorf("second waiter got %+v, want success", got)
	}
}

func TestCompleteSeveralWaiters(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, state := env.startOAuth(t)
	waiters := []<-chan outcome{
		completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID}),
		completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID}),
	}

	visit(t, http.MethodGet, callback(att, "code", testCode, "state", state), nil)
	for i, w := range waiters {
		if got := receive(t, w); got.err != nil {
			t.Errorf("waiter %d: %v", i, got.err)
		}
	}
	// A late waiter gets the recorded outcome.
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID}); err != nil {
		t.Errorf("late waiter: %v", err)
	}
}

func TestStartOAuthSupersedes(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	first, firstState := env.startOAuth(t)
	waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: first.ID})
	apiKeyAttempt := env.svc.StartAPIKey()

	second, secondState := env.startOAuth(t)

	got := receive(t, waiter)
	if signInReason(got.err) != ReasonUnknownAttempt || !errors.Is(got.err, errSuperseded) {
		t.Errorf("superseded waiter: error = %v, want unknown_attempt for a replaced attempt", got.err)
	}
	mustContain(t, "superseded error", got.err.Error(), "newer sign-in")
	if _, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: apiKeyAttempt.ID, APIKey: testAPIKey}); signInReason(err) != ReasonUnknownAttempt {
		t.Errorf("replaced API key attempt: error = %v, want unknown_attempt", err)
	}
	_, err := env.svc.Complete(context.Background(), CompleteParams{
		AttemptID:   first.ID,
		CallbackURL: callback(first, "code", testCode, "state", firstState),
	})
	if signInReason(err) != ReasonUnknownAttempt {
		t.Errorf("paste for replaced attempt: error = %v, want unknown_attempt", err)
	}

	resp := visit(t, http.MethodGet, callback(second, "code", testCode, "state", secondState), nil)
	if resp.status != http.StatusOK {
		t.Errorf("newer attempt's callback status = %d, want 200", resp.status)
	}
}

func TestCompleteParamErrors(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, _ := env.startOAuth(t)

	tests := []struct {
		name      string
		params    CompleteParams
		wantField string
	}{
		{"no attempt id", CompleteParams{}, "attemptId"},
		{"api key on oauth", CompleteParams{AttemptID: att.ID, APIKey: testAPIKey}, "apiKey"},
		{"url and code", CompleteParams{AttemptID: att.ID, CallbackURL: att.RedirectURI + "?code=x&state=y", Code: "x"}, "code"},
		{"url without query", CompleteParams{AttemptID: att.ID, CallbackURL: att.RedirectURI}, "callbackUrl"},
		{"not a url", CompleteParams{AttemptID: att.ID, CallbackURL: "http://[::1"}, "callbackUrl"},
		{"bad query", CompleteParams{AttemptID: att.ID, CallbackURL: att.RedirectURI + "?state=%zz"}, "callbackUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.svc.Complete(context.Background(), tt.params)
			var paramErr *ParamError
			if !errors.As(err, &paramErr) {
				t.Fatalf("error = %v, want *ParamError", err)
			}
			if paramErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", paramErr.Field, tt.wantField)
			}
		})
	}
}

func TestCompleteUnknownAttempt(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	_, err := env.svc.Complete(context.Background(), CompleteParams{AttemptID: "nope"})
	if got := signInReason(err); got != ReasonUnknownAttempt {
		t.Errorf("error = %v, want reason %s", err, ReasonUnknownAttempt)
	}
}

func TestOAuthTimeout(t *testing.T) {
	env := newTestEnv(t, nil, func(c *Config) { c.AttemptTimeout = 200 * time.Millisecond })
	att, _ := env.startOAuth(t)

	got := receive(t, completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID}))
	if reason := signInReason(got.err); reason != ReasonTimeout {
		t.Fatalf("error = %v, want reason %s", got.err, ReasonTimeout)
	}
	mustContain(t, "timeout error", got.err.Error(), "200ms")

	hostPort := strings.TrimSuffix(strings.TrimPrefix(att.RedirectURI, "http://"), "/callback")
	if conn, err := net.Dial("tcp", hostPort); err == nil {
		conn.Close()
		t.Error("callback port still accepts connections after the timeout")
	}
}

func TestServiceCloseEndsAttempts(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	att, _ := env.startOAuth(t)
	waiter := completeAsync(context.Background(), env.svc, CompleteParams{AttemptID: att.ID})

	if err := env.svc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := receive(t, waiter)
	if !errors.Is(got.err, ErrClosed) || signInReason(got.err) != ReasonUnknownAttempt {
		t.Errorf("waiter error = %v, want unknown_attempt wrapping ErrClosed", got.err)
	}
	if err := env.svc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := env.svc.StartOAuth(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("StartOAuth after Close: error = %v, want ErrClosed", err)
	}
}

func TestNewServiceConfigErrors(t *testing.T) {
	store := NewStore(t.TempDir() + "/auth.json")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{}},
		{"relative token url", Config{Store: store, TokenURL: "/token"}},
		{"ftp authorize url", Config{Store: store, AuthorizeURL: "ftp://poe.com/oauth/authorize"}},
		{"public listen address", Config{Store: store, ListenAddr: "0.0.0.0:0"}},
		{"listen address without port", Config{Store: store, ListenAddr: "127.0.0.1"}},
		{"negative timeout", Config{Store: store, AttemptTimeout: -time.Second}},
		{"negative header timeout", Config{Store: store, CallbackLimits: CallbackLimits{ReadHeaderTimeout: -time.Second}}},
		{"negative header limit", Config{Store: store, CallbackLimits: CallbackLimits{MaxHeaderBytes: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if svc, err := NewService(tt.cfg); err == nil {
				svc.Close()
				t.Error("NewService accepted the config")
			}
		})
	}
}
