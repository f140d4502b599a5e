package main

import (
	"fmt"
	"os"
	"time"
)

// initializeParams are LSP InitializeParams as an editor sends them. The
// target may add initializationOptions of its own.
func initializeParams(t target) map[string]any {
	params := map[string]any{
		"processId":    os.Getpid(),
		"clientInfo":   map[string]string{"name": "sidecarbench", "version": "1"},
		"rootUri":      nil,
		"capabilities": map[string]any{},
	}
	if t.initOptions != nil {
		params["initializationOptions"] = t.initOptions
	}
	return params
}

// startInitialized spawns t, sends initialize at once, and returns when the
// response has arrived, with the time from spawn to response.
func startInitialized(t target, clock func() time.Duration) (*session, time.Duration, error) {
	s, started, err := start(t, clock)
	if err != nil {
		return nil, 0, err
	}
	r, err := s.call("initialize", initializeParams(t), t.initTimeout())
	if err != nil {
		s.kill()
		return nil, 0, fmt.Errorf("%s: %w", t.name, err)
	}
	if err := s.notify("initialized", map[string]any{}); err != nil {
		s.kill()
		return nil, 0, fmt.Errorf("%s: send initialized: %w", t.name, err)
	}
	return s, r.at - started, nil
}

// startupRuns holds, per run, the time from spawn to the initialize response
// and VmRSS right after it.
type startupRuns struct {
	initMillis []float64
	rssMiB     []float64
}

// measureStartup spawns each target runs times, in turns, and stops each
// process before the next starts, so no two compete for the CPU. The order
// of the targets alternates from run to run. One unrecorded start of each
// target comes first, so that every recorded start finds the binary in the
// page cache.
func measureStartup(targets []target, runs int, clock func() time.Duration) (map[string]*startupRuns, error) {
	results := make(map[string]*startupRuns)
	for _, t := range targets {
		results[t.name] = &startupRuns{}
		s, _, err := startInitialized(t, clock)
		if err != nil {
			return nil, err
		}
		s.stop()
	}

	for run := range runs {
		for i := range targets {
			t := targets[(i+run)%len(targets)]
			if t.maxRuns > 0 && run >= t.maxRuns {
				continue
			}
			s, took, err := startInitialized(t, clock)
			if err != nil {
				return nil, err
			}
			mem, err := readMemory(s.pid())
			s.stop()
			if err != nil {
				return nil, err
			}
			results[t.name].initMillis = append(results[t.name].initMillis, millis(took))
			results[t.name].rssMiB = append(results[t.name].rssMiB, mib(mem.rss))
		}
	}
	return results, nil
}

// idleRuns holds, per process, what it used during the idle window.
type idleRuns struct {
	rssMiB   []float64
	cpuMs    []float64
	switches []float64
	threads  []float64
}

// measureIdle starts copies processes of each target, initializes them, and
// then leaves them all alone for idle at the same time. An idle process
// should not run at all, so sharing the window costs nothing and keeps the
// run short. CPU time comes from schedstat, which counts nanoseconds, and
// context switches count every wake-up of every thread.
func measureIdle(targets []target, copies int, idle time.Duration, clock func() time.Duration) (map[string]*idleRuns, error) {
	type running struct {
		t      target
		s      *session
		before procSample
	}
	var all []running
	defer func() {
		for _, r := range all {
			r.s.stop()
		}
	}()

	for range copies {
		for _, t := range targets {
			s, _, err := startInitialized(t, clock)
			if err != nil {
				return nil, err
			}
			all = append(all, running{t: t, s: s})
		}
	}
	// Let each process finish what initialize started (the peer goes on
	// loading after its response) before the window opens.
	time.Sleep(idleSettle)
	for i := range all {
		before, err := readProc(all[i].s.pid())
		if err != nil {
			return nil, err
		}
		all[i].before = before
	}

	time.Sleep(idle)

	results := make(map[string]*idleRuns)
	for _, r := range all {
		after, err := readProc(r.s.pid())
		if err != nil {
			return nil, err
		}
		res := results[r.t.name]
		if res == nil {
			res = &idleRuns{}
			results[r.t.name] = res
		}
		res.rssMiB = append(res.rssMiB, mib(after.rss))
		res.cpuMs = append(res.cpuMs, millis(after.cpu-r.before.cpu))
		res.switches = append(res.switches, float64(after.switches-r.before.switches))
		res.threads = append(res.threads, float64(after.threads))
	}
	return results, nil
}

// idleSettle is the pause between the initialize response and the start of
// the idle window.
const idleSettle = 500 * time.Millisecond
