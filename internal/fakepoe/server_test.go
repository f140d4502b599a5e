package fakepoe

import (
	"net/http"
	"strings"
	"testing"
)

func TestServerURLs(t *testing.T) {
	s := startServer(t, Options{})

	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:PORT", s.URL())
	}
	tests := []struct{ got, want string }{
		{s.BaseURL(), s.URL() + "/v1"},
		{s.AuthorizeURL(), s.URL() + "/oauth/authorize"},
		{s.TokenURL(), s.URL() + "/token"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestServerRequests(t *testing.T) {
	s := startServer(t, Options{})
	s.AddKey(testKey, 100)
	body := mustJSON(t, chatBody("GPT-5.4", "hi", false, nil))

	do(t, http.MethodGet, s.BaseURL()+"/models?x=1", nil, nil)
	do(t, http.MethodPost, s.BaseURL()+"/chat/completions", bearer(testKey), body)

	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("len(Requests) = %d, want 2", len(got))
	}
	if got[0].Method != "GET" || got[0].Path != "/v1/models" || got[0].RawQuery != "x=1" {
		t.Errorf("first request = %s %s?%s, want GET /v1/models?x=1", got[0].Method, got[0].Path, got[0].RawQuery)
	}
	if got[1].Method != "POST" || got[1].Path != "/v1/chat/completions" {
		t.Errorf("second request = %s %s, want POST /v1/chat/completions", got[1].Method, got[1].Path)
	}
	if auth := got[1].Header.Get("Authorization"); auth != "Bearer "+testKey {
		t.Errorf("Authorization = %q, want the bearer key", auth)
	}
	if string(got[1].Body) != string(body) {
		t.Errorf("body = %s, want %s", got[1].Body, body)
	}

	// Requests returns copies, so changing one does not change the log.
	got[1].Body[0] = 'X'
	got[1].Header.Set("Authorization", "changed")
	again := s.Requests()
	if again[1].Body[0] != '{' || again[1].Header.Get("Authorization") != "Bearer "+testKey {
		t.Error("changing a returned Request changed the log")
	}
}

func TestServerWrongMethod(t *testing.T) {
	s := startServer(t, Options{})

	tests := []struct{ method, path string }{
		{http.MethodPost, "/v1/models"},
		{http.MethodGet, "/token"},
		{http.MethodGet, "/v1/chat/completions"},
		{http.MethodPost, "/oauth/authorize"},
	}
	for _, tt := range tests {
		resp, _ := do(t, tt.method, s.URL()+tt.path, nil, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status = %d, want 405", tt.method, tt.path, resp.StatusCode)
		}
	}
}

func TestFaultValidate(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		wantErr string
	}{
		{"zero", Fault{}, ""},
		{"all valid", Fault{Authorize: AuthorizeIssuer, Token: TokenHTML, ChatStatus: 529, ModelsStatus: 500,
			BalanceStatus: 403, ErrorShape: ShapeB, RetryAfter: "5", Stream: "crlf,keepalive"}, ""},
		{"authorize", Fault{Authorize: "deny"}, `invalid Authorize fault "deny"`},
		{"token", Fault{Token: "slow"}, `invalid Token fault "slow"`},
		{"status", Fault{ChatStatus: 200}, "invalid ChatStatus 200"},
		{"shape", Fault{ErrorShape: "C"}, `invalid ErrorShape "C"`},
		{"retry after", Fault{RetryAfter: "1\r\nX: y"}, "invalid RetryAfter"},
		{"stream", Fault{Stream: "crlf,slow"}, `invalid Stream quirk "slow"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fault.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSetFaultPanics(t *testing.T) {
	s := startServer(t, Options{})
	defer func() {
		if recover() == nil {
			t.Error("SetFault with an unknown quirk did not panic")
		}
	}()
	s.SetFault(Fault{Stream: "sideways"})
}
