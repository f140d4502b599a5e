package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxQueryBodyBytes bounds the JSON body of a Models or Balance call, so that a runaway
// response cannot exhaust memory.
const maxQueryBodyBytes = 16 << 20

// getJSON sends a GET request bounded by queryTimeout and returns the body of a 200
// response once it is known to be a JSON object without an "error" member.
func (c *Client) getJSON(ctx context.Context, op string, u *url.URL, apiKey string) ([]byte, error) {
	x, err := c.send(ctx, request{
		op:      op,
		method:  http.MethodGet,
		url:     u,
		apiKey:  apiKey,
		accept:  "application/json",
		timeout: queryTimeout,
	})
	if err != nil {
		return nil, err
	}
	defer x.close()

	if x.resp.StatusCode != http.StatusOK {
		return nil, x.readErrorBody()
	}

	body, err := io.ReadAll(io.LimitReader(x.resp.Body, maxQueryBodyBytes+1))
	if err != nil {
		return nil, x.failure(err)
	}
	if len(body) > maxQueryBodyBytes {
		return nil, x.malformed(fmt.Errorf("the body is larger than %d MiB", maxQueryBodyBytes>>20))
	}

	var probe struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, x.malformed(jsonBodyError(x.resp, err))
	}
	if len(probe.Error) > 0 && !isJSONNull(probe.Error) {
		report, _ := parseErrorBody(body)
		return nil, reportedError(op, report, apiKey)
	}
	return body, nil
}

func (x *exchange) malformed(cause error) *Error {
	return &Error{Reason: ReasonMalformed, Status: x.resp.StatusCode, op: x.op, Err: cause}
}

// jsonBodyError explains why a body could not be decoded as JSON, naming the content
// type when it was not JSON, such as a captive portal's HTML page.
func jsonBodyError(resp *http.Response, err error) error {
	contentType := resp.Header.Get("Content-Type")
	if !isJSONMediaType(contentType) {
		return fmt.Errorf("expected JSON but the response has Content-Type %q", contentType)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// isJSONMediaType reports whether a Content-Type value is application/json or a
// +json type.
func isJSONMediaType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// flexInt decodes an integer that Poe may send as a JSON number, with or without a
// fraction, or as a numeric string. JSON null decodes as 0.
type flexInt int64

func (n *flexInt) UnmarshalJSON(data []byte) error {
	text := string(bytes.TrimSpace(data))
	if text == "null" {
		*n = 0
		return nil
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(data, &text); err != nil {
			return err
		}
	}

	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		*n = flexInt(i)
		return nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) >= math.MaxInt64 {
		return fmt.Errorf("invalid integer %s", data)
	}
	*n = flexInt(f)
	return nil
}
