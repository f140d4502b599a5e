package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reasons carried by CredentialError.Reason and Problem.Reason.
const (
	ReasonNotSignedIn        = "not_signed_in"
	ReasonExpired            = "expired"
	ReasonCorruptCredentials = "corrupt_credentials"
)

// Reasons carried by SignInError.Reason.
const (
	ReasonAccessDenied   = "access_denied"
	ReasonStateMismatch  = "state_mismatch"
	ReasonIssuerMismatch = "issuer_mismatch"
	ReasonMissingCode    = "missing_code"
	ReasonTimeout        = "timeout"
	ReasonExchangeFailed = "exchange_failed"
	ReasonInvalidAPIKey  = "invalid_api_key"
	ReasonUnknownAttempt = "unknown_attempt"
)

// ErrKeyRejected is the error that a KeyChecker wraps when Poe rejected the key
// (HTTP 401 or 403 from the balance endpoint).
var ErrKeyRejected = errors.New("Poe rejected the API key")

// ErrClosed is returned by a Service after Close. Attempts that Close ends fail with a
// SignInError whose Err is ErrClosed.
var ErrClosed = errors.New("the sign-in service is shut down")

// errSuperseded ends an attempt that a newer StartOAuth or StartAPIKey replaced.
var errSuperseded = errors.New("a newer sign-in replaced this attempt")

// CredentialError is the reason why no usable API key is available.
type CredentialError struct {
	Reason    string    // ReasonNotSignedIn, ReasonExpired or ReasonCorruptCredentials
	ExpiresAt time.Time // expiry of the key, set for ReasonExpired
	Path      string    // credential file, set for ReasonCorruptCredentials
	Err       error     // cause, usually a *CorruptError
}

func (e *CredentialError) Error() string {
	switch e.Reason {
	case ReasonExpired:
		return fmt.Sprintf("the Poe API key expired on %s; sign in to Poe again",
			e.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	case ReasonCorruptCredentials:
		if e.Err != nil {
			return e.Err.Error()
		}
		return fmt.Sprintf("credential file %q is unusable; sign in to Poe again to replace it", e.Path)
	default:
		return "not signed in to Poe; sign in first"
	}
}

func (e *CredentialError) Unwrap() error { return e.Err }

// SignInError is a failed sign-in. Reason is one of the Reason constants for sign-in.
//
// Every OAuth error that Poe sends to the redirect URI has reason ReasonAccessDenied.
// OAuthError then contains Poe's error code: "access_denied" when the user clicked Deny,
// or another code such as "invalid_scope".
type SignInError struct {
	Reason string

	// OAuthError and OAuthDescription are the RFC 6749 "error" and "error_description"
	// values when Poe sent them, cleaned of control characters and shortened. A
	// description that contains the state, code or verifier is dropped.
	OAuthError, OAuthDescription string

	// Status is the HTTP status of the token endpoint's reply, when there was one.
	Status int

	Err error
}

func (e *SignInError) Error() string {
	var b strings.Builder
	b.WriteString(e.summary())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	b.WriteString("; ")
	b.WriteString(e.nextStep())
	return b.String()
}

func (e *SignInError) Unwrap() error { return e.Err }

// summary states what failed, without the cause in Err.
func (e *SignInError) summary() string {
	switch e.Reason {
	case ReasonAccessDenied:
		if e.OAuthError == "" || e.OAuthError == "access_denied" {
			return "sign-in to Poe was denied in the browser" + e.oauthDetail()
		}
		return "Poe rejected the sign-in request" + e.oauthDetail()
	case ReasonStateMismatch:
		return "the sign-in response does not belong to this attempt (wrong or missing state)"
	case ReasonIssuerMismatch:
		return "the sign-in response came from an unexpected issuer"
	case ReasonMissingCode:
		return "the sign-in response has no authorization code"
	case ReasonTimeout:
		return "the sign-in timed out"
	case ReasonExchangeFailed:
		return "exchanging the authorization code with Poe failed" + e.oauthDetail()
	case ReasonInvalidAPIKey:
		return "the Poe API key is invalid"
	case ReasonUnknownAttempt:
		return "the sign-in attempt is not pending"
	default:
		return fmt.Sprintf("sign-in failed (reason %q)", e.Reason)
	}
}

// oauthDetail formats the OAuth error, its description and the HTTP status.
func (e *SignInError) oauthDetail() string {
	var parts []string
	if e.OAuthError != "" {
		parts = append(parts, fmt.Sprintf("error %q", e.OAuthError))
	}
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.OAuthDescription != "" {
		parts = append(parts, fmt.Sprintf("%q", e.OAuthDescription))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// nextStep returns the advice for the user that ends the message.
func (e *SignInError) nextStep() string {
	switch e.Reason {
	case ReasonStateMismatch:
		return "paste the address from the latest sign-in, or start the sign-in again"
	case ReasonExchangeFailed:
		if e.OAuthError == "server_error" {
			return "the error is temporary, so sign in again"
		}
		return "sign in again"
	case ReasonInvalidAPIKey:
		return "copy a key from " + APIKeyPageURL + " and try again"
	case ReasonUnknownAttempt:
		if errors.Is(e.Err, ErrClosed) {
			return "restart the editor's Poe integration and sign in again"
		}
		if errors.Is(e.Err, errSuperseded) {
			return "finish the newer sign-in instead"
		}
		return "start the sign-in again"
	default:
		return "start the sign-in again"
	}
}

// ParamError is a Complete parameter that does not fit the attempt. Field is the JSON name
// of the parameter: "attemptId", "apiKey", "callbackUrl" or "code".
type ParamError struct {
	Field   string
	Message string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
}
