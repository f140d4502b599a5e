package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// scope is the only scope Poe's authorize endpoint accepts.
const scope = "apikey:create"

// errNotPending is returned by acceptResponse when the attempt already has a response.
var errNotPending = errors.New("the sign-in attempt already has a response")

// OAuthAttempt is a started browser sign-in.
type OAuthAttempt struct {
	ID           string
	URL          string // authorize URL to open in a browser
	RedirectURI  string // http://127.0.0.1:<port>/callback
	Instructions string
	ExpiresAt    time.Time // when the attempt times out
}

// StartOAuth starts a browser sign-in: it generates the PKCE verifier and state, starts
// the callback server on ListenAddr and returns the authorize URL. The attempt ends
// after AttemptTimeout. A pending attempt of either method ends with ReasonUnknownAttempt.
// ctx bounds only the start.
func (s *Service) StartOAuth(ctx context.Context) (OAuthAttempt, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.listenAddr)
	if err != nil {
		return OAuthAttempt{}, fmt.Errorf("start the sign-in callback server on %q: %w", s.listenAddr, err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		ln.Close()
		return OAuthAttempt{}, fmt.Errorf("start the sign-in callback server: listener address %q is not TCP", ln.Addr())
	}
	port := strconv.Itoa(addr.Port)
	hostPort := net.JoinHostPort(addr.IP.String(), port)

	a := newAttempt(MethodOAuth)
	a.state = randomToken(32)
	a.verifier = oauth2.GenerateVerifier()
	a.redirectURI = "http://" + hostPort + "/callback"
	a.hosts = []string{hostPort, "127.0.0.1:" + port, "localhost:" + port}
	a.expiresAt = s.now().Add(s.timeout)
	a.listener = &onceCloseListener{Listener: ln}

	conf := oauth2.Config{
		ClientID:    s.clientID,
		Endpoint:    oauth2.Endpoint{AuthURL: s.authorize, TokenURL: s.tokenURL},
		RedirectURL: a.redirectURI,
		Scopes:      []string{scope},
	}
	a.authURL = conf.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier))

	a.server = s.newCallbackServer(a)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return OAuthAttempt{}, ErrClosed
	}
	replaced := s.registerLocked(a)
	a.timer = time.AfterFunc(s.timeout, func() { s.expire(a) })
	s.backgrounds.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.backgrounds.Done()
		err := a.server.Serve(a.listener)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("callback server stopped", "attempt", a.id, "error", err)
		}
	}()
	s.supersede(replaced)
	s.log.Info("browser sign-in started", "attempt", a.id, "redirectUri", a.redirectURI, "expiresAt", a.expiresAt)

	instructions := "Open the address in a browser and approve the sign-in to Poe."
	if s.cfg.OpenBrowser != nil {
		instructions = "Approve the sign-in to Poe in the browser window that opened. If none opened, open the address yourself."
		if err := s.cfg.OpenBrowser(a.authURL); err != nil {
			// The opener's error may quote the URL, which contains the state.
			message := strings.ReplaceAll(err.Error(), a.state, "[state]")
			s.log.Warn("cannot open the browser; the user must open the address", "attempt", a.id, "error", message)
		}
	}
	instructions += " The browser then returns to " + a.redirectURI + ". If that page does not load, for example because the browser runs on another machine, paste the address it shows."

	return OAuthAttempt{
		ID:           a.id,
		URL:          a.authURL,
		RedirectURI:  a.redirectURI,
		Instructions: instructions,
		ExpiresAt:    a.expiresAt,
	}, nil
}

// expire ends a pending attempt when its time is up. A claimed attempt is left to its
// token exchange, which the HTTP client's timeout bounds.
func (s *Service) expire(a *attempt) {
	s.mu.Lock()
	claimed := a.claimed
	s.mu.Unlock()
	if claimed {
		return
	}
	s.finish(a, Result{}, &SignInError{
		Reason: ReasonTimeout,
		Err:    fmt.Errorf("no response from the browser within %v", s.timeout),
	})
}

func (s *Service) completeOAuth(ctx context.Context, a *attempt, p CompleteParams) (Result, error) {
	if p.APIKey != "" {
		return Result{}, &ParamError{Field: "apiKey", Message: "a browser sign-in takes callbackUrl or code, not an API key"}
	}
	callbackURL := strings.TrimSpace(p.CallbackURL)
	code := strings.TrimSpace(p.Code)
	if callbackURL != "" && code != "" {
		return Result{}, &ParamError{Field: "code", Message: "pass either callbackUrl or code, not both"}
	}

	switch {
	case callbackURL != "":
		query, err := parseCallbackURL(callbackURL)
		if err != nil {
			return Result{}, err
		}
		err = s.acceptResponse(a, query)
		if err != nil && !errors.Is(err, errNotPending) {
			return Result{}, err
		}
		s.log.Debug("pasted callback address accepted", "attempt", a.id)
	case code != "":
		if s.claim(a) {
			s.log.Debug("pasted authorization code accepted", "attempt", a.id)
			s.startExchange(a, code)
		}
	}
	return s.wait(ctx, a)
}

// parseCallbackURL returns the query of a pasted redirect address.
func parseCallbackURL(raw string) (url.Values, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &ParamError{Field: "callbackUrl", Message: "not a URL; paste the whole address from the browser's address bar"}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, &ParamError{Field: "callbackUrl", Message: "the query string is malformed; paste the whole address from the browser's address bar"}
	}
	if !query.Has("state") && !query.Has("code") && !query.Has("error") {
		return nil, &ParamError{Field: "callbackUrl", Message: "the address has no state, code or error parameter; paste the address the browser was sent to after approving"}
	}
	return query, nil
}

// acceptResponse checks an authorization response (RFC 6749 section 4.1.2) from the
// browser or a pasted address. A wrong or missing state returns a ReasonStateMismatch
// error and leaves the attempt pending, because anyone who can reach the loopback port
// can send one. An attempt that already has a response returns errNotPending. Otherwise
// the attempt takes this response: errors end it at once, and a code starts the token
// exchange, whose outcome ends it.
func (s *Service) acceptResponse(a *attempt, query url.Values) error {
	states := query["state"]
	if len(states) != 1 || subtle.ConstantTimeCompare([]byte(states[0]), []byte(a.state)) != 1 {
		s.log.Info("sign-in response with a wrong or missing state ignored", "attempt", a.id)
		return &SignInError{Reason: ReasonStateMismatch}
	}
	if !s.claim(a) {
		return errNotPending
	}

	// RFC 9207: "iss" is optional, but when present it must name the authorization server
	// that the attempt was sent to, for errors as well as codes.
	if issuers, ok := query["iss"]; ok && (len(issuers) != 1 || issuers[0] != s.issuer) {
		s.finish(a, Result{}, &SignInError{
			Reason: ReasonIssuerMismatch,
			// The received value is not shown: a broken redirect may carry the code there.
			Err: fmt.Errorf("the callback's issuer is not %q", s.issuer),
		})
		return nil
	}

	if query.Has("error") {
		s.finish(a, Result{}, &SignInError{
			Reason:           ReasonAccessDenied,
			OAuthError:       cleanOAuthError(query.Get("error"), a.state, a.verifier),
			OAuthDescription: cleanDescription(query.Get("error_description"), a.state, a.verifier),
		})
		return nil
	}

	code := strings.TrimSpace(query.Get("code"))
	if code == "" {
		s.finish(a, Result{}, &SignInError{Reason: ReasonMissingCode})
		return nil
	}
	s.startExchange(a, code)
	return nil
}

// startExchange exchanges the code and stores the key on a background goroutine, so that
// the exchange finishes even when the browser or the Complete caller stops waiting.
func (s *Service) startExchange(a *attempt, code string) {
	started := s.goBackground(func() {
		result, err := s.exchangeAndStore(s.ctx, a, code)
		s.finish(a, result, err)
	})
	if !started {
		s.finish(a, Result{}, &SignInError{Reason: ReasonUnknownAttempt, Err: ErrClosed})
	}
}

func (s *Service) exchangeAndStore(ctx context.Context, a *attempt, code string) (Result, error) {
	apiKey, expiresAt, err := s.exchange(ctx, a, code)
	if err != nil {
		return Result{}, err
	}

	cred := Credential{APIKey: apiKey, Method: MethodOAuth, ExpiresAt: expiresAt, CreatedAt: s.now()}
	if err := s.store.Save(cred); err != nil {
		return Result{}, fmt.Errorf("store the API key from Poe: %w; fix the problem and sign in again", err)
	}
	s.poke(true)
	return Result{Method: MethodOAuth, ExpiresAt: expiresAt}, nil
}

// onceCloseListener lets both finish and http.Server.Shutdown close the listener.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
