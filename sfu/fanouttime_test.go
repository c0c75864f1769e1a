package sfu

import (
	"testing"
	"time"
)

func TestFanoutHistogram(t *testing.T) {
	us := time.Microsecond
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one", []time.Duration{30 * us}, 0.5, 100 * us},
		{"on a bound", []time.Duration{time.Millisecond}, 0.5, time.Millisecond},
		{"just above a bound", []time.Duration{time.Millisecond + 1}, 0.5, 2 * time.Millisecond},
		{"p99 of 99 fast, 1 slow", append(repeat(99, 50*us), 30*time.Millisecond), 0.99, 100 * us},
		{"p99 of 98 fast, 2 slow", append(repeat(98, 50*us), 30*time.Millisecond, 30*time.Millisecond), 0.99, 50 * time.Millisecond},
		{"p100", append(repeat(10, 50*us), 3*time.Millisecond), 1, 5 * time.Millisecond},
		{"past every bound", []time.Duration{5 * time.Second}, 0.5, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h fanoutHist
			var sum time.Duration
			for _, d := range tc.samples {
				h.observe(d)
				sum += d
			}
			f := h.snapshot()
			if got := f.Quantile(tc.q); got != tc.want {
				t.Errorf("Quantile(%v) = %v, want %v (counts %v)", tc.q, got, tc.want, f.Counts)
			}
			if f.Total() != uint64(len(tc.samples)) || f.Sum != sum {
				t.Errorf("total %d sum %v, want %d %v", f.Total(), f.Sum, len(tc.samples), sum)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
