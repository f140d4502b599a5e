package rpc

import "os"

// watchParent calls onExit once when process pid exits, by waiting on a
// handle to it.
func watchParent(pid int, onExit func()) (stop func(), err error) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, err
	}
	go func() {
		if _, err := p.Wait(); err == nil {
			onExit()
		}
	}()
	return func() { _ = p.Release() }, nil
}
