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
	// growth, no probe). queueOveruse or more while the queue still grows
	// (by queueGrowth or more since the previous feedback) says the link
	// is overloaded: the estimate falls to what got through; but only
	// when the feedback before said so too (a link that fell fills its
	// queue feedback after feedback, while a receiver whose CPU stalled
	// stamps one feedback's packets late and the next on time). A queue
	// that drains, however long, is not an overuse: after a cut it takes
	// a while to empty, and cutting again on it would judge the link by
	// the trickle of packets still leaving it.
	queueHold    = 25 * time.Millisecond
	queueOveruse = 50 * time.Millisecond
	queueGrowth  = 2 * time.Millisecond
	// The delivered rate is measured over the arrivals of the last
	// deliveredWindow (at least deliveredLeast of them): long enough to
	// hold a keyframe's burst and the small frames after it, so that a
	// link the sender does not fill is not judged by its quiet moments.
	deliveredWindow = time.Second
	deliveredLeast  = 200 * time.Millisecond
	// feedbackRing: feedbacks kept for it (a browser sends 4 to 20/s).
	feedbackRing = 32
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
	prevGrew     bool // the previous feedback's queue was above queueOveruse and growing

	// delivered rate: the last feedbacks' arrivals
	ring      [feedbackRing]arrivals
	head      int
	delivered float64
}

// arrivals are one feedback's: bytes received between first and last.
type arrivals struct {
	bytes, first, last int64
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
// what it says, with the rate the receiver got over the last second of
// arrivals (bits/s, 0 until at least 200 ms of them); on an overuse, the
// lower of that and this feedback's own arrival rate (the link's, while
// the packets queue).
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
	// While a queue holds them, packets leave the link at its rate: on
	// an overuse this feedback's arrival rate is the link's now, where
	// the second's average still counts what arrived before it fell.
	var queued float64
	if span := d.last - d.first; d.n >= 4 && span >= int64(10*time.Millisecond/time.Microsecond) {
		// n packets span n-1 gaps: the first one's bytes came before.
		queued = float64(d.bytes) * float64(d.n-1) / float64(d.n) * 8 / (float64(span) / 1e6)
	}
	d.measureDelivered()
	growing := d.hasPrevQueue && queue-d.prevQueue >= int64(queueGrowth/time.Microsecond)
	d.prevQueue, d.hasPrevQueue = queue, true
	d.sum, d.n, d.bytes, d.hasArrival = 0, 0, 0, false

	q := time.Duration(queue) * time.Microsecond
	grew := d.prevGrew
	d.prevGrew = q >= queueOveruse && growing
	switch {
	case q >= queueOveruse && growing && grew:
		if queued > 0 && (d.delivered == 0 || queued < d.delivered) {
			return DelayOveruse, queued
		}
		return DelayOveruse, d.delivered
	case q >= queueHold:
		return DelayHold, d.delivered
	}
	return DelayNormal, d.delivered
}

// measureDelivered adds this feedback's arrivals to the ring and
// measures the rate over those of the last deliveredWindow.
func (d *DelayDetector) measureDelivered() {
	d.head = (d.head + 1) % feedbackRing
	d.ring[d.head] = arrivals{bytes: d.bytes, first: d.first, last: d.last}
	end := d.last
	from := end
	var bytes int64
	for k := range feedbackRing {
		a := d.ring[(d.head-k+feedbackRing)%feedbackRing]
		if a.bytes == 0 || a.first < end-int64(deliveredWindow/time.Microsecond) || a.last > end {
			break
		}
		bytes += a.bytes
		from = min(from, a.first)
	}
	if span := end - from; span >= int64(deliveredLeast/time.Microsecond) {
		d.delivered = float64(bytes) * 8 / (float64(span) / 1e6)
	}
}
