package alloc

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The estimator's rules, in numbers.
const (
	// MinEstimate and MaxEstimate bound every estimate, REMB or loss-based.
	MinEstimate = 30_000
	MaxEstimate = 10_000_000
	// InitialEstimate is the estimate before any feedback.
	InitialEstimate = 600_000

	// REMBFresh is how long a REMB value stands for the link: Chrome
	// sends one about every second, and at once when it lowers it.
	REMBFresh = 5 * time.Second

	// Loss bands, as RTCP fraction-lost values (loss × 256): below
	// lossLow (2 %) the estimate grows, above lossHigh (10 %) it shrinks,
	// in between it holds.
	lossLow  = 5  // 5/256 = 1.95 %
	lossHigh = 25 // 26/256 = 10.2 % is the first value above 10 %

	// lossGrowth is the growth per second below 2 % loss, applied for
	// the time since the previous report (at most maxGrowthStep).
	lossGrowth    = 1.08
	maxGrowthStep = 2 * time.Second
	// decreaseEvery spaces decreases, so that several reports arriving
	// together (one per report block) cut the estimate once.
	decreaseEvery = 300 * time.Millisecond
	// usedFraction: the loss-based estimate grows only while at least 3/4
	// of it is being sent. Below that the link is not being tested and
	// low loss says nothing about more (Galène's rule, libwebrtc's ALR).
	usedNum, usedDen = 3, 4

	// quiet is how long after a sign of congestion (loss of 2 % or more,
	// a REMB lower by more than 5 %) the estimator forbids probing.
	quiet = 5 * time.Second
	// sentWindow is the shortest window the sent rate is measured over,
	// sampleWindow the shortest of Sample's.
	sentWindow   = 250 * time.Millisecond
	sampleWindow = 200 * time.Millisecond

	// delayBackoff is the share of what got through the estimate falls
	// to on a delay overuse (libwebrtc's 0.85); holdFor how long a
	// building queue stops growth and probes.
	delayBackoff = 0.85
	holdFor      = time.Second
)

// Source says where an estimate comes from.
type Source uint8

const (
	// SourceInitial: no feedback yet, the estimate is InitialEstimate.
	SourceInitial Source = iota
	// SourceREMB: a fresh REMB (possibly lowered by heavy loss).
	SourceREMB
	// SourceLoss: no fresh REMB; the loss-based controller.
	SourceLoss
)

func (s Source) String() string {
	switch s {
	case SourceInitial:
		return "initial"
	case SourceREMB:
		return "remb"
	case SourceLoss:
		return "loss"
	}
	return "?"
}

// Estimator is one receiver's bandwidth estimate: how many bits/s the
// server may send to it, audio included.
//
// Rules:
//
//   - Before any feedback the estimate is InitialEstimate (600 kbit/s).
//   - A REMB stands for REMBFresh (5 s). While one is fresh, the estimate is
//     the REMB, unless loss above 10 % has cut the loss-based rate below it
//     (libwebrtc's sender takes the same minimum: REMB comes from the
//     receiver's delay-based estimator, which does not see random loss).
//     The first REMB replaces the initial value at once.
//   - Without a fresh REMB the estimate is the loss-based rate, which
//     carries on from the last REMB, or from the initial value. Each loss
//     report (fraction lost f/256) moves it:
//     f < 2 %: × 1.08 per second since the previous report (at most 2 s
//     worth), but only while at least 3/4 of the estimate is actually sent
//     (otherwise the link is not tested, and the estimate holds);
//     2 % ≤ f ≤ 10 %: hold;
//     f > 10 %: × (1 − f/2), at most once per 300 ms, and at most what
//     got through, sent × (1 − f): a link losing that much is full, and
//     what it delivered is what it carries (so a steep fall is followed
//     in one report, not in several).
//     And below 2 %, when more than the estimate was sent (a probe), the
//     estimate rises to what got through: the rate sent since the last
//     report, or the highest rate [Estimator.Sample] measured meanwhile.
//     And without a fresh REMB, when loss above 2 % appears (the report
//     before had less) while at least 3/4 of the estimate is sent, the
//     rate also comes down to what got through, sent × (1 − f): what was
//     just sent found the bottleneck, and without a delay signal holding
//     there would stay above it for good at up to 10 % loss. Loss that
//     stays (a lossy radio link) does this once, then holds as the rule
//     says instead of spiralling down.
//   - A delay signal from transport-wide feedback ([Estimator.OnDelay]):
//     a queue building holds the estimate for a second (no growth, no
//     probe); an overuse cuts it to 85 % of what arrived, whatever its
//     source, at most once per 300 ms.
//   - Every value is bounded to [MinEstimate, MaxEstimate] (30 kbit/s .. 10
//     Mbit/s).
//
// The sent rate counts everything sent to the receiver, audio included,
// since the previous loss report.
//
// [Estimator.CanProbe] says whether the estimate may be tested by sending
// more than it (see [Input.CanProbe]).
//
// An Estimator is safe for concurrent use; OnSent is a single atomic add.
type Estimator struct {
	total atomic.Int64 // bytes ever sent

	mu       sync.Mutex
	rate     float64 // loss-based rate, bits/s; tracks the REMB when !limited
	limited  bool    // rate was cut by loss below the REMB
	lossy    bool    // the last loss report was above 2 %
	remb     float64
	rembAt   time.Time
	hasREMB  bool
	lossAt   time.Time // last loss report
	hasLoss  bool
	cutAt    time.Time // last decrease
	hasCut   bool
	congAt   time.Time // last sign of congestion
	hasCong  bool
	sentW    window    // between loss reports
	sentRate float64   // bits/s over the last of them
	sampleW  window    // between Sample calls
	peak     float64   // highest sampled rate since the last loss report
	holdAt   time.Time // last delay feedback saying a queue builds
	hasHold  bool
}

// window measures a rate from the cumulative byte count.
type window struct {
	mark    int64 // the count at from
	from    time.Time
	started bool
}

// rate returns the bits/s since the window's start, if at least least
// ago, and starts the next window now; the first call only starts one.
func (w *window) rate(total int64, now time.Time, least time.Duration) (float64, bool) {
	if !w.started {
		w.mark, w.from, w.started = total, now, true
		return 0, false
	}
	d := now.Sub(w.from)
	if d < least {
		return 0, false
	}
	r := float64(total-w.mark) * 8 / d.Seconds()
	w.mark, w.from = total, now
	return r, true
}

// NewEstimator returns an estimator at InitialEstimate.
func NewEstimator() *Estimator {
	return &Estimator{rate: InitialEstimate}
}

// OnSent counts bytes sent to the receiver (RTP packets of every kind,
// padding included). now is accepted for symmetry and ignored: the sent
// rate is measured between loss reports.
func (e *Estimator) OnSent(bytes int, now time.Time) {
	if bytes > 0 {
		e.total.Add(int64(bytes))
	}
}

// Sample measures the rate sent since the previous call (if at least
// 200 ms ago). Call it every 250..500 ms (the allocator's cadence): the
// highest rate sampled between two loss reports is what a probe shorter
// than their interval sent, which the report's average would dilute.
func (e *Estimator) Sample(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.sampleW.rate(e.total.Load(), now, sampleWindow); ok {
		e.peak = max(e.peak, r)
	}
}

// OnREMB records a REMB value from the receiver.
func (e *Estimator) OnREMB(bps uint64, now time.Time) {
	v := clamp(float64(min(bps, MaxEstimate)))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ceilingIsREMB(now) {
		if v < e.remb*0.95 {
			e.congested(now)
		}
	} else {
		// The first REMB, or the first after a gap: it replaces
		// whatever the loss-based rate became meanwhile.
		e.limited = false
	}
	e.remb, e.rembAt, e.hasREMB = v, now, true
	if !e.limited || e.rate >= v {
		e.rate, e.limited = v, false
	}
}

// OnLoss records the fraction lost (0..255, as in an RTCP report block)
// the receiver reports. Call it once per receiver report, with the worst
// fraction among the blocks of the video slots (the audio slots' blocks,
// a few packets a second each, are too noisy). Growth is computed from
// the time since the previous call and decreases are spaced by 300 ms, so
// reports arriving together do not compound; but one call per block
// would make every report look like loss appearing anew.
func (e *Estimator) OnLoss(fractionLost uint8, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.measureSent(now)
	var dt time.Duration
	if e.hasLoss {
		dt = min(max(now.Sub(e.lossAt), 0), maxGrowthStep)
	}
	e.lossAt, e.hasLoss = now, true
	if fractionLost > lossLow {
		e.congested(now)
	}
	ceiling := float64(MaxEstimate)
	if e.hasREMB && e.fresh(now) {
		ceiling = e.remb
	}
	used := e.sentRate*usedDen >= e.rate*usedNum
	onset := fractionLost > lossLow && !e.lossy
	e.lossy = fractionLost > lossLow
	delivered := 1 - float64(fractionLost)/256
	got := e.sentRate * delivered
	switch {
	case fractionLost <= lossLow && e.holding(now):
		// The delay feedback sees a queue building: no more.
	case fractionLost <= lossLow:
		if used {
			e.rate *= math.Pow(lossGrowth, dt.Seconds())
		}
		// The peak is from the samples between this report and the
		// last: a probe within them.
		if carried := max(e.sentRate, e.peak) * delivered; carried > e.rate {
			e.rate = carried
		}
	case fractionLost > lossHigh:
		if !e.hasCut || now.Sub(e.cutAt) >= decreaseEvery {
			e.rate *= 1 - float64(fractionLost)/512
			e.cutAt, e.hasCut = now, true
		}
		if e.sentRate > 0 {
			e.rate = min(e.rate, got)
		}
	}
	if onset && used && !e.ceilingIsREMB(now) {
		// Loss appears while the estimate is being used, and there
		// is no REMB (no delay signal): what was just sent found the
		// bottleneck. Holding there would stay above it for good at
		// up to 10 % loss; what got through is what the link carries.
		e.rate = min(e.rate, got)
	}
	// The next samples start here: one straddling the report would
	// credit the next report with what this one judged.
	e.peak = 0
	if e.sampleW.started {
		e.sampleW.mark, e.sampleW.from = e.total.Load(), now
	}
	e.rate = clamp(e.rate)
	if e.rate >= ceiling {
		e.rate = ceiling
		if e.ceilingIsREMB(now) {
			e.limited = false
		}
	} else if e.ceilingIsREMB(now) {
		e.limited = true
	}
}

// Estimate returns the estimate in bits/s.
func (e *Estimator) Estimate(now time.Time) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int(e.rate)
}

// Sent returns the rate sent to the receiver, bits/s, measured between
// its last loss reports (0 before two of them).
func (e *Estimator) Sent() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int(e.sentRate)
}

// Source says where the estimate comes from now.
func (e *Estimator) Source(now time.Time) Source {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.ceilingIsREMB(now):
		return SourceREMB
	case e.hasREMB || e.hasLoss:
		return SourceLoss
	}
	return SourceInitial
}

// CanProbe reports whether the estimate may be tested by sending more than
// it: the receiver has sent feedback (a REMB or a loss report) at least
// once, and no sign of congestion (loss of 2 % or more, a REMB lower by
// more than 5 %) within the last 5 s. The feedback need not be live: a
// browser stops reporting on slots that receive nothing, so a receiver
// whose video is paused falls silent, and a probe is what brings its
// reports back.
func (e *Estimator) CanProbe(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return (e.hasREMB || e.hasLoss) && (!e.hasCong || now.Sub(e.congAt) >= quiet) && !e.holding(now)
}

// OnDelay records what a transport-wide feedback says about the link
// ([DelayDetector]), with the rate the receiver got (bits/s, 0 if not
// measured yet). It reports whether the estimate was cut.
//
//   - DelayOveruse: a sign of congestion (no probe for 5 s), and the
//     estimate falls to 85 % of what got through (or by 15 % if that is
//     not measured yet), at most once per 300 ms: the link's queue is
//     filling and will overflow, audio included, within a second.
//   - DelayHold: for a second, the estimate does not grow and no probe
//     is allowed.
func (e *Estimator) OnDelay(s DelayState, delivered float64, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch s {
	case DelayHold:
		e.holdAt, e.hasHold = now, true
	case DelayOveruse:
		e.holdAt, e.hasHold = now, true
		e.congested(now)
		if e.hasCut && now.Sub(e.cutAt) < decreaseEvery {
			return false
		}
		e.cutAt, e.hasCut = now, true
		if delivered > 0 {
			e.rate = min(e.rate, delivered*delayBackoff)
		} else {
			e.rate *= delayBackoff
		}
		e.rate = clamp(e.rate)
		if e.ceilingIsREMB(now) && e.rate < e.remb {
			e.limited = true
		}
		return true
	}
	return false
}

// holding: a delay feedback saw a queue building within the last second.
func (e *Estimator) holding(now time.Time) bool {
	return e.hasHold && now.Sub(e.holdAt) < holdFor
}

func (e *Estimator) fresh(now time.Time) bool { return now.Sub(e.rembAt) < REMBFresh }

func (e *Estimator) ceilingIsREMB(now time.Time) bool { return e.hasREMB && e.fresh(now) }

func (e *Estimator) congested(now time.Time) { e.congAt, e.hasCong = now, true }

// measureSent updates the sent rate from the bytes counted since the last
// measurement, if at least sentWindow has passed.
func (e *Estimator) measureSent(now time.Time) {
	if r, ok := e.sentW.rate(e.total.Load(), now, sentWindow); ok {
		e.sentRate = r
	}
}

func clamp(v float64) float64 {
	return min(max(v, MinEstimate), MaxEstimate)
}
