package provider

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason classifies a failed Poe API call. Callers decide what to do from the Reason and
// show the user [Error.Error].
type Reason string

// Reasons for a failed Poe API call. The values are part of the editor-facing protocol.
const (
	// ReasonUnauthorized means Poe responded with 401 because the API key is invalid or
	// expired.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonBadRequest means Poe rejected the request: 400, 404, 413 or another 4xx
	// that no other Reason covers.
	ReasonBadRequest Reason = "bad_request"
	// ReasonInsufficientPoints means Poe responded with 402 because the account has too
	// few points.
	ReasonInsufficientPoints Reason = "insufficient_points"
	// ReasonForbidden means Poe responded with 403.
	ReasonForbidden Reason = "forbidden"
	// ReasonRateLimited means Poe responded with 429. Error.RetryAfter contains the wait
	// when Poe sent Retry-After.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonServerError means Poe responded with 408 or a 5xx status (500, 502, 503, 529
	// and others), or reported an error in the middle of a stream.
	ReasonServerError Reason = "server_error"
	// ReasonUnreachable means no HTTP response arrived: the connection or the TLS
	// handshake failed, or the response headers did not arrive in time.
	ReasonUnreachable Reason = "unreachable"
	// ReasonStalled means a chat stream sent no byte for Client.IdleTimeout.
	ReasonStalled Reason = "stalled"
	// ReasonMalformed means Poe's response could not be read as Poe's format, or a chat
	// stream ended before Poe finished the answer.
	ReasonMalformed Reason = "malformed_response"
)

// maxMessageBytes bounds the length of Poe's error message kept in an Error, so that an
// unexpected body cannot flood logs and editor pop-ups.
const maxMessageBytes = 500

// errNonJSONBody is the cause of an Error built from an error body that is not JSON,
// such as a proxy's HTML page.
var errNonJSONBody = errors.New("Poe returned a non-JSON error page")

// Error is every failure of a Poe API call. Callers can read it with errors.As.
type Error struct {
	Reason     Reason        // kind of failure
	Status     int           // HTTP status, 0 when there was no response, 200 for an error inside a stream
	Type       string        // Poe's error type, when Poe sent one
	Code       string        // Poe's error code as text: a string code as is, a numeric one in decimal
	Message    string        // Poe's error message, when Poe sent one, with the API key replaced should Poe echo it
	RetryAfter time.Duration // wait from Retry-After on 429 and 5xx responses, 0 when absent
	Err        error         // cause, may be nil

	op   string        // the call that failed, such as "chat request"
	host string        // host of the request URL, named when Poe is unreachable
	idle time.Duration // idle timeout that expired, named when a stream stalls
}

// Error returns a plain sentence naming the call that failed, Poe's message when there
// is one, and what the user can do next.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.summary())

	detail := e.Message
	if detail == "" && e.Err != nil {
		detail = e.Err.Error()
	}
	if detail != "" {
		b.WriteString(": ")
		b.WriteString(detail)
	}

	if step := e.nextStep(); step != "" {
		// Poe's own message may already end a sentence.
		if strings.HasSuffix(detail, ".") || strings.HasSuffix(detail, "!") {
			b.WriteString(" ")
			step = strings.ToUpper(step[:1]) + step[1:]
		} else {
			b.WriteString("; ")
		}
		b.WriteString(step)
	}
	return b.String()
}

// Unwrap returns the cause, which may be nil.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) summary() string {
	op := e.op
	if op == "" {
		op = "request"
	}
	note := e.statusNote()

	switch e.Reason {
	case ReasonUnauthorized:
		return "Poe rejected the API key" + note
	case ReasonBadRequest:
		return "Poe rejected the " + op + note
	case ReasonInsufficientPoints:
		return "the Poe account has too few points for the " + op + note
	case ReasonForbidden:
		return "Poe refused the " + op + note
	case ReasonRateLimited:
		return "Poe rate-limited the " + op + note
	case ReasonServerError:
		return "Poe failed to complete the " + op + note
	case ReasonUnreachable:
		if e.host != "" {
			return "could not reach Poe at " + e.host + " for the " + op
		}
		return "could not reach Poe for the " + op
	case ReasonStalled:
		if e.idle > 0 {
			return fmt.Sprintf("Poe sent no data for %s, so the %s was closed", e.idle, op)
		}
		return "Poe stopped sending data, so the " + op + " was closed"
	case ReasonMalformed:
		return "Poe sent an invalid response to the " + op + note
	default:
		return "the Poe " + op + " failed" + note
	}
}

// statusNote returns " (HTTP 404, model_not_found)" or a shorter form of it, or "".
// Status 200 is left out, because a message about a failed call that names it would
// read as a contradiction.
func (e *Error) statusNote() string {
	var parts []string
	if e.Status > 0 && e.Status != http.StatusOK {
		parts = append(parts, "HTTP "+strconv.Itoa(e.Status))
	}
	if e.Code != "" && e.Code != strconv.Itoa(e.Status) {
		parts = append(parts, e.Code)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (e *Error) nextStep() string {
	switch e.Reason {
	case ReasonUnauthorized:
		return "sign in to Poe again"
	case ReasonBadRequest:
		switch {
		case e.op != "" && e.op != "chat request":
			// Only chat requests carry a model id or parameters, so a 4xx on
			// another endpoint means the sidecar is talking to the wrong place.
			return "check that the API base URL (POE_BASE_URL or initializationOptions.baseUrl) points at Poe's API, such as https://api.poe.com/v1"
		case e.Status == http.StatusRequestEntityTooLarge || e.Code == "request_too_large" || e.Type == "request_too_large":
			return "shorten the conversation or choose a model with a larger context window"
		case e.Status == http.StatusNotFound || e.Code == "model_not_found" || e.Type == "not_found_error":
			return "check the model id"
		default:
			return "check the model id and the request parameters"
		}
	case ReasonInsufficientPoints:
		return "add points at https://poe.com/api_key"
	case ReasonForbidden:
		return "check that the API key may use this model and that the request follows Poe's content rules"
	case ReasonRateLimited:
		if e.RetryAfter > 0 {
			return "wait " + formatSeconds(e.RetryAfter) + " and try again"
		}
		return "wait a moment and try again"
	case ReasonServerError:
		if e.RetryAfter > 0 {
			return "wait " + formatSeconds(e.RetryAfter) + " and try again"
		}
		return "try again later"
	case ReasonUnreachable:
		var certErr *tls.CertificateVerificationError
		if errors.As(e.Err, &certErr) {
			return "check the system clock and trusted certificates (SSL_CERT_FILE), or a proxy that intercepts HTTPS"
		}
		return "check the network connection and the HTTPS_PROXY setting"
	case ReasonStalled, ReasonMalformed:
		return "try again"
	default:
		return ""
	}
}

// formatSeconds rounds d up to whole seconds: "1 second", "30 seconds".
func formatSeconds(d time.Duration) string {
	seconds := int64((d + time.Second - 1) / time.Second)
	if seconds == 1 {
		return "1 second"
	}
	return strconv.FormatInt(seconds, 10) + " seconds"
}

// reasonForStatus maps an HTTP status other than 200 to a Reason.
func reasonForStatus(status int) Reason {
	switch {
	case status == http.StatusUnauthorized:
		return ReasonUnauthorized
	case status == http.StatusPaymentRequired:
		return ReasonInsufficientPoints
	case status == http.StatusForbidden:
		return ReasonForbidden
	case status == http.StatusRequestTimeout:
		return ReasonServerError
	case status == http.StatusTooManyRequests:
		return ReasonRateLimited
	case status >= 500 && status <= 599:
		return ReasonServerError
	case status >= 400 && status <= 499:
		return ReasonBadRequest
	default:
		// 1xx, 3xx that the client did not follow, and 2xx other than 200.
		return ReasonMalformed
	}
}

// reasonByName maps Poe's string error codes and types to a Reason, for errors that carry
// no numeric status. Codes come from Poe's first error shape, types from both shapes.
// "invalid_request_error" is also the type of Poe's 401 invalid_api_key error, so the code
// is looked up before the type.
var reasonByName = map[string]Reason{
	"invalid_api_key":       ReasonUnauthorized,
	"authentication_error":  ReasonUnauthorized,
	"insufficient_points":   ReasonInsufficientPoints,
	"insufficient_quota":    ReasonInsufficientPoints,
	"insufficient_credits":  ReasonInsufficientPoints,
	"moderation_error":      ReasonForbidden,
	"rate_limit_exceeded":   ReasonRateLimited,
	"rate_limit_error":      ReasonRateLimited,
	"model_not_found":       ReasonBadRequest,
	"invalid_parameter":     ReasonBadRequest,
	"missing_parameter":     ReasonBadRequest,
	"invalid_request_error": ReasonBadRequest,
	"not_found_error":       ReasonBadRequest,
	"request_too_large":     ReasonBadRequest,
}

// reasonForReport picks the Reason of an error that Poe reported inside a 200 response:
// its numeric code or status as if it were the HTTP status, else its string code or type,
// else ReasonServerError.
func reasonForReport(report errorReport) Reason {
	if report.Number >= 400 && report.Number <= 599 {
		return reasonForStatus(report.Number)
	}
	if reason, ok := reasonByName[report.Code]; ok {
		return reason
	}
	if reason, ok := reasonByName[report.Type]; ok {
		return reason
	}
	return ReasonServerError
}

// maxRetryAfter caps a Retry-After wait. A longer one is no advice a user can
// follow, and the cap keeps rounding to seconds far from overflow.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value, either delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). It returns 0 for an absent, invalid or past value, and
// at most maxRetryAfter.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}

	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds <= 0 {
			return 0
		}
		return min(time.Duration(min(seconds, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}

	if when, err := http.ParseTime(value); err == nil {
		if wait := when.Sub(now); wait > 0 {
			return min(wait, maxRetryAfter)
		}
	}
	return 0
}

// cleanMessage prepares Poe's error message for an Error: it removes the API key should
// Poe echo it, folds white space and bounds the length.
func cleanMessage(message, apiKey string) string {
	if apiKey != "" {
		message = strings.ReplaceAll(message, apiKey, "[redacted]")
	}
	message = strings.Join(strings.Fields(message), " ")
	if len(message) <= maxMessageBytes {
		return message
	}

	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(message[cut]) {
		cut--
	}
	return message[:cut] + "…"
}
