package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// relayCase is one way of driving chat streams through a sidecar.
type relayCase struct {
	streams int           // concurrent chat/send requests
	chunks  int           // delta chunks per stream
	every   time.Duration // pause between one stream's chunks; 0 for a burst
}

// spread gives stream k of n the phase k*every/n, so paced streams take
// turns as independent editors' streams would, instead of all writing at
// the same instant.
func (c relayCase) plan(k int) streamPlan {
	p := streamPlan{chunks: c.chunks, every: c.every}
	if c.every > 0 {
		p.phase = time.Duration(k) * c.every / time.Duration(c.streams)
	}
	return p
}

// relayRound is the outcome of one run of a relayCase on one sidecar.
type relayRound struct {
	chunksPerSecond float64
	p50, p99        time.Duration
	cpuPerChunk     time.Duration // the sidecar's CPU time over the round, per chunk
}

var streamCounter atomic.Int64

// runRelay runs c once on s and checks every stream for loss and order.
func runRelay(s *session, c relayCase) (relayRound, error) {
	before, err := readProc(s.pid())
	if err != nil {
		return relayRound{}, err
	}
	records := make([]*streamRecord, c.streams)
	errs := make([]error, c.streams)
	var wg sync.WaitGroup
	for k := range c.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("s%d", streamCounter.Add(1))
			timeout := 30*time.Second + time.Duration(c.chunks)*c.every
			records[k], errs[k] = s.chat(id, c.plan(k), true, timeout)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return relayRound{}, err
		}
	}
	after, err := readProc(s.pid())
	if err != nil {
		return relayRound{}, err
	}

	var first, last time.Duration
	var all []time.Duration
	total := 0
	for k, rec := range records {
		if k == 0 || rec.firstSent < first {
			first = rec.firstSent
		}
		last = max(last, rec.lastRecv)
		all = append(all, rec.latencies...)
		total += rec.next
	}
	round := relayRound{p50: percentile(all, 50), p99: percentile(all, 99)}
	if total > 0 {
		round.cpuPerChunk = (after.cpu - before.cpu) / time.Duration(total)
	}
	if last > first {
		round.chunksPerSecond = float64(total) / (last - first).Seconds()
	}
	return round, nil
}

// relayRuns holds the per-round figures of one case on one target.
type relayRuns struct {
	chunksPerSecond []float64
	p50Ms, p99Ms    []float64
	cpuMicros       []float64 // CPU time per chunk, µs
}

// measureRelay runs each case rounds times on one long-lived session per
// target, alternating which target goes first, after a warm-up stream that
// lets the connection pools and buffers reach their working size.
func measureRelay(targets []target, cases []relayCase, rounds int, clock func() time.Duration) ([]map[string]*relayRuns, error) {
	sessions := make([]*session, len(targets))
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.stop()
			}
		}
	}()
	for i, t := range targets {
		s, _, err := startInitialized(t, clock)
		if err != nil {
			return nil, err
		}
		sessions[i] = s
		for _, warm := range []relayCase{{streams: 1, chunks: 500}, {streams: 20, chunks: 50}} {
			if _, err := runRelay(s, warm); err != nil {
				return nil, fmt.Errorf("%s: warm-up: %w", t.name, err)
			}
		}
	}

	results := make([]map[string]*relayRuns, len(cases))
	for ci, c := range cases {
		results[ci] = make(map[string]*relayRuns)
		for _, t := range targets {
			results[ci][t.name] = &relayRuns{}
		}
		for round := range rounds {
			for i := range targets {
				j := (i + round) % len(targets)
				r, err := runRelay(sessions[j], c)
				if err != nil {
					return nil, fmt.Errorf("%s: %d streams of %d chunks: %w", targets[j].name, c.streams, c.chunks, err)
				}
				runs := results[ci][targets[j].name]
				runs.chunksPerSecond = append(runs.chunksPerSecond, r.chunksPerSecond)
				runs.p50Ms = append(runs.p50Ms, millis(r.p50))
				runs.p99Ms = append(runs.p99Ms, millis(r.p99))
				runs.cpuMicros = append(runs.cpuMicros, float64(r.cpuPerChunk)/float64(time.Microsecond))
			}
		}
	}
	return results, nil
}

// longStream is the memory use of one sidecar during one long stream.
type longStream struct {
	textBytes    int64
	rssBeforeMiB float64
	peakDuring   float64 // largest VmRSS sampled until the done notification, MiB
	peakOverall  float64 // VmHWM after the response: the done notification and the final text included, MiB
	seconds      float64
}

// measureLongStream streams about textBytes of delta text through a fresh
// process of t, in chunks of padding bytes plus their stamp.
func measureLongStream(t target, textBytes int64, clock func() time.Duration) (longStream, error) {
	const pad = 1000
	s, _, err := startInitialized(t, clock)
	if err != nil {
		return longStream{}, err
	}
	defer s.stop()
	before, err := readMemory(s.pid())
	if err != nil {
		return longStream{}, err
	}

	plan := streamPlan{chunks: int(textBytes / pad), pad: pad}
	watcher := watchRSS(s.pid(), 10*time.Millisecond)
	rec := newStreamRecord(plan.chunks, false)
	s.mu.Lock()
	s.streams["long"] = rec
	s.mu.Unlock()

	startedAt := clock()
	peakDuring := make(chan int64, 1)
	go func() {
		<-rec.done
		peakDuring <- watcher.peakSoFar()
	}()
	params := map[string]any{
		"streamId": "long",
		"model":    "bench",
		"messages": []map[string]string{{"role": "user", "content": plan.encode()}},
	}
	_, err = s.call("chat/send", params, 10*time.Minute)
	watcher.stop()
	if err != nil {
		return longStream{}, fmt.Errorf("%s: long stream: %w", t.name, err)
	}
	during := <-peakDuring
	if rec.failure != nil {
		return longStream{}, fmt.Errorf("%s: long stream: %w", t.name, rec.failure)
	}
	after, err := readMemory(s.pid())
	if err != nil {
		return longStream{}, err
	}
	return longStream{
		textBytes:    rec.textBytes,
		rssBeforeMiB: mib(before.rss),
		peakDuring:   mib(during),
		peakOverall:  mib(after.hwm),
		seconds:      (clock() - startedAt).Seconds(),
	}, nil
}
