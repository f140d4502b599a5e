package main

import (
	"slices"
	"time"
)

// summary is the median and range of repeated measurements of one figure.
type summary struct {
	median, min, max float64
	n                int
}

func summarize(values []float64) summary {
	if len(values) == 0 {
		return summary{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return summary{median: median(sorted), min: sorted[0], max: sorted[len(sorted)-1], n: len(sorted)}
}

// median of sorted values; the mean of the two middle ones for an even count.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile returns the p-th percentile (0 < p <= 100) of durations by the
// nearest-rank method. It sorts durations in place.
func percentile(durations []time.Duration, p float64) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	slices.Sort(durations)
	rank := int(float64(len(durations))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(durations)-1))
	return durations[rank]
}

// ratios divides ours by ref element by element: the runs were made in pairs,
// next to each other in time, so each pair saw the same machine load.
func ratios(ours, ref []float64) []float64 {
	n := min(len(ours), len(ref))
	out := make([]float64, 0, n)
	for i := range n {
		if ref[i] != 0 {
			out = append(out, ours[i]/ref[i])
		}
	}
	return out
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }
