//go:build unix && !linux

package rpc

import (
	"errors"

	"golang.org/x/sys/unix"
)

// watchParent calls onExit once when process pid exits, checking every
// parentPollInterval.
func watchParent(pid int, onExit func()) (stop func(), err error) {
	if !processAlive(pid) {
		return nil, unix.ESRCH
	}
	return pollParent(pid, processAlive, parentPollInterval, onExit), nil
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
