package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"palabre/sfu/alloc"
)

// Transport-wide congestion control, the sending side (docs/video.md,
// "Layers"): every packet sent on a receiver's video slots (media,
// resends, probe padding) carries a transport-wide sequence number
// (draft-holmer-rmcat-transport-wide-cc-extensions), and the server
// remembers when it sent it. The receiver's browser answers every 50..250
// ms with the arrival time of each (RTCP transport feedback), and the
// delay detector (alloc.DelayDetector) sees a queue building on its link
// before the queue overflows: the receiver reports show loss only
// afterwards, a second later, when its audio has been dropped too.
//
// The numbers count the video slots' packets only: the audio slots carry
// no extension (an audio-only receiver has no video to shed).

const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// twccHist is how many sent packets are remembered: two seconds of video
// at a few Mbit/s, well beyond a feedback's 250 ms.
const twccHist = 1024

// maxFeedbackStatuses bounds the packets one feedback is read for: older
// ones than the history are not known anyway.
const maxFeedbackStatuses = 2 * twccHist

// twccSender numbers one receiver's video packets and reads its feedback.
type twccSender struct {
	seq atomic.Uint32
	// sent[s%twccHist]: seq<<48 | size<<32 | send time (µs, wrapping).
	sent [twccHist]atomic.Uint64

	mu       sync.Mutex // feedback
	det      alloc.DelayDetector
	lastSend int64 // the last send time unwrapped (µs)
	started  bool
	fb       rtcp.TransportLayerCC
}

// next numbers a packet of size bytes sent at wall, and returns its
// transport-wide sequence number. Safe for concurrent use: the numbers of
// two fan-outs sending at once interleave, which feedback takes as
// reordering.
func (t *twccSender) next(size int, wall time.Time) uint16 {
	s := uint16(t.seq.Add(1))
	us := uint32(wall.UnixMicro())
	t.sent[s%twccHist].Store(uint64(s)<<48 | uint64(min(size, 0xffff))<<32 | uint64(us))
	return s
}

// lookup returns the send time (µs, unwrapped) and size of packet s, if
// it is still remembered.
func (t *twccSender) lookup(s uint16) (int64, int, bool) {
	v := t.sent[s%twccHist].Load()
	if v == 0 || uint16(v>>48) != s {
		return 0, 0, false
	}
	us := uint32(v)
	if !t.started {
		t.lastSend, t.started = int64(us), true
	}
	// Unwrap around the last one seen: feedback covers well under the
	// 71 minutes a 32-bit µs count takes to wrap.
	send := t.lastSend + int64(int32(us-uint32(t.lastSend)))
	t.lastSend = send
	return send, int(v >> 32 & 0xffff), true
}

// feedback reads one transport feedback packet b and returns what the
// delay detector makes of it, and the rate the receiver got.
func (t *twccSender) feedback(b []byte, now time.Time) (alloc.DelayState, float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fb := &t.fb
	*fb = rtcp.TransportLayerCC{PacketChunks: fb.PacketChunks[:0], RecvDeltas: fb.RecvDeltas[:0]}
	if err := fb.Unmarshal(b); err != nil {
		return alloc.DelayUnknown, 0
	}
	// The reference time is a signed 24-bit count of 64 ms; arrival
	// times are only compared with each other.
	arrive := int64(fb.ReferenceTime) * 64000
	seq := fb.BaseSequenceNumber
	count := min(int(fb.PacketStatusCount), maxFeedbackStatuses)
	deltas := fb.RecvDeltas
	status := func(sym uint16) {
		if count == 0 {
			return
		}
		count--
		s := seq
		seq++
		if sym != rtcp.TypeTCCPacketReceivedSmallDelta && sym != rtcp.TypeTCCPacketReceivedLargeDelta {
			return
		}
		if len(deltas) == 0 {
			count = 0
			return
		}
		arrive += deltas[0].Delta
		deltas = deltas[1:]
		if send, size, ok := t.lookup(s); ok {
			t.det.Packet(send, arrive, size)
		}
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range min(int(c.RunLength), count) {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			// One-bit symbols are 0 (not received) and 1, which is
			// TypeTCCPacketReceivedSmallDelta.
			for _, sym := range c.SymbolList {
				status(sym)
			}
		}
	}
	return t.det.Done(now)
}

// handleTransportFeedback takes a transport feedback packet from p and
// acts on what its delay says: an overuse cuts the estimate, and the
// slots are allocated again at once (a steep cut stops the layers the
// link cannot carry now).
func (p *Participant) handleTransportFeedback(b []byte, now int64) {
	va := p.va
	if va == nil || va.tw == nil {
		return
	}
	p.engine.stats.transportFeedback.Add(1)
	wall := p.engine.wallAt(now)
	state, delivered := va.tw.feedback(b, wall)
	if va.est.OnDelay(state, delivered, wall) {
		p.log.Debug("delay cut", "delivered", int(delivered), "estimate", va.est.Estimate(wall))
		p.engine.stats.delayCuts.Add(1)
		p.allocate(now)
		return
	}
	p.maybeAllocate(now)
}
