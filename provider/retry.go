package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// The retry rule. A call sends its request again at most once, and only when the first
// attempt shows that Poe did not start on it:
//
//   - the connection could not be opened (a dial error such as connection refused, but
//     not a DNS failure or a dial timeout), so the request never left this machine; or
//   - Poe responded 429, 500, 502, 503 or 529. Poe's documentation says to retry 429,
//     500 and 503 and that a rejected request spends no points, and 502 (model backend
//     down) and 529 (overloaded) are passing faults of the same kind.
//
// The wait before the retry is the response's Retry-After when it is at most
// maxRetryWait, and retryBackoff plus a random jitter of up to retryBackoff when there is
// none. A longer Retry-After is not waited out: the call fails at once and the Error
// carries the wait for the user. A 200 response is never retried, so text that reached
// onDelta is never sent twice. Neither is a header timeout, a TLS failure or any other
// status, because those would fail again or might have started a billed completion.
const (
	// maxRetryWait is the longest Retry-After waited out before the retry. The caller
	// sees nothing during the wait, so it stays short.
	maxRetryWait = 5 * time.Second

	// retryBackoff is the base wait before a retry without Retry-After. Poe's
	// documentation recommends exponential back-off with jitter from 250 ms.
	retryBackoff = 250 * time.Millisecond
)

// retryableStatus reports whether a status means that Poe did not start on the request
// and that the same request may succeed a moment later.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, 529:
		return true
	default:
		return false
	}
}

// isDialFailure reports whether err means that no connection could be opened, so the
// request was never sent. A DNS failure is left out because it does not clear within a
// retry's wait, and a dial timeout because the caller has already waited for it.
func isDialFailure(err error) bool {
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" || opErr.Timeout() {
		return false
	}
	var dnsErr *net.DNSError
	return !errors.As(err, &dnsErr)
}

// retryWait returns how long to wait before sending the request again after the first
// attempt ended with x or err, and whether to send it again at all.
func (c *Client) retryWait(x *exchange, err error) (time.Duration, bool) {
	if err != nil {
		return c.backoff(), isDialFailure(err)
	}
	if !retryableStatus(x.resp.StatusCode) {
		return 0, false
	}

	wait := parseRetryAfter(x.resp.Header.Get("Retry-After"), c.clock())
	switch {
	case wait > maxRetryWait:
		return 0, false
	case wait > 0:
		return wait, true
	default:
		return c.backoff(), true
	}
}

func (c *Client) backoff() time.Duration {
	return retryBackoff + rand.N(retryBackoff)
}

// pause waits for d, or until ctx ends.
func (c *Client) pause(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// send sends r, and sends it once more when the retry rule above allows. On success the
// caller owns the exchange and must call its close method.
func (c *Client) send(ctx context.Context, r request) (*exchange, error) {
	x, err := c.sendOnce(ctx, r)
	wait, retry := c.retryWait(x, err)
	if !retry {
		return x, err
	}

	status := 0
	if x != nil {
		status = x.resp.StatusCode
		// The first error is only logged, so its body is read for Poe's message.
		err = x.readErrorBody()
		io.Copy(io.Discard, io.LimitReader(x.resp.Body, maxErrorBodyBytes))
		x.close()
	}
	c.logger().Info("retrying poe request", "method", r.method, "url", r.url.Redacted(),
		"status", status, "wait", wait, "error", err)

	if err := c.pause(ctx, wait); err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	return c.sendOnce(ctx, r)
}
