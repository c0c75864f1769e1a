package sfu

import (
	"testing"
	"time"
)

// A sample lands in the first bucket whose bound it does not exceed, past
// every bound in the last one; the sum adds them all.
func TestFanoutHistogram(t *testing.T) {
	us := time.Microsecond
	last := len(FanoutBounds)
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		want    map[int]uint64 // bucket → count
	}{
		{"empty", nil, map[int]uint64{}},
		{"below the first bound", []time.Duration{30 * us}, map[int]uint64{0: 1}},
		{"on a bound", []time.Duration{time.Millisecond}, map[int]uint64{3: 1}},
		{"just above a bound", []time.Duration{time.Millisecond + 1}, map[int]uint64{4: 1}},
		{"several", []time.Duration{50 * us, 60 * us, 30 * time.Millisecond}, map[int]uint64{0: 2, 8: 1}},
		{"past every bound", []time.Duration{5 * time.Second}, map[int]uint64{last: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h fanoutHist
			var sum time.Duration
			for _, d := range tc.samples {
				h.observe(d)
				sum += d
			}
			f := h.snapshot()
			for i, c := range f.Counts {
				if c != tc.want[i] {
					t.Errorf("bucket %d (≤ %v): %d samples, want %d (counts %v)", i, bound(i), c, tc.want[i], f.Counts)
				}
			}
			if f.Total() != uint64(len(tc.samples)) || f.Sum != sum {
				t.Errorf("total %d sum %v, want %d %v", f.Total(), f.Sum, len(tc.samples), sum)
			}
		})
	}
}

func bound(i int) any {
	if i < len(FanoutBounds) {
		return FanoutBounds[i]
	}
	return "∞"
}
