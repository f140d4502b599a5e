package rpc

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// watchParent calls onExit once when process pid exits. On Linux 5.10 and
// newer it waits on a pidfd through Go's poller, so an idle sidecar makes no
// wake-ups; elsewhere it checks every parentPollInterval.
func watchParent(pid int, onExit func()) (stop func(), err error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, err
		}
		return pollParent(pid, processAlive, parentPollInterval, onExit), nil
	}

	// A non-blocking pidfd is registered with the runtime's poller, and it
	// turns readable when the process exits.
	f := os.NewFile(uintptr(fd), "pidfd")
	conn, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return pollParent(pid, processAlive, parentPollInterval, onExit), nil
	}
	go func() {
		ready := false
		err := conn.Read(func(uintptr) bool {
			if ready {
				return true
			}
			ready = true
			return false // wait for readability, then be called again
		})
		if err == nil {
			onExit()
		}
	}()
	return func() { f.Close() }, nil
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
