package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"time"
)

// maxEndedAttempts is how many ended attempts Complete still recognises, so that a late
// Complete gets the attempt's outcome instead of ReasonUnknownAttempt.
const maxEndedAttempts = 16

// shutdownTimeout bounds the wait for the callback server's last page to be sent.
const shutdownTimeout = 5 * time.Second

// CompleteParams are the parameters of auth/complete.
type CompleteParams struct {
	AttemptID   string
	APIKey      string // API key attempts: the pasted key
	CallbackURL string // OAuth attempts: the address the browser was redirected to
	Code        string // OAuth attempts: the bare authorization code
}

// Result is a successful sign-in.
type Result struct {
	Method    string     // MethodOAuth or MethodAPIKey
	ExpiresAt *time.Time // expiry of the key; nil: never expires
}

// attempt is one sign-in attempt. It is pending until a response or key is accepted
// (claimed) and ended when its outcome is known. Fields below the blank line are guarded
// by Service.mu; result and err may be read without it once done is closed.
type attempt struct {
	id     string
	method string

	// OAuth attempts only.
	state       string
	verifier    string
	redirectURI string
	authURL     string
	hosts       []string // Host header values the callback server accepts
	expiresAt   time.Time
	server      *http.Server
	listener    net.Listener

	done   chan struct{} // closed when the attempt ends
	result Result
	err    error

	claimed bool
	ended   bool
	timer   *time.Timer
}

func newAttempt(method string) *attempt {
	return &attempt{id: randomToken(16), method: method, done: make(chan struct{})}
}

// randomToken returns n random bytes, base64url-encoded without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error; it crashes the program if randomness fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Complete finishes the attempt p.AttemptID and returns the signed-in method and the
// key's expiry.
//
// For an API key attempt, p.APIKey is trimmed, checked for Poe's key shape and then by
// CheckKey, and stored. An invalid key leaves the attempt pending, so the user can paste
// another one. CheckKey errors other than ErrKeyRejected are returned unchanged and
// nothing is stored.
//
// For an OAuth attempt, p.CallbackURL is checked like a browser callback and p.Code is
// exchanged directly (PKCE binds it to this attempt). With neither, Complete waits for the
// browser's callback, for the attempt to time out or for ctx to end. When ctx ends,
// Complete returns ctx.Err() and the attempt goes on. A paste for an attempt that already
// has a response returns that attempt's outcome.
func (s *Service) Complete(ctx context.Context, p CompleteParams) (Result, error) {
	if p.AttemptID == "" {
		return Result{}, &ParamError{Field: "attemptId", Message: "missing; pass the attemptId that the sign-in start returned"}
	}
	a := s.lookup(p.AttemptID)
	if a == nil {
		return Result{}, &SignInError{
			Reason: ReasonUnknownAttempt,
			// The id is not quoted: a user may paste a key or a code into the wrong field.
			Err: errors.New("no sign-in attempt has that id; start a new sign-in"),
		}
	}
	if a.method == MethodAPIKey {
		return s.completeAPIKey(ctx, a, p)
	}
	return s.completeOAuth(ctx, a, p)
}

func (s *Service) lookup(id string) *attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id]
}

// registerLocked adds a new attempt and returns the pending attempts it replaces, which the
// caller ends with errSuperseded once s.mu is released.
func (s *Service) registerLocked(a *attempt) []*attempt {
	var replaced []*attempt
	for _, old := range s.attempts {
		if !old.ended && !old.claimed {
			replaced = append(replaced, old)
		}
	}
	s.attempts[a.id] = a
	return replaced
}

// supersede ends attempts that a newer attempt replaced.
func (s *Service) supersede(replaced []*attempt) {
	for _, old := range replaced {
		s.finish(old, Result{}, &SignInError{Reason: ReasonUnknownAttempt, Err: errSuperseded})
	}
}

// claim marks a pending attempt as having accepted its one response or key. It returns
// false when the attempt is claimed or ended already, or the Service is closed.
func (s *Service) claim(a *attempt) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.claimed || a.ended || s.closed {
		return false
	}
	a.claimed = true
	return true
}

// goBackground runs fn on a goroutine that Close waits for. It returns false without
// running fn when the Service is closed.
func (s *Service) goBackground(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.backgrounds.Add(1)
	go func() {
		defer s.backgrounds.Done()
		fn()
	}()
	return true
}

// finish ends the attempt with its outcome, unless it has ended already: it closes the
// callback listener (so new connections fail at once), wakes the waiters and shuts the
// callback server down once its last page is sent.
func (s *Service) finish(a *attempt, result Result, err error) {
	s.mu.Lock()
	if a.ended {
		s.mu.Unlock()
		return
	}
	a.ended = true
	a.result, a.err = result, err
	if a.timer != nil {
		a.timer.Stop()
	}
	s.endedIDs = append(s.endedIDs, a.id)
	if len(s.endedIDs) > maxEndedAttempts {
		delete(s.attempts, s.endedIDs[0])
		s.endedIDs = s.endedIDs[1:]
	}
	// Close calls finish for every attempt before it waits, so this Add never races
	// with that wait.
	if a.server != nil {
		s.backgrounds.Add(1)
	}
	s.mu.Unlock()

	if a.listener != nil {
		a.listener.Close()
	}
	close(a.done)
	if err != nil {
		s.log.Info("sign-in attempt failed", "attempt", a.id, "method", a.method, "error", err)
	} else {
		s.log.Info("sign-in attempt succeeded", "attempt", a.id, "method", a.method)
	}

	if a.server != nil {
		go func() {
			defer s.backgrounds.Done()
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := a.server.Shutdown(ctx); err != nil {
				s.log.Debug("callback server did not shut down cleanly; closing it", "attempt", a.id, "error", err)
				a.server.Close()
			}
		}()
	}
}

// wait returns the attempt's outcome, or ctx.Err() when ctx ends first.
func (s *Service) wait(ctx context.Context, a *attempt) (Result, error) {
	select {
	case <-a.done:
		return copyResult(a.result), a.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// copyResult gives each waiter its own ExpiresAt.
func copyResult(r Result) Result {
	if r.ExpiresAt != nil {
		expiresAt := *r.ExpiresAt
		r.ExpiresAt = &expiresAt
	}
	return r
}
