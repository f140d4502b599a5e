package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// fileVersion is the version of the credential file format that this package writes.
// A file with a higher version comes from a newer poe-sidecar and is reported as corrupt
// instead of being overwritten silently.
const fileVersion = 1

// Methods of a stored credential and sources of State.
const (
	MethodOAuth  = "oauth"
	MethodAPIKey = "apiKey"

	SourceFile = "file"
	SourceEnv  = "env"
)

// credentialFile is the JSON layout of the credential file:
//
//	{"version":1,"method":"oauth","apiKey":"…","expiresAt":"RFC 3339"|null,"createdAt":"RFC 3339"}
//
// The times are kept raw while decoding, because encoding/json's time errors quote the
// value, and error messages must not show the file's contents.
type credentialFile struct {
	Version   *int            `json:"version"`
	Method    string          `json:"method"`
	APIKey    string          `json:"apiKey"`
	ExpiresAt json.RawMessage `json:"expiresAt"`
	CreatedAt json.RawMessage `json:"createdAt"`
}

// writtenFile is the layout that encodeCredential writes.
type writtenFile struct {
	Version   int     `json:"version"`
	Method    string  `json:"method"`
	APIKey    string  `json:"apiKey"`
	ExpiresAt *string `json:"expiresAt"`
	CreatedAt string  `json:"createdAt"`
}

func encodeCredential(c Credential) ([]byte, error) {
	out := writtenFile{
		Version:   fileVersion,
		Method:    c.Method,
		APIKey:    c.APIKey,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if c.ExpiresAt != nil {
		expires := c.ExpiresAt.UTC().Format(time.RFC3339Nano)
		out.ExpiresAt = &expires
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// decodeCredential parses the credential file. Its errors describe the problem without
// quoting the contents.
func decodeCredential(data []byte) (*Credential, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}

	var raw credentialFile
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, describeJSONError(err)
	}

	switch {
	case raw.Version == nil:
		return nil, errors.New(`the "version" field is missing`)
	case *raw.Version > fileVersion:
		return nil, fmt.Errorf("format version %d is newer than this poe-sidecar supports (%d); update poe-sidecar", *raw.Version, fileVersion)
	case *raw.Version < 1:
		return nil, fmt.Errorf("format version %d is invalid", *raw.Version)
	}

	cred := &Credential{APIKey: raw.APIKey, Method: raw.Method}
	if err := validateCredential(*cred); err != nil {
		return nil, err
	}

	expiresAt, err := decodeTime("expiresAt", raw.ExpiresAt)
	if err != nil {
		return nil, err
	}
	cred.ExpiresAt = expiresAt

	// NOTE: createdAt is informational, so a hand-written file may leave it out.
	createdAt, err := decodeTime("createdAt", raw.CreatedAt)
	if err != nil {
		return nil, err
	}
	if createdAt != nil {
		cred.CreatedAt = *createdAt
	}
	return cred, nil
}

// validateCredential checks the fields that Save writes and Load reads.
func validateCredential(c Credential) error {
	if c.Method != MethodOAuth && c.Method != MethodAPIKey {
		return fmt.Errorf(`the "method" field is not %q or %q`, MethodOAuth, MethodAPIKey)
	}
	if strings.TrimSpace(c.APIKey) == "" {
		return errors.New(`the "apiKey" field is empty`)
	}
	if strings.IndexFunc(c.APIKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return errors.New(`the "apiKey" field contains white space or control characters`)
	}
	return nil
}

// decodeTime parses an RFC 3339 string or null. An absent field is nil too.
func decodeTime(field string, raw json.RawMessage) (*time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, fmt.Errorf("the %q field is not a string or null", field)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return nil, fmt.Errorf("the %q field is not an RFC 3339 time", field)
	}
	return &t, nil
}

// describeJSONError turns a decoding error into a message without file contents. The
// messages of encoding/json can quote a character of the input, so none is passed on.
func describeJSONError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("not valid JSON (error at byte %d)", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Errorf("the file contains a JSON %s instead of an object", typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Errorf("the %q field is a JSON %s, which is the wrong type", typeErr.Field, typeErr.Value)
	default:
		return errors.New("not a valid credential object")
	}
}
