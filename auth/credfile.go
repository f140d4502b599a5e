package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// writtenFile is the layout of the credential file, a JSON object:
//
//	{"version":1,"method":"oauth","apiKey":"…","expiresAt":"RFC 3339"|null,"createdAt":"RFC 3339"}
//
// decodeCredential reads it more strictly than encoding/json's struct decoding, so that a
// file has only one reading. Names must match exactly, where encoding/json would also take
// "APIKEY". A name may appear once, and nothing may follow the object. The text must be
// UTF-8, where encoding/json would replace bad bytes with U+FFFD. Unknown names are ignored.
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
	if !utf8.Valid(data) {
		return nil, errors.New("the file is not UTF-8 text")
	}
	fields, err := decodeObject(data)
	if err != nil {
		return nil, err
	}

	version, err := decodeVersion(fields["version"])
	if err != nil {
		return nil, err
	}
	switch {
	case version > fileVersion:
		// The number is not shown: errors never quote values from the file.
		return nil, fmt.Errorf("the format version is newer than this poe-sidecar supports (%d); update poe-sidecar", fileVersion)
	case version < 1:
		return nil, errors.New("the format version is invalid; it must be 1 or more")
	}

	cred := &Credential{}
	if cred.Method, err = decodeString("method", fields["method"]); err != nil {
		return nil, err
	}
	if cred.APIKey, err = decodeString("apiKey", fields["apiKey"]); err != nil {
		return nil, err
	}
	if err := validateCredential(*cred); err != nil {
		return nil, err
	}

	if cred.ExpiresAt, err = decodeTime("expiresAt", fields["expiresAt"]); err != nil {
		return nil, err
	}
	// NOTE: createdAt is informational, so a hand-written file may leave it out.
	createdAt, err := decodeTime("createdAt", fields["createdAt"])
	if err != nil {
		return nil, err
	}
	if createdAt != nil {
		cred.CreatedAt = *createdAt
	}
	return cred, nil
}

// decodeObject splits a JSON object into its members. It rejects a name that appears
// twice and any data after the object.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	first, err := dec.Token()
	if err != nil {
		return nil, describeJSONError(err)
	}
	if first != json.Delim('{') {
		return nil, fmt.Errorf("the file contains a JSON %s instead of an object", tokenKind(first))
	}

	fields := make(map[string]json.RawMessage)
	for dec.More() {
		token, err := dec.Token()
		if err != nil {
			return nil, describeJSONError(err)
		}
		// Inside an object, Token returns each name as a string.
		name, _ := token.(string)
		if _, seen := fields[name]; seen {
			return nil, fmt.Errorf("the field %s appears twice", quoteFieldName(name))
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, describeJSONError(err)
		}
		fields[name] = value
	}
	if _, err := dec.Token(); err != nil {
		return nil, describeJSONError(err)
	}

	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, describeJSONError(err)
		}
		return nil, errors.New("the file has data after the JSON object")
	}
	return fields, nil
}

// quoteFieldName quotes a field name of the credential format. Other names are not shown,
// since they are contents of the file.
func quoteFieldName(name string) string {
	switch name {
	case "version", "method", "apiKey", "expiresAt", "createdAt":
		return strconv.Quote(name)
	}
	return "with an unknown name"
}

// decodeVersion reads the "version" field, a whole number.
func decodeVersion(raw json.RawMessage) (int, error) {
	if raw == nil {
		return 0, errors.New(`the "version" field is missing`)
	}
	if kind := valueKind(raw); kind != "number" {
		return 0, fmt.Errorf(`the "version" field is a JSON %s, not a number`, kind)
	}
	version, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil {
		return 0, errors.New(`the "version" field is not a whole number such as 1`)
	}
	return version, nil
}

// decodeString reads a string field. An absent field is "", which validateCredential
// rejects for the fields that need a value.
func decodeString(field string, raw json.RawMessage) (string, error) {
	if raw == nil {
		return "", nil
	}
	if kind := valueKind(raw); kind != "string" {
		return "", fmt.Errorf("the %q field is a JSON %s, not a string", field, kind)
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", fmt.Errorf("the %q field is not a valid JSON string", field)
	}
	return value, nil
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
	if c.ExpiresAt != nil {
		if err := checkTimeRange("expiresAt", *c.ExpiresAt); err != nil {
			return err
		}
	}
	return checkTimeRange("createdAt", c.CreatedAt)
}

// decodeTime parses an RFC 3339 string or null. An absent field is nil too.
func decodeTime(field string, raw json.RawMessage) (*time.Time, error) {
	if raw == nil || valueKind(raw) == "null" {
		return nil, nil
	}
	if valueKind(raw) != "string" {
		return nil, fmt.Errorf("the %q field is not a string or null", field)
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, fmt.Errorf("the %q field is not a valid JSON string", field)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return nil, fmt.Errorf("the %q field is not an RFC 3339 time", field)
	}
	if err := checkTimeRange(field, t); err != nil {
		return nil, err
	}
	return &t, nil
}

// checkTimeRange rejects a time whose UTC form has no four-digit year. RFC 3339 has no
// other years, so encodeCredential could not write it in a form that decodeTime reads.
func checkTimeRange(field string, t time.Time) error {
	if year := t.UTC().Year(); year < 0 || year > 9999 {
		return fmt.Errorf("the %q field is outside the years 0000 to 9999 in UTC", field)
	}
	return nil
}

// valueKind returns the JSON type of a value that the decoder accepted: "object", "array",
// "string", "boolean", "null" or "number".
func valueKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "value"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// tokenKind returns the JSON type of a token from json.Decoder.Token.
func tokenKind(token json.Token) string {
	switch token.(type) {
	case json.Delim:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	default:
		return "number"
	}
}

// describeJSONError turns a decoding error into a message without file contents. The
// messages of encoding/json can quote a character of the input, so none is passed on.
func describeJSONError(err error) error {
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("not valid JSON (error at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errors.New("not valid JSON (the file ends inside the object, so it may be cut short)")
	default:
		return errors.New("not valid JSON")
	}
}
