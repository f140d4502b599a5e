package fakepoe

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const testRedirectURI = "http://127.0.0.1:49152/callback"

type pkcePair struct {
	verifier  string
	challenge string
}

func newPKCE() pkcePair {
	verifier := oauth2.GenerateVerifier()
	return pkcePair{verifier: verifier, challenge: oauth2.S256ChallengeFromVerifier(verifier)}
}

// authorizeQuery returns a valid authorization request for pair.
func authorizeQuery(pair pkcePair, state string) url.Values {
	return url.Values{
		"client_id":             {DefaultClientID},
		"redirect_uri":          {testRedirectURI},
		"response_type":         {"code"},
		"scope":                 {"apikey:create"},
		"state":                 {state},
		"code_challenge":        {pair.challenge},
		"code_challenge_method": {"S256"},
	}
}

// browse plays the browser: it sends the authorization request and returns the
// response without following the redirect.
func browse(t *testing.T, s *Server, query url.Values) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Get(s.AuthorizeURL() + "?" + query.Encode())
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read authorize body: %v", err)
	}
	return resp, string(body)
}

// callback returns the query of the redirect that the authorization request produced.
func callback(t *testing.T, s *Server, query url.Values) url.Values {
	t.Helper()
	resp, _ := browse(t, s, query)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status = %d, want 302", resp.StatusCode)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location: %v", err)
	}
	if got := location.Scheme + "://" + location.Host + location.Path; got != testRedirectURI {
		t.Fatalf("redirect target = %q, want %q", got, testRedirectURI)
	}
	return location.Query()
}

// exchangeForm returns the token request for code and pair.
func exchangeForm(code string, pair pkcePair) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {DefaultClientID},
		"code":          {code},
		"redirect_uri":  {testRedirectURI},
		"code_verifier": {pair.verifier},
	}
}

func postToken(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, body := do(t, http.MethodPost, s.TokenURL(), header, []byte(form.Encode()))
	return resp.StatusCode, decodeObject(t, body)
}

// issueCode runs the authorization request and returns a fresh code for pair.
func issueCode(t *testing.T, s *Server, pair pkcePair) string {
	t.Helper()
	code := callback(t, s, authorizeQuery(pair, "state-1")).Get("code")
	if code == "" {
		t.Fatal("redirect has no code")
	}
	return code
}

func TestOAuthRoundTrip(t *testing.T) {
	s := startServer(t, Options{})
	pair := newPKCE()

	params := callback(t, s, authorizeQuery(pair, "xyz-state"))
	if got := params.Get("state"); got != "xyz-state" {
		t.Errorf("state = %q, want %q", got, "xyz-state")
	}
	if params.Has("iss") {
		t.Errorf("iss = %q, want no iss by default", params.Get("iss"))
	}

	status, body := postToken(t, s, exchangeForm(params.Get("code"), pair))
	if status != http.StatusOK {
		t.Fatalf("token status = %d, want 200; body %v", status, body)
	}
	key, _ := body["api_key"].(string)
	if !strings.HasPrefix(key, "sk-poe-") || len(key) != len("sk-poe-")+43 {
		t.Errorf("api_key = %q, want sk-poe- and 43 characters", key)
	}
	if v, ok := body["api_key_expires_in"]; !ok || v != nil {
		t.Errorf("api_key_expires_in = %v (present %v), want null", v, ok)
	}
	if got := s.IssuedKeys(); len(got) != 1 || got[0] != key {
		t.Errorf("IssuedKeys = %q, want [%q]", got, key)
	}

	resp, balance := do(t, http.MethodGet, s.URL()+"/usage/current_balance", bearer(key), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("balance status = %d, want 200", resp.StatusCode)
	}
	if got := decodeObject(t, balance)["current_point_balance"]; got != float64(IssuedKeyBalance) {
		t.Errorf("current_point_balance = %v, want %d", got, IssuedKeyBalance)
	}
}

func TestTokenCodeSingleUse(t *testing.T) {
	s := startServer(t, Options{})
	pair := newPKCE()
	code := issueCode(t, s, pair)

	if status, body := postToken(t, s, exchangeForm(code, pair)); status != http.StatusOK {
		t.Fatalf("first exchange status = %d, want 200; body %v", status, body)
	}
	status, body := postToken(t, s, exchangeForm(code, pair))
	if status != http.StatusBadRequest {
		t.Errorf("second exchange status = %d, want 400", status)
	}
	if body["error"] != "invalid_grant" {
		t.Errorf("second exchange error = %v, want invalid_grant", body["error"])
	}
}

func TestTokenWrongVerifier(t *testing.T) {
	s := startServer(t, Options{})
	pair := newPKCE()
	code := issueCode(t, s, pair)

	wrong := exchangeForm(code, newPKCE())
	status, body := postToken(t, s, wrong)
	if status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", status)
	}
	if body["error"] != "invalid_grant" {
		t.Errorf("error = %v, want invalid_grant", body["error"])
	}
	if body["error_description"] != invalidGrantDescription {
		t.Errorf("error_description = %v, want %q", body["error_description"], invalidGrantDescription)
	}

	// The failed attempt used the code up, so the right verifier fails too.
	if status, _ := postToken(t, s, exchangeForm(code, pair)); status != http.StatusBadRequest {
		t.Errorf("retry with the right verifier: status = %d, want 400", status)
	}
}

func TestTokenRejectsJSON(t *testing.T) {
	s := startServer(t, Options{})
	pair := newPKCE()
	code := issueCode(t, s, pair)

	fields := map[string]string{}
	for name, values := range exchangeForm(code, pair) {
		fields[name] = values[0]
	}
	header := http.Header{"Content-Type": {"application/json"}}
	resp, body := do(t, http.MethodPost, s.TokenURL(), header, mustJSON(t, fields))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if got := decodeObject(t, body)["error"]; got != "invalid_request" {
		t.Errorf("error = %v, want invalid_request", got)
	}

	// The rejected request did not use the code up.
	if status, _ := postToken(t, s, exchangeForm(code, pair)); status != http.StatusOK {
		t.Errorf("form exchange after JSON: status = %d, want 200", status)
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name      string
		change    func(url.Values)
		wantError string
	}{
		{"redirect mismatch", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:49153/callback") }, "invalid_grant"},
		{"client mismatch", func(f url.Values) { f.Set("client_id", "client_other") }, "invalid_grant"},
		{"unknown code", func(f url.Values) { f.Set("code", "not-a-code") }, "invalid_grant"},
		{"grant type", func(f url.Values) { f.Set("grant_type", "refresh_token") }, "unsupported_grant_type"},
		{"missing grant type", func(f url.Values) { f.Del("grant_type") }, "invalid_request"},
		{"missing verifier", func(f url.Values) { f.Del("code_verifier") }, "invalid_request"},
		{"short verifier", func(f url.Values) { f.Set("code_verifier", "abc") }, "invalid_request"},
		{"missing code", func(f url.Values) { f.Del("code") }, "invalid_request"},
		{"repeated code", func(f url.Values) { f.Add("code", "again") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			pair := newPKCE()
			form := exchangeForm(issueCode(t, s, pair), pair)
			tt.change(form)

			status, body := postToken(t, s, form)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if body["error"] != tt.wantError {
				t.Errorf("error = %v, want %s", body["error"], tt.wantError)
			}
			if desc, _ := body["error_description"].(string); desc == "" {
				t.Error("error_description is empty")
			}
			if got := s.IssuedKeys(); len(got) != 0 {
				t.Errorf("IssuedKeys = %q, want none", got)
			}
		})
	}
}

func TestTokenCodeExpires(t *testing.T) {
	clock := newTestClock()
	s := startServer(t, Options{Now: clock.Now})
	pair := newPKCE()
	code := issueCode(t, s, pair)

	clock.Advance(CodeLifetime)
	status, body := postToken(t, s, exchangeForm(code, pair))
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("got %d %v, want 400 invalid_grant", status, body["error"])
	}
}

func TestTokenKeyExpiresIn(t *testing.T) {
	clock := newTestClock()
	lifetime := int64(3600)
	s := startServer(t, Options{Now: clock.Now, KeyExpiresIn: &lifetime})
	pair := newPKCE()

	status, body := postToken(t, s, exchangeForm(issueCode(t, s, pair), pair))
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if got := body["api_key_expires_in"]; got != float64(3600) {
		t.Errorf("api_key_expires_in = %v, want 3600", got)
	}
	key := body["api_key"].(string)

	balanceURL := s.URL() + "/usage/current_balance"
	clock.Advance(time.Hour - time.Second)
	if resp, _ := do(t, http.MethodGet, balanceURL, bearer(key), nil); resp.StatusCode != http.StatusOK {
		t.Errorf("balance before expiry: status = %d, want 200", resp.StatusCode)
	}
	clock.Advance(time.Second)
	if resp, _ := do(t, http.MethodGet, balanceURL, bearer(key), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("balance at expiry: status = %d, want 401", resp.StatusCode)
	}
}

func TestTokenFaults(t *testing.T) {
	lifetime := int64(60)
	tests := []struct {
		fault       string
		wantStatus  int
		wantType    string
		wantError   string
		wantExpires any // "absent" when the field must be missing
		wantKey     bool
	}{
		{TokenInvalidGrant, 400, "application/json", "invalid_grant", nil, false},
		{TokenServerError, 500, "application/json", "server_error", nil, false},
		{TokenHTML, 502, "text/html; charset=utf-8", "", nil, false},
		{TokenExpiresNull, 200, "application/json", "", nil, true},
		{TokenExpiresAbsent, 200, "application/json", "", "absent", true},
		{TokenEmptyKey, 200, "application/json", "", float64(60), false},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			s := startServer(t, Options{KeyExpiresIn: &lifetime})
			pair := newPKCE()
			form := exchangeForm(issueCode(t, s, pair), pair)
			s.SetFault(Fault{Token: tt.fault})

			header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			resp, raw := do(t, http.MethodPost, s.TokenURL(), header, []byte(form.Encode()))
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if tt.fault == TokenHTML {
				if !strings.Contains(string(raw), "<html>") {
					t.Errorf("body %q is not an HTML page", raw)
				}
				return
			}

			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q: %v", raw, err)
			}
			if tt.wantError != "" {
				if body["error"] != tt.wantError {
					t.Errorf("error = %v, want %s", body["error"], tt.wantError)
				}
				return
			}

			expires, present := body["api_key_expires_in"]
			if tt.wantExpires == "absent" {
				if present {
					t.Errorf("api_key_expires_in = %v, want the field absent", expires)
				}
			} else if !present || expires != tt.wantExpires {
				t.Errorf("api_key_expires_in = %v (present %v), want %v", expires, present, tt.wantExpires)
			}
			key, _ := body["api_key"].(string)
			if gotKey := key != ""; gotKey != tt.wantKey {
				t.Errorf("api_key = %q, want a key: %v", key, tt.wantKey)
			}
			if got := len(s.IssuedKeys()); got != map[bool]int{true: 1, false: 0}[tt.wantKey] {
				t.Errorf("len(IssuedKeys) = %d", got)
			}
		})
	}
}

func TestAuthorizeErrorPage(t *testing.T) {
	tests := []struct {
		name   string
		change func(url.Values)
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "client_other") }},
		{"missing client", func(q url.Values) { q.Del("client_id") }},
		{"missing redirect", func(q url.Values) { q.Del("redirect_uri") }},
		{"https redirect", func(q url.Values) { q.Set("redirect_uri", "https://127.0.0.1:49152/callback") }},
		{"remote host", func(q url.Values) { q.Set("redirect_uri", "http://example.com:49152/callback") }},
		{"other path", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:49152/cb") }},
		{"no port", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1/callback") }},
		{"ipv6 loopback", func(q url.Values) { q.Set("redirect_uri", "http://[::1]:49152/callback") }},
		{"repeated redirect", func(q url.Values) { q.Add("redirect_uri", testRedirectURI) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			query := authorizeQuery(newPKCE(), "s1")
			tt.change(query)

			resp, _ := browse(t, s, query)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if got := resp.Header.Get("Location"); got != "" {
				t.Errorf("Location = %q, want no redirect", got)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", got)
			}
		})
	}
}

func TestAuthorizeErrorRedirect(t *testing.T) {
	tests := []struct {
		name      string
		change    func(url.Values)
		wantError string
	}{
		{"response type", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"missing response type", func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"scope", func(q url.Values) { q.Set("scope", "openid") }, "invalid_scope"},
		{"missing scope", func(q url.Values) { q.Del("scope") }, "invalid_scope"},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"missing challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		{"padded challenge", func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 42)+"=") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			query := authorizeQuery(newPKCE(), "s1")
			tt.change(query)

			params := callback(t, s, query)
			if got := params.Get("error"); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if params.Get("error_description") == "" {
				t.Error("error_description is empty")
			}
			if got := params.Get("state"); got != "s1" {
				t.Errorf("state = %q, want s1", got)
			}
			if params.Has("code") {
				t.Error("error redirect has a code")
			}
		})
	}
}

func TestAuthorizeFaults(t *testing.T) {
	tests := []struct {
		fault     string
		wantCode  bool
		wantState string
		wantError string
		wantIss   string // "origin" means s.URL()
	}{
		{AuthorizeAccessDenied, false, "s1", "access_denied", ""},
		{AuthorizeWrongState, true, "not-s1", "", ""},
		{AuthorizeNoCode, false, "s1", "", ""},
		{AuthorizeIssuerMismatch, true, "s1", "", "https://issuer.invalid"},
		{AuthorizeIssuer, true, "s1", "", "origin"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			s := startServer(t, Options{})
			s.SetFault(Fault{Authorize: tt.fault})

			params := callback(t, s, authorizeQuery(newPKCE(), "s1"))
			if got := params.Get("code") != ""; got != tt.wantCode {
				t.Errorf("has code = %v, want %v", got, tt.wantCode)
			}
			if got := params.Get("state"); got != tt.wantState {
				t.Errorf("state = %q, want %q", got, tt.wantState)
			}
			if got := params.Get("error"); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			wantIss := tt.wantIss
			if wantIss == "origin" {
				wantIss = s.URL()
			}
			if got := params.Get("iss"); got != wantIss {
				t.Errorf("iss = %q, want %q", got, wantIss)
			}
		})
	}
}

func TestAuthorizeWithoutState(t *testing.T) {
	s := startServer(t, Options{})
	query := authorizeQuery(newPKCE(), "")
	query.Del("state")
	query.Set("prompt", "consent")

	params := callback(t, s, query)
	if params.Get("code") == "" {
		t.Error("redirect has no code")
	}
	if params.Has("state") {
		t.Errorf("state = %q, want no state", params.Get("state"))
	}
}

func TestAuthorizeLocalhost(t *testing.T) {
	s := startServer(t, Options{ClientID: "client_custom"})
	pair := newPKCE()
	query := authorizeQuery(pair, "s1")
	query.Set("client_id", "client_custom")
	query.Set("redirect_uri", "http://localhost:5000/callback")

	resp, _ := browse(t, s, query)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location: %v", err)
	}
	if location.Host != "localhost:5000" {
		t.Errorf("redirect host = %q, want localhost:5000", location.Host)
	}

	form := exchangeForm(location.Query().Get("code"), pair)
	form.Set("client_id", "client_custom")
	form.Set("redirect_uri", "http://localhost:5000/callback")
	if status, body := postToken(t, s, form); status != http.StatusOK {
		t.Errorf("token status = %d, want 200; body %v", status, body)
	}
}
