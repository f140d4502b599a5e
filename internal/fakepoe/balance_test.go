package fakepoe

import (
	"net/http"
	"testing"
)

func TestBalance(t *testing.T) {
	const wantUnauthorized = `{"error":{"code":401,"type":"authentication_error","message":"Invalid API key","metadata":{}}}`
	tests := []struct {
		name       string
		header     http.Header
		fault      Fault
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{"good key", bearer(testKey), Fault{}, 200, `{"current_point_balance":250}`, ""},
		{"lower-case scheme", http.Header{"Authorization": {"bearer " + testKey}}, Fault{}, 200, `{"current_point_balance":250}`, ""},
		{"unknown key", bearer("sk-poe-unknown"), Fault{}, 401, wantUnauthorized, ""},
		{"no header", nil, Fault{}, 401, wantUnauthorized, ""},
		{"basic scheme", http.Header{"Authorization": {"Basic " + testKey}}, Fault{}, 401, wantUnauthorized, ""},
		{"shape A", bearer("sk-poe-unknown"), Fault{ErrorShape: ShapeA}, 401,
			`{"error":{"message":"Invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}`, ""},
		{"fault 403", bearer(testKey), Fault{BalanceStatus: 403}, 403,
			`{"error":{"code":403,"type":"moderation_error","message":"This API key is not allowed to make the request.","metadata":{}}}`, ""},
		{"fault 429", bearer(testKey), Fault{BalanceStatus: 429, RetryAfter: "12"}, 429,
			`{"error":{"code":429,"type":"rate_limit_error","message":"Rate limit exceeded. Retry after the time in the Retry-After header.","metadata":{}}}`, "12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			s.AddKey(testKey, 250)
			s.SetFault(tt.fault)

			resp, body := do(t, http.MethodGet, s.URL()+"/usage/current_balance", tt.header, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %s, want %s", body, tt.wantBody)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
		})
	}
}
