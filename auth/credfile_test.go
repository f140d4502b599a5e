package auth

import (
	"strings"
	"testing"
	"time"
)

// validFile is a credential file as Save writes it, with secretMarker inside the key.
const validFile = `{"version":1,"method":"oauth","apiKey":"sk-poe-` + secretMarker + `abcdefghijklmnopqrstuvwxyz","expiresAt":null,"createdAt":"2026-05-01T12:00:00Z"}`

func TestDecodeCredentialInvalid(t *testing.T) {
	key := `"sk-poe-` + secretMarker + `abcdefghijklmnopqrstuvwxyz"`
	tests := []struct {
		name     string
		contents string
		wantText string
		hidden   string // must not appear in the error; "": secretMarker
	}{
		{"nul bytes", "\x00\x00\x00\x00", "not valid JSON", ""},
		{"zeroed file", strings.Repeat("\x00", 200), "not valid JSON", ""},
		{"nul after object", validFile + "\x00", "JSON", ""},
		{"raw nul in key", `{"version":1,"method":"oauth","apiKey":"sk-poe-` + secretMarker + "\x00" + `abcdefghijklmnopqrstuvwxyz"}`, "not valid JSON", ""},
		{"escaped nul in key", `{"version":1,"method":"oauth","apiKey":"sk-poe-` + secretMarker + `\u0000abcdefghijklmnopqrstuvwxyz"}`, "control characters", ""},
		{"not utf-8", `{"version":1,"method":"oauth","apiKey":"sk-poe-` + secretMarker + "\xff\xfe" + `abcdefghijklmnopqrstuvwxyz"}`, "UTF-8", ""},
		{"truncated", validFile[:len(validFile)/2], "not valid JSON", ""},
		{"truncated after brace", "{", "not valid JSON", ""},
		{"upper-case names", `{"VERSION":1,"METHOD":"oauth","APIKEY":` + key + `}`, `"version"`, ""},
		{"mixed-case key name", `{"version":1,"method":"oauth","ApiKey":` + key + `}`, `"apiKey"`, ""},
		{"duplicate key", `{"version":1,"method":"oauth","apiKey":` + key + `,"apiKey":"sk-poe-other0123456789abcdefghijklmnopq"}`, "twice", ""},
		{"duplicate version", `{"version":1,"version":2,"method":"oauth","apiKey":` + key + `}`, "twice", ""},
		{"two objects", validFile + validFile, "after the JSON object", ""},
		{"trailing garbage", validFile + " x" + secretMarker, "JSON", ""},
		{"top-level null", "null", "null instead of an object", ""},
		{"top-level string", `"` + secretMarker + `"`, "string instead of an object", ""},
		{"top-level number", "98765432109876", "number instead of an object", "98765432109876"},
		{"top-level array", `[` + key + `]`, "array instead of an object", ""},
		{"version string", `{"version":"1","method":"oauth","apiKey":` + key + `}`, `"version" field is a JSON string`, ""},
		{"version float", `{"version":1.5,"method":"oauth","apiKey":` + key + `}`, `"version"`, ""},
		{"version exponent", `{"version":1e400,"method":"oauth","apiKey":` + key + `}`, `"version"`, ""},
		{"version huge", `{"version":123456789012345678901234567890,"method":"oauth","apiKey":` + key + `}`, `"version"`, "123456789012345678901234567890"},
		{"version negative", `{"version":-1,"method":"oauth","apiKey":` + key + `}`, "format version is invalid", ""},
		{"version future", `{"version":2,"method":"oauth","apiKey":` + key + `}`, "newer", ""},
		{"version null", `{"version":null,"method":"oauth","apiKey":` + key + `}`, `"version"`, ""},
		{"method null", `{"version":1,"method":null,"apiKey":` + key + `}`, `"method"`, ""},
		{"method array", `{"version":1,"method":["oauth"],"apiKey":` + key + `}`, `"method" field is a JSON array`, ""},
		{"key number", `{"version":1,"method":"oauth","apiKey":98765432109876}`, `"apiKey" field is a JSON number`, "98765432109876"},
		{"key object", `{"version":1,"method":"oauth","apiKey":{"k":` + key + `}}`, `"apiKey" field is a JSON object`, ""},
		{"key boolean", `{"version":1,"method":"oauth","apiKey":true}`, `"apiKey" field is a JSON boolean`, ""},
		{"key with space", `{"version":1,"method":"oauth","apiKey":"sk-poe-` + secretMarker + ` abcdefghijklmnopqrstuvwxyz"}`, "white space", ""},
		{"expiry object", `{"version":1,"method":"oauth","apiKey":` + key + `,"expiresAt":{}}`, `"expiresAt"`, ""},
		{"expiry boolean", `{"version":1,"method":"oauth","apiKey":` + key + `,"expiresAt":false}`, `"expiresAt"`, ""},
		{"expiry past year 9999", `{"version":1,"method":"oauth","apiKey":` + key + `,"expiresAt":"9999-12-31T23:59:59-23:59"}`, `"expiresAt"`, ""},
		{"expiry before year 0", `{"version":1,"method":"oauth","apiKey":` + key + `,"expiresAt":"0000-01-01T00:00:00+01:00"}`, `"expiresAt"`, ""},
		{"created not time", `{"version":1,"method":"oauth","apiKey":` + key + `,"createdAt":"` + secretMarker + `"}`, `"createdAt"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := decodeCredential([]byte(tt.contents))
			if err == nil {
				t.Fatalf("decodeCredential accepted the file: %+v", cred)
			}
			if cred != nil {
				t.Errorf("decodeCredential returned a credential with its error")
			}
			mustContain(t, "error", err.Error(), tt.wantText)
			hidden := tt.hidden
			if hidden == "" {
				hidden = secretMarker
			}
			if strings.Contains(err.Error(), hidden) {
				t.Errorf("error shows the file contents %q: %v", hidden, err)
			}
		})
	}
}

func TestDecodeCredentialValid(t *testing.T) {
	const key = "sk-poe-abcdefghijklmnopqrstuvwxyz0123456789"
	expires := time.Date(2036, 12, 1, 0, 0, 0, 0, time.UTC)
	created := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		contents    string
		wantMethod  string
		wantExpires *time.Time
		wantCreated time.Time
	}{
		{
			name:       "as written",
			contents:   `{"version":1,"method":"oauth","apiKey":"` + key + `","expiresAt":"2036-12-01T00:00:00Z","createdAt":"2026-05-01T12:00:00Z"}` + "\n",
			wantMethod: MethodOAuth, wantExpires: &expires, wantCreated: created,
		},
		{
			name:       "no expiry",
			contents:   `{"version":1,"method":"apiKey","apiKey":"` + key + `","expiresAt":null,"createdAt":"2026-05-01T12:00:00Z"}`,
			wantMethod: MethodAPIKey, wantCreated: created,
		},
		{
			name:       "times left out",
			contents:   `{"version":1,"method":"apiKey","apiKey":"` + key + `"}`,
			wantMethod: MethodAPIKey,
		},
		{
			name:       "other offset",
			contents:   `{"version":1,"method":"oauth","apiKey":"` + key + `","expiresAt":"2036-12-01T02:00:00+02:00"}`,
			wantMethod: MethodOAuth, wantExpires: &expires,
		},
		{
			name:       "unknown field and spacing",
			contents:   "\n  {\n  \"future\": {\"x\": [1, 2]},\n  \"version\": 1,\n  \"method\": \"apiKey\",\n  \"apiKey\": \"" + key + "\"\n}\n\n",
			wantMethod: MethodAPIKey,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := decodeCredential([]byte(tt.contents))
			if err != nil {
				t.Fatalf("decodeCredential: %v", err)
			}
			if cred.APIKey != key {
				t.Errorf("APIKey = %q, want %q", cred.APIKey, key)
			}
			if cred.Method != tt.wantMethod {
				t.Errorf("Method = %q, want %q", cred.Method, tt.wantMethod)
			}
			switch {
			case tt.wantExpires == nil && cred.ExpiresAt != nil:
				t.Errorf("ExpiresAt = %v, want nil", cred.ExpiresAt)
			case tt.wantExpires != nil && (cred.ExpiresAt == nil || !cred.ExpiresAt.Equal(*tt.wantExpires)):
				t.Errorf("ExpiresAt = %v, want %v", cred.ExpiresAt, tt.wantExpires)
			}
			if !cred.CreatedAt.Equal(tt.wantCreated) {
				t.Errorf("CreatedAt = %v, want %v", cred.CreatedAt, tt.wantCreated)
			}
		})
	}
}

// TestSaveRejectsUnreadableTime checks that Save never writes a time that Load cannot read
// back: RFC 3339 has four-digit years only.
func TestSaveRejectsUnreadableTime(t *testing.T) {
	store := newTestStore(t)
	cred := testCredential()
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	cred.ExpiresAt = &far

	err := store.Save(cred)
	if err == nil {
		t.Fatal("Save accepted an expiry in the year 10000")
	}
	mustContain(t, "error", err.Error(), "expiresAt")
	if cred, err := store.Load(); cred != nil || err != nil {
		t.Errorf("Load = %v, %v; want no file", cred, err)
	}
}
