package provider

import (
	"io"
	"net/http"
	"testing"
)

func TestBalance(t *testing.T) {
	points := func(n int64) *int64 { return &n }
	tests := []struct {
		name       string
		body       string
		wantPoints *int64
		wantEmail  string
	}{
		{"integer", `{"current_point_balance": 12345}`, points(12345), ""},
		{"zero", `{"current_point_balance": 0}`, points(0), ""},
		{"null", `{"current_point_balance": null}`, nil, ""},
		{"missing", `{}`, nil, ""},
		{"email", `{"current_point_balance": 7, "email": "user@example.com"}`, points(7), "user@example.com"},
		{"float", `{"current_point_balance": 1000000.0}`, points(1000000), ""},
		{"unknown fields", `{"current_point_balance": 3, "plan": {"name": "x"}}`, points(3), ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				checkBalanceRequest(t, r)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			})

			got, err := newClient(srv).Balance(t.Context(), testKey)
			if err != nil {
				t.Fatalf("Balance: %v", err)
			}
			switch {
			case got.Points == nil && tt.wantPoints != nil:
				t.Errorf("Points = nil, want %d", *tt.wantPoints)
			case got.Points != nil && tt.wantPoints == nil:
				t.Errorf("Points = %d, want nil", *got.Points)
			case got.Points != nil && *got.Points != *tt.wantPoints:
				t.Errorf("Points = %d, want %d", *got.Points, *tt.wantPoints)
			}
			if got.Email != tt.wantEmail {
				t.Errorf("Email = %q, want %q", got.Email, tt.wantEmail)
			}
		})
	}
}

func TestBalanceErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantReason Reason
		wantType   string
	}{
		{"401", 401, `{"error":{"message":"Invalid API key","type":"authentication_error","code":"invalid_api_key"}}`,
			ReasonUnauthorized, "authentication_error"},
		{"403", 403, `{"error":{"code":403,"type":"moderation_error","message":"Forbidden","metadata":{}}}`,
			ReasonForbidden, "moderation_error"},
		{"500", 500, `{"error":{"message":"oops","type":"api_error","code":"internal_error"}}`,
			ReasonServerError, "api_error"},
		{"invalid balance", 200, `{"current_point_balance": "lots"}`, ReasonMalformed, ""},
		{"not an object", 200, `[1, 2]`, ReasonMalformed, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				checkBalanceRequest(t, r)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})

			_, err := newClient(srv).Balance(t.Context(), testKey)

			apiErr := requireAPIError(t, err, tt.wantReason)
			if apiErr.Status != tt.status {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.status)
			}
			if apiErr.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", apiErr.Type, tt.wantType)
			}
		})
	}
}

// checkBalanceRequest checks that the balance endpoint sits at the base URL's origin,
// without the /v1 of the base URL.
func checkBalanceRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if r.Method != http.MethodGet {
		t.Errorf("method = %q, want GET", r.Method)
	}
	if r.URL.Path != "/usage/current_balance" {
		t.Errorf("path = %q, want /usage/current_balance", r.URL.Path)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+testKey; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
}
