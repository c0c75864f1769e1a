package rtc

import (
	"testing"
	"time"
)

type firing struct {
	w     *wheel
	fired []int64
	again int64 // if > 0, reschedule this long after each firing
}

func (f *firing) fire(now int64) {
	f.fired = append(f.fired, now)
	if f.again > 0 {
		f.w.schedule(f.timerOf(), now+f.again)
	}
}

// timerOf is set by newFiring (the timer embeds its owner).
func (f *firing) timerOf() *timer { return timers[f] }

var timers = map[*firing]*timer{}

func newFiring(w *wheel) (*firing, *timer) {
	f := &firing{w: w}
	t := &timer{owner: f}
	timers[f] = t
	return f, t
}

func TestWheel(t *testing.T) {
	ms := int64(time.Millisecond)
	tests := []struct {
		name  string
		at    int64   // scheduled for
		steps []int64 // advance to these times
		want  int     // firings
		first int64   // the time of the first firing (the step it fired at)
	}{
		{"on time", 100 * ms, []int64{50 * ms, 100 * ms, 150 * ms}, 1, 100 * ms},
		{"rounded up to the tick", 101 * ms, []int64{100 * ms, 150 * ms}, 1, 150 * ms},
		{"in the past fires at the next tick", -time.Second.Nanoseconds(), []int64{50 * ms}, 1, 50 * ms},
		{"more than one turn away", 70 * time.Second.Nanoseconds(), []int64{51200 * ms, 60000 * ms, 70000 * ms}, 1, 70000 * ms},
		{"not before its turn", 70 * time.Second.Nanoseconds(), []int64{10 * time.Second.Nanoseconds(), 51200*ms + 18800*ms - 50*ms}, 0, 0},
		{"a late advance catches up", 200 * ms, []int64{10 * time.Second.Nanoseconds()}, 1, 10 * time.Second.Nanoseconds()},
		{"after more than a turn of no advance", 200 * ms, []int64{200 * time.Second.Nanoseconds()}, 1, 200 * time.Second.Nanoseconds()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWheel(func() int64 { return 0 })
			f, tm := newFiring(w)
			w.schedule(tm, tc.at)
			for _, s := range tc.steps {
				w.advance(s)
			}
			if len(f.fired) != tc.want {
				t.Fatalf("fired %d times at %v, want %d", len(f.fired), f.fired, tc.want)
			}
			if tc.want > 0 && f.fired[0] != tc.first {
				t.Fatalf("fired at %d, want %d", f.fired[0], tc.first)
			}
			if w.pending() != 1-tc.want {
				t.Fatalf("%d pending", w.pending())
			}
		})
	}
}

func TestWheelRescheduleCancelAndMany(t *testing.T) {
	ms := int64(time.Millisecond)
	w := newWheel(func() int64 { return 0 })
	f, tm := newFiring(w)
	w.schedule(tm, 100*ms)
	w.schedule(tm, 300*ms) // moved: fires once, at 300 ms
	for now := int64(0); now <= 500*ms; now += 50 * ms {
		w.advance(now)
	}
	if len(f.fired) != 1 || f.fired[0] != 300*ms {
		t.Fatalf("fired at %v", f.fired)
	}
	g, tg := newFiring(w)
	w.schedule(tg, 600*ms)
	w.cancel(tg)
	w.cancel(tg) // twice is fine
	w.advance(time.Second.Nanoseconds())
	if len(g.fired) != 0 || w.pending() != 0 {
		t.Fatalf("cancelled timer fired %v, %d pending", g.fired, w.pending())
	}

	// A periodic owner rescheduling itself from fire, among 10,000 others.
	p, tp := newFiring(w)
	p.again = 2500 * ms
	w.schedule(tp, 2*time.Second.Nanoseconds())
	var many []*firing
	for i := range 10000 {
		f, t := newFiring(w)
		many = append(many, f)
		w.schedule(t, time.Second.Nanoseconds()+int64(i)*ms)
	}
	for now := time.Second.Nanoseconds(); now <= 20*time.Second.Nanoseconds(); now += 50 * ms {
		w.advance(now)
	}
	for i, f := range many {
		if len(f.fired) != 1 {
			t.Fatalf("timer %d fired %d times", i, len(f.fired))
		}
	}
	if len(p.fired) != 8 { // 2, 4.5, 7, 9.5, 12, 14.5, 17, 19.5 s
		t.Fatalf("periodic timer fired at %v", p.fired)
	}
}
