package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) {
	// A test that needs other processes runs this binary again in a helper mode.
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	goleak.VerifyTestMain(m)
}

const (
	testClientID = "client_test0123456789abcdef0123456789"
	testCode     = "code-0123456789-secret-code"
	testAPIKey   = "sk-poe-TESTKEYabcdefghijklmnopqrstuvwxyz0123"
	// waitLimit bounds every wait on a channel, so a broken test fails instead of hanging.
	waitLimit = 10 * time.Second
)

// tokenServer is a fake Poe token endpoint. It checks every request against Poe's
// documented form and then calls reply.
type tokenServer struct {
	*httptest.Server
	t     *testing.T
	reply func(w http.ResponseWriter, form url.Values)
	forms chan url.Values
}

func newTokenServer(t *testing.T, reply func(w http.ResponseWriter, form url.Values)) *tokenServer {
	t.Helper()
	ts := &tokenServer{t: t, reply: reply, forms: make(chan url.Values, 16)}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	t := ts.t
	if r.Method != http.MethodPost {
		t.Errorf("token request method = %q, want POST", r.Method)
	}
	if r.URL.Path != "/token" {
		t.Errorf("token request path = %q, want /token", r.URL.Path)
	}

	if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("token request Content-Type = %q, want application/x-www-form-urlencoded", got)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("token request Accept = %q, want application/json", got)
	}

	if err := r.ParseForm(); err != nil {
		t.Errorf("token request body: %v", err)
	}
	form := r.PostForm
	if got := form.Get("grant_type"); got != "authorization_code" {
		t.Errorf("grant_type = %q, want authorization_code", got)
	}
	if got := form.Get("client_id"); got != testClientID {
		t.Errorf("client_id = %q, want %q", got, testClientID)
	}
	for _, field := range []string{"code", "redirect_uri", "code_verifier"} {
		if form.Get(field) == "" {
			t.Errorf("token request has no %s", field)
		}
	}
	if len(form) != 5 {
		t.Errorf("token request has %d fields, want 5: %v", len(form), keys(form))
	}

	select {
	case ts.forms <- form:
	default:
	}
	ts.reply(w, form)
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

// replyJSON returns a token endpoint reply with status and body.
func replyJSON(status int, body string) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

var replyKey = replyJSON(http.StatusOK, `{"api_key":"`+testAPIKey+`","api_key_expires_in":null}`)

// syncBuffer is a bytes.Buffer that the logger and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// testEnv is a Service wired to a fake token endpoint and a temporary credential file.
type testEnv struct {
	svc     *Service
	store   *Store
	tokens  *tokenServer
	logs    *syncBuffer
	changes chan State
}

// newTestEnv starts a Service. edit may change the Config before NewService.
func newTestEnv(t *testing.T, reply func(http.ResponseWriter, url.Values), edit func(*Config)) *testEnv {
	t.Helper()
	if reply == nil {
		reply = replyKey
	}
	env := &testEnv{
		tokens:  newTokenServer(t, reply),
		logs:    &syncBuffer{},
		changes: make(chan State, 64),
	}
	logger := slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.store = &Store{Path: filepath.Join(t.TempDir(), "poe-sidecar", "auth.json"), Logger: logger}

	cfg := Config{
		ClientID:   testClientID,
		TokenURL:   env.tokens.URL + "/token",
		Store:      env.store,
		HTTPClient: env.tokens.Client(),
		CheckKey:   func(context.Context, string) error { return nil },
		OnChange: func(s State) {
			select {
			case env.changes <- s:
			default:
				t.Errorf("OnChange buffer full; dropped %+v", s)
			}
		},
		Logger: logger,
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := NewService(cfg)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	env.svc = svc
	return env
}

// nextChange returns the next State passed to OnChange.
func (env *testEnv) nextChange(t *testing.T) State {
	t.Helper()
	select {
	case s := <-env.changes:
		return s
	case <-time.After(waitLimit):
		t.Fatal("OnChange was not called")
		return State{}
	}
}

// startOAuth starts a browser sign-in and returns the attempt and its state value.
func (env *testEnv) startOAuth(t *testing.T) (OAuthAttempt, string) {
	t.Helper()
	att, err := env.svc.StartOAuth(context.Background())
	if err != nil {
		t.Fatalf("StartOAuth: %v", err)
	}
	u, err := url.Parse(att.URL)
	if err != nil {
		t.Fatalf("authorize URL %q: %v", att.URL, err)
	}
	return att, u.Query().Get("state")
}

// challengeOf returns the code_challenge of an authorize URL.
func challengeOf(t *testing.T, authorizeURL string) string {
	t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatalf("authorize URL %q: %v", authorizeURL, err)
	}
	return u.Query().Get("code_challenge")
}

// nextForm returns the next token request form and checks that its verifier matches
// the attempt's challenge and its redirect_uri the attempt's.
func (env *testEnv) nextForm(t *testing.T, att OAuthAttempt) url.Values {
	t.Helper()
	select {
	case form := <-env.tokens.forms:
		if got, want := oauth2.S256ChallengeFromVerifier(form.Get("code_verifier")), challengeOf(t, att.URL); got != want {
			t.Errorf("S256(code_verifier) = %q, want the challenge %q", got, want)
		}
		if got := form.Get("redirect_uri"); got != att.RedirectURI {
			t.Errorf("redirect_uri = %q, want %q", got, att.RedirectURI)
		}
		return form
	case <-time.After(waitLimit):
		t.Fatal("no token request arrived")
		return nil
	}
}

// completeAsync runs Complete on a goroutine and returns a channel with its outcome.
func completeAsync(ctx context.Context, svc *Service, p CompleteParams) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		result, err := svc.Complete(ctx, p)
		ch <- outcome{result, err}
	}()
	return ch
}

type outcome struct {
	result Result
	err    error
}

func receive(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(waitLimit):
		t.Fatal("Complete did not return")
		return outcome{}
	}
}

// browserResponse is what a browser got from the callback server.
type browserResponse struct {
	status int
	header http.Header
	body   string
}

// visit sends a request as a browser would, on a connection of its own.
func visit(t *testing.T, method, rawURL string, edit func(*http.Request)) browserResponse {
	t.Helper()
	resp, err := fetch(method, rawURL, edit)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// fetch is visit for goroutines other than the test's, which must not call t.Fatal.
func fetch(method, rawURL string, edit func(*http.Request)) (browserResponse, error) {
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: waitLimit}

	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		return browserResponse{}, err
	}
	if edit != nil {
		edit(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		return browserResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return browserResponse{}, err
	}
	return browserResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}, nil
}

// callback returns the redirect address with the given query parameters.
func callback(att OAuthAttempt, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return att.RedirectURI + "?" + q.Encode()
}

// signInReason returns the Reason of a *SignInError, or "" for any other error.
func signInReason(err error) string {
	var e *SignInError
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func mustContain(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s does not contain %q:\n%s", what, want, got)
	}
}
