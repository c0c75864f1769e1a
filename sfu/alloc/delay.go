package alloc

import "time"

// The delay detector's rules, in numbers.
const (
	// baseBucket: the one-way delay baseline is the least delay seen in
	// the current and the previous bucket (5..10 s), so that it follows
	// clock drift and a route change.
	baseBucket = 5 * time.Second
	// A feedback whose packets waited on average queueHold or more above
	// the baseline says a queue is building: the estimate holds (no
	// growth, no probe). queueOveruse or more while the queue grows, or
	// queueFull whatever it does, says the link is overloaded: the
	// estimate falls to what got through.
	queueHold    = 25 * time.Millisecond
	queueOveruse = 50 * time.Millisecond
	queueFull    = 150 * time.Millisecond
	// deliveredWindow is the shortest span of arrivals the delivered
	// rate is measured over.
	deliveredWindow = 200 * time.Millisecond
)

// DelayState is what one feedback says about the receiver's link.
type DelayState uint8

const (
	// DelayUnknown: the feedback reported no packet the detector knows.
	DelayUnknown DelayState = iota
	// DelayNormal: no queue to speak of.
	DelayNormal
	// DelayHold: a queue is building; do not send more.
	DelayHold
	// DelayOveruse: the link carries less than is sent.
	DelayOveruse
)

func (s DelayState) String() string {
	switch s {
	case DelayNormal:
		return "normal"
	case DelayHold:
		return "hold"
	case DelayOveruse:
		return "overuse"
	}
	return "unknown"
}

// DelayDetector tells a building queue on the receiver's link from
// transport-wide congestion control feedback (the receiver's arrival time
// of each packet the server numbered), before the queue overflows: the
// loss in receiver reports comes a second later, after the link has
// dropped packets, audio included.
//
// Each packet's one-way delay is its arrival time (the receiver's clock)
// minus its send time (the server's); the clocks' offset is unknown, so
// the detector keeps the least delay seen recently as the baseline and
// judges the queueing delay above it. This is simpler than libwebrtc's
// trendline filter, and enough for what it is for: a link whose rate
// fell below what is sent fills its queue at once, by tens of
// milliseconds in every 100 ms feedback.
//
// Feed one feedback's packets with Packet, then call Done. Not safe for
// concurrent use.
type DelayDetector struct {
	base     [2]int64 // least delay (µs) in the current and previous bucket
	hasBase  [2]bool
	bucketAt time.Time

	// this feedback
	sum, n       int64
	bytes        int64
	first, last  int64 // arrival times (µs)
	hasArrival   bool
	prevQueue    int64 // the previous feedback's mean queueing delay (µs)
	hasPrevQueue bool

	// delivered rate: arrivals accumulated over deliveredWindow
	accBytes  int64
	accFrom   int64
	accTo     int64
	accOpen   bool
	delivered float64
}

// Packet records one packet the feedback reports received: sent at send
// (server clock, µs), arrived at arrive (receiver clock, µs), size bytes.
func (d *DelayDetector) Packet(send, arrive int64, size int) {
	delay := arrive - send
	if !d.hasBase[0] || delay < d.base[0] {
		d.base[0], d.hasBase[0] = delay, true
	}
	d.sum += delay
	d.n++
	d.bytes += int64(size)
	if !d.hasArrival || arrive < d.first {
		d.first = arrive
	}
	if !d.hasArrival || arrive > d.last {
		d.last = arrive
	}
	d.hasArrival = true
}

// Done judges the feedback whose packets were just given and returns
// what it says, with the rate the receiver got (bits/s, 0 until
// measured over at least 200 ms of arrivals).
func (d *DelayDetector) Done(now time.Time) (DelayState, float64) {
	if d.bucketAt.IsZero() {
		d.bucketAt = now
	}
	if now.Sub(d.bucketAt) >= baseBucket {
		if d.hasBase[0] {
			d.base[1], d.hasBase[1] = d.base[0], true
		}
		d.hasBase[0] = false
		d.bucketAt = now
	}
	if d.n == 0 {
		return DelayUnknown, d.delivered
	}
	base := d.base[1]
	if d.hasBase[0] && (!d.hasBase[1] || d.base[0] < base) {
		base = d.base[0]
	}
	queue := d.sum/d.n - base
	d.measureDelivered()
	growing := d.hasPrevQueue && queue > d.prevQueue
	d.prevQueue, d.hasPrevQueue = queue, true
	d.sum, d.n, d.bytes, d.hasArrival = 0, 0, 0, false

	q := time.Duration(queue) * time.Microsecond
	switch {
	case q >= queueFull, q >= queueOveruse && growing:
		return DelayOveruse, d.delivered
	case q >= queueHold:
		return DelayHold, d.delivered
	}
	return DelayNormal, d.delivered
}

// measureDelivered adds this feedback's arrivals to the delivered-rate
// window and measures it once it spans deliveredWindow.
func (d *DelayDetector) measureDelivered() {
	if !d.accOpen || d.first > d.accTo+int64(time.Second/time.Microsecond) {
		// first window, or a silence: start again from here
		d.accBytes, d.accFrom, d.accTo, d.accOpen = 0, d.first, d.first, true
	}
	d.accBytes += d.bytes
	d.accTo = max(d.accTo, d.last)
	if span := d.accTo - d.accFrom; span >= int64(deliveredWindow/time.Microsecond) {
		d.delivered = float64(d.accBytes) * 8 / (float64(span) / 1e6)
		d.accBytes, d.accFrom = 0, d.accTo
	}
}
