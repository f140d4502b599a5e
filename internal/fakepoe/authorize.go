package fakepoe

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// grant is the record of one issued authorization code. /token removes it when the
// code is presented.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string
	expiresAt   time.Time
}

// handleAuthorize plays the user's browser visit to Poe's consent screen, and the
// user's approval, in one step. It validates the request as RFC 6749 section 4.1.1
// and RFC 7636 section 4.3 describe and then redirects to redirect_uri.
// Parameters it does not know, such as prompt, are ignored (RFC 6749 section 3.1).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	fault := s.currentFault()

	// RFC 6749 section 4.1.2.1: with an unknown client or an invalid redirection URI
	// the server must not redirect, so it shows an error page instead.
	clientID, err := singleParam(query, "client_id")
	if err != nil {
		s.writeAuthorizePage(w, err)
		return
	}
	if clientID != s.clientID {
		s.writeAuthorizePage(w, fmt.Errorf("client_id %q is not a registered client", clientID))
		return
	}
	redirectURI, err := singleParam(query, "redirect_uri")
	if err != nil {
		s.writeAuthorizePage(w, err)
		return
	}
	target, err := parseLoopbackRedirect(redirectURI)
	if err != nil {
		s.writeAuthorizePage(w, err)
		return
	}

	// RFC 6749 section 4.1.2: state goes back unchanged when the request carried one.
	reply := url.Values{}
	if query.Has("state") {
		reply.Set("state", query.Get("state"))
	}
	if code, description := checkAuthorizeParams(query); code != "" {
		s.logger.Debug("authorize request rejected", "error", code, "description", description)
		reply.Set("error", code)
		reply.Set("error_description", description)
		redirect(w, target, reply)
		return
	}

	switch fault.Authorize {
	case AuthorizeAccessDenied:
		reply.Set("error", "access_denied")
		reply.Set("error_description", "The user denied the authorization request.")
		redirect(w, target, reply)
		return
	case AuthorizeNoCode:
		redirect(w, target, reply)
		return
	case AuthorizeWrongState:
		if query.Has("state") {
			reply.Set("state", "not-"+query.Get("state"))
		} else {
			reply.Set("state", "unexpected-state")
		}
	case AuthorizeIssuerMismatch:
		reply.Set("iss", "https://issuer.invalid")
	case AuthorizeIssuer:
		reply.Set("iss", s.URL())
	}

	code := s.issueCode(grant{
		clientID:    clientID,
		redirectURI: redirectURI,
		challenge:   query.Get("code_challenge"),
	})
	reply.Set("code", code)
	redirect(w, target, reply)
}

// checkAuthorizeParams returns an RFC 6749 error code and a description for the first
// invalid parameter other than client_id and redirect_uri, or "" when all are valid.
func checkAuthorizeParams(query url.Values) (code, description string) {
	for _, name := range []string{"response_type", "scope", "code_challenge", "code_challenge_method", "state"} {
		if len(query[name]) > 1 {
			return "invalid_request", fmt.Sprintf("The %s parameter is repeated.", name)
		}
	}

	switch responseType := query.Get("response_type"); responseType {
	case "code":
	case "":
		return "invalid_request", "The response_type parameter is missing."
	default:
		return "unsupported_response_type", fmt.Sprintf("The response_type %q is not supported. Use \"code\".", responseType)
	}

	if scope := query.Get("scope"); scope != "apikey:create" {
		return "invalid_scope", fmt.Sprintf("The scope %q is missing or not supported. Use \"apikey:create\".", scope)
	}

	// RFC 7636 section 4.2: an S256 challenge is the base64url encoding of a SHA-256
	// hash without padding, which is always 43 characters.
	challenge := query.Get("code_challenge")
	if len(challenge) != 43 || !isBase64URL(challenge) {
		return "invalid_request", "The code_challenge parameter must be 43 base64url characters."
	}
	if method := query.Get("code_challenge_method"); method != "S256" {
		return "invalid_request", fmt.Sprintf("The code_challenge_method %q is not supported. Use \"S256\".", method)
	}
	return "", ""
}

// parseLoopbackRedirect accepts http://127.0.0.1:PORT/callback and
// http://localhost:PORT/callback, the loopback redirection URIs that Poe accepts
// without registration (RFC 8252 section 7.3), and returns them parsed.
func parseLoopbackRedirect(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("missing redirect_uri parameter")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid redirect_uri: %w", err)
	}

	if u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Path != "/callback" {
		return nil, fmt.Errorf("invalid redirect_uri %q: want http://127.0.0.1:PORT/callback or http://localhost:PORT/callback", raw)
	}
	if host := u.Hostname(); host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("invalid redirect_uri %q: the host must be 127.0.0.1 or localhost", raw)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("invalid redirect_uri %q: the port must be a number from 1 to 65535", raw)
	}
	return u, nil
}

// singleParam returns the one value of a required parameter. RFC 6749 section 3.1
// forbids repeating a parameter.
func singleParam(query url.Values, name string) (string, error) {
	switch values := query[name]; {
	case len(values) == 0 || values[0] == "":
		return "", fmt.Errorf("missing %s parameter", name)
	case len(values) > 1:
		return "", fmt.Errorf("repeated %s parameter", name)
	default:
		return values[0], nil
	}
}

func (s *Server) issueCode(g grant) string {
	code := randomToken()
	g.expiresAt = s.now().Add(CodeLifetime)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = g
	return code
}

// takeCode removes code and returns its grant, so each code works at most once
// (RFC 6749 section 4.1.2).
func (s *Server) takeCode(code string) (grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	g, ok := s.codes[code]
	delete(s.codes, code)
	return g, ok
}

// redirect sends a 302 to target with params added to its query.
func redirect(w http.ResponseWriter, target *url.URL, params url.Values) {
	location := *target
	query := location.Query()
	for name, values := range params {
		query[name] = values
	}
	location.RawQuery = query.Encode()

	w.Header().Set("Location", location.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// writeAuthorizePage sends the 400 page a browser shows when the server cannot
// redirect back to the client.
func (s *Server) writeAuthorizePage(w http.ResponseWriter, problem error) {
	s.logger.Debug("authorize request rejected without redirect", "err", problem)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>Invalid authorization request</title></head>"+
		"<body><h1>Invalid authorization request</h1><p>The application sent an invalid request: %s. "+
		"Return to the application and try again.</p></body></html>\n", html.EscapeString(problem.Error()))
}

// randomToken returns 32 random bytes in base64url without padding, 43 characters.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read crashes the program instead of returning an error.
	return base64.RawURLEncoding.EncodeToString(b)
}

func isBase64URL(s string) bool {
	for _, c := range []byte(s) {
		isAlnum := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !isAlnum && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
