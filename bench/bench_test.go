package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	durations := func() []time.Duration {
		var d []time.Duration
		for i := 100; i >= 1; i-- {
			d = append(d, time.Duration(i))
		}
		return d
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}}
	for _, tc := range cases {
		if got := percentile(durations(), tc.p); got != tc.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	got := summarize([]float64{4, 1, 3, 2})
	want := summary{median: 2.5, min: 1, max: 4, n: 4}
	if got != want {
		t.Fatalf("summarize = %+v, want %+v", got, want)
	}
}

func TestStreamPlanRoundTrip(t *testing.T) {
	want := streamPlan{chunks: 300, every: 10 * time.Millisecond, phase: 1500 * time.Microsecond, pad: 7}
	got, err := parsePlan(want.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("parsePlan(encode()) = %+v, want %+v", got, want)
	}
	if _, err := parsePlan("chunks=x&every=1ms&phase=0s&pad=0"); err == nil {
		t.Fatal("parsePlan accepted chunks=x")
	}
}

func TestStreamRecordChecks(t *testing.T) {
	delta := func(i int) string { return strconv.Itoa(i) + " 1000;pad" }
	cases := []struct {
		name    string
		events  []streamEvent
		wantErr string
	}{
		{"in order", []streamEvent{{Seq: 0, Delta: delta(0)}, {Seq: 1, Delta: delta(1)}, {Seq: 2, Done: true}}, ""},
		{"lost chunk", []streamEvent{{Seq: 0, Delta: delta(0)}, {Seq: 1, Delta: delta(2)}, {Seq: 2, Done: true}}, "lost, merged or reordered"},
		{"seq gap", []streamEvent{{Seq: 0, Delta: delta(0)}, {Seq: 2, Delta: delta(1)}, {Seq: 3, Done: true}}, "got seq 2, want 1"},
		{"done early", []streamEvent{{Seq: 0, Delta: delta(0)}, {Seq: 1, Done: true}}, "after 1 deltas, want 2"},
		{"no stamp", []streamEvent{{Seq: 0, Delta: "hello"}, {Seq: 1, Done: true}}, "chunk stamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newStreamRecord(2, true)
			for _, e := range tc.events {
				rec.receive(e, 3000)
			}

			select {
			case <-rec.done:
			default:
				t.Fatal("done was not closed by the done notification")
			}
			switch {
			case tc.wantErr == "" && rec.failure != nil:
				t.Fatalf("failure = %v, want none", rec.failure)
			case tc.wantErr != "" && (rec.failure == nil || !strings.Contains(rec.failure.Error(), tc.wantErr)):
				t.Fatalf("failure = %v, want one containing %q", rec.failure, tc.wantErr)
			}
			if tc.wantErr == "" && (len(rec.latencies) != 2 || rec.latencies[0] != 2000) {
				t.Fatalf("latencies = %v, want two of 2µs", rec.latencies)
			}
		})
	}
}

func TestStatusValue(t *testing.T) {
	status := []byte("Name:\tbare\nVmHWM:\t    7400 kB\nVmRSS:\t    7300 kB\n")
	got, err := statusKiB(status, "VmRSS:")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(7300 << 10); got != want {
		t.Fatalf("VmRSS = %d bytes, want %d", got, want)
	}
	if _, err := statusKiB(status, "VmSwap:"); err == nil {
		t.Fatal("statusKiB found a missing field")
	}
}
