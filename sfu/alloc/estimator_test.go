package alloc

import (
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// step is one input to an Estimator, or a check of it.
type step struct {
	at   float64 // seconds
	remb uint64  // OnREMB if > 0
	loss int     // OnLoss(loss) if ≥ 0
	// check if hi > 0: lo ≤ Estimate ≤ hi, and src if set
	lo, hi int
	src    string
	probe  string // "yes", "no" or "" (unchecked)
}

func remb(t float64, bps uint64) step { return step{at: t, remb: bps, loss: -1} }
func loss(t float64, f int) step      { return step{at: t, loss: f} }
func want(t float64, lo, hi int, src string) step {
	return step{at: t, loss: -1, lo: lo, hi: hi, src: src}
}
func canProbe(t float64, yes bool) step {
	s := step{at: t, loss: -1, probe: "no"}
	if yes {
		s.probe = "yes"
	}
	return s
}

// losses returns a loss report of fraction f every second from t to u
// (both included).
func losses(t, u float64, f int) []step {
	var s []step
	for x := t; x <= u+1e-9; x++ {
		s = append(s, loss(x, f))
	}
	return s
}

func seq(parts ...any) []step {
	var s []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			s = append(s, p)
		case []step:
			s = append(s, p...)
		}
	}
	return s
}

// sending says how the test sends to the receiver between steps.
type sending int

const (
	sendNothing  sending = iota
	sendEstimate         // exactly the estimate (the link is used)
	sendHalf             // half the estimate (application-limited)
	sendDouble           // twice the estimate (a probe)
)

func runEstimator(t *testing.T, e *Estimator, how sending, steps []step) {
	t.Helper()
	now := 0.0
	for i, s := range steps {
		// Send in 20 ms packets up to s.at.
		for ; now+0.02 <= s.at+1e-9; now += 0.02 {
			rate := e.Estimate(at(sec(now)))
			switch how {
			case sendEstimate:
			case sendHalf:
				rate /= 2
			case sendDouble:
				rate *= 2
			default:
				rate = 0
			}
			e.OnSent(rate/8/50, at(sec(now)))
		}
		now = max(now, s.at)
		ts := at(sec(s.at))
		if s.remb > 0 {
			e.OnREMB(s.remb, ts)
		}
		if s.loss >= 0 {
			e.OnLoss(uint8(s.loss), ts)
		}
		if s.hi > 0 {
			got := e.Estimate(ts)
			if got < s.lo || got > s.hi {
				t.Errorf("step %d (t=%gs): estimate %d, want %d..%d", i, s.at, got, s.lo, s.hi)
			}
			if s.src != "" && e.Source(ts).String() != s.src {
				t.Errorf("step %d (t=%gs): source %v, want %s", i, s.at, e.Source(ts), s.src)
			}
		}
		if s.probe != "" {
			if got := e.CanProbe(ts); got != (s.probe == "yes") {
				t.Errorf("step %d (t=%gs): CanProbe %v, want %s", i, s.at, got, s.probe)
			}
		}
	}
}

func TestEstimator(t *testing.T) {
	tests := []struct {
		name  string
		send  sending
		steps []step
	}{
		{"initial value before any feedback", sendEstimate, seq(
			want(0, 600_000, 600_000, "initial"),
			canProbe(0, false),
			want(30, 600_000, 600_000, "initial"),
		)},
		{"the first REMB replaces the initial value", sendNothing, seq(
			remb(1, 2_000_000),
			want(1, 2_000_000, 2_000_000, "remb"),
			canProbe(1, true),
			remb(2, 2_500_000),
			want(2, 2_500_000, 2_500_000, "remb"),
		)},
		{"REMB is bounded to 30 kbit/s .. 10 Mbit/s", sendNothing, seq(
			remb(1, 50_000_000),
			want(1, 10_000_000, 10_000_000, "remb"),
			remb(2, 1_000),
			want(2, 30_000, 30_000, "remb"),
		)},
		{"a stale REMB hands over to the loss controller, which carries on from it", sendEstimate, seq(
			remb(0, 1_000_000),
			want(4.9, 1_000_000, 1_000_000, "remb"),
			want(5.1, 1_000_000, 1_000_000, "loss"),
			losses(6, 8, 0),
			// 2 s of growth at 8 %/s (the first report only starts
			// the sent-rate measurement): 1.08² = 1.166
			want(8, 1_150_000, 1_180_000, "loss"),
		)},
		{"loss < 2 % grows 8 % per second while the estimate is used", sendEstimate, seq(
			losses(0, 10, 0),
			// 10 reports after the first: 600k × 1.08^10 = 1,295k
			want(10, 1_270_000, 1_320_000, "loss"),
			losses(11, 11, 5), // 5/256 = 1.95 %, still < 2 %
			want(11, 1_370_000, 1_430_000, "loss"),
		)},
		{"no growth while less than 3/4 of the estimate is sent (application-limited)", sendHalf, seq(
			losses(0, 20, 0),
			want(20, 600_000, 600_000, "loss"),
		)},
		{"no growth without traffic at all", sendNothing, seq(
			losses(0, 20, 0),
			want(20, 600_000, 600_000, "loss"),
		)},
		{"2 % .. 10 % loss holds", sendEstimate, seq(
			losses(0, 10, 6), // 2.3 %
			want(10, 600_000, 600_000, "loss"),
			losses(11, 20, 25), // 9.8 %
			want(20, 600_000, 600_000, "loss"),
			canProbe(20, false),
		)},
		{"without REMB, loss appearing while the estimate is used brings it to what got through, once", sendEstimate, seq(
			losses(0, 5, 0),
			want(5, 880_000, 883_000, "loss"), // 600k × 1.08⁵
			loss(6, 13),                       // 5 %: × (1 − 13/256)
			want(6, 835_000, 839_000, "loss"),
			losses(7, 10, 13), // the loss stays: hold
			want(10, 835_000, 839_000, "loss"),
		)},
		{"with a fresh REMB, the same loss only holds", sendEstimate, seq(
			remb(0, 900_000), loss(0, 0),
			remb(1, 900_000), loss(1, 0),
			remb(2, 900_000), loss(2, 13),
			want(2, 900_000, 900_000, "remb"),
		)},
		{"loss > 10 % cuts by rate × (1 − loss/2), and to what got through", sendEstimate, seq(
			loss(1, 51), // 20 %: × (1 − 51/512); nothing measured sent yet
			want(1, 540_200, 540_300, "loss"),
			loss(2, 51), // 540k sent: 540k × (1 − 51/256) got through
			want(2, 432_300, 432_500, "loss"),
			loss(3, 128), // 50 %: 432k × 0.5 (× 0.75 would be more)
			want(3, 216_100, 216_300, "loss"),
		)},
		{"a steep fall is followed in one report", sendEstimate, seq(
			losses(0, 3, 0),
			want(3, 755_000, 757_000, "loss"), // 600k × 1.08³
			loss(4, 200),                      // 78 % lost: 756k × 56/256
			want(4, 164_000, 166_000, "loss"),
		)},
		{"without REMB, more than the estimate sent without loss raises it to what got through", sendDouble, seq(
			loss(0, 0),
			loss(1, 0), // 1.2 Mbit/s sent
			want(1, 1_199_000, 1_201_000, "loss"),
			loss(2, 3), // 2.4 Mbit/s, 1.2 % lost
			want(2, 2_370_000, 2_373_000, "loss"),
		)},
		{"with a fresh REMB, it stays under the REMB", sendDouble, seq(
			remb(0, 900_000), loss(0, 0),
			remb(1, 900_000), loss(1, 0),
			want(1, 900_000, 900_000, "remb"),
		)},
		{"reports together cut once (decreases ≥ 300 ms apart)", sendEstimate, seq(
			loss(1, 128), loss(1, 128), loss(1.1, 128),
			want(1.1, 450_000, 450_000, "loss"),
			loss(1.3, 128), // and to what got through of 0.3 s at 450k
			want(1.3, 224_000, 226_000, "loss"),
		)},
		{"the loss-based estimate has a floor", sendEstimate, seq(
			losses(1, 30, 255),
			want(30, 30_000, 30_000, "loss"),
		)},
		{"heavy loss lowers a fresh REMB, recovers up to it, never above", sendEstimate, seq(
			remb(0, 2_000_000),
			loss(0, 0),
			loss(1, 77), // 30 %: what got through, 2M × (1 − 77/256)
			remb(1.5, 2_000_000),
			want(1.5, 1_390_000, 1_410_000, "remb"),
			losses(2, 2, 0), // 1 s of growth: × 1.08
			remb(2.5, 2_000_000),
			want(2.5, 1_500_000, 1_520_000, "remb"),
			losses(3, 6, 0), // back to the REMB, and held there
			remb(6.5, 2_000_000),
			want(6.5, 2_000_000, 2_000_000, "remb"),
			remb(7, 2_400_000), // and it follows the REMB again
			want(7, 2_400_000, 2_400_000, "remb"),
		)},
		{"a REMB after a gap replaces the loss-based rate", sendEstimate, seq(
			remb(0, 2_000_000),
			losses(1, 1, 128),
			want(1, 1_500_000, 1_500_000, "remb"),
			want(6, 1_500_000, 1_500_000, "loss"), // REMB stale
			remb(10, 3_000_000),
			want(10, 3_000_000, 3_000_000, "remb"),
		)},
		{"a lower REMB is followed at once and stops probing for 5 s", sendNothing, seq(
			remb(0, 2_000_000),
			canProbe(0, true),
			remb(1, 1_000_000),
			want(1, 1_000_000, 1_000_000, "remb"),
			canProbe(1, false),
			remb(2, 1_000_000),
			canProbe(5.9, false),
			remb(6, 1_000_000),
			canProbe(6, true),
		)},
		{"loss of 2 % or more stops probing for 5 s", sendEstimate, seq(
			loss(0, 0),
			canProbe(0, true),
			loss(1, 6),
			canProbe(1, false),
			losses(2, 5, 0),
			canProbe(5.9, false),
			loss(6, 0),
			canProbe(6, true),
		)},
		{"probing needs feedback once, not live: a paused receiver falls silent", sendEstimate, seq(
			canProbe(3, false), // no feedback yet
			remb(4, 1_000_000),
			canProbe(4, true),
			canProbe(9.5, true), // REMB stale, no loss reports
			canProbe(60, true),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runEstimator(t, NewEstimator(), tc.send, tc.steps)
		})
	}
}

// TestEstimatorConcurrent runs the estimator's methods from several
// goroutines, for the race detector: OnSent comes from the forwarding
// paths, the rest from the RTCP reader and the allocator.
func TestEstimatorConcurrent(t *testing.T) {
	e := NewEstimator()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				now := at(time.Duration(i) * time.Millisecond)
				switch g {
				case 0:
					e.OnLoss(uint8(i%7), now)
				case 1:
					e.OnREMB(uint64(1_000_000+i), now)
				default:
					e.OnSent(1200, now)
					_ = e.Estimate(now)
					_ = e.CanProbe(now)
				}
			}
		}()
	}
	wg.Wait()
	if v := e.Estimate(at(2 * time.Second)); v < MinEstimate || v > MaxEstimate {
		t.Fatalf("estimate %d out of bounds", v)
	}
}

func TestEstimatorNoAllocs(t *testing.T) {
	e := NewEstimator()
	now := t0
	n := testing.AllocsPerRun(100, func() {
		now = now.Add(100 * time.Millisecond)
		e.OnSent(1200, now)
		e.OnREMB(1_500_000, now)
		e.OnLoss(3, now)
		_ = e.Estimate(now)
		_ = e.CanProbe(now)
	})
	if n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
