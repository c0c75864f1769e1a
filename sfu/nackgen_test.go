package sfu

import (
	"slices"
	"testing"
	"time"
)

func TestUpstreamNACK(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	var g upstreamNACK
	steps := []struct {
		name string
		seq  uint16
		now  int64
		ask  bool
		want []uint16
	}{
		{"first", 100, ms(0), true, nil},
		{"in order", 101, ms(20), true, nil},
		{"gap of two: NACK at once", 104, ms(80), true, []uint16{102, 103}},
		{"no retry before 100 ms", 105, ms(100), true, nil},
		{"103 recovered", 103, ms(120), true, nil},
		{"retry the one still missing", 106, ms(180), true, []uint16{102}},
		{"third and last try", 107, ms(290), true, []uint16{102}},
		{"given up", 108, ms(400), true, nil},
		{"gated: gaps not asked for", 111, ms(420), false, nil},
		{"gap too long (>320 ms)", 140, ms(430), true, nil},
		{"jump: start over", 1000, ms(440), true, nil},
		{"after the jump", 1002, ms(460), true, []uint16{1001}},
		{"wrap around", 65535, ms(480), true, nil},
	}
	for _, s := range steps {
		got := g.observe(s.seq, s.now, s.ask)
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: NACK %v, want %v", s.name, got, s.want)
		}
	}
	g = upstreamNACK{}
	g.observe(65534, 0, true)
	if got := g.observe(1, ms(40), true); !slices.Equal(got, []uint16{65535, 0}) {
		t.Errorf("gap across the wrap: NACK %v", got)
	}
}
