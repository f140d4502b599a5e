package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

func wireData(t *testing.T, e *jsonrpc2.Error) ErrorData {
	t.Helper()
	var d ErrorData
	if e.Data == nil {
		return d
	}
	if err := json.Unmarshal(*e.Data, &d); err != nil {
		t.Fatalf("data %s: %v", *e.Data, err)
	}
	return d
}

func TestWireErrorProvider(t *testing.T) {
	cases := []struct {
		reason     provider.Reason
		wantCode   int64
		wantReason string
		wantAction string
	}{
		{provider.ReasonUnauthorized, CodeAuthRequired, "rejected", "signIn"},
		{provider.ReasonBadRequest, CodePoeAPI, "bad_request", ""},
		{provider.ReasonInsufficientPoints, CodePoeAPI, "insufficient_points", ""},
		{provider.ReasonForbidden, CodePoeAPI, "forbidden", ""},
		{provider.ReasonRateLimited, CodePoeAPI, "rate_limited", ""},
		{provider.ReasonServerError, CodePoeAPI, "server_error", ""},
		{provider.ReasonUnreachable, CodePoeAPI, "unreachable", ""},
		{provider.ReasonStalled, CodePoeAPI, "stalled", ""},
		{provider.ReasonMalformed, CodePoeAPI, "malformed_response", ""},
	}
	for _, tc := range cases {
		t.Run(string(tc.reason), func(t *testing.T) {
			err := fmt.Errorf("chat: %w", &provider.Error{Reason: tc.reason, Status: 418, Type: "poe_type", Message: "poe says no"})
			wire := toWireError(err)
			if wire.Code != tc.wantCode {
				t.Errorf("code = %d, want %d", wire.Code, tc.wantCode)
			}
			d := wireData(t, wire)
			if d.Reason != tc.wantReason {
				t.Errorf("reason = %q, want %q", d.Reason, tc.wantReason)
			}
			if d.Action != tc.wantAction {
				t.Errorf("action = %q, want %q", d.Action, tc.wantAction)
			}
			if d.Status != 418 || d.Type != "poe_type" || d.Message != "poe says no" {
				t.Errorf("data = %+v, want Poe's status, type and message", d)
			}
		})
	}
}

func TestWireErrorRetryAfter(t *testing.T) {
	wire := toWireError(&provider.Error{Reason: provider.ReasonRateLimited, Status: 429, RetryAfter: 1500 * time.Millisecond})
	if got := wireData(t, wire).RetryAfter; got != 2 {
		t.Fatalf("retryAfter = %d, want 2 (rounded up to whole seconds)", got)
	}
}

func TestWireErrorAuth(t *testing.T) {
	expiry := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		err        error
		wantCode   int64
		wantReason string
	}{
		{"not signed in", &auth.CredentialError{Reason: "not_signed_in"}, CodeAuthRequired, "not_signed_in"},
		{"expired", &auth.CredentialError{Reason: "expired", ExpiresAt: expiry}, CodeAuthRequired, "expired"},
		{"corrupt", &auth.CredentialError{Reason: "corrupt_credentials", Path: "/x/auth.json"}, CodeAuthRequired, "corrupt_credentials"},
		{"denied", &auth.SignInError{Reason: "access_denied", OAuthError: "access_denied"}, CodeSignInFailed, "access_denied"},
		{"exchange", &auth.SignInError{Reason: "exchange_failed", Status: 400, OAuthError: "invalid_grant", OAuthDescription: "expired code"}, CodeSignInFailed, "exchange_failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wire := toWireError(tc.err)
			if wire.Code != tc.wantCode {
				t.Errorf("code = %d, want %d", wire.Code, tc.wantCode)
			}
			d := wireData(t, wire)
			if d.Reason != tc.wantReason {
				t.Errorf("reason = %q, want %q", d.Reason, tc.wantReason)
			}
			if d.Action != "signIn" {
				t.Errorf("action = %q, want signIn", d.Action)
			}
		})
	}

	d := wireData(t, toWireError(&auth.CredentialError{Reason: "expired", ExpiresAt: expiry}))
	if d.ExpiresAt != "2026-12-01T00:00:00Z" {
		t.Errorf("expired: expiresAt = %q", d.ExpiresAt)
	}
	d = wireData(t, toWireError(&auth.SignInError{Reason: "exchange_failed", Status: 400, OAuthError: "invalid_grant", OAuthDescription: "expired code"}))
	if d.Status != 400 || d.Type != "invalid_grant" || d.Message != "expired code" {
		t.Errorf("exchange_failed data = %+v, want the token endpoint's status, error and description", d)
	}
}

func TestWireErrorOthers(t *testing.T) {
	if got := toWireError(&auth.ParamError{Field: "apiKey", Message: "is required"}).Code; got != jsonrpc2.CodeInvalidParams {
		t.Errorf("ParamError code = %d, want -32602", got)
	}
	if got := toWireError(fmt.Errorf("chat: %w", context.Canceled)).Code; got != CodeRequestCancelled {
		t.Errorf("context.Canceled code = %d, want -32800", got)
	}
	plain := toWireError(errors.New("disk on fire"))
	if plain.Code != jsonrpc2.CodeInternalError {
		t.Errorf("plain error code = %d, want -32603, never 0", plain.Code)
	}
}

func TestWireErrorMessageIsSentence(t *testing.T) {
	wire := toWireError(&auth.CredentialError{Reason: "not_signed_in"})
	if wire.Message == "" || wire.Message[0] < 'A' || wire.Message[0] > 'Z' || wire.Message[len(wire.Message)-1] != '.' {
		t.Fatalf("message = %q, want a sentence: capital first letter, final period", wire.Message)
	}
}
