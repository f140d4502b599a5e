package fakepoe

import (
	"fmt"
	"slices"
	"strings"
)

// Values of Fault.Authorize. Each one applies only to a request that passes
// validation, so an invalid request still gets its own error.
const (
	// AuthorizeAccessDenied redirects with error=access_denied and an
	// error_description, as when the user clicks Deny.
	AuthorizeAccessDenied = "access_denied"
	// AuthorizeWrongState issues a code but sends back a state that differs from the
	// one in the request, or "unexpected-state" when the request had none.
	AuthorizeWrongState = "wrong_state"
	// AuthorizeNoCode redirects with the state but without a code.
	AuthorizeNoCode = "no_code"
	// AuthorizeIssuerMismatch issues a code and adds an iss parameter (RFC 9207) that
	// is not the server's origin.
	AuthorizeIssuerMismatch = "iss_mismatch"
	// AuthorizeIssuer issues a code and adds iss=URL(), the issuer a client expects.
	AuthorizeIssuer = "iss"
)

// Values of Fault.Token. The error values make /token return that error for every
// form-encoded request, without checking the request or using up its code. The other
// values change a successful response.
const (
	// TokenInvalidGrant responds 400 {"error":"invalid_grant","error_description":…}.
	TokenInvalidGrant = "invalid_grant"
	// TokenServerError responds 500 {"error":"server_error","error_description":…}.
	TokenServerError = "server_error"
	// TokenHTML responds 502 with an HTML page, as a proxy in front of Poe might.
	TokenHTML = "html"
	// TokenExpiresNull sends "api_key_expires_in":null whatever Options.KeyExpiresIn is.
	TokenExpiresNull = "expires_null"
	// TokenExpiresAbsent leaves api_key_expires_in out of the response.
	TokenExpiresAbsent = "expires_absent"
	// TokenEmptyKey sends "api_key":"" and registers no key.
	TokenEmptyKey = "empty_key"
)

// Values of Fault.ErrorShape: the two error bodies Poe documents, and an HTML page.
const (
	// ShapeA is {"error":{"message","type","code"}} with a string code such as
	// "invalid_api_key".
	ShapeA = "A"
	// ShapeB is {"error":{"code","type","message","metadata"}} with the HTTP status as
	// a number in code.
	ShapeB = "B"
	// ShapeHTML sends an HTML page with Content-Type text/html instead of JSON, as a
	// proxy or CDN in front of Poe might. A mid-stream error still uses Shape A.
	ShapeHTML = "html"
)

// Stream quirks for Fault.Stream. A stream is "interrupted" after half of its deltas,
// rounded down, but after at least one.
const (
	// StreamNoDone sends the finish chunk (and the usage chunk) and then ends the body
	// cleanly without "data: [DONE]".
	StreamNoDone = "no_done"
	// StreamCut hijacks the connection and closes it at the interruption point, before
	// any finish_reason, so the client sees a chunked body that never ends properly.
	StreamCut = "cut"
	// StreamMidstreamErrorData sends `data: {"error":{…}}` at the interruption point,
	// in the shape Fault.ErrorShape selects (A by default), and then ends the body.
	StreamMidstreamErrorData = "midstream_error_data"
	// StreamMidstreamErrorEvent sends an "event: error" frame with the same error
	// payload at the interruption point and then ends the body.
	StreamMidstreamErrorEvent = "midstream_error_event"
	// StreamStall sends the first delta chunk and then nothing until the client goes
	// away or the server closes.
	StreamStall = "stall"
	// StreamKeepAlive sends a ": keep-alive" comment before the first chunk and before
	// each later chunk.
	StreamKeepAlive = "keepalive"
	// StreamCRLF ends every line with CRLF instead of LF.
	StreamCRLF = "crlf"
	// StreamNoSpace writes "data:" and "event:" without the space after the colon.
	StreamNoSpace = "nospace"
	// StreamBytePerWrite writes and flushes the stream one byte at a time, so every
	// byte arrives in its own HTTP chunk.
	StreamBytePerWrite = "byte_per_write"
	// StreamHugeEvent adds one delta of HugeEventSize bytes of "x" after the reply's
	// deltas, so the streamed text is the reply followed by that run of "x".
	StreamHugeEvent = "huge_event"
	// StreamNoUsage leaves out the usage chunk even when the request sets
	// stream_options.include_usage.
	StreamNoUsage = "no_usage"
	// StreamNoHeaders reads the request and then sends nothing, not even the status
	// line, until the client goes away or the server closes.
	StreamNoHeaders = "no_headers"
)

// HugeEventSize is the default length in bytes of the extra delta that StreamHugeEvent
// sends. Fault.HugeEventSize sets another one.
const HugeEventSize = 200 << 10

// maxHugeEventSize bounds Fault.HugeEventSize, so that a typing mistake cannot make the
// server build a body that exhausts memory.
const maxHugeEventSize = 64 << 20

var streamQuirks = []string{
	StreamNoDone, StreamCut, StreamMidstreamErrorData, StreamMidstreamErrorEvent,
	StreamStall, StreamKeepAlive, StreamCRLF, StreamNoSpace, StreamBytePerWrite,
	StreamHugeEvent, StreamNoUsage, StreamNoHeaders,
}

// Fault selects failures and quirks for the requests that follow SetFault.
// The zero value means none: the server behaves as Poe does when all goes well.
type Fault struct {
	// Authorize is one of the Authorize* values, or "" to approve.
	Authorize string `json:"authorize,omitempty"`

	// Token is one of the Token* values, or "" for a normal exchange.
	Token string `json:"token,omitempty"`

	// ChatStatus, ModelsStatus and BalanceStatus, when not 0, make the endpoint respond
	// with that HTTP error status (400 to 599) before it checks the request or the key.
	ChatStatus    int `json:"chatStatus,omitempty"`
	ModelsStatus  int `json:"modelsStatus,omitempty"`
	BalanceStatus int `json:"balanceStatus,omitempty"`

	// ChatStatusCount, when above 0, is how many chat requests get ChatStatus. Later
	// chat requests are served normally, so a test can check that a client's retry
	// succeeds. 0 applies ChatStatus to every chat request until the next SetFault.
	ChatStatusCount int `json:"chatStatusCount,omitempty"`

	// ErrorShape is ShapeA, ShapeB or ShapeHTML for every API error body, including
	// 401s, and ShapeA or ShapeB for mid-stream errors. Empty keeps each endpoint's
	// default: Shape A for chat and models, Shape B for the balance endpoint.
	ErrorShape string `json:"errorShape,omitempty"`

	// RetryAfter, when not empty, is sent as the Retry-After header of the
	// ChatStatus, ModelsStatus and BalanceStatus errors.
	RetryAfter string `json:"retryAfter,omitempty"`

	// Stream is one Stream* quirk or a comma-separated list of them, such as
	// "crlf,keepalive". It applies only to chat requests with "stream":true.
	Stream string `json:"stream,omitempty"`

	// HugeEventSize, when above 0, is the length in bytes of the StreamHugeEvent delta,
	// at most 64 MiB. 0 means the HugeEventSize constant.
	HugeEventSize int `json:"hugeEventSize,omitempty"`

	// KeepAliveGapMillis, when above 0, makes a stream pause this many milliseconds
	// before its last delta, with a ": keep-alive" comment every tenth of the pause, so
	// a client can check that comments alone keep a slow stream alive. Streams only.
	KeepAliveGapMillis int `json:"keepAliveGapMillis,omitempty"`
}

// Validate returns an error that names the first field holding an unknown value.
func (f Fault) Validate() error {
	switch f.Authorize {
	case "", AuthorizeAccessDenied, AuthorizeWrongState, AuthorizeNoCode,
		AuthorizeIssuerMismatch, AuthorizeIssuer:
	default:
		return fmt.Errorf("invalid Authorize fault %q", f.Authorize)
	}

	switch f.Token {
	case "", TokenInvalidGrant, TokenServerError, TokenHTML, TokenExpiresNull,
		TokenExpiresAbsent, TokenEmptyKey:
	default:
		return fmt.Errorf("invalid Token fault %q", f.Token)
	}

	statuses := []struct {
		name  string
		value int
	}{
		{"ChatStatus", f.ChatStatus},
		{"ModelsStatus", f.ModelsStatus},
		{"BalanceStatus", f.BalanceStatus},
	}
	for _, status := range statuses {
		if status.value != 0 && (status.value < 400 || status.value > 599) {
			return fmt.Errorf("invalid %s %d: want 0 or an HTTP error status from 400 to 599", status.name, status.value)
		}
	}

	if f.ChatStatusCount < 0 {
		return fmt.Errorf("invalid ChatStatusCount %d: want 0 for every request or a positive count", f.ChatStatusCount)
	}

	switch f.ErrorShape {
	case "", ShapeA, ShapeB, ShapeHTML:
	default:
		return fmt.Errorf("invalid ErrorShape %q: want %q, %q or %q", f.ErrorShape, ShapeA, ShapeB, ShapeHTML)
	}

	if strings.ContainsAny(f.RetryAfter, "\r\n") {
		return fmt.Errorf("invalid RetryAfter %q: a header value cannot contain a line break", f.RetryAfter)
	}

	for _, quirk := range splitQuirks(f.Stream) {
		if !isStreamQuirk(quirk) {
			return fmt.Errorf("invalid Stream quirk %q in %q", quirk, f.Stream)
		}
	}

	if f.HugeEventSize < 0 || f.HugeEventSize > maxHugeEventSize {
		return fmt.Errorf("invalid HugeEventSize %d: want 0 for the default or at most %d bytes", f.HugeEventSize, maxHugeEventSize)
	}
	if f.KeepAliveGapMillis < 0 {
		return fmt.Errorf("invalid KeepAliveGapMillis %d: want 0 for none or a positive number", f.KeepAliveGapMillis)
	}
	return nil
}

// SetFault applies f to the requests that start after it returns, until the next call.
// Fault{} switches every fault off. SetFault panics if f.Validate fails, because an
// unknown value is a mistake in the calling test.
func (s *Server) SetFault(f Fault) {
	if err := f.Validate(); err != nil {
		panic("fakepoe: SetFault: " + err.Error())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

func (s *Server) currentFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// takeChatFault returns the fault for a new chat request. When ChatStatusCount is
// set, it counts the request against it and switches ChatStatus off once the count is
// used up.
func (s *Server) takeChatFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if s.fault.ChatStatus != 0 && s.fault.ChatStatusCount > 0 {
		s.fault.ChatStatusCount--
		if s.fault.ChatStatusCount == 0 {
			s.fault.ChatStatus = 0
		}
	}
	return f
}

// shapeOr returns the fault's error shape, or fallback when the fault names none.
func (f Fault) shapeOr(fallback string) string {
	if f.ErrorShape == "" {
		return fallback
	}
	return f.ErrorShape
}

// quirks returns the set of stream quirks that f switches on.
func (f Fault) quirks() map[string]bool {
	set := make(map[string]bool)
	for _, quirk := range splitQuirks(f.Stream) {
		set[quirk] = true
	}
	return set
}

func splitQuirks(list string) []string {
	var out []string
	for quirk := range strings.SplitSeq(list, ",") {
		if quirk = strings.TrimSpace(quirk); quirk != "" {
			out = append(out, quirk)
		}
	}
	return out
}

func isStreamQuirk(name string) bool {
	return slices.Contains(streamQuirks, name)
}
