package fakepoe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is one API error in terms that fit both of Poe's error shapes.
type apiError struct {
	status  int
	message string
	typeA   string // error.type in Shape A
	codeA   string // error.code in Shape A, a string
	typeB   string // error.type in Shape B, whose code is the status
}

// shapeATypes lists Shape A's type and code per status, from Poe's error reference.
// Statuses that the reference does not list (403, 404, 408, 413, 502, 529) use
// values chosen for this fake.
var shapeATypes = map[int][2]string{
	400: {"invalid_request_error", "invalid_parameter"},
	401: {"invalid_request_error", "invalid_api_key"},
	402: {"insufficient_quota", "insufficient_points"},
	403: {"permission_error", "forbidden"},
	404: {"invalid_request_error", "not_found"},
	408: {"api_error", "timeout"},
	413: {"invalid_request_error", "request_too_large"},
	429: {"rate_limit_error", "rate_limit_exceeded"},
	500: {"api_error", "internal_error"},
	502: {"api_error", "upstream_error"},
	503: {"api_error", "internal_error"},
	529: {"api_error", "overloaded"},
}

// shapeBTypes lists Shape B's type per status, from the table in Poe's
// OpenAI-compatible API guide.
var shapeBTypes = map[int]string{
	400: "invalid_request_error",
	401: "authentication_error",
	402: "insufficient_credits",
	403: "moderation_error",
	404: "not_found_error",
	408: "timeout_error",
	413: "request_too_large",
	429: "rate_limit_error",
	500: "provider_error",
	502: "upstream_error",
	529: "overloaded_error",
}

var statusMessages = map[int]string{
	400: "The request is invalid.",
	401: "Invalid API key",
	402: "The account has no points left for this request.",
	403: "This API key is not allowed to make the request.",
	404: "The requested resource was not found.",
	408: "The model did not start in time.",
	413: "The request is larger than the model's context window.",
	429: "Rate limit exceeded. Retry after the time in the Retry-After header.",
	500: "The model provider returned an error.",
	502: "The model backend is unavailable.",
	503: "The service is temporarily unavailable.",
	529: "The service is overloaded.",
}

// errorForStatus returns the error the fake sends for status when nothing more
// specific applies.
func errorForStatus(status int) apiError {
	e := apiError{status: status, message: statusMessages[status]}
	if e.message == "" {
		e.message = http.StatusText(status)
	}

	if types, ok := shapeATypes[status]; ok {
		e.typeA, e.codeA = types[0], types[1]
	} else if status < 500 {
		e.typeA, e.codeA = "invalid_request_error", "invalid_request"
	} else {
		e.typeA, e.codeA = "api_error", "internal_error"
	}

	if t, ok := shapeBTypes[status]; ok {
		e.typeB = t
	} else if status < 500 {
		e.typeB = "invalid_request_error"
	} else {
		e.typeB = "provider_error"
	}
	return e
}

// invalidRequest returns a 400 error with a Shape A code such as "missing_parameter".
func invalidRequest(code, message string) apiError {
	e := errorForStatus(http.StatusBadRequest)
	e.codeA = code
	e.message = message
	return e
}

type errorBodyA struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

type errorBodyB struct {
	Error struct {
		Code     int            `json:"code"`
		Type     string         `json:"type"`
		Message  string         `json:"message"`
		Metadata map[string]any `json:"metadata"`
	} `json:"error"`
}

// body returns the JSON error object in the given shape, with its fields in the
// order of Poe's examples.
func (e apiError) body(shape string) any {
	if shape == ShapeB {
		var b errorBodyB
		b.Error.Code = e.status
		b.Error.Type = e.typeB
		b.Error.Message = e.message
		b.Error.Metadata = map[string]any{}
		return b
	}

	var a errorBodyA
	a.Error.Message = e.message
	a.Error.Type = e.typeA
	a.Error.Code = e.codeA
	return a
}

// writeAPIError sends e in the given shape, with a Retry-After header when retryAfter
// is not empty.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, shape string, e apiError, retryAfter string) {
	s.logger.Debug("API error sent", "path", r.URL.Path, "status", e.status, "code", e.codeA, "message", e.message)
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	if shape == ShapeHTML {
		writeHTMLError(w, e.status)
		return
	}
	writeJSON(w, e.status, e.body(shape))
}

// writeHTMLError sends the kind of HTML page that a proxy or CDN shows for status.
func writeHTMLError(w http.ResponseWriter, status int) {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body><h1>%s</h1><p>The server could not complete the request.</p></body></html>\n", title, title)
}

// writeJSON sends v as JSON with the given status. HTML characters stay unescaped,
// as in the output of most JSON APIs.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(marshalJSON(v))
}

// marshalJSON encodes v without HTML escaping and without a trailing newline.
// It panics if v cannot be encoded, since every value here is built by this package.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("fakepoe: encode JSON: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
