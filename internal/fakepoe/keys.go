package fakepoe

import (
	"net/http"
	"strings"
	"time"
)

// account is the state of one valid API key.
type account struct {
	balance   int64
	expiresAt time.Time // zero: never expires
}

// AddKey makes key a valid API key with the given point balance and no expiry, as if
// the user had created it at poe.com/api_key. A key with a balance of 0 or less gets
// 402 from chat completions. Adding a key again replaces its balance and expiry.
func (s *Server) AddKey(key string, balance int64) {
	s.addAccount(key, account{balance: balance}, false)
}

// IssuedKeys returns the keys that /token has issued so far, oldest first.
func (s *Server) IssuedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedKeys...)
}

func (s *Server) addAccount(key string, a account, issued bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.keys[key] = a
	if issued {
		s.issuedKeys = append(s.issuedKeys, key)
	}
}

// authenticate returns the account of the request's bearer key (RFC 6750 section
// 2.1), or false when the header is missing, the key is unknown or it has expired.
func (s *Server) authenticate(r *http.Request) (account, bool) {
	scheme, key, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return account{}, false
	}
	key = strings.TrimSpace(key)

	s.mu.Lock()
	a, ok := s.keys[key]
	s.mu.Unlock()

	if !ok {
		return account{}, false
	}
	if !a.expiresAt.IsZero() && !s.now().Before(a.expiresAt) {
		return account{}, false
	}
	return a, true
}

// handleBalance serves GET /usage/current_balance. Its errors default to Shape B,
// the shape Poe's reference page for this endpoint shows.
func (s *Server) handleBalance(w http.ResponseWriter, r *http.Request) {
	fault := s.currentFault()
	shape := fault.shapeOr(ShapeB)
	if fault.BalanceStatus != 0 {
		s.writeAPIError(w, r, shape, errorForStatus(fault.BalanceStatus), fault.RetryAfter)
		return
	}

	a, ok := s.authenticate(r)
	if !ok {
		s.writeAPIError(w, r, shape, errorForStatus(http.StatusUnauthorized), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"current_point_balance": a.balance})
}
