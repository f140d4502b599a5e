package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Permissions of the credential folder and file.
//
// The folder is 0700 and the file 0600, so that only their owner can read the key or
// replace the file. When Load, Save or Delete finds a permission for the group or for
// other users on either, it removes that permission at once and logs a warning, because
// another user may have read the key. The key stays in use. The package never adds a
// permission, so a folder that its owner made read-only stays read-only, and Save then
// fails with a message that names the fix. Save writes a new file with mode 0600, so a
// file mode of the owner's own choice does not survive a write.
//
// A credential file that belongs to another user is unusable (a *CorruptError), because
// that user chose the key in it. Git and OpenSSH refuse files owned by others for the
// same reason. On Windows, modes and owners are not checked.
const (
	dirMode  = 0o700
	fileMode = 0o600

	// otherAccess is the permission bits of the group and of other users.
	otherAccess = 0o077
)

// errSymlink is the problem with a credential file that is a symbolic link. The link is
// not followed, so that the key is never read from or written to a file elsewhere.
var errSymlink = errors.New("the file is a symbolic link, and poe-sidecar keeps the key only in a regular file")

// tightenDir removes the group's and other users' permissions from the credential folder.
// A missing folder is not an error.
func (s *Store) tightenDir(dir string) error {
	if !checkModes {
		return nil
	}
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check mode of credential folder: %w", err)
	}
	mode := info.Mode().Perm()
	if mode&otherAccess == 0 {
		return nil
	}
	if err := os.Chmod(dir, mode&^otherAccess); err != nil {
		return fmt.Errorf("credential folder %q is open to other users (mode %03o) and its mode cannot be changed: %w", dir, mode, err)
	}
	s.logger().Warn("credential folder was open to other users; removed their permissions",
		"path", dir, "oldMode", fmt.Sprintf("%03o", mode), "newMode", fmt.Sprintf("%03o", mode&^otherAccess))
	return nil
}

// checkFile checks the owner of an open credential file and removes the group's and other
// users' permissions from it. It returns the file's information after any change.
func (s *Store) checkFile(f *os.File, info os.FileInfo) (os.FileInfo, error) {
	if !checkModes {
		return info, nil
	}
	if uid, ok := fileOwner(info); ok && uid != os.Geteuid() {
		return info, fmt.Errorf("the file belongs to another user (uid %d), who could have chosen the key in it", uid)
	}

	mode := info.Mode().Perm()
	if mode&otherAccess == 0 {
		return info, nil
	}
	if err := f.Chmod(mode &^ otherAccess); err != nil {
		s.logger().Warn("credential file is open to other users and its mode cannot be changed",
			"path", s.Path, "mode", fmt.Sprintf("%03o", mode), "error", err)
		return info, nil
	}
	s.logger().Warn("credential file was open to other users; removed their permissions. If another user could read it, delete the key at https://poe.com/api/keys and sign in again",
		"path", s.Path, "oldMode", fmt.Sprintf("%03o", mode), "newMode", fmt.Sprintf("%03o", mode&^otherAccess))
	if changed, err := f.Stat(); err == nil {
		info = changed
	}
	return info, nil
}

// ensureDir creates the credential folder and its parents with mode 0700 whatever the
// umask, and removes the group's and other users' permissions from a folder that exists.
func (s *Store) ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return folderError("create credential folder", dir, err)
	}
	return s.tightenDir(dir)
}

// folderError wraps an error from a change in the credential folder. When the folder is
// not writable, the message states that and the fix.
func folderError(action, dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%s: credential folder %q is not writable: %w; make it writable for your user, or set XDG_DATA_HOME to a writable folder",
			action, dir, err)
	}
	return fmt.Errorf("%s: %w", action, err)
}
