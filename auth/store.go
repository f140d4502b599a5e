package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/adrg/xdg"
	"github.com/gofrs/flock"
)

const (
	// maxFileSize is the largest credential file Load reads. A real one is about 200 bytes.
	maxFileSize = 64 << 10

	// lockTimeout is how long Save and Delete wait for another process to release the lock.
	lockTimeout = 10 * time.Second
	lockRetry   = 5 * time.Millisecond
)

// Store reads and writes the credential file.
//
// Save and Delete hold an advisory lock on Path + ".lock" while they work. Save replaces
// the file atomically (temporary file, fsync, rename, fsync of the folder). Readers
// therefore never see a partial file, and several processes can share one path.
//
// The file must be a regular file that the current user owns. A symbolic link is
// reported as unusable and never followed. Permissions for other users are removed from
// the file and its folder when found; fileperm.go has the rules.
type Store struct {
	Path   string       // credential file, usually the result of DefaultPath
	Logger *slog.Logger // nil: discard
}

// NewStore returns a Store for the credential file at path.
func NewStore(path string) *Store {
	return &Store{Path: path}
}

// DefaultPath returns $XDG_DATA_HOME/poe-sidecar/auth.json without creating the folder.
func DefaultPath() (string, error) {
	if xdg.DataHome == "" {
		return "", errors.New("no XDG data directory is known; set XDG_DATA_HOME or HOME")
	}
	return filepath.Join(xdg.DataHome, "poe-sidecar", "auth.json"), nil
}

// Credential is the stored API key.
type Credential struct {
	APIKey    string
	Method    string     // MethodOAuth or MethodAPIKey
	ExpiresAt *time.Time // nil: never expires
	CreatedAt time.Time
}

// expired reports whether the key has expired at now.
func (c *Credential) expired(now time.Time) bool {
	return c.ExpiresAt != nil && !now.Before(*c.ExpiresAt)
}

// CorruptError is a credential file that cannot be read or does not hold a valid
// credential. Its message names the problem but never shows the file's contents.
type CorruptError struct {
	Path      string
	AsidePath string // new path after Save or Delete moved the file, "" while it is at Path
	Err       error
}

func (e *CorruptError) Error() string {
	if e.AsidePath != "" {
		return fmt.Sprintf("credential file %q was unusable and was moved to %q: %v", e.Path, e.AsidePath, e.Err)
	}
	return fmt.Sprintf("credential file %q is unusable: %v; sign in to Poe again to replace it, and the old file will be kept next to it",
		e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Load reads the credential file. It returns (nil, nil) when there is no file and a
// *CorruptError when the file cannot be read or is not a valid credential.
func (s *Store) Load() (*Credential, error) {
	cred, _, err := s.load()
	return cred, err
}

// load reads the credential file and also returns the file's information, taken from the
// open file so that it describes exactly the bytes that were read. When the file is
// unusable, the information comes from Lstat if there is any, so that callers can tell
// whether the file changed since.
func (s *Store) load() (*Credential, os.FileInfo, error) {
	if err := s.tightenDir(filepath.Dir(s.Path)); err != nil {
		s.logger().Warn("cannot make the credential folder private", "error", err)
	}

	// Lstat reports a symbolic link instead of following it. Only regular files are opened,
	// because opening a FIFO waits for a writer.
	info, err := os.Lstat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &CorruptError{Path: s.Path, Err: err}
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil, info, &CorruptError{Path: s.Path, Err: errSymlink}
	}
	if !info.Mode().IsRegular() {
		return nil, info, &CorruptError{Path: s.Path, Err: errors.New("not a regular file")}
	}

	f, err := os.OpenFile(s.Path, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, info, &CorruptError{Path: s.Path, Err: err}
	}
	defer f.Close()

	if info, err = f.Stat(); err != nil {
		return nil, nil, &CorruptError{Path: s.Path, Err: err}
	}
	if !info.Mode().IsRegular() {
		return nil, info, &CorruptError{Path: s.Path, Err: errors.New("not a regular file")}
	}
	if info, err = s.checkFile(f, info); err != nil {
		return nil, info, &CorruptError{Path: s.Path, Err: err}
	}

	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, info, &CorruptError{Path: s.Path, Err: err}
	}
	if len(data) > maxFileSize {
		return nil, info, &CorruptError{Path: s.Path, Err: fmt.Errorf("larger than %d bytes", maxFileSize)}
	}

	cred, err := decodeCredential(data)
	if err != nil {
		return nil, info, &CorruptError{Path: s.Path, Err: err}
	}
	return cred, info, nil
}

// Save writes c as the credential file. A corrupt file already at Path is first moved
// aside to Path + ".corrupt-<UTC time>", and temporary files left by a killed writer are
// removed.
func (s *Store) Save(c Credential) error {
	if err := validateCredential(c); err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	data, err := encodeCredential(c)
	if err != nil {
		return fmt.Errorf("save credential: %w", err)
	}

	return s.withLock(func() error {
		s.removeStaleTemps()
		if _, err := s.moveAsideIfCorrupt(); err != nil {
			return err
		}
		if err := s.writeAtomic(data); err != nil {
			return err
		}
		s.logger().Info("credential file written", "path", s.Path, "method", c.Method)
		return nil
	})
}

// Delete removes the credential file. A missing file is not an error, and a corrupt file
// is moved aside instead of being deleted.
func (s *Store) Delete() error {
	if _, err := os.Stat(filepath.Dir(s.Path)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	return s.withLock(func() error {
		s.removeStaleTemps()
		moved, err := s.moveAsideIfCorrupt()
		if err != nil || moved {
			return err
		}

		err = os.Remove(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return folderError("delete credential file", filepath.Dir(s.Path), err)
		}
		if err := syncDir(filepath.Dir(s.Path)); err != nil {
			return err
		}
		s.logger().Info("credential file deleted", "path", s.Path)
		return nil
	})
}

// withLock creates the folder if needed and runs fn while holding the advisory lock.
func (s *Store) withLock(fn func() error) error {
	dir := filepath.Dir(s.Path)
	if err := s.ensureDir(dir); err != nil {
		return err
	}

	lockPath := s.Path + ".lock"
	lock := flock.New(lockPath, flock.SetPermissions(fileMode), flock.SetFlag(os.O_CREATE|os.O_RDWR|noFollow))
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout)
	defer cancel()
	locked, err := lock.TryLockContext(ctx, lockRetry)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return folderError(fmt.Sprintf("lock credential file %q", lockPath), dir, err)
	}
	if !locked {
		return fmt.Errorf("lock credential file %q: another process held it for over %v; retry, or remove the lock file if no poe-sidecar is running",
			lockPath, lockTimeout)
	}
	defer func() {
		if err := lock.Unlock(); err != nil {
			s.logger().Warn("cannot release credential lock", "path", lockPath, "error", err)
		}
	}()

	return fn()
}

func (s *Store) logger() *slog.Logger {
	if s.Logger == nil {
		return discardLogger
	}
	return s.Logger
}

var discardLogger = slog.New(slog.DiscardHandler)

// tempPrefix starts the name of every temporary file that Save writes.
func (s *Store) tempPrefix() string {
	return filepath.Base(s.Path) + ".tmp-"
}

// removeStaleTemps removes temporary files left by a writer that was killed. The caller
// holds the lock, so no live writer owns one of them.
func (s *Store) removeStaleTemps() {
	dir := filepath.Dir(s.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		s.logger().Warn("cannot list credential folder", "path", dir, "error", err)
		return
	}
	for _, entry := range entries {
		if !strings.HasPrefix(entry.Name(), s.tempPrefix()) {
			continue
		}
		path := filepath.Join(dir, entry.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logger().Warn("cannot remove stale temporary credential file", "path", path, "error", err)
			continue
		}
		s.logger().Info("removed stale temporary credential file", "path", path)
	}
}

// moveAsideIfCorrupt renames an unusable credential file to a free
// Path + ".corrupt-<UTC time>" name and reports whether it did.
func (s *Store) moveAsideIfCorrupt() (bool, error) {
	_, _, err := s.load()
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) {
		return false, nil
	}

	stamp := time.Now().UTC().Format("20060102T150405Z")
	for i := 0; i < 100; i++ {
		aside := s.Path + ".corrupt-" + stamp
		if i > 0 {
			aside = fmt.Sprintf("%s-%d", aside, i)
		}
		if _, err := os.Lstat(aside); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(s.Path, aside); err != nil {
			return false, folderError("move unusable credential file aside", filepath.Dir(s.Path), err)
		}
		corrupt.AsidePath = aside
		s.logger().Warn("moved unusable credential file aside", "path", s.Path, "aside", aside, "error", corrupt.Err)
		return true, syncDir(filepath.Dir(s.Path))
	}
	return false, fmt.Errorf("move unusable credential file %q aside: 100 backup names are taken; remove old %q files",
		s.Path, filepath.Base(s.Path)+".corrupt-*")
}

// writeAtomic replaces the credential file with data: temporary file in the same folder,
// write, fsync, rename over Path, fsync of the folder.
func (s *Store) writeAtomic(data []byte) (err error) {
	dir := filepath.Dir(s.Path)
	f, err := os.CreateTemp(dir, s.tempPrefix()+"*")
	if err != nil {
		return folderError("create temporary credential file", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	// CreateTemp already uses 0600, but chmod states the mode whatever the umask.
	if err := f.Chmod(fileMode); err != nil {
		return fmt.Errorf("set mode of temporary credential file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write temporary credential file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flush temporary credential file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary credential file: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return folderError("replace credential file", dir, err)
	}
	return syncDir(dir)
}

// syncDir flushes a folder, so that a rename or removal in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open credential folder to flush it: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush credential folder: %w", err)
	}
	return nil
}
