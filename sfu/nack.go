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

// maxResendPerNACK bounds the work one NACK packet can cause: the
// sequence numbers asked for beyond it are dropped (and counted).
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

// nackSeqs appends to dst (up to its capacity) the sequence numbers that a
// NACK's FCI, a list of (PID, BLP) pairs, asks for, in order, and returns
// how many more it asks for beyond that.
func nackSeqs(fci []byte, dst []uint16) (seqs []uint16, more int) {
	for ; len(fci) >= 4; fci = fci[4:] {
		pid := binary.BigEndian.Uint16(fci[0:2])
		blp := binary.BigEndian.Uint16(fci[2:4])
		for k := 0; k <= 16; k++ {
			if k > 0 && blp&(1<<(k-1)) == 0 {
				continue
			}
			if len(dst) == cap(dst) {
				more++
				continue
			}
			dst = append(dst, pid+uint16(k))
		}
	}
	return dst, more
}

// Limits on what one listener's NACKs can cost, per (listener, slot).
const (
	// resendBurst: a listener may have this many packets resent at once;
	// beyond that it earns one resend per packet forwarded to it on the
	// slot, so resends never exceed the slot's own packet rate.
	resendBurst = 25
	// resendRepeatMS: a packet is resent to a listener at most once in
	// this window (about a round trip: asking again sooner is useless).
	resendRepeatMS = 100
)

// resender is one listener's retransmission state, allocated at its first
// NACK. Only the goroutine that delivers the listener's RTCP (pion's SRTCP
// read loop) uses it, so it needs no lock, and the resends are written
// holding no lock the fan-out needs.
type resender struct {
	slots  [MaxSlots]*resendSlot
	wanted [maxResendPerNACK]uint16
	batch  [maxResendPerNACK]resendItem
	rtpOut
	payload []byte
}

// resendSlot is the budget and the recent resends of one (listener, slot).
type resendSlot struct {
	tokens int
	earned uint32            // the slot stream's packet count when tokens were last earned
	seq    [cacheSize]uint16 // recent resends by sequence number mod cacheSize…
	at     [cacheSize]int32  // …and when (milliseconds, odd; 0: never)
}

// resendItem is one packet to resend, found under the slot's lock.
type resendItem struct {
	seq      uint16 // slot sequence number
	up       uint16 // the publisher's
	pub      *Participant
	epoch    uint32
	tsDelta  uint32
	runStart bool
}

func msTime(now int64) int32 { return int32(now/1e6) | 1 }

// retransmit re-sends the packets NACKed by sub on slot i, within its
// budget. fci is the list of (PID, BLP) pairs.
func (r *Room) retransmit(sub *Participant, i int, fci []byte) {
	rs := sub.rs
	if rs == nil {
		rs = new(resender)
		sub.rs = rs
	}
	wanted, more := nackSeqs(fci, rs.wanted[:0])
	stats := &r.engine.stats
	if more > 0 {
		stats.nackRate.Add(uint64(more))
	}
	now := msTime(r.engine.nanotime())

	s := &r.slots[i]
	s.mu.Lock()
	st := &sub.out[i]
	if st.w == nil || !st.started || !sub.connected.Load() {
		s.mu.Unlock()
		return
	}
	w, ssrc, pt, levelID := st.w, st.ssrc, st.pt, st.levelID
	sl := rs.slots[i]
	if sl == nil {
		sl = &resendSlot{tokens: resendBurst, earned: st.packets}
		rs.slots[i] = sl
	}
	sl.tokens = min(resendBurst, sl.tokens+int(st.packets-sl.earned))
	sl.earned = st.packets
	batch := rs.batch[:0]
	var rate, repeat uint64
	for _, seq := range wanted {
		k := seq % cacheSize
		switch {
		case sl.at[k] != 0 && sl.seq[k] == seq && now-sl.at[k] < resendRepeatMS:
			repeat++
			continue
		case sl.tokens == 0:
			rate++
			continue
		}
		seg := st.segmentFor(seq)
		if seg == nil {
			continue
		}
		batch = append(batch, resendItem{
			seq: seq, up: seq - seg.seqDelta, pub: seg.pub, epoch: seg.epoch,
			tsDelta: seg.tsDelta, runStart: seq == seg.start,
		})
		sl.tokens--
		sl.seq[k], sl.at[k] = seq, now
	}
	s.mu.Unlock()

	var sent, bytes uint64
	for k := range batch {
		if n, ok := rs.send(w, &batch[k], ssrc, pt, levelID); ok {
			sent++
			bytes += uint64(n)
		} else {
			sl.tokens++ // nothing was sent
		}
	}
	if rate > 0 {
		stats.nackRate.Add(rate)
	}
	if repeat > 0 {
		stats.nackRepeat.Add(repeat)
	}
	if sent > 0 {
		stats.retransmit.Add(sent)
		stats.packetsOut.Add(sent)
		stats.bytesOut.Add(bytes)
	}
}

// send writes one packet again if it is still in its publisher's cache.
func (rs *resender) send(w StreamWriter, it *resendItem, ssrc uint32, pt, levelID uint8) (int, bool) {
	c := it.pub.cache
	if c == nil {
		return 0, false
	}
	c.mu.Lock()
	e := &c.e[it.up%cacheSize]
	if !e.valid || e.seq != it.up || e.epoch != it.epoch {
		c.mu.Unlock()
		return 0, false
	}
	rs.payload = append(rs.payload[:0], e.payload...)
	rs.fill(ssrc, pt, levelID, it.seq, e.ts+it.tsDelta, e.marker || it.runStart, it.pub.source, e.level, e.hasLevel)
	c.mu.Unlock()
	if _, err := w.WriteRTP(&rs.hdr, rs.payload); err != nil {
		return 0, false
	}
	return rs.hdr.MarshalSize() + len(rs.payload), true
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
