package rpc

import (
	"bytes"
	"encoding/json"

	"github.com/sourcegraph/jsonrpc2"
)

// invalidMessage is the error reply to a body that is not a JSON-RPC 2.0
// message the connection can dispatch.
type invalidMessage struct {
	id      json.RawMessage // the request's id when it could be read, else nil (sent as null)
	code    int64
	message string
}

func (m *invalidMessage) encode() []byte {
	id := m.id
	if id == nil {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   jsonrpc2.Error  `json:"error"`
	}{"2.0", id, jsonrpc2.Error{Code: m.code, Message: m.message}})
	return body
}

// validateMessage checks that body is one JSON-RPC 2.0 request, notification
// or response of a shape jsonrpc2 can dispatch, and returns the reply to send
// when it is not. Batches are not supported: the Language Server Protocol
// never sends them.
func validateMessage(body []byte) *invalidMessage {
	if !json.Valid(body) {
		return &invalidMessage{code: jsonrpc2.CodeParseError, message: "parse error: the message body is not valid JSON"}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return &invalidMessage{code: jsonrpc2.CodeInvalidRequest, message: "invalid request: batch messages are not supported; send one message per frame"}
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return &invalidMessage{code: jsonrpc2.CodeInvalidRequest, message: "invalid request: the message is not a JSON object"}
	}

	rawID, hasID := fields["id"]
	id, idOK := checkID(rawID)
	if !hasID {
		idOK = true
	}
	invalid := func(message string) *invalidMessage {
		m := &invalidMessage{code: jsonrpc2.CodeInvalidRequest, message: "invalid request: " + message}
		if hasID && idOK {
			m.id = id
		}
		return m
	}

	var version string
	if err := json.Unmarshal(fields["jsonrpc"], &version); err != nil || version != "2.0" {
		return invalid(`"jsonrpc" must be "2.0"`)
	}
	if !idOK {
		return invalid(`"id" must be a string or an integer from 0 to 2^63-1`)
	}

	if rawMethod, ok := fields["method"]; ok {
		var method string
		if err := json.Unmarshal(rawMethod, &method); err != nil {
			return invalid(`"method" must be a string`)
		}
		if hasID && isNull(rawID) {
			return invalid(`"id" must not be null in a request; omit it to send a notification`)
		}
		if _, hasResult := fields["result"]; hasResult {
			return invalid(`a message cannot have both "method" and "result"`)
		}
		if _, hasError := fields["error"]; hasError {
			return invalid(`a message cannot have both "method" and "error"`)
		}
		return nil
	}

	// Without a method, the message must be a response.
	_, hasResult := fields["result"]
	rawError, hasError := fields["error"]
	if hasError && isNull(rawError) {
		hasError = false
	}
	if hasResult == hasError {
		return invalid(`the message has no "method" and is not a response with exactly one of "result" or "error"`)
	}
	if !hasID {
		return invalid(`a response must have an "id"`)
	}
	return nil
}

// checkID reports whether raw is an id that jsonrpc2 can carry back unchanged:
// a string, null, or an integer from 0 to 2^63-1, which jsonrpc2 reads as an int64.
func checkID(raw json.RawMessage) (json.RawMessage, bool) {
	if raw == nil || isNull(raw) {
		return raw, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return raw, true
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil && n >= 0 {
		return raw, true
	}
	return nil, false
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
