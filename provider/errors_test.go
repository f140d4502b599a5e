package provider

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestChatStreamHTTPErrors(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		typeA      string // Poe's type in shape A, which has a string code
		codeA      string
		typeB      string // Poe's type in shape B, which has a numeric code
		wantReason Reason
		wantRetry  time.Duration
		wantStep   string
	}{
		{400, "", "invalid_request_error", "invalid_parameter", "invalid_request_error", ReasonBadRequest, 0, "check the model id and the request parameters"},
		{401, "", "invalid_request_error", "invalid_api_key", "authentication_error", ReasonUnauthorized, 0, "sign in to Poe again"},
		{402, "", "insufficient_quota", "insufficient_points", "insufficient_credits", ReasonInsufficientPoints, 0, "add points at https://poe.com/api_key"},
		{403, "", "permission_error", "forbidden", "moderation_error", ReasonForbidden, 0, "check that the API key may use this model"},
		{404, "", "invalid_request_error", "model_not_found", "not_found_error", ReasonBadRequest, 0, "check the model id"},
		{408, "", "timeout_error", "timeout", "timeout_error", ReasonServerError, 0, "try again later"},
		{413, "", "invalid_request_error", "request_too_large", "request_too_large", ReasonBadRequest, 0, "shorten the conversation"},
		{429, "7", "rate_limit_error", "rate_limit_exceeded", "rate_limit_error", ReasonRateLimited, 7 * time.Second, "wait 7 seconds and try again"},
		{429, "", "rate_limit_error", "rate_limit_exceeded", "rate_limit_error", ReasonRateLimited, 0, "wait a moment and try again"},
		{500, "", "api_error", "internal_error", "provider_error", ReasonServerError, 0, "try again later"},
		{502, "", "api_error", "bad_gateway", "upstream_error", ReasonServerError, 0, "try again later"},
		{503, "1", "api_error", "internal_error", "api_error", ReasonServerError, time.Second, "wait 1 second and try again"},
		{529, "", "api_error", "overloaded", "overloaded_error", ReasonServerError, 0, "try again later"},
		{529, "20", "api_error", "overloaded", "overloaded_error", ReasonServerError, 20 * time.Second, "wait 20 seconds and try again"},
	}

	for _, tt := range tests {
		for _, shape := range []string{"A", "B"} {
			name := strconv.Itoa(tt.status) + shape
			if tt.retryAfter != "" {
				name += " Retry-After " + tt.retryAfter
			}
			t.Run(name, func(t *testing.T) {
				message := fmt.Sprintf("Poe message for %d", tt.status)
				wantType, wantCode := tt.typeA, tt.codeA
				body := fmt.Sprintf(`{"error":{"message":%q,"type":%q,"code":%q}}`, message, tt.typeA, tt.codeA)
				if shape == "B" {
					wantType, wantCode = tt.typeB, strconv.Itoa(tt.status)
					body = fmt.Sprintf(`{"error":{"code":%d,"type":%q,"message":%q,"metadata":{"provider_name":"x"}}}`,
						tt.status, tt.typeB, message)
				}
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
					checkChatRequest(t, r, defaultChatBody)
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					io.WriteString(w, body)
				})

				deltas, _, err := collectChat(t, newClient(srv))

				apiErr := requireAPIError(t, err, tt.wantReason)
				if len(deltas) != 0 {
					t.Errorf("deltas = %q, want none", deltas)
				}
				if apiErr.Status != tt.status {
					t.Errorf("Status = %d, want %d", apiErr.Status, tt.status)
				}
				if apiErr.Type != wantType {
					t.Errorf("Type = %q, want %q", apiErr.Type, wantType)
				}
				if apiErr.Code != wantCode {
					t.Errorf("Code = %q, want %q", apiErr.Code, wantCode)
				}
				if apiErr.Message != message {
					t.Errorf("Message = %q, want %q", apiErr.Message, message)
				}
				if apiErr.RetryAfter != tt.wantRetry {
					t.Errorf("RetryAfter = %v, want %v", apiErr.RetryAfter, tt.wantRetry)
				}
				text := apiErr.Error()
				if !strings.Contains(text, message) {
					t.Errorf("Error() = %q, want Poe's message in it", text)
				}
				if !strings.Contains(text, tt.wantStep) {
					t.Errorf("Error() = %q, want %q in it", text, tt.wantStep)
				}
				if !strings.Contains(text, "HTTP "+strconv.Itoa(tt.status)) {
					t.Errorf("Error() = %q, want the status in it", text)
				}
			})
		}
	}
}

func TestChatStreamHTMLErrorPage(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
	})

	_, _, err := collectChat(t, newClient(srv))

	apiErr := requireAPIError(t, err, ReasonServerError)
	if apiErr.Status != http.StatusBadGateway {
		t.Errorf("Status = %d, want 502", apiErr.Status)
	}
	if apiErr.Message != "" {
		t.Errorf("Message = %q, want empty", apiErr.Message)
	}
	if !errors.Is(err, errNonJSONBody) {
		t.Errorf("error = %v, want errNonJSONBody as its cause", err)
	}
	if text := apiErr.Error(); strings.Contains(text, "<") || !strings.Contains(text, "non-JSON error page") {
		t.Errorf("Error() = %q, want a short note without HTML", text)
	}
}

func TestChatStreamEmptyErrorBody(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})

	_, _, err := collectChat(t, newClient(srv))

	apiErr := requireAPIError(t, err, ReasonUnauthorized)
	if got, want := apiErr.Error(), "Poe rejected the API key (HTTP 401); sign in to Poe again"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestChatStreamRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	client := newClient(srv)
	client.now = func() time.Time { return now }

	_, _, err := collectChat(t, client)

	apiErr := requireAPIError(t, err, ReasonRateLimited)
	if apiErr.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter = %v, want 1m30s", apiErr.RetryAfter)
	}
	if !strings.Contains(apiErr.Error(), "wait 90 seconds") {
		t.Errorf("Error() = %q, want it to say how long to wait", apiErr.Error())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{" 30 ", 30 * time.Second},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999999", 24 * time.Hour},
		{"99999999999999", 24 * time.Hour},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestReasonForStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Reason
	}{
		{400, ReasonBadRequest},
		{401, ReasonUnauthorized},
		{402, ReasonInsufficientPoints},
		{403, ReasonForbidden},
		{404, ReasonBadRequest},
		{408, ReasonServerError},
		{409, ReasonBadRequest},
		{413, ReasonBadRequest},
		{422, ReasonBadRequest},
		{429, ReasonRateLimited},
		{500, ReasonServerError},
		{504, ReasonServerError},
		{529, ReasonServerError},
		{204, ReasonMalformed},
		{302, ReasonMalformed},
	}
	for _, tt := range tests {
		if got := reasonForStatus(tt.status); got != tt.want {
			t.Errorf("reasonForStatus(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       errorReport
		wantIsJSON bool
	}{
		{"shape A", `{"error":{"message":"m","type":"t","code":"model_not_found"}}`,
			errorReport{Message: "m", Type: "t", Code: "model_not_found"}, true},
		{"shape B", `{"error":{"code":529,"type":"overloaded_error","message":"m","metadata":{}}}`,
			errorReport{Message: "m", Type: "overloaded_error", Code: "529", Number: 529}, true},
		{"status member", `{"error":{"message":"m","status":503}}`,
			errorReport{Message: "m", Number: 503}, true},
		{"string error", `{"error":"plain words"}`, errorReport{Message: "plain words"}, true},
		{"bare object", `{"message":"m","type":"t","code":429}`,
			errorReport{Message: "m", Type: "t", Code: "429", Number: 429}, true},
		{"detail", `{"detail":"Not Found"}`, errorReport{Message: "Not Found"}, true},
		{"odd types", `{"error":{"message":["x"],"type":{},"code":true}}`, errorReport{}, true},
		{"html", `<html>oops</html>`, errorReport{}, false},
		{"empty", ``, errorReport{}, false},
		{"array", `[1]`, errorReport{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotIsJSON := parseErrorBody([]byte(tt.body))
			if got != tt.want {
				t.Errorf("report = %+v, want %+v", got, tt.want)
			}
			if gotIsJSON != tt.wantIsJSON {
				t.Errorf("isJSON = %v, want %v", gotIsJSON, tt.wantIsJSON)
			}
		})
	}
}

func TestCleanMessage(t *testing.T) {
	long := strings.Repeat("é", maxMessageBytes)
	tests := []struct {
		name, message, want string
	}{
		{"plain", "Model not found", "Model not found"},
		{"key", "bad key " + testKey + " here", "bad key [redacted] here"},
		{"white space", "  two\n\tlines  ", "two lines"},
		{"long", long, long[:maxMessageBytes] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanMessage(tt.message, testKey); got != tt.want {
				t.Errorf("cleanMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"unreachable", &Error{Reason: ReasonUnreachable, op: "chat request", host: "api.poe.com", Err: errors.New("dial tcp: lookup api.poe.com: no such host")},
			"could not reach Poe at api.poe.com for the chat request: dial tcp: lookup api.poe.com: no such host; check the network connection and the HTTPS_PROXY setting"},
		{"stalled", &Error{Reason: ReasonStalled, Status: 200, op: "chat request", idle: 2 * time.Minute},
			"Poe sent no data for 2m0s, so the chat request was closed; try again"},
		{"cut", &Error{Reason: ReasonMalformed, Status: 200, op: "chat request", Err: errStreamCut},
			"Poe sent an invalid response to the chat request: the stream ended before Poe finished the answer; try again"},
		{"mid-stream", &Error{Reason: ReasonServerError, Status: 200, op: "chat stream", Code: "internal_error", Message: "boom"},
			"Poe failed to complete the chat stream (internal_error): boom; try again later"},
		{"not found", &Error{Reason: ReasonBadRequest, Status: 404, op: "chat request", Code: "model_not_found", Message: "Model Foo not found"},
			"Poe rejected the chat request (HTTP 404, model_not_found): Model Foo not found; check the model id"},
		{"zero value", &Error{}, "the Poe request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestErrorMessageEndsSentence(t *testing.T) {
	e := &Error{Reason: ReasonRateLimited, Status: 429, Message: "Retry after the time in the Retry-After header.", RetryAfter: 17 * time.Second}
	got := e.Error()
	if strings.Contains(got, ".;") {
		t.Errorf("Error() = %q, which joins two sentences with \".;\"", got)
	}
	if !strings.Contains(got, "Wait 17 seconds") {
		t.Errorf("Error() = %q, want the next step as its own sentence", got)
	}
}
