//go:build unix

package auth

import (
	"os"
	"syscall"
)

// checkModes reports whether the system has Unix modes and owners to check.
const checkModes = true

// noFollow makes an open fail on a symbolic link.
const noFollow = syscall.O_NOFOLLOW

// openFlags are added when Load opens the credential file: noFollow fails on a symbolic
// link that replaced the file after Lstat, and O_NONBLOCK keeps the open from waiting
// for a writer when the file was replaced by a FIFO.
const openFlags = noFollow | syscall.O_NONBLOCK

// fileOwner returns the user id that owns the file.
func fileOwner(info os.FileInfo) (int, bool) {
	stat, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(stat.Uid), true
}
