package cluster

import (
	"testing"
	"time"
)

func TestHLC(t *testing.T) {
	wall := time.Unix(1_000_000, 0)
	c := hlc{now: func() time.Time { return wall }}
	base := uint64(wall.UnixNano())
	cases := []struct {
		name     string
		observed uint64 // 0: none
		want     uint64
	}{
		{"follows the wall clock", 0, base},
		{"never repeats", 0, base + 1},
		{"moves past a peer ahead by a minute", base + uint64(time.Minute), base + uint64(time.Minute) + 1},
		{"ignores a value behind", base, base + uint64(time.Minute) + 2},
		{"ignores a peer years ahead", base + uint64(24*365*time.Hour), base + uint64(time.Minute) + 3},
	}
	for _, tc := range cases {
		if tc.observed != 0 {
			c.observe(tc.observed)
		}
		if got := c.next(); got != tc.want {
			t.Errorf("%s: next = %d, want %d", tc.name, got-base, tc.want-base)
		}
	}
}
