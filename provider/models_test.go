package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// modelsBody is a model list in Poe's format: a full entry, an image model with null
// pricing and only a top-level context_length, a bare entry, and two unusable entries.
const modelsBody = `{
	"object": "list",
	"data": [
		{
			"id": "Claude-Sonnet-4.6",
			"object": "model",
			"created": 1736000000000,
			"description": "Anthropic's model.",
			"owned_by": "Anthropic",
			"root": "Claude-Sonnet-4.6",
			"architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"], "modality": "text,image->text"},
			"supported_features": ["tools"],
			"pricing": {"prompt": "0.0000026", "completion": "0.000013", "image": null, "request": null,
				"input_cache_read": "0.00000026", "input_cache_write": "0.0000032"},
			"context_window": {"context_length": 200000, "max_output_tokens": 64000},
			"context_length": 1,
			"metadata": {"display_name": "Claude Sonnet 4.6", "image": {"url": "https://example.invalid/a.png", "alt": "a", "width": 1, "height": 1}, "url": "https://poe.com/x"},
			"reasoning": {"budget": {"max_tokens": 1, "min_tokens": 0}, "required": false, "supports_reasoning_effort": true},
			"parameters": [{"name": "thinking_budget", "schema": {"type": "integer", "minimum": 0}, "default_value": 0, "description": "Tokens to think"}],
			"supported_endpoints": ["/v1/chat/completions"],
			"some_future_field": {"nested": [1, 2, 3]}
		},
		{
			"id": "Imagen-4",
			"object": "model",
			"created": 1736000000001.0,
			"owned_by": "Google",
			"architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
			"pricing": null,
			"context_window": null,
			"context_length": 8192,
			"metadata": null,
			"parameters": null,
			"reasoning": null
		},
		{"id": "Bare"},
		{"object": "model", "description": "no id"},
		{"id": 42},
		{"id": "Odd-Pricing", "pricing": "free"}
	]
}`

// wantModelsJSON is the editor-facing JSON of the usable entries of modelsBody.
const wantModelsJSON = `[
	{
		"id": "Claude-Sonnet-4.6",
		"name": "Claude Sonnet 4.6",
		"ownedBy": "Anthropic",
		"description": "Anthropic's model.",
		"created": 1736000000000,
		"contextWindow": 200000,
		"maxOutputTokens": 64000,
		"inputModalities": ["text", "image"],
		"outputModalities": ["text"],
		"supportedFeatures": ["tools"],
		"pricing": {"prompt": "0.0000026", "completion": "0.000013", "image": null, "request": null,
			"inputCacheRead": "0.00000026", "inputCacheWrite": "0.0000032"},
		"parameters": [{"name": "thinking_budget", "schema": {"type": "integer", "minimum": 0}, "default_value": 0, "description": "Tokens to think"}]
	},
	{
		"id": "Imagen-4",
		"ownedBy": "Google",
		"created": 1736000000001,
		"contextWindow": 8192,
		"inputModalities": ["text"],
		"outputModalities": ["image"]
	},
	{"id": "Bare"},
	{"id": "Odd-Pricing"}
]`

func TestModelsNormalise(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method = %q, want GET", r.Method)
		}
		if r.URL.Path != "/v1/models" {
			t.Errorf("path = %q, want /v1/models", r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none", got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, modelsBody)
	})

	models, err := newClient(srv).Models(t.Context())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}

	got, err := json.Marshal(models)
	if err != nil {
		t.Fatalf("marshal models: %v", err)
	}
	checkJSONEqual(t, "models", got, wantModelsJSON)
	if len(models) > 1 && models[1].Pricing != nil {
		t.Errorf("Imagen-4 Pricing = %v, want nil for null pricing", models[1].Pricing)
	}
}

func TestModelsBaseURLSlash(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			t.Errorf("path = %q, want /v1/models", r.URL.Path)
		}
		io.WriteString(w, `{"object":"list","data":[]}`)
	})
	client := newClient(srv)
	client.BaseURL += "/"

	models, err := client.Models(t.Context())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	if models == nil || len(models) != 0 {
		t.Errorf("models = %#v, want an empty non-nil slice", models)
	}
}

func TestModelsErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		retryAfter  string
		body        string
		wantReason  Reason
		wantMessage string
		wantRetry   time.Duration
		wantText    string
	}{
		{
			name: "503 shape B", status: 503, contentType: "application/json", retryAfter: "4",
			body:       `{"error":{"code":503,"type":"api_error","message":"Maintenance","metadata":{}}}`,
			wantReason: ReasonServerError, wantMessage: "Maintenance", wantRetry: 4 * time.Second,
			wantText: "wait 4 seconds and try again",
		},
		{
			name: "502 html", status: 502, contentType: "text/html",
			body:       "<html><body>Bad Gateway</body></html>",
			wantReason: ReasonServerError, wantText: "non-JSON error page",
		},
		{
			name: "200 html", status: 200, contentType: "text/html",
			body:       "<html><body>Captive portal</body></html>",
			wantReason: ReasonMalformed, wantText: `Content-Type "text/html"`,
		},
		{
			name: "200 invalid json", status: 200, contentType: "application/json",
			body:       `{"data": [`,
			wantReason: ReasonMalformed, wantText: "invalid JSON",
		},
		{
			name: "200 without data", status: 200, contentType: "application/json",
			body:       `{"object":"list"}`,
			wantReason: ReasonMalformed, wantText: `missing "data" array`,
		},
		{
			name: "200 with error", status: 200, contentType: "application/json",
			body:       `{"error":{"message":"Temporarily unavailable","type":"api_error","code":"internal_error"}}`,
			wantReason: ReasonServerError, wantMessage: "Temporarily unavailable",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})

			models, err := newClient(srv).Models(t.Context())

			if models != nil {
				t.Errorf("models = %v, want nil", models)
			}
			apiErr := requireAPIError(t, err, tt.wantReason)
			if apiErr.Status != tt.status {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.status)
			}
			if apiErr.Message != tt.wantMessage {
				t.Errorf("Message = %q, want %q", apiErr.Message, tt.wantMessage)
			}
			if apiErr.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", apiErr.RetryAfter, tt.wantRetry)
			}
			if !strings.Contains(apiErr.Error(), tt.wantText) {
				t.Errorf("Error() = %q, want %q in it", apiErr.Error(), tt.wantText)
			}
			if strings.Contains(apiErr.Error(), "<") {
				t.Errorf("Error() = %q, want no HTML in it", apiErr.Error())
			}
		})
	}
}

func TestModelsCancelled(t *testing.T) {
	serverSawRequest := make(chan struct{})
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(serverSawRequest)
		awaitCancel(t, r, serverSawCancel)
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-serverSawRequest
		cancel()
	}()

	_, err := newClient(srv).Models(ctx)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		t.Errorf("error = %v, want no *Error on cancellation", err)
	}
	waitClosed(t, serverSawCancel, "server-side cancellation")
}

func TestCamelCase(t *testing.T) {
	tests := []struct{ key, want string }{
		{"prompt", "prompt"},
		{"input_cache_read", "inputCacheRead"},
		{"input_cache_write", "inputCacheWrite"},
		{"_leading", "leading"},
		{"double__underscore", "doubleUnderscore"},
		{"trailing_", "trailing"},
		{"per_1k_tokens", "per1kTokens"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := camelCase(tt.key); got != tt.want {
			t.Errorf("camelCase(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestModelsNotFoundSuggestsBaseURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()

	c := &Client{BaseURL: srv.URL}
	_, err := c.Models(context.Background())
	if err == nil {
		t.Fatal("Models against a 404 server succeeded")
	}
	if !strings.Contains(err.Error(), "base URL") {
		t.Errorf("error %q does not point at the base URL", err)
	}
	if strings.Contains(err.Error(), "model id") {
		t.Errorf("error %q blames a model id that the request did not have", err)
	}
}
