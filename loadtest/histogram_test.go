package loadtest

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	cases := []struct {
		name          string
		values        []time.Duration
		p50, p99, max float64
	}{
		{"empty", nil, 0, 0, 0},
		{"one value", []time.Duration{1230 * time.Microsecond}, 1.23, 1.23, 1.23},
		{"uniform 1..100 ms", func() (v []time.Duration) {
			for i := 1; i <= 100; i++ {
				v = append(v, time.Duration(i)*time.Millisecond)
			}
			return
		}(), 50.05, 99.05, 100},
		{"beyond the range", []time.Duration{5 * time.Second}, 2000.05, 2000.05, 5000},
		{"negative clamps to zero", []time.Duration{-time.Millisecond}, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for _, v := range tc.values {
				h.record(v)
			}
			if got := h.quantile(0.5); got != tc.p50 {
				t.Errorf("p50 = %v, want %v", got, tc.p50)
			}
			if got := h.quantile(0.99); got != tc.p99 {
				t.Errorf("p99 = %v, want %v", got, tc.p99)
			}
			if got := h.maxMS(); got != tc.max {
				t.Errorf("max = %v, want %v", got, tc.max)
			}
		})
	}
}
