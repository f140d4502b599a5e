package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Poe's key shape as Poe's own poe-oauth package checks it, since Poe documents none: an
// optional "sk-poe-" prefix, then at least 34 characters of [A-Za-z0-9_-] with at least
// one letter or digit.
const (
	apiKeyPrefix    = "sk-poe-"
	apiKeyMinLength = 34
	apiKeyMaxLength = 512 // NOTE: this package's own bound; Poe documents none
)

// APIKeyAttempt is a started API key sign-in.
type APIKeyAttempt struct {
	ID           string
	URL          string // APIKeyPageURL
	Instructions string
}

// StartAPIKey starts an API key sign-in. A pending attempt of either method ends with
// ReasonUnknownAttempt. After Close, Complete rejects the returned attempt as unknown.
func (s *Service) StartAPIKey() APIKeyAttempt {
	a := newAttempt(MethodAPIKey)

	s.mu.Lock()
	var replaced []*attempt
	if !s.closed {
		replaced = s.registerLocked(a)
	}
	s.mu.Unlock()
	s.supersede(replaced)
	s.log.Info("API key sign-in started", "attempt", a.id)

	return APIKeyAttempt{
		ID:           a.id,
		URL:          APIKeyPageURL,
		Instructions: "Copy an API key from " + APIKeyPageURL + " and paste it here. poe-sidecar checks the key with Poe before it stores it.",
	}
}

func (s *Service) completeAPIKey(ctx context.Context, a *attempt, p CompleteParams) (Result, error) {
	if p.CallbackURL != "" {
		return Result{}, &ParamError{Field: "callbackUrl", Message: "an API key sign-in takes apiKey, not a callback address"}
	}
	if p.Code != "" {
		return Result{}, &ParamError{Field: "code", Message: "an API key sign-in takes apiKey, not an authorization code"}
	}
	if err := s.endedError(a); err != nil {
		return Result{}, err
	}

	key := strings.TrimSpace(p.APIKey)
	if err := checkKeyShape(key); err != nil {
		s.log.Info("pasted API key rejected", "attempt", a.id, "error", err)
		return Result{}, &SignInError{Reason: ReasonInvalidAPIKey, Err: err}
	}
	if s.cfg.CheckKey == nil {
		return Result{}, errors.New("API key sign-in is not set up: no key checker is configured")
	}
	if err := s.cfg.CheckKey(ctx, key); err != nil {
		if errors.Is(err, ErrKeyRejected) {
			s.log.Info("Poe rejected the pasted API key", "attempt", a.id)
			return Result{}, &SignInError{Reason: ReasonInvalidAPIKey, Err: ErrKeyRejected}
		}
		s.log.Warn("cannot check the pasted API key with Poe", "attempt", a.id, "error", err)
		return Result{}, err
	}

	// Another Complete may have taken the attempt while Poe checked this key.
	if !s.claim(a) {
		if err := s.endedError(a); err != nil {
			return Result{}, err
		}
		return s.wait(ctx, a)
	}
	cred := Credential{APIKey: key, Method: MethodAPIKey, CreatedAt: s.now()}
	if err := s.store.Save(cred); err != nil {
		// The attempt stays pending, so the user can paste the key again.
		s.unclaim(a)
		return Result{}, fmt.Errorf("store the API key: %w; fix the problem and paste the key again", err)
	}

	result := Result{Method: MethodAPIKey}
	s.finish(a, result, nil)
	s.poke(true)
	return result, nil
}

func (s *Service) unclaim(a *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.claimed = false
}

// endedError returns the error for a Complete on an API key attempt that has ended: its
// own failure, or ReasonUnknownAttempt when it succeeded before.
func (s *Service) endedError(a *attempt) error {
	s.mu.Lock()
	ended, err := a.ended, a.err
	s.mu.Unlock()
	if !ended {
		return nil
	}
	if err != nil {
		return err
	}
	return &SignInError{Reason: ReasonUnknownAttempt, Err: fmt.Errorf("sign-in attempt %q has already finished", a.id)}
}

// checkKeyShape checks a trimmed key against Poe's key shape without asking Poe.
func checkKeyShape(key string) error {
	if key == "" {
		return errors.New("no key was entered")
	}
	if len(key) > apiKeyMaxLength {
		return fmt.Errorf("the key is longer than %d characters", apiKeyMaxLength)
	}

	rest := strings.TrimPrefix(key, apiKeyPrefix)
	if len(rest) < apiKeyMinLength {
		return fmt.Errorf("the key is shorter than Poe's keys (%d characters after any %q prefix)", apiKeyMinLength, apiKeyPrefix)
	}
	hasAlphanumeric := false
	for _, c := range []byte(rest) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			hasAlphanumeric = true
		case c == '_' || c == '-':
		default:
			return errors.New("the key contains characters other than letters, digits, '_' and '-'")
		}
	}
	if !hasAlphanumeric {
		return errors.New("the key has no letter or digit")
	}
	return nil
}
