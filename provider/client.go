package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	defaultBaseURL       = "https://api.poe.com/v1"
	defaultIdleTimeout   = 120 * time.Second
	defaultHeaderTimeout = 60 * time.Second

	// queryTimeout bounds a whole Models or Balance call, body included.
	queryTimeout = 30 * time.Second

	// maxErrorBodyBytes bounds how much of an error body is read for Poe's message.
	maxErrorBodyBytes = 64 << 10
)

// Causes given to a request's context when this package ends the request itself.
var (
	errHeaderTimeout = errors.New("response headers timed out")
	errQueryTimeout  = errors.New("request timed out")
	errIdleTimeout   = errors.New("stream idle timeout expired")
)

// Client talks to Poe's OpenAI-compatible API. The zero value is ready to use and a
// Client is safe for concurrent use, provided its fields are not changed meanwhile.
//
// Every failure of a Poe call is an *Error, with two exceptions: when the caller's
// context ends, a call returns an error that wraps ctx.Err(), and an invalid BaseURL
// gives a plain error before anything is sent.
//
// A call sends its request a second time only when the first attempt could not connect
// or got 429, 500, 502, 503 or 529, and never once a 200 response has begun. The rule
// and its waits are described in retry.go.
type Client struct {
	BaseURL       string        // e.g. "https://api.poe.com/v1"; "" means that default
	HTTPClient    *http.Client  // nil: a shared client on a clone of http.DefaultTransport (proxy variables honoured) with no overall Timeout
	IdleTimeout   time.Duration // how long a chat stream may send no byte before it is closed; 0 means 120s
	HeaderTimeout time.Duration // how long to wait for response headers; 0 means 60s
	UserAgent     string        // sent as User-Agent when non-empty
	Logger        *slog.Logger  // nil: discard

	now          func() time.Time                                 // clock for Retry-After dates; nil means time.Now
	sleep        func(ctx context.Context, d time.Duration) error // wait before a retry; nil means a timer
	maxEventSize int                                              // cap on one server-sent event; 0 means defaultMaxEventSize
}

// defaultHTTPClient is shared by every Client without an HTTPClient, so that they share
// a connection pool. It has no Timeout because a chat stream has no overall time limit.
var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	transport, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
	return &http.Client{Transport: transport.Clone()}
})

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultHTTPClient()
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return defaultIdleTimeout
}

func (c *Client) headerTimeout() time.Duration {
	if c.HeaderTimeout > 0 {
		return c.HeaderTimeout
	}
	return defaultHeaderTimeout
}

func (c *Client) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// baseURL parses BaseURL, or the default when it is empty.
func (c *Client) baseURL() (*url.URL, error) {
	raw := c.BaseURL
	if raw == "" {
		raw = defaultBaseURL
	}

	base, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid Poe base URL %q: %w", raw, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("invalid Poe base URL %q: expected an http or https URL such as %q", raw, defaultBaseURL)
	}
	return base, nil
}

// endpoint returns the URL of path under the base URL, such as {base}/models.
func (c *Client) endpoint(path string) (*url.URL, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.Fragment = ""
	return &u, nil
}

// request describes one call to Poe.
type request struct {
	op      string // the call, as named in errors and logs: "chat request"
	method  string
	url     *url.URL
	apiKey  string        // "" sends no Authorization header
	body    []byte        // nil sends no body
	accept  string        // Accept header
	timeout time.Duration // bound on the whole exchange; 0 means none
}

// exchange is one request in flight and the contexts that bound it.
type exchange struct {
	request
	client        *Client
	ctx           context.Context // the caller's context
	reqCtx        context.Context // the request's context, ended with a cause on timeouts
	cancel        context.CancelCauseFunc
	cancelTimeout context.CancelFunc
	headerTimeout time.Duration
	started       time.Time
	resp          *http.Response
}

// sendOnce sends r and waits at most HeaderTimeout for the response headers. On success
// the caller owns the exchange and must call its close method.
func (c *Client) sendOnce(ctx context.Context, r request) (*exchange, error) {
	x := &exchange{request: r, client: c, ctx: ctx, headerTimeout: c.headerTimeout()}
	x.reqCtx, x.cancel = context.WithCancelCause(ctx)
	x.cancelTimeout = func() {}
	if r.timeout > 0 {
		x.reqCtx, x.cancelTimeout = context.WithTimeoutCause(x.reqCtx, r.timeout, errQueryTimeout)
	}

	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(x.reqCtx, r.method, r.url.String(), body)
	if err != nil {
		x.close()
		return nil, fmt.Errorf("build %s for %q: %w", r.op, r.url.Redacted(), err)
	}
	req.Header.Set("Accept", r.accept)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.apiKey)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}

	x.started = time.Now()
	timer := time.AfterFunc(x.headerTimeout, func() { x.cancel(errHeaderTimeout) })
	resp, err := c.httpClient().Do(req)
	if !timer.Stop() && err == nil {
		// The timer fired as the headers arrived, so reading the body would fail.
		resp.Body.Close()
		err = errHeaderTimeout
	}
	if err != nil {
		c.logger().Debug("poe request failed", "method", r.method, "url", r.url.Redacted(),
			"duration", time.Since(x.started), "error", err)
		failure := x.failure(err)
		x.close()
		return nil, failure
	}

	x.resp = resp
	c.logger().Debug("poe response", "method", r.method, "url", r.url.Redacted(),
		"status", resp.StatusCode, "duration", time.Since(x.started))
	return x, nil
}

// close releases the exchange: it closes the response body and cancels the request,
// which closes the connection if the body was not read to its end.
func (x *exchange) close() {
	if x.resp != nil {
		x.resp.Body.Close()
	}
	x.cancelTimeout()
	x.cancel(nil)
}

// failure turns an error met while sending the request or reading the response into the
// error a call returns: the caller's context error, or an *Error that names the timeout
// that ended the request. Any other error means that no response arrived, or that the
// connection broke while the body was read.
func (x *exchange) failure(err error) error {
	if ctxErr := x.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", x.op, ctxErr)
	}

	status := 0
	if x.resp != nil {
		status = x.resp.StatusCode
	}
	cause := context.Cause(x.reqCtx)
	switch {
	case errors.Is(cause, errIdleTimeout):
		return &Error{Reason: ReasonStalled, Status: status, op: x.op, idle: x.client.idleTimeout()}
	case errors.Is(cause, errHeaderTimeout) || errors.Is(err, errHeaderTimeout):
		return x.unreachable(fmt.Errorf("no response headers within %s", x.headerTimeout))
	case errors.Is(cause, errQueryTimeout):
		return x.unreachable(fmt.Errorf("no complete response within %s", x.timeout))
	}

	if x.resp != nil {
		return &Error{Reason: ReasonMalformed, Status: status, op: x.op,
			Err: fmt.Errorf("the connection broke before the response ended: %w", err)}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// The url.Error text repeats the method and URL, and the message names the host.
		err = urlErr.Err
	}
	return x.unreachable(err)
}

func (x *exchange) unreachable(cause error) *Error {
	return &Error{Reason: ReasonUnreachable, op: x.op, host: x.url.Host, Err: cause}
}

// readErrorBody reads a bounded part of a non-200 response and returns the Error it
// describes, or the caller's context error if the context ended meanwhile.
func (x *exchange) readErrorBody() error {
	body, _ := io.ReadAll(io.LimitReader(x.resp.Body, maxErrorBodyBytes))
	if ctxErr := x.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", x.op, ctxErr)
	}
	// A body cut short still gives the status, which decides the Reason.
	return statusError(x.op, x.resp, body, x.apiKey, x.client.clock())
}
