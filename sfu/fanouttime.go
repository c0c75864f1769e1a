package sfu

import (
	"sync/atomic"
	"time"
)

// How long the server holds a voice: from the moment the publisher's
// packet is handed to the room (right after the socket read and SRTP
// decryption) until the last of its copies has left in the fan-out's
// final batch. It is what the server adds to the latency of the last
// listener served; the first is served a fan-out earlier. One sample per
// forwarded audio packet, not per copy: two clock reads and an atomic add.
// The socket's queue before the read is not counted (the kernel's
// timestamp would be; see docs/performance.md).

// FanoutBounds are the upper bounds of the fan-out time histogram's
// buckets ([Stats.FanoutTime]); a last bucket counts the rest.
var FanoutBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, time.Second,
}

// FanoutTime is a snapshot of the fan-out time histogram: Counts[i]
// samples were at most FanoutBounds[i] (and above the bound before it);
// the last entry counts those above every bound.
type FanoutTime struct {
	Counts [len(FanoutBounds) + 1]uint64
	Sum    time.Duration
}

// Total is the number of samples.
func (f *FanoutTime) Total() uint64 {
	var n uint64
	for _, c := range f.Counts {
		n += c
	}
	return n
}

type fanoutHist struct {
	counts [len(FanoutBounds) + 1]atomic.Uint64
	sum    atomic.Int64
}

func (h *fanoutHist) observe(d time.Duration) {
	i := 0
	for i < len(FanoutBounds) && d > FanoutBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *fanoutHist) snapshot() FanoutTime {
	var f FanoutTime
	for i := range h.counts {
		f.Counts[i] = h.counts[i].Load()
	}
	f.Sum = time.Duration(h.sum.Load())
	return f
}

// fanoutDone flushes an audio fan-out's batch and counts how long the
// packet received at now stayed in the server.
func (e *Engine) fanoutDone(f *fanout, now int64) {
	f.done(e)
	e.stats.fanoutTime.observe(time.Duration(e.nanotime() - now))
}
