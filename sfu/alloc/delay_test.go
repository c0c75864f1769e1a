package alloc

import (
	"testing"
	"time"
)

// feed gives d one feedback: n packets of size bytes sent every 10 ms
// from send (µs), each arriving delay (µs) later plus grow more per
// packet; it returns the judgement.
func feed(d *DelayDetector, now time.Time, send, delay, grow int64, n, size int) (DelayState, float64) {
	for i := range int64(n) {
		d.Packet(send+i*10_000, send+i*10_000+delay+i*grow, size)
	}
	return d.Done(now)
}

func TestDelayDetector(t *testing.T) {
	ms := int64(1000)
	for _, c := range []struct {
		name  string
		steps []struct{ delay, grow int64 } // one feedback each, 10 packets
		want  DelayState
	}{
		{"flat", []struct{ delay, grow int64 }{{5 * ms, 0}, {5 * ms, 0}, {6 * ms, 0}}, DelayNormal},
		{"jitter below 25 ms", []struct{ delay, grow int64 }{{5 * ms, 0}, {25 * ms, 0}, {10 * ms, 0}}, DelayNormal},
		{"queue of 30 ms, steady", []struct{ delay, grow int64 }{{5 * ms, 0}, {35 * ms, 0}, {35 * ms, 0}}, DelayHold},
		{"queue of 60 ms, draining", []struct{ delay, grow int64 }{{5 * ms, 0}, {90 * ms, 0}, {65 * ms, 0}}, DelayHold},
		{"queue of 60 ms, growing", []struct{ delay, grow int64 }{{5 * ms, 0}, {55 * ms, 0}, {65 * ms, 0}}, DelayOveruse},
		{"growing below 50 ms first", []struct{ delay, grow int64 }{{5 * ms, 0}, {40 * ms, 0}, {65 * ms, 0}}, DelayHold},
		// A receiver whose CPU stalled stamps one feedback late.
		{"one late feedback", []struct{ delay, grow int64 }{{5 * ms, 0}, {5 * ms, 0}, {150 * ms, 0}}, DelayHold},
		{"one late feedback, then on time", []struct{ delay, grow int64 }{{5 * ms, 0}, {150 * ms, 0}, {6 * ms, 0}}, DelayNormal},
		{"queue of 200 ms, draining", []struct{ delay, grow int64 }{{5 * ms, 0}, {300 * ms, 0}, {205 * ms, 0}}, DelayHold},
		{"queue of 60 ms, growing by 1 ms (noise)", []struct{ delay, grow int64 }{{5 * ms, 0}, {64 * ms, 0}, {65 * ms, 0}}, DelayHold},
		{"growing within a feedback", []struct{ delay, grow int64 }{{5 * ms, 0}, {45 * ms, 8 * ms}, {125 * ms, 8 * ms}}, DelayOveruse},
		// The clocks' offset is unknown: a large constant is no queue.
		{"offset of an hour", []struct{ delay, grow int64 }{{3600_000 * ms, 0}, {3600_001 * ms, 0}}, DelayNormal},
		{"negative offset", []struct{ delay, grow int64 }{{-50_000 * ms, 0}, {-49_999 * ms, 0}}, DelayNormal},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d DelayDetector
			now := time.Unix(1000, 0)
			var got DelayState
			send := int64(0)
			for _, s := range c.steps {
				got, _ = feed(&d, now, send, s.delay, s.grow, 10, 1000)
				send += 100_000
				now = now.Add(100 * time.Millisecond)
			}
			if got != c.want {
				t.Errorf("%v, want %v", got, c.want)
			}
		})
	}
}

// The baseline follows a lasting change of the delay (a new route, clock
// drift) within two buckets, and an empty feedback says nothing.
func TestDelayDetectorBaseline(t *testing.T) {
	var d DelayDetector
	now := time.Unix(1000, 0)
	if s, _ := d.Done(now); s != DelayUnknown {
		t.Fatalf("empty feedback: %v", s)
	}
	send := int64(0)
	step := func(delay int64) DelayState {
		s, _ := feed(&d, now, send, delay, 0, 10, 1000)
		send += 100_000
		now = now.Add(100 * time.Millisecond)
		return s
	}
	step(5_000)
	step(70_000)
	if s := step(80_000); s != DelayOveruse {
		t.Fatalf("a queue of 65 then 75 ms appearing: %v", s)
	}
	// The route now takes 80 ms for good: after at most 10 s it is the
	// baseline again.
	var s DelayState
	for range 110 {
		s = step(80_000)
	}
	if s != DelayNormal {
		t.Errorf("after 11 s at a new delay: %v", s)
	}
}

// The delivered rate is what arrived over at least 200 ms.
func TestDelayDetectorDelivered(t *testing.T) {
	var d DelayDetector
	now := time.Unix(1000, 0)
	send := int64(0)
	var rate float64
	for i := range 5 {
		// 10 packets of 1250 bytes per 100 ms: 1 Mbit/s.
		_, rate = feed(&d, now, send, 5_000, 0, 10, 1250)
		send += 100_000
		now = now.Add(100 * time.Millisecond)
		if i == 0 && rate != 0 {
			t.Errorf("rate %v after 90 ms of arrivals, want none yet", rate)
		}
	}
	if rate < 0.9e6 || rate > 1.2e6 {
		t.Errorf("delivered %.0f bit/s, want about 1 Mbit/s", rate)
	}
}

func TestEstimatorOnDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		name      string
		state     DelayState
		delivered float64
		want      int
		cut       bool
	}{
		{"normal", DelayNormal, 100_000, InitialEstimate, false},
		{"hold", DelayHold, 100_000, InitialEstimate, false},
		{"overuse: 85 % of what got through", DelayOveruse, 200_000, 170_000, true},
		{"overuse, nothing measured: -15 %", DelayOveruse, 0, 510_000, true},
		{"overuse above the estimate: no rise", DelayOveruse, 2_000_000, InitialEstimate, true},
		{"overuse, floor", DelayOveruse, 1_000, MinEstimate, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := NewEstimator()
			if cut := e.OnDelay(c.state, c.delivered, now); cut != c.cut {
				t.Errorf("cut %v, want %v", cut, c.cut)
			}
			if got := e.Estimate(now); got != c.want {
				t.Errorf("estimate %d, want %d", got, c.want)
			}
		})
	}
}

// A hold stops growth and probes for a second; overuses 300 ms apart cut
// once.
func TestEstimatorHoldAndSpacing(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewEstimator()
	e.OnLoss(0, now) // feedback once
	if !e.CanProbe(now) {
		t.Fatal("positive control: no probe allowed")
	}
	e.OnDelay(DelayHold, 0, now)
	if e.CanProbe(now.Add(500 * time.Millisecond)) {
		t.Error("probe allowed while a queue builds")
	}
	if !e.CanProbe(now.Add(1100 * time.Millisecond)) {
		t.Error("no probe allowed a second after the hold")
	}
	e2 := NewEstimator()
	e2.OnDelay(DelayOveruse, 400_000, now)
	if e2.OnDelay(DelayOveruse, 100_000, now.Add(100*time.Millisecond)) {
		t.Error("two cuts within 300 ms")
	}
	if got := e2.Estimate(now); got != 340_000 {
		t.Errorf("estimate %d, want 340000", got)
	}
}

// On an overuse the rate reported is what arrived over the last second:
// a keyframe's burst that filled the queue and the small frames around
// it, not the quiet moments alone.
func TestDelayDetectorOveruseRate(t *testing.T) {
	var d DelayDetector
	now := time.Unix(1000, 0)
	send := int64(0)
	// 1 s of small frames: 2 packets of 500 bytes per 100 ms (80 kbit/s).
	for range 10 {
		for i := range int64(2) {
			d.Packet(send+i*50_000, send+i*50_000+5_000, 500)
		}
		d.Done(now)
		send += 100_000
		now = now.Add(100 * time.Millisecond)
	}
	// A keyframe: 20 packets of 1,250 bytes sent at once, leaving a
	// 500 kbit/s link one every 20 ms, reported in two feedbacks.
	state, rate := DelayUnknown, 0.0
	for step := range 2 {
		for i := range int64(10) {
			k := int64(step)*10 + i
			d.Packet(send, send+5_000+(k+1)*20_000, 1250)
		}
		state, rate = d.Done(now)
		now = now.Add(200 * time.Millisecond)
	}
	if state != DelayOveruse {
		t.Fatalf("%v, want overuse", state)
	}
	// The last second of arrivals: the 25 kB keyframe and 6 small
	// frames' 6 kB, over 1.1 s.
	if rate < 200_000 || rate > 300_000 {
		t.Errorf("rate %.0f bit/s, want about 230 kbit/s", rate)
	}
}

// When the link falls, the overuse reports the rate it carries now, not
// the last second's average that still counts the faster link.
func TestDelayDetectorOveruseAfterFall(t *testing.T) {
	var d DelayDetector
	now := time.Unix(1000, 0)
	send, arrive := int64(0), int64(5_000)
	// 1 s at 400 kbit/s: a 1,000-byte packet every 20 ms, no queue.
	for range 10 {
		for range 5 {
			d.Packet(send, send+5_000, 1000)
			send += 20_000
		}
		d.Done(now)
		now = now.Add(100 * time.Millisecond)
	}
	// The link falls to 100 kbit/s: one packet leaves every 80 ms.
	arrive = send + 5_000
	state, rate := DelayUnknown, 0.0
	for range 3 {
		for range 5 {
			arrive += 80_000
			d.Packet(send, arrive, 1000)
			send += 20_000
		}
		if state, rate = d.Done(now); state == DelayOveruse {
			break
		}
		now = now.Add(100 * time.Millisecond)
	}
	if state != DelayOveruse {
		t.Fatalf("%v, want overuse", state)
	}
	if rate < 90_000 || rate > 110_000 {
		t.Errorf("rate %.0f bit/s, want the link's 100 kbit/s now", rate)
	}
}
