package auth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// Placeholders in FuzzCallbackQuery's inputs, replaced by the values of each attempt,
// since the fuzzer cannot guess them.
const (
	placeholderState      = "STATE"      // the attempt's state
	placeholderSplitState = "SPLITSTATE" // the state with an escaped NUL inside
	placeholderHost       = "HOST"       // the callback server's host:port
)

const (
	fuzzHost      = "127.0.0.1:1"
	fuzzGoodCode  = "good-code"
	fuzzIssuedKey = "sk-poe-FUZZISSUEDabcdefghijklmnopqrstuvwxyz"
)

// fakeTokenEndpoint serves token requests in memory. It returns an API key for
// fuzzGoodCode and invalid_grant for any other code.
type fakeTokenEndpoint struct{}

func (fakeTokenEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	status, reply := http.StatusBadRequest, `{"error":"invalid_grant","error_description":"The code is invalid."}`
	if form.Get("code") == fuzzGoodCode {
		status, reply = http.StatusOK, `{"api_key":"`+fuzzIssuedKey+`","api_key_expires_in":3600}`
	}
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(reply)),
		Request:    r,
	}, nil
}

// pageTag matches the name of every tag in a page.
var pageTag = regexp.MustCompile(`<(/?[!a-zA-Z][a-zA-Z0-9]*)`)

// templateTags are the tags of pageTemplate. Any other tag in a page came from input
// that was not escaped.
var templateTags = map[string]bool{
	"!DOCTYPE": true, "html": true, "/html": true, "head": true, "/head": true, "meta": true,
	"title": true, "/title": true, "style": true, "/style": true, "body": true, "/body": true,
	"h1": true, "/h1": true, "p": true, "/p": true, "pre": true, "/pre": true,
}

// FuzzCallbackQuery sends arbitrary requests to a callback handler. The attempt must end
// exactly when a GET /callback to the server's own host carries the state. The status
// must be one that the handler documents, and no state, verifier or key may reach the
// page or the log.
func FuzzCallbackQuery(f *testing.F) {
	f.Add("GET", "/callback?code="+fuzzGoodCode+"&state="+placeholderState, placeholderHost)
	f.Add("GET", "/callback?code=bad&state="+placeholderState, placeholderHost)
	f.Add("GET", "/callback?code="+fuzzGoodCode+"&state=forged", placeholderHost)
	f.Add("GET", "/callback?state="+placeholderState+"&state="+placeholderState+"&code=x", placeholderHost)
	f.Add("GET", "/callback?error=access_denied&error_description=%3Cscript%3E&state="+placeholderState, placeholderHost)
	f.Add("GET", "/callback?error=x&error_description="+placeholderSplitState+"&state="+placeholderState, placeholderHost)
	f.Add("GET", "/callback?code=x&state="+placeholderState+"&iss=https%3A%2F%2Fevil.example", placeholderHost)
	f.Add("GET", "/favicon.ico", placeholderHost)
	f.Add("POST", "/callback?code=x&state="+placeholderState, placeholderHost)
	f.Add("GET", "/callback?code=x&state="+placeholderState, "attacker.example")
	f.Add("GET", "http://"+placeholderHost+"/callback?code=x&state="+placeholderState, "other")
	f.Add("GET", "/callback;x?code=%zz&state="+placeholderState, placeholderHost)

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := NewService(Config{
		ClientID:   testClientID,
		TokenURL:   "http://" + fuzzHost + "/token",
		Store:      &Store{Path: filepath.Join(f.TempDir(), "auth.json"), Logger: logger},
		HTTPClient: &http.Client{Transport: fakeTokenEndpoint{}, Timeout: waitLimit},
		Logger:     logger,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })

	f.Fuzz(func(t *testing.T, method, target, host string) {
		a := newAttempt(MethodOAuth)
		a.state = randomToken(32)
		a.verifier = oauth2.GenerateVerifier()
		a.redirectURI = "http://" + fuzzHost + callbackPath
		a.hosts = []string{fuzzHost, "localhost:1"}
		svc.mu.Lock()
		svc.attempts[a.id] = a
		svc.mu.Unlock()
		defer svc.finish(a, Result{}, &SignInError{Reason: ReasonUnknownAttempt, Err: errSuperseded})
		logs.Reset()

		replacer := strings.NewReplacer(
			placeholderSplitState, a.state[:10]+"%00"+a.state[10:],
			placeholderState, a.state,
			placeholderHost, fuzzHost,
		)
		raw := method + " " + replacer.Replace(target) + " HTTP/1.1\r\nHost: " + replacer.Replace(host) + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http replies 400 itself before any handler runs
		}

		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.callbackHandler(a).ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Fatalf("the handler did not answer %q within %v", raw, waitLimit)
		}

		hostAllowed := strings.EqualFold(req.Host, fuzzHost) || strings.EqualFold(req.Host, "localhost:1")
		states := req.URL.Query()["state"]
		validState := len(states) == 1 && states[0] == a.state
		wantEnded := hostAllowed && req.URL.Path == callbackPath && req.Method == http.MethodGet && validState
		ended := false
		select {
		case <-a.done:
			ended = true
		default:
		}
		if ended != wantEnded {
			t.Fatalf("attempt ended = %v, want %v for %q", ended, wantEnded, raw)
		}

		allowed := map[int]bool{http.StatusBadRequest: true, http.StatusNotFound: true, http.StatusMethodNotAllowed: true}
		if ended {
			allowed = map[int]bool{http.StatusOK: true, http.StatusBadRequest: true, http.StatusBadGateway: true, http.StatusInternalServerError: true}
		}
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q (attempt ended: %v)", rec.Code, raw, ended)
		}
		if rec.Code == http.StatusOK && a.err != nil {
			t.Fatalf("status 200 for a failed sign-in: %v", a.err)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != pagePolicy {
			t.Fatalf("Content-Security-Policy = %q", got)
		}

		body := rec.Body.String()
		for _, match := range pageTag.FindAllStringSubmatch(body, -1) {
			if !templateTags[match[1]] {
				t.Fatalf("page has the tag <%s> from the input:\n%s", match[1], body)
			}
		}
		output := body + logs.String()
		for name, secret := range map[string]string{"state": a.state, "verifier": a.verifier, "key": fuzzIssuedKey} {
			if strings.Contains(output, secret) {
				t.Fatalf("the page or the log shows the %s for %q:\n%s", name, raw, output)
			}
		}
	})
}

// FuzzCredentialFile parses arbitrary bytes as a credential file and checks that
// decodeCredential never panics, accepts only what a reading with encoding/json also
// finds valid, round-trips what it accepts, and does not quote a key-like value in its
// errors.
func FuzzCredentialFile(f *testing.F) {
	f.Add([]byte(validFile))
	f.Add([]byte(`{"version":1,"method":"apiKey","apiKey":"sk-poe-abcdefghijklmnopqrstuvwxyz0123456789","expiresAt":"2036-12-01T00:00:00Z","createdAt":"2026-05-01T12:00:00.5+02:00"}`))
	f.Add([]byte(`{"version":1,"method":"oauth","apiKey":"k","apiKey":"k2"}`))
	f.Add([]byte(`{"VERSION":1,"Method":"oauth","APIKEY":"k"}`))
	f.Add([]byte(`{"version":2,"method":"oauth","apiKey":"k"}`))
	f.Add([]byte("\x00\x00\x00"))
	f.Add([]byte(" \n"))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"version":1,"method":"oauth","apiKey":"k"} {}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		cred, err := decodeCredential(data)
		if err != nil {
			if cred != nil {
				t.Fatalf("decodeCredential returned a credential with the error %v", err)
			}
			checkErrorHidesValues(t, data, err)
			return
		}

		checkAgainstEncodingJSON(t, data, cred)

		encoded, err := encodeCredential(*cred)
		if err != nil {
			t.Fatalf("encodeCredential: %v", err)
		}
		back, err := decodeCredential(encoded)
		if err != nil {
			t.Fatalf("decodeCredential cannot read its own output %q: %v", encoded, err)
		}
		if !sameCredential(cred, back) {
			t.Fatalf("round trip changed %+v into %+v", cred, back)
		}
	})
}

// checkAgainstEncodingJSON reads data with encoding/json into generic values and checks
// that they agree with the credential that decodeCredential accepted.
func checkAgainstEncodingJSON(t *testing.T, data []byte, cred *Credential) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatal("accepted a file that is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		t.Fatalf("accepted a file that encoding/json does not read as an object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("accepted a file with data after the object (%v)", err)
	}

	if fields["version"] != json.Number("1") {
		t.Fatalf("accepted version %#v", fields["version"])
	}
	if method, _ := fields["method"].(string); method != cred.Method || (method != MethodOAuth && method != MethodAPIKey) {
		t.Fatalf("accepted method %#v as %q", fields["method"], cred.Method)
	}
	key, _ := fields["apiKey"].(string)
	if key != cred.APIKey || key == "" || strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		t.Fatalf("accepted apiKey %#v as %q", fields["apiKey"], cred.APIKey)
	}
	checkTimeField(t, "expiresAt", fields["expiresAt"], cred.ExpiresAt)
	var created *time.Time
	if !cred.CreatedAt.IsZero() {
		created = &cred.CreatedAt
	}
	checkTimeField(t, "createdAt", fields["createdAt"], created)
}

// checkTimeField checks a decoded time against the generic value of its field.
func checkTimeField(t *testing.T, name string, value any, got *time.Time) {
	t.Helper()
	if value == nil {
		if got != nil && !got.IsZero() {
			t.Fatalf("%s is absent or null but decoded as %v", name, got)
		}
		return
	}
	text, ok := value.(string)
	if !ok {
		t.Fatalf("accepted %s %#v, which is not a string", name, value)
	}
	want, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		t.Fatalf("accepted %s %q: %v", name, text, err)
	}
	if got == nil || !got.Equal(want) {
		t.Fatalf("%s %q decoded as %v", name, text, got)
	}
}

// checkErrorHidesValues checks that an error does not quote a long alphanumeric string
// or number of the file, the kind of value a key is made of. Shorter values could be
// words of the message itself.
func checkErrorHidesValues(t *testing.T, data []byte, err error) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if dec.Decode(&fields) != nil {
		return
	}
	for name, value := range fields {
		var text string
		switch v := value.(type) {
		case string:
			text = v
		case json.Number:
			text = v.String()
		}
		if len(text) >= 16 && isAlphanumeric(text) && strings.Contains(err.Error(), text) {
			t.Fatalf("the error quotes the value of %q: %v", name, err)
		}
	}
}

func isAlphanumeric(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func sameCredential(a, b *Credential) bool {
	if a.APIKey != b.APIKey || a.Method != b.Method || !a.CreatedAt.Equal(b.CreatedAt) {
		return false
	}
	if (a.ExpiresAt == nil) != (b.ExpiresAt == nil) {
		return false
	}
	return a.ExpiresAt == nil || a.ExpiresAt.Equal(*b.ExpiresAt)
}
