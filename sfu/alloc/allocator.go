package alloc

import (
	"slices"
	"time"
)

// The allocator's rules, in numbers.
const (
	// MaxSlots bounds slot IDs: 0 ≤ Slot.ID < MaxSlots (the protocol
	// allows 9 camera slots and a screen slot).
	MaxSlots = 16

	// Headroom: an upgrade is taken only if the estimate exceeds what the
	// receiver would then need, audio included, by 15 %...
	Headroom = 0.15
	// UpDelay: ...and has done so for the last 3 s (the upgrade budget is
	// the lowest estimate seen over that window). Nothing goes up either
	// within UpDelay of a shed (a layer dropped for lack of budget)...
	UpDelay = 3 * time.Second
	// ...and when a shed comes within failWindow of an upgrade, the
	// upgrade failed: the wait after a shed doubles, up to maxBackoff,
	// and returns to UpDelay once an upgrade has held for failWindow.
	failWindow = 10 * time.Second
	maxBackoff = 60 * time.Second

	// ProbeDuration is how long the caller should send a proposed probe.
	ProbeDuration = time.Second
	// Probes are spaced by probeEvery, doubled after each probe that did
	// not raise the estimate by 10 %, up to probeEveryMax.
	probeEvery    = 5 * time.Second
	probeEveryMax = 30 * time.Second
	probeWorked   = 1.10

	// steepRatio: a shed is steep when the previous targets cost more than
	// 4/3 of the keep budget (Result.Steep).
	steepRatio = 4.0 / 3
)

// Slot is one of a receiver's video slots, as the allocator sees it.
type Slot struct {
	// ID is the slot's stable number on the receiver's connection (for
	// example camera slots 0..V-1 and the screen slot V), 0 ≤ ID <
	// MaxSlots. It keys the hysteresis state, so that a slot keeps it
	// when the priority order changes. A slot with an ID out of range or
	// already used in the same call gets nothing.
	ID int
	// Wish is the receiver's wish for the slot.
	Wish Wish
	// Rates are the layers the slot's source offers and what they cost.
	// An empty slot (no source) has none.
	Rates Rates
	// Current is the layer the slot forwards now (Off if none). It
	// decides only [Target.Keyframe]: the allocator's memory is its own
	// previous targets, since a spatial switch up stays pending until a
	// keyframe arrives.
	Current Layer
}

// Input is everything the allocator needs for one receiver.
type Input struct {
	// Estimate is the receiver's bandwidth estimate, bits/s
	// ([Estimator.Estimate]).
	Estimate int
	// CanProbe allows proposing a probe ([Estimator.CanProbe]).
	CanProbe bool
	// Sent is what is being sent to the receiver, audio and video,
	// bits/s ([Estimator.Sent]); 0 if unknown (the audio and the
	// targets' cost then stand for it). It sizes probes.
	Sent int
	// FromLoss: the estimate is the loss-based one, not a receiver's
	// REMB ([Estimator.Source]). A REMB is the receiver's measure of its
	// link, and a probe need only raise what it receives; a loss-based
	// estimate is only tested by sending more than it.
	FromLoss bool
	// Audio is the bitrate of the audio sent to the receiver, bits/s.
	// It is reserved first and never touched.
	Audio int
	// Slots are the receiver's video slots in priority order: the screen
	// slot first when it carries a share, then the floor holders and the
	// most recent speakers.
	Slots []Slot
}

// Target is the allocator's answer for one slot.
type Target struct {
	// Layer is the layer to forward, Off to pause the slot.
	Layer Layer
	// Keyframe: the target's spatial layer differs from the current one
	// (or the slot resumes), so the caller must ask the source for a
	// keyframe of that layer and switch when it arrives, forwarding the
	// current layer (or nothing) until then. Temporal changes need none.
	Keyframe bool
}

// Probe is a proposal to test whether the receiver's link carries more.
// The caller sends Bps more than the targets for about ProbeDuration, as
// padding; the estimate's answer (a higher REMB, or no loss) then lets the
// upgrade through.
type Probe struct {
	// Bps is how much more to send, bits/s; 0 means no probe.
	Bps int
	// Slot is the index in Input.Slots of the slot whose upgrade waits,
	// and Layer the layer it would move to.
	Slot  int
	Layer Layer
}

// Result is the allocation for one receiver.
type Result struct {
	// Targets has one entry per Input.Slots, in the same order. It is
	// reused by the next call to Allocate.
	Targets []Target
	// Video is what the targets cost, bits/s.
	Video int
	// Keep and Up are the budgets used: what the video may take to keep
	// layers already targeted, and to take new ones (0 while nothing may
	// go up).
	Keep, Up int
	// Shed: a layer was dropped (or a slot paused) for lack of budget.
	Shed bool
	// Steep: the shed is steep, the previous targets cost more than 4/3
	// of the keep budget: the link overflows, and the audio queued behind
	// the video suffers. The caller should then stop forwarding a slot's
	// current layer at once when its target is lower, rather than wait
	// for the lower layer's keyframe.
	Steep bool
	Probe Probe
}

// Allocator holds one receiver's allocation state: the previous targets
// (hysteresis), the recent estimates and the probe schedule. The zero
// value is ready. An Allocator is not safe for concurrent use.
type Allocator struct {
	prev  [MaxSlots]Layer
	slots [MaxSlots]Slot
	prevs [MaxSlots]Layer
	out   []Target
	win   minWindow

	shedAt    time.Time // when a layer was last dropped for lack of budget
	hasShed   bool
	upAt      time.Time // when a layer last went up
	hasUp     bool
	backoff   time.Duration // nothing goes up for that long after a shed
	nextProbe time.Time
	probeGap  time.Duration
	probeEst  int
	probeAt   time.Time
	hasProbed bool
}

// Allocate decides what each of the receiver's slots forwards.
//
// Budgets: the estimate minus the audio is the keep budget; the lowest
// estimate of the last UpDelay, divided by 1 + Headroom, minus the audio,
// is the up budget. A layer at or below what the slot was last given may
// use the keep budget; anything new (a higher layer, a paused slot
// resuming) must fit in the up budget. So a layer goes up only after the
// estimate has exceeded the need by 15 % for 3 s, and goes down as soon as
// the estimate no longer covers it. See [Plan] for the order of filling.
//
// After a shed (the previous targets no longer fit in the keep budget)
// nothing goes up for UpDelay, so that what a coarse step down frees is
// not spent at once on a falling estimate. A shed within 10 s of an
// upgrade means the upgrade failed (the estimate promised more than the
// link carries: a REMB overshoots until the link is overused): the wait
// after a shed then doubles, up to 60 s, and returns to UpDelay once an
// upgrade has held for 10 s. Result.Up is 0 while waiting.
//
// A shed is steep (Result.Steep) when the previous targets cost more than
// 4/3 of the keep budget.
//
// Probing: when an upgrade was refused, the estimator allows probing, the
// estimate itself (not just its recent minimum) is below what the upgrade
// needs with headroom, no layer went up in the last UpDelay (an upgrade
// is its own test) and the probe schedule allows, Result.Probe proposes
// padding to bring what is sent (Input.Sent) up to what the upgrade
// needs, adding at most a quarter of the estimate; when the estimate is
// the loss-based one (Input.FromLoss) and the video takes less than half
// of it (a receiver whose video is paused), up to 1.5 × the estimate,
// since only sending more than it tests it. Probes are at least 5 s
// apart; a probe after which the estimate did not rise by 10 % doubles
// the gap (up to 30 s); once the estimate has risen by 10 % the last
// probe worked, and the next may follow it 5 s after; the gap also
// returns to 5 s when nothing waits.
//
// Call it at least every 500 ms and whenever the estimate, the slots,
// their wishes or their rates change.
func (a *Allocator) Allocate(now time.Time, in Input) Result {
	est := max(in.Estimate, 0)
	audio := max(in.Audio, 0)
	low := a.win.add(now, est)
	keep := max(est-audio, 0)
	up := max(min(int(float64(low)/(1+Headroom))-audio, keep), 0)

	n := len(in.Slots)
	m := min(n, MaxSlots)
	var seen [MaxSlots]bool
	var ids [MaxSlots]int // ID of slot i, -1 if out of range or repeated
	for i := 0; i < m; i++ {
		s := in.Slots[i]
		a.prevs[i], ids[i] = Off, -1
		if s.ID < 0 || s.ID >= MaxSlots || seen[s.ID] {
			s.Wish = WishOff
		} else {
			seen[s.ID], ids[i] = true, s.ID
			a.prevs[i] = a.prev[s.ID]
		}
		a.slots[i] = s
	}
	prevCost := 0
	for i := 0; i < m; i++ {
		prevCost += a.slots[i].Rates.At(a.prevs[i])
	}
	a.out = slices.Grow(a.out[:0], n)[:n]
	// First what the previous targets become with no upgrade at all: if
	// that sheds, the budget fell under them, and nothing goes up for
	// UpDelay, so that the budget a shed frees is not spent at once.
	video, blocked, shed := Plan(a.slots[:m], a.prevs[:m], keep, 0, a.out[:m])
	if a.backoff == 0 {
		a.backoff = UpDelay
	}
	if shed {
		if a.hasUp && now.Sub(a.upAt) < failWindow && a.upAt.After(a.shedAt) {
			// The last upgrade did not hold: the link does not carry
			// it, whatever the estimate said. Wait longer next time.
			a.backoff = min(2*a.backoff, maxBackoff)
		}
		a.shedAt, a.hasShed = now, true
	} else if a.hasUp && a.upAt.After(a.shedAt) && now.Sub(a.upAt) >= failWindow {
		a.backoff = UpDelay // the last upgrade held
	}
	frozen := a.hasShed && now.Sub(a.shedAt) < a.backoff
	if frozen {
		up = 0
	} else if up > 0 {
		video, blocked, _ = Plan(a.slots[:m], a.prevs[:m], keep, up, a.out[:m])
		for i := range m {
			if a.out[i].Layer > a.prevs[i] {
				a.upAt, a.hasUp = now, true
				break
			}
		}
	}
	for i := m; i < n; i++ {
		a.out[i] = Target{}
	}

	for id := range a.prev {
		if !seen[id] {
			a.prev[id] = Off
		}
	}
	for i := 0; i < m; i++ {
		if ids[i] >= 0 {
			a.prev[ids[i]] = a.out[i].Layer
		}
	}

	r := Result{Targets: a.out, Video: video, Keep: keep, Up: up, Shed: shed}
	r.Steep = shed && float64(prevCost) > steepRatio*float64(keep)
	// No probe while an upgrade is being tried either: it is its own
	// test, and the two together would overshoot twice.
	trying := a.hasUp && now.Sub(a.upAt) < UpDelay
	// Sent lags behind a change of targets: never below their cost.
	sent := max(in.Sent, video)
	if in.Sent <= 0 {
		sent = audio + video
	}
	reach := sent + est/4
	if in.FromLoss && 2*video < est {
		// Video paused or nearly: a test of a loss-based estimate
		// must send more than it.
		reach = max(reach, est+est/2)
	}
	r.Probe = a.probe(now, in.CanProbe && !frozen && !trying, est, audio, sent, reach, blocked)
	return r
}

func (a *Allocator) probe(now time.Time, can bool, est, audio, sent, reach int, b Blocked) Probe {
	if a.probeGap == 0 {
		a.probeGap = probeEvery
	}
	if a.hasProbed && float64(est) >= float64(a.probeEst)*probeWorked {
		// The last probe worked: the next may follow it soon.
		a.probeGap, a.hasProbed = probeEvery, false
		a.nextProbe = a.probeAt.Add(probeEvery)
	}
	if b.Slot < 0 {
		a.probeGap, a.hasProbed = probeEvery, false
		return Probe{Slot: -1}
	}
	needed := int(float64(audio+b.Used+b.Cost) * (1 + Headroom))
	if !can || est >= needed || now.Before(a.nextProbe) {
		return Probe{Slot: -1}
	}
	if a.hasProbed { // and it did not work
		a.probeGap = min(2*a.probeGap, probeEveryMax)
	}
	// What is sent, not the audio reserve and the targets: the audio
	// takes less than its reserve, and a probe that stopped short of
	// what the upgrade needs would never let it through.
	pad := min(needed+needed/20, reach) - sent
	if pad <= 0 {
		return Probe{Slot: -1}
	}
	a.hasProbed, a.probeEst, a.probeAt, a.nextProbe = true, est, now, now.Add(a.probeGap)
	return Probe{Bps: pad, Slot: b.Slot, Layer: b.Layer}
}

// Blocked is the first upgrade Plan refused: slot index Slot (-1 if none)
// could not move to Layer, which costs Cost more, when the slots before it
// already took Used.
type Blocked struct {
	Slot       int
	Layer      Layer
	Used, Cost int
}

// Plan is the allocator's pure core. For slots in priority order, with
// prev[i] the layer slot i was last given (Off if none), it writes the
// targets into out (len(out) ≥ len(slots)) and returns what they cost,
// the first upgrade it refused, and whether it shed: gave a slot less
// than prev for lack of budget.
//
// A step that leads to a layer at or below prev[i] must fit in keep; any
// other step (a higher layer, or a paused slot resuming) must fit in up.
//
//  1. Every wanted slot, in priority order, gets its lowest layer if it
//     fits; a slot whose lowest layer does not fit is paused, and the next
//     ones are still tried. So many small tiles beat one big one, and when
//     the budget shrinks the lowest-priority slots are paused first.
//  2. Then each slot, in priority order, climbs its ladder one step at a
//     time while the steps fit: S0T0, S0T1, S0T2, S1T0, … (a low wish
//     stops at spatial 0). Going up never lowers the frame rate: from S0T2
//     the next step is S1T2, not S1T0. Going back to what the slot had may
//     use any step, so a shrinking budget sheds the temporal layers first
//     (S2T2, S2T1, S2T0, then S1T2 …), and the lowest-priority slots lose
//     their upgrades first.
//
// An upgrade counts what the slots before it took, not the layers the
// slots after it keep: when the priority order changes, the new first
// slot gets its upgrade at once and the others keep what the keep budget
// still covers (the total may then exceed up, until a shed corrects it).
func Plan(slots []Slot, prev []Layer, keep, up int, out []Target) (int, Blocked, bool) {
	up = min(up, keep)
	used := 0
	shed := false
	blocked := Blocked{Slot: -1}
	block := func(i int, l Layer, cost int) {
		if blocked.Slot < 0 {
			blocked = Blocked{Slot: i, Layer: l, Used: used, Cost: cost}
		}
	}
	for i := range slots {
		out[i] = Target{}
		s := &slots[i]
		l := lowest(s)
		if l == Off {
			continue
		}
		c := s.Rates.At(l)
		if prev[i] != Off {
			if used+c <= keep {
				out[i].Layer, used = l, used+c
			} else {
				shed = true
			}
		} else if used+c <= up {
			out[i].Layer, used = l, used+c
		} else {
			block(i, l, c)
		}
	}
	for i := range slots {
		s := &slots[i]
		for cur := out[i].Layer; cur != Off; {
			n := next(s, cur, prev[i])
			if n == Off {
				break
			}
			c := s.Rates.At(n) - s.Rates.At(cur)
			restore := n <= prev[i]
			if restore && used+c > keep {
				shed = true
				break
			}
			if !restore && used+c > up {
				block(i, n, c)
				break
			}
			cur, used = n, used+c
			out[i].Layer = cur
		}
	}
	for i := range slots {
		t := &out[i]
		cur := slots[i].Current
		t.Keyframe = t.Layer != Off && (cur == Off || cur.Spatial() != t.Layer.Spatial())
	}
	return used, blocked, shed
}

// lowest returns the first layer of s's ladder, Off if it wants or has
// none.
func lowest(s *Slot) Layer {
	top := s.Wish.maxSpatial()
	for l := L(0, 0); l <= MaxLayer && l.Spatial() <= top; l++ {
		if s.Rates.Has(l) {
			return l
		}
	}
	return Off
}

// next returns the step after cur on s's ladder, Off if none: the next
// layer the source offers and the wish allows; a layer above prev must not
// lower the frame rate.
func next(s *Slot, cur, prev Layer) Layer {
	top := s.Wish.maxSpatial()
	for l := cur + 1; l <= MaxLayer && l.Spatial() <= top; l++ {
		if !s.Rates.Has(l) {
			continue
		}
		if l <= prev {
			return l
		}
		tt, _ := s.Rates.top(l.Spatial())
		if l.Temporal() >= min(cur.Temporal(), tt) {
			return l
		}
	}
	return Off
}

// minWindow keeps the lowest value added over the last UpDelay, in
// winBuckets buckets, without allocating.
type minWindow struct {
	t0   time.Time
	init bool
	num  [winBuckets]int64
	low  [winBuckets]int
	used [winBuckets]bool
}

const (
	winBuckets = 8
	winSpan    = UpDelay / winBuckets
)

// add records v at now and returns the lowest value of the window.
func (w *minWindow) add(now time.Time, v int) int {
	if !w.init {
		w.t0, w.init = now, true
	}
	b := max(int64(now.Sub(w.t0)/winSpan), 0)
	i := b % winBuckets
	if !w.used[i] || w.num[i] != b {
		w.num[i], w.low[i], w.used[i] = b, v, true
	} else {
		w.low[i] = min(w.low[i], v)
	}
	m := v
	for j := range w.num {
		if w.used[j] && b-w.num[j] < winBuckets {
			m = min(m, w.low[j])
		}
	}
	return m
}
