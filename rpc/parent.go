package rpc

import (
	"sync"
	"time"
)

// parentPollInterval is how often the fallback watcher checks that the
// editor process is alive, where the system cannot signal its exit.
const parentPollInterval = 2 * time.Second

// pollParent calls onExit once alive(pid) turns false, checking every
// interval, until stop is called.
func pollParent(pid int, alive func(int) bool, interval time.Duration, onExit func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if !alive(pid) {
					onExit()
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}
