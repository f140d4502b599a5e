package provider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// errorReport is an error object as Poe sends it, in an error body or inside a stream.
// Poe documents two shapes and this type covers both:
//
//	{"error": {"message": "...", "type": "...", "code": "model_not_found"}}
//	{"error": {"code": 404, "type": "...", "message": "...", "metadata": {...}}}
type errorReport struct {
	Message string
	Type    string
	Code    string // a string code as is, a numeric code in decimal
	Number  int    // the numeric code, else a numeric "status" member, else 0
}

// parseErrorBody reads an error report from a JSON object. It reads the "error" member
// when there is one, and the object's own members otherwise, which covers an SSE
// "event: error" frame whose data is the error object itself. isJSON is false when body
// is not a JSON object, such as a proxy's HTML page.
func parseErrorBody(body []byte) (report errorReport, isJSON bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return errorReport{}, false
	}

	raw, ok := top["error"]
	if !ok || isJSONNull(raw) {
		return reportFromMembers(top), true
	}

	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err == nil {
		return reportFromMembers(members), true
	}
	// Some servers send {"error": "text"}.
	return errorReport{Message: jsonText(raw)}, true
}

func reportFromMembers(members map[string]json.RawMessage) errorReport {
	report := errorReport{
		Message: jsonText(members["message"]),
		Type:    jsonText(members["type"]),
		Code:    jsonText(members["code"]),
	}
	if report.Message == "" {
		report.Message = jsonText(members["detail"])
	}

	if n, err := strconv.Atoi(report.Code); err == nil {
		report.Number = n
	} else if n, err := strconv.Atoi(jsonText(members["status"])); err == nil {
		report.Number = n
	}
	return report
}

// jsonText returns a JSON string's value or a JSON number's text, and "" for anything
// else, including a missing member.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		return text
	}
	var number json.Number
	if err := json.Unmarshal(raw, &number); err == nil {
		return number.String()
	}
	return ""
}

func isJSONNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// statusError builds the Error for a response whose status is not 200 from its status,
// its Retry-After header and its body. A body that is not JSON keeps Message empty.
func statusError(op string, resp *http.Response, body []byte, apiKey string, now time.Time) *Error {
	e := &Error{
		Reason: reasonForStatus(resp.StatusCode),
		Status: resp.StatusCode,
		op:     op,
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}

	report, isJSON := parseErrorBody(body)
	if !isJSON {
		if len(bytes.TrimSpace(body)) > 0 {
			e.Err = errNonJSONBody
		}
		return e
	}
	e.Type = cleanMessage(report.Type, apiKey)
	e.Code = cleanMessage(report.Code, apiKey)
	e.Message = cleanMessage(report.Message, apiKey)
	return e
}

// reportedError builds the Error for an error that Poe reported inside a 200 response.
func reportedError(op string, report errorReport, apiKey string) *Error {
	return &Error{
		Reason:  reasonForReport(report),
		Status:  http.StatusOK,
		Type:    cleanMessage(report.Type, apiKey),
		Code:    cleanMessage(report.Code, apiKey),
		Message: cleanMessage(report.Message, apiKey),
		op:      op,
	}
}
