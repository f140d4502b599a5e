package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// procSample is a snapshot of one process, read from /proc/PID. Memory is in
// bytes.
type procSample struct {
	rss      int64         // VmRSS: resident set size now
	hwm      int64         // VmHWM: peak resident set size so far
	cpu      time.Duration // time on a CPU, all threads, from schedstat (nanosecond resolution)
	switches int64         // voluntary and involuntary context switches, all threads
	threads  int
}

// readProc samples process pid. CPU time and context switches are summed over
// /proc/PID/task/*, because /proc/PID/status counts the main thread only.
func readProc(pid int) (procSample, error) {
	s, err := readMemory(pid)
	if err != nil {
		return s, err
	}

	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return s, err
	}
	for _, task := range tasks {
		schedstat, err := os.ReadFile(filepath.Join(task, "schedstat"))
		if err != nil {
			continue // the thread ended between the glob and the read
		}
		fields := strings.Fields(string(schedstat))
		if len(fields) < 1 {
			return s, fmt.Errorf("unexpected %s/schedstat: %q", task, schedstat)
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return s, fmt.Errorf("parse %s/schedstat: %w", task, err)
		}
		s.cpu += time.Duration(ns)

		taskStatus, err := os.ReadFile(filepath.Join(task, "status"))
		if err != nil {
			continue
		}
		voluntary, _ := statusValue(taskStatus, "voluntary_ctxt_switches:")
		involuntary, _ := statusValue(taskStatus, "nonvoluntary_ctxt_switches:")
		s.switches += voluntary + involuntary
		s.threads++
	}
	return s, nil
}

// readMemory fills in only the memory fields of a procSample.
func readMemory(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	if s.rss, err = statusKiB(status, "VmRSS:"); err != nil {
		return s, err
	}
	if s.hwm, err = statusKiB(status, "VmHWM:"); err != nil {
		return s, err
	}
	return s, nil
}

// statusKiB returns a "kB" field of /proc/PID/status in bytes.
func statusKiB(status []byte, field string) (int64, error) {
	kib, err := statusValue(status, field)
	if err != nil {
		return 0, err
	}
	return kib << 10, nil
}

func statusValue(status []byte, field string) (int64, error) {
	lines := bufio.NewScanner(bytes.NewReader(status))
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), field)
		if !ok {
			continue
		}
		number := strings.Fields(rest)
		if len(number) == 0 {
			break
		}
		return strconv.ParseInt(number[0], 10, 64)
	}
	return 0, fmt.Errorf("field %q not found in /proc status", field)
}

// rssPeakWatcher samples a process's VmRSS every interval until stop is
// called, because VmHWM alone cannot tell the peak during one phase from the
// peak of the process's whole life.
type rssPeakWatcher struct {
	peak   atomic.Int64
	stopCh chan struct{}
	done   chan struct{}
}

func watchRSS(pid int, interval time.Duration) *rssPeakWatcher {
	w := &rssPeakWatcher{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			if s, err := readMemory(pid); err == nil && s.rss > w.peak.Load() {
				w.peak.Store(s.rss)
			}
			select {
			case <-w.stopCh:
				return
			case <-ticker.C:
			}
		}
	}()
	return w
}

// peakSoFar returns the largest VmRSS sampled until now, in bytes.
func (w *rssPeakWatcher) peakSoFar() int64 { return w.peak.Load() }

// stop ends the sampling and returns the largest VmRSS seen, in bytes.
func (w *rssPeakWatcher) stop() int64 {
	close(w.stopCh)
	<-w.done
	return w.peak.Load()
}
