//go:build !unix

package auth

import "os"

// checkModes reports whether the system has Unix modes and owners to check.
const checkModes = false

// noFollow makes an open fail on a symbolic link; Windows has no such flag.
const noFollow = 0

// openFlags are added when Load opens the credential file.
const openFlags = 0

// fileOwner returns the user id that owns the file; it is unknown here.
func fileOwner(os.FileInfo) (int, bool) {
	return 0, false
}
