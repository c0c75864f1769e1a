package sfu

import (
	"encoding/binary"
	"sync"

	"github.com/pion/rtp"
)

// NACK responder.
//
// pion's responder interceptor keeps a copy of every packet sent on every
// outgoing stream: with slots that is K buffers per subscriber, mostly
// holding the same packets. Here each publisher keeps one small cache of the
// packets it had forwarded, shared by all its subscribers, and every
// (subscriber, slot) state remembers its last few runs (segments), enough to
// map a NACKed slot sequence number back to the publisher's packet.

// cacheSize is the number of forwarded packets a publisher keeps for
// retransmission: 64 × 20 ms = 1.28 s, longer than any useful audio NACK.
const cacheSize = 64

// maxResendPerNACK bounds the work one NACK packet can cause.
const maxResendPerNACK = 32

type packetCache struct {
	mu sync.Mutex
	e  [cacheSize]cachedPacket
}

type cachedPacket struct {
	valid    bool
	marker   bool
	hasLevel bool
	level    uint8
	seq      uint16
	epoch    uint32
	ts       uint32
	payload  []byte // reused; grows to the largest payload seen
}

// put remembers a packet the publisher forwards (reader goroutine).
func (c *packetCache) put(h *rtp.Header, payload []byte, epoch uint32, level uint8, hasLevel bool) {
	c.mu.Lock()
	e := &c.e[h.SequenceNumber%cacheSize]
	e.valid, e.marker, e.hasLevel, e.level = true, h.Marker, hasLevel, level
	e.seq, e.epoch, e.ts = h.SequenceNumber, epoch, h.Timestamp
	e.payload = append(e.payload[:0], payload...)
	c.mu.Unlock()
}

// handleRTCP receives one decrypted RTCP packet addressed to slot i's SSRC
// (from pion's SRTCP read loop). Only generic NACKs (RFC 4585) matter.
func (p *Participant) handleRTCP(i int, b []byte) {
	const rtpfb, genericNACK = 205, 1
	if len(b) < 12 || b[1] != rtpfb || b[0]&0x1f != genericNACK {
		return
	}
	end := min((int(binary.BigEndian.Uint16(b[2:4]))+1)*4, len(b))
	if binary.BigEndian.Uint32(b[8:12]) != p.slotSSRC[i] {
		return
	}
	p.room.retransmit(p, i, b[12:end])
}

// retransmit re-sends the packets NACKed by sub on slot i. fci is the list
// of (PID, BLP) pairs.
func (r *Room) retransmit(sub *Participant, i int, fci []byte) {
	s := &r.slots[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &sub.out[i]
	if st.w == nil || !st.started || !sub.connected.Load() {
		return
	}
	var sent, bytes uint64
	budget := maxResendPerNACK
	for ; len(fci) >= 4 && budget > 0; fci = fci[4:] {
		pid := binary.BigEndian.Uint16(fci[0:2])
		blp := binary.BigEndian.Uint16(fci[2:4])
		for k := 0; k <= 16 && budget > 0; k++ {
			if k > 0 && blp&(1<<(k-1)) == 0 {
				continue
			}
			budget--
			if n, ok := st.resend(pid + uint16(k)); ok {
				sent++
				bytes += uint64(n)
			}
		}
	}
	if sent > 0 {
		stats := &r.engine.stats
		stats.retransmit.Add(sent)
		stats.packetsOut.Add(sent)
		stats.bytesOut.Add(bytes)
	}
}

// resend writes slot sequence number seq again if its packet is still in
// the publisher's cache. Called holding the slot's mutex.
func (st *slotState) resend(seq uint16) (int, bool) {
	seg := st.segmentFor(seq)
	if seg == nil {
		return 0, false
	}
	up := seq - seg.seqDelta
	c := seg.pub.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &c.e[up%cacheSize]
	if !e.valid || e.seq != up || e.epoch != seg.epoch {
		return 0, false
	}
	st.fill(seq, e.ts+seg.tsDelta, e.marker || seq == seg.start, seg.pub.source, e.level, e.hasLevel)
	if _, err := st.w.WriteRTP(&st.hdr, e.payload); err != nil {
		return 0, false
	}
	return st.hdr.MarshalSize() + len(e.payload), true
}

// segmentFor finds the run that slot sequence number seq belongs to.
func (st *slotState) segmentFor(seq uint16) *segment {
	if seqBefore(st.lastSeq, seq) {
		return nil // not sent yet
	}
	n := len(st.segs)
	for k := range n {
		seg := &st.segs[(int(st.segHead)-k+n)%n]
		if seg.pub == nil {
			return nil
		}
		// A run longer than half the sequence space holds every recent
		// number, though its start then compares as "after" them.
		if !seqBefore(seq, seg.start) || (k == 0 && st.lastSeq-seg.start >= 0x8000) {
			return seg
		}
	}
	return nil
}
