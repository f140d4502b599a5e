package fakepoe

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"time"
)

// invalidGrantDescription is the error_description Poe sends with invalid_grant.
const invalidGrantDescription = "The provided authorization code is invalid or has expired."

// handleToken exchanges an authorization code and its PKCE verifier for an API key
// (RFC 6749 section 4.1.3, RFC 7636 section 4.5). Poe responds with
// {"api_key","api_key_expires_in"} instead of an OAuth access token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request",
			"The Content-Type must be application/x-www-form-urlencoded.")
		return
	}

	fault := s.currentFault()
	switch fault.Token {
	case TokenInvalidGrant:
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", invalidGrantDescription)
		return
	case TokenServerError:
		s.writeTokenError(w, http.StatusInternalServerError, "server_error",
			"The server failed to issue an API key. Retry the request.")
		return
	case TokenHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"+
			"<body><h1>502 Bad Gateway</h1><p>The upstream server did not respond.</p></body></html>\n")
		return
	}

	if err := r.ParseForm(); err != nil {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
		return
	}
	form := r.PostForm
	for _, name := range []string{"grant_type", "client_id", "code", "redirect_uri", "code_verifier"} {
		if len(form[name]) > 1 {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("The %s parameter is repeated.", name))
			return
		}
	}

	grantType := form.Get("grant_type")
	if grantType == "" {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request", "The grant_type parameter is missing.")
		return
	}
	if grantType != "authorization_code" {
		s.writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("The grant_type %q is not supported. Use \"authorization_code\".", grantType))
		return
	}
	for _, name := range []string{"client_id", "code", "redirect_uri", "code_verifier"} {
		if form.Get(name) == "" {
			s.writeTokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("The %s parameter is missing.", name))
			return
		}
	}

	// RFC 7636 section 4.1: a verifier is 43 to 128 characters of A-Z, a-z, 0-9 and "-._~".
	verifier := form.Get("code_verifier")
	if !isCodeVerifier(verifier) {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_request",
			"The code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'.")
		return
	}

	// The code is used up even when the rest of the request is wrong.
	g, ok := s.takeCode(form.Get("code"))
	valid := ok &&
		s.now().Before(g.expiresAt) &&
		g.clientID == form.Get("client_id") &&
		g.redirectURI == form.Get("redirect_uri") &&
		verifierMatches(verifier, g.challenge)
	if !valid {
		s.writeTokenError(w, http.StatusBadRequest, "invalid_grant", invalidGrantDescription)
		return
	}

	s.writeIssuedKey(w, fault)
}

// writeIssuedKey registers a new API key and sends the token response for it,
// changed as fault.Token selects.
func (s *Server) writeIssuedKey(w http.ResponseWriter, fault Fault) {
	key := "sk-poe-" + randomToken()
	body := map[string]any{"api_key": key}

	var expiresAt time.Time
	switch fault.Token {
	case TokenExpiresNull:
		body["api_key_expires_in"] = nil
	case TokenExpiresAbsent:
	default:
		if s.keyExpiresIn == nil {
			body["api_key_expires_in"] = nil
		} else {
			body["api_key_expires_in"] = *s.keyExpiresIn
			expiresAt = s.now().Add(time.Duration(*s.keyExpiresIn) * time.Second)
		}
	}

	if fault.Token == TokenEmptyKey {
		body["api_key"] = ""
	} else {
		s.addAccount(key, account{balance: IssuedKeyBalance, expiresAt: expiresAt}, true)
	}

	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// writeTokenError sends an RFC 6749 section 5.2 error body.
func (s *Server) writeTokenError(w http.ResponseWriter, status int, code, description string) {
	s.logger.Debug("token request rejected", "status", status, "error", code, "description", description)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// verifierMatches reports whether BASE64URL(SHA256(verifier)) equals challenge
// (RFC 7636 section 4.6), comparing in constant time.
func verifierMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func isCodeVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		isAlnum := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !isAlnum && c != '-' && c != '.' && c != '_' && c != '~' {
			return false
		}
	}
	return true
}
