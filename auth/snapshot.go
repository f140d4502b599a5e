package auth

import (
	"errors"
	"io/fs"
	"os"
)

// fileSnapshot is the last parsed state of the credential file.
type fileSnapshot struct {
	loaded bool
	info   os.FileInfo // nil when the file was absent or could not be opened
	cred   *Credential
	err    error // a *CorruptError
}

// unchanged reports whether a stat result still describes the snapshot's file: the same
// file (device and inode), size, modification time and mode.
func (f fileSnapshot) unchanged(info os.FileInfo, statErr error) bool {
	if !f.loaded {
		return false
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return f.info == nil && f.err == nil && f.cred == nil
	}
	if statErr != nil || f.info == nil {
		return false
	}
	return os.SameFile(f.info, info) &&
		f.info.Size() == info.Size() &&
		f.info.ModTime().Equal(info.ModTime()) &&
		f.info.Mode() == info.Mode()
}

// refresh stats the credential file, parses it again when it changed, and re-arms the
// expiry timer. With wake set, a change also wakes the notifier.
func (s *Service) refresh(wake bool) fileSnapshot {
	// Lstat, as in Store.load, so that a symbolic link is compared with itself.
	info, statErr := os.Lstat(s.store.Path)
	s.mu.Lock()
	current := s.file
	s.mu.Unlock()
	if current.unchanged(info, statErr) {
		return current
	}

	cred, info, err := s.store.load()
	snap := fileSnapshot{loaded: true, info: info, cred: cred, err: err}
	if err != nil && current.err == nil {
		s.log.Warn("credential file is unusable", "error", err)
	}

	s.mu.Lock()
	s.file = snap
	s.armExpiryLocked()
	s.mu.Unlock()

	if wake && current.loaded {
		s.poke(false)
	}
	return snap
}

// stateFrom derives the State from a snapshot of the file, EnvKey and the clock.
func (s *Service) stateFrom(snap fileSnapshot) State {
	var state State
	var corrupt *CorruptError
	if errors.As(snap.err, &corrupt) {
		state.Problem = &Problem{
			Reason:  ReasonCorruptCredentials,
			Message: corrupt.Error(),
			Path:    corrupt.Path,
		}
	}

	switch {
	case s.cfg.EnvKey != "":
		state.SignedIn = true
		state.Source = SourceEnv
	case snap.cred != nil:
		state.Source = SourceFile
		state.Method = snap.cred.Method
		if snap.cred.ExpiresAt != nil {
			expiresAt := *snap.cred.ExpiresAt
			state.ExpiresAt = &expiresAt
		}
		state.Expired = snap.cred.expired(s.now())
		state.SignedIn = !state.Expired
	}
	return state
}
