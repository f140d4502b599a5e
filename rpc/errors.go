package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// Error codes of the protocol. The application codes sit outside the range
// that JSON-RPC reserves, so no LSP client mistakes them for its own.
const (
	CodeServerNotInitialized = -32002 // LSP ServerNotInitialized
	CodeRequestCancelled     = -32800 // LSP RequestCancelled

	CodeAuthRequired = 1001
	CodeSignInFailed = 1010
	CodePoeAPI       = 1020
)

// ErrorData is the data member of every application error.
type ErrorData struct {
	Reason     string `json:"reason"`
	Action     string `json:"action,omitempty"`     // "signIn" when signing in is the fix
	Status     int    `json:"status,omitempty"`     // HTTP status of Poe's answer
	Type       string `json:"type,omitempty"`       // Poe's error type
	PoeCode    string `json:"poeCode,omitempty"`    // Poe's error code, such as "model_not_found"
	Message    string `json:"message,omitempty"`    // Poe's own message
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds, from Retry-After
	ExpiresAt  string `json:"expiresAt,omitempty"`  // RFC 3339, for reason "expired"
	Path       string `json:"path,omitempty"`       // the credential file, for "corrupt_credentials"
}

// Error is an error a handler returns with its JSON-RPC code already chosen.
type Error struct {
	Code    int64
	Message string
	Data    *ErrorData
}

func (e *Error) Error() string { return e.Message }

// invalidParams returns a -32602 error that names the offending field.
func invalidParams(field, format string, args ...any) *Error {
	return &Error{
		Code:    jsonrpc2.CodeInvalidParams,
		Message: fmt.Sprintf("invalid params: %q %s", field, fmt.Sprintf(format, args...)),
	}
}

var errCancelled = &Error{Code: CodeRequestCancelled, Message: "request cancelled"}

// toWireError maps any error a handler returns to the JSON-RPC error sent to
// the editor. It is the one place where Go errors become protocol errors, so
// no plain error ever reaches an editor with code 0.
func toWireError(err error) *jsonrpc2.Error {
	e := classify(err)
	message := e.Message
	if e.Data != nil {
		// Application errors are shown to users as they are, so they read as
		// sentences; auth and provider word their errors Go-style.
		message = sentence(message)
	}
	wire := &jsonrpc2.Error{Code: e.Code, Message: message}
	if e.Data != nil {
		raw, _ := json.Marshal(e.Data)
		msg := json.RawMessage(raw)
		wire.Data = &msg
	}
	return wire
}

func classify(err error) *Error {
	var (
		rpcErr    *Error
		credErr   *auth.CredentialError
		signInErr *auth.SignInError
		paramErr  *auth.ParamError
		apiErr    *provider.Error
	)
	switch {
	case errors.As(err, &rpcErr):
		return rpcErr
	case errors.Is(err, context.Canceled):
		return errCancelled
	case errors.As(err, &credErr):
		return credentialError(credErr)
	case errors.As(err, &signInErr):
		return signInError(signInErr)
	case errors.As(err, &paramErr):
		return &Error{Code: jsonrpc2.CodeInvalidParams, Message: fmt.Sprintf("invalid params: %q: %s", paramErr.Field, paramErr.Message)}
	case errors.As(err, &apiErr):
		return apiError(apiErr)
	default:
		return &Error{Code: jsonrpc2.CodeInternalError, Message: "internal error: " + err.Error()}
	}
}

func credentialError(e *auth.CredentialError) *Error {
	out := &Error{
		Code:    CodeAuthRequired,
		Message: e.Error(),
		Data:    &ErrorData{Reason: e.Reason, Action: "signIn"},
	}
	switch e.Reason {
	case "expired":
		if !e.ExpiresAt.IsZero() {
			out.Data.ExpiresAt = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
	case "corrupt_credentials":
		out.Data.Path = e.Path
	}
	return out
}

func signInError(e *auth.SignInError) *Error {
	return &Error{
		Code:    CodeSignInFailed,
		Message: e.Error(),
		Data: &ErrorData{
			Reason:  e.Reason,
			Action:  "signIn",
			Status:  e.Status,
			Type:    e.OAuthError,
			Message: e.OAuthDescription,
		},
	}
}

func apiError(e *provider.Error) *Error {
	data := &ErrorData{
		Reason:  string(e.Reason),
		Status:  e.Status,
		Type:    e.Type,
		PoeCode: e.Code,
		Message: e.Message,
	}
	if e.RetryAfter > 0 {
		data.RetryAfter = int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	code := int64(CodePoeAPI)
	if e.Reason == provider.ReasonUnauthorized {
		// Poe answered 401: the stored key no longer works, so the fix is a new sign-in.
		code = CodeAuthRequired
		data.Reason = "rejected"
		data.Action = "signIn"
	}
	return &Error{Code: code, Message: e.Error(), Data: data}
}

// sentence capitalises the first letter of msg and ends it with a period.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}
