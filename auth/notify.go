package auth

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounceDelay groups the several events of one write (create, write, rename) into one
// re-read of the credential file.
const debounceDelay = 100 * time.Millisecond

// poke wakes the notifier, which re-reads the file and calls OnChange if the State
// differs from the last one it sent. With force set, OnChange is called even when the
// State is the same, as after every sign-in and sign-out.
//
// The notifier is a single goroutine, so OnChange calls never overlap and always carry
// the latest State. It starts at the first poke and ends at Close.
func (s *Service) poke(force bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if force {
		s.forceNotify = true
	}
	if !s.notifying {
		s.notifying = true
		s.backgrounds.Add(1)
		go s.notifyLoop()
	}
	s.mu.Unlock()

	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) notifyLoop() {
	defer s.backgrounds.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}

		s.mu.Lock()
		force := s.forceNotify
		s.forceNotify = false
		s.mu.Unlock()

		state := s.stateFrom(s.refresh(false))

		s.mu.Lock()
		s.armExpiryLocked()
		send := force || !state.equal(s.lastNotified)
		if send {
			s.lastNotified = state
		}
		closed := s.closed
		s.mu.Unlock()

		if !send || closed {
			continue
		}
		s.log.Debug("sign-in state changed", "signedIn", state.SignedIn, "source", state.Source,
			"method", state.Method, "expired", state.Expired, "problem", state.Problem != nil)
		if s.cfg.OnChange != nil {
			s.cfg.OnChange(state)
		}
	}
}

// armExpiryLocked sets the expiry timer to the file key's expiry, so that OnChange
// reports the key expiring. It does nothing before Start and after Close. The caller
// holds s.mu.
func (s *Service) armExpiryLocked() {
	var expiresAt time.Time
	if s.started && !s.closed && s.cfg.EnvKey == "" && s.file.cred != nil && s.file.cred.ExpiresAt != nil {
		expiresAt = *s.file.cred.ExpiresAt
	}
	if s.expiry != nil && expiresAt.Equal(s.expiryAt) {
		return
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.expiryAt = time.Time{}

	if expiresAt.IsZero() {
		return
	}
	wait := expiresAt.Sub(s.now())
	if wait <= 0 {
		return
	}

	var timer *time.Timer
	timer = time.AfterFunc(wait, func() {
		s.mu.Lock()
		// Forget the timer, so that the notifier arms a new one if s.now() is still
		// before the expiry.
		if s.expiry == timer {
			s.expiry = nil
			s.expiryAt = time.Time{}
		}
		s.mu.Unlock()
		s.poke(false)
	})
	s.expiry = timer
	s.expiryAt = expiresAt
}

// startWatching watches the credential folder for changes made by other processes.
func (s *Service) startWatching() error {
	dir := filepath.Dir(s.store.Path)
	if err := s.store.ensureDir(dir); err != nil {
		return err
	}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch credential folder %q: %w", dir, err)
	}
	if err := watcher.Add(dir); err != nil {
		watcher.Close()
		return fmt.Errorf("watch credential folder %q: %w", dir, err)
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		watcher.Close()
		return ErrClosed
	}
	s.watcher = watcher
	s.backgrounds.Add(1)
	s.mu.Unlock()

	go s.watchLoop(watcher, dir)
	s.log.Debug("watching credential folder", "path", dir)
	return nil
}

func (s *Service) watchLoop(watcher *fsnotify.Watcher, dir string) {
	defer s.backgrounds.Done()
	name := filepath.Base(s.store.Path)
	for {
		select {
		case event, ok := <-watcher.Events:
			if !ok {
				return
			}
			switch {
			case filepath.Base(event.Name) == name:
				s.debounceChange()
			case filepath.Clean(event.Name) == dir && event.Has(fsnotify.Remove|fsnotify.Rename):
				// NOTE: the watch ends with the folder. Until a restart, changes by other
				// processes are noticed only when the key is next used.
				s.log.Warn("credential folder was removed or renamed; no longer watching it", "path", dir)
				s.debounceChange()
			}
		case err, ok := <-watcher.Errors:
			if !ok {
				return
			}
			s.log.Warn("credential folder watcher failed", "path", dir, "error", err)
		}
	}
}

// debounceChange wakes the notifier debounceDelay after the last event.
func (s *Service) debounceChange() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.debounce == nil {
		s.debounce = time.AfterFunc(debounceDelay, func() { s.poke(false) })
		return
	}
	s.debounce.Reset(debounceDelay)
}
