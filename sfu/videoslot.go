package sfu

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"palabre/sfu/alloc"
	"palabre/sfu/vp8"
)

// A receiver's video slots: camera slots 0..V-1 and the screen slot V.
//
// Each is one continuous VP8 stream for the receiver's decoder, whichever
// publisher layer feeds it: its own SSRC, sequence numbers (a run per
// source, with the gaps of dropped temporal layers closed), timestamps
// (a new run continues from the last one by the wall time elapsed), and
// the VP8 descriptor rewritten by a vp8.Rewriter (picture IDs, TL0PICIDX,
// KEYIDX). It changes source or spatial layer only at a keyframe of the
// layer to be sent (want), forwarding the current one (cur) until then.

// videoHist is how many sent packets a slot remembers for NACKs.
const videoHist = 256

// Limits on a receiver's NACKs, per video slot: as for audio (nack.go),
// a budget earned by the packets sent on the slot, with room for the
// packets of a lost keyframe.
const videoResendBurst = 64

// videoOut is one receiver's video slot.
type videoOut struct {
	mu sync.Mutex
	// cur is the layer forwarded now, want the one to switch to at its
	// next keyframe (nil: pause). Written under mu; the fan-out reads them
	// without it to skip the slots that have nothing to do with a packet.
	cur, want atomic.Pointer[videoLayer]

	screen bool
	index  int          // slot number within its kind
	src    *Participant // the source assigned (under Room.mu and mu)
	wish   alloc.Wish   // the receiver's wish
	tmax   uint8        // temporal layer target (the allocator's)
	rank   int          // the source's place in the room's camera order
	// target is the allocator's last alloc.Layer for the slot (read by
	// the source's demand).
	target atomic.Int32

	w     StreamWriter // nil until bound
	ssrc  uint32
	pt    uint8
	absID uint8
	twID  uint8       // transport-wide sequence number extension, 0 = none
	tw    *twccSender // the receiver's numbering (with twID)
	rw    *vp8.Rewriter

	started  bool
	lastSeq  uint16 // highest sequence number written
	lastTS   uint32 // its timestamp
	lastWall int64  // nanotime it was written
	seqDelta uint16 // out = upstream + seqDelta in the current run
	tsDelta  uint32
	upHigh   uint16 // highest upstream sequence number of the run
	run      uint16 // runs since the slot was bound
	hist     [videoHist]sentVideo

	packets, octets uint32 // for sender reports
	nextSR          int64
	tokens          int    // NACK budget
	earned          uint32 // packets when tokens were last earned

	sentBytes atomic.Uint64 // RTP bytes written on this slot, resends included

	videoHdr
}

// sentVideo maps an out sequence number to the upstream one of its run.
type sentVideo struct {
	out, up uint16
	run     uint16
	resent  int32 // milliseconds (odd) of the last resend, 0: never
}

// videoHdr is an RTP header about to be written, with room for its CSRC,
// abs-send-time and transport-wide sequence number, so that handing &hdr
// to the writer allocates nothing.
type videoHdr struct {
	hdr  rtp.Header
	csrc [1]uint32
	ext  [2]rtp.Extension
	abs  [3]byte
	twcc [2]byte
}

func (o *videoHdr) fill(ssrc uint32, pt, absID uint8, seq uint16, ts uint32, marker bool, source uint32, now time.Time) {
	h := fillHeader(&o.hdr, &o.csrc, o.ext[:], ssrc, pt, seq, ts, marker, source)
	if absID != 0 {
		v := absSendTime(now)
		o.abs = [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
		_ = h.SetExtension(absID, o.abs[:])
	}
}

// stamp gives the packet just filled its transport-wide sequence number,
// if the receiver negotiated them, and has it remembered as sent at now
// with payload bytes of payload (or padding).
func (vo *videoOut) stamp(payload int, now time.Time) {
	if vo.twID == 0 || vo.tw == nil {
		return
	}
	h := &vo.hdr
	s := vo.tw.next(h.MarshalSize()+2+payload, now)
	vo.twcc = [2]byte{byte(s >> 8), byte(s)}
	_ = h.SetExtension(vo.twID, vo.twcc[:])
}

// absSendTime is the abs-send-time of a packet sent at t: seconds in
// 6.18 fixed point, modulo 64 s (24 bits). The receiver's delay-based
// estimate (its REMB) is computed from the differences.
func absSendTime(t time.Time) uint32 {
	ns := uint64(t.UnixNano()) % (64 * 1e9) // so that << 18 cannot overflow
	return uint32(ns<<18/1e9) & 0xffffff
}

func (vo *videoOut) bind(s OutStream) {
	vo.w, vo.ssrc, vo.pt, vo.absID, vo.twID = s.Writer, s.SSRC, s.PayloadType, s.AbsSendTimeID, s.TransportCCID
	if vo.rw == nil {
		vo.rw = vp8.NewRewriter()
		vo.lastSeq = uint16(rand.Uint32())
		vo.lastTS = rand.Uint32()
		vo.wish = alloc.WishHigh
		vo.tmax = vp8.MaxTID
		vo.tokens = videoResendBurst
	}
}

// videoTick is the least a timestamp advances across a switch: a frame
// at 30 frames/s.
const videoTick = videoClockRate / 30

// switchTo starts a run of layer l at upstream packet h (a keyframe).
func (vo *videoOut) switchTo(l *videoLayer, h *rtp.Header, now int64) {
	vo.rw.Switch()
	outSeq := vo.lastSeq + 1
	outTS := vo.lastTS
	if vo.started {
		outTS += uint32(max(videoTick, (now-vo.lastWall)*videoClockRate/1e9))
	}
	vo.started = true
	vo.seqDelta = outSeq - h.SequenceNumber
	vo.tsDelta = outTS - h.Timestamp
	vo.upHigh = h.SequenceNumber - 1
	vo.run++
	vo.cur.Store(l)
}

// forward handles one packet of layer l for this slot, holding mu, and
// returns the bytes written (0: nothing). buf is scratch space for the
// rewritten payload.
func (vo *videoOut) forward(l *videoLayer, pkt *rtp.Packet, d *vp8.Descriptor, key bool, now int64, wall time.Time, f *fanout) int {
	if vo.w == nil {
		return 0
	}
	want, cur := vo.want.Load(), vo.cur.Load()
	if d == nil { // padding: closed over like a dropped frame's packet
		if cur == l && seqBefore(vo.upHigh, pkt.SequenceNumber) {
			vo.upHigh = pkt.SequenceNumber
			vo.seqDelta--
		}
		return 0
	}
	if want == l && cur != l {
		switch {
		case key:
			vo.switchTo(l, &pkt.Header, now)
			cur = l
		case vo.replay(l, pkt, now, wall, f):
			cur = l
		default:
			l.requestKeyframe(now)
		}
	}
	if cur != l {
		return 0
	}
	return vo.send(l, pkt, d, now, wall, l.scratch[:], f)
}

// replay switches to l from its cache when l's last keyframe is recent
// and every packet since it is still there: the packets from the keyframe
// to the one before pkt are sent at once, then pkt goes as usual.
func (vo *videoOut) replay(l *videoLayer, pkt *rtp.Packet, now int64, wall time.Time, f *fanout) bool {
	c := &l.cache
	c.mu.Lock()
	keySeq, keyAt := c.keySeq, c.keyAt
	n := pkt.SequenceNumber - keySeq
	ok := keyAt != 0 && now-keyAt <= keyframeReuse && n > 0 && n < videoCacheSize
	for s := keySeq; ok && s != pkt.SequenceNumber; s++ {
		e := &c.e[s%videoCacheSize]
		ok = e.valid && e.seq == s
	}
	c.mu.Unlock()
	if !ok {
		return false
	}
	r := &l.replay
	for s := keySeq; s != pkt.SequenceNumber; s++ {
		c.mu.Lock()
		payload, ok := c.getLocked(s, &r.Header, l.scratch2[:])
		c.mu.Unlock()
		if !ok {
			continue
		}
		d, err := vp8.Parse(payload)
		if err != nil {
			continue
		}
		if s == keySeq {
			if !vp8.IsKeyframe(payload) {
				return false
			}
			vo.switchTo(l, &r.Header, now)
		}
		r.Payload = payload
		vo.send(l, r, &d, now, wall, l.scratch[:], f)
	}
	l.pub.engine.stats.keyframeReuse.Add(1)
	return true
}

// send rewrites and writes one packet of the current run.
func (vo *videoOut) send(l *videoLayer, pkt *rtp.Packet, d *vp8.Descriptor, now int64, wall time.Time, buf []byte, f *fanout) int {
	up := pkt.SequenceNumber
	newer := seqBefore(vo.upHigh, up)
	if newer {
		vo.upHigh = up
	}
	n, err := vo.rw.Rewrite(buf, pkt.Payload, *d)
	if err != nil {
		switch {
		case err == vp8.ErrDropped && newer:
			vo.seqDelta-- // no hole downstream for a dropped frame
		case err == vp8.ErrNeedKeyframe:
			l.requestKeyframe(now)
		}
		return 0
	}
	seq := up + vo.seqDelta
	ts := pkt.Timestamp + vo.tsDelta
	if seqBefore(vo.lastSeq, seq) {
		vo.lastSeq, vo.lastTS, vo.lastWall = seq, ts, now
	}
	vo.hist[seq%videoHist] = sentVideo{out: seq, up: up, run: vo.run}
	vo.fill(vo.ssrc, vo.pt, vo.absID, seq, ts, pkt.Marker, l.pub.source, wall)
	vo.stamp(n, wall)
	if _, err := f.write(vo.w, &vo.hdr, buf[:n]); err != nil {
		l.pub.engine.stats.writeError.Add(1)
		return 0
	}
	size := vo.hdr.MarshalSize() + n
	vo.packets++
	vo.octets += uint32(n)
	vo.sentBytes.Add(uint64(size))
	return size
}

// forwardVideo fans one packet of layer l out to every receiver slot that
// forwards l or waits to switch to it; d nil is a padding-only packet.
func (r *Room) forwardVideo(l *videoLayer, pkt *rtp.Packet, d *vp8.Descriptor, key bool, now int64) {
	var sent, bytes uint64
	wall := time.Now()
	f := r.engine.newFanout()
	defer f.done(r.engine)
	for _, sub := range r.subscribers() {
		if sub == l.pub || len(sub.vout) == 0 || !sub.connected.Load() {
			continue
		}
		lo, hi := 0, len(sub.vout)-1 // camera slots
		if l.kind == StreamScreen {
			lo = hi
		} else {
			hi--
		}
		for j := lo; j <= hi; j++ {
			vo := &sub.vout[j]
			if vo.cur.Load() != l && vo.want.Load() != l {
				continue
			}
			vo.mu.Lock()
			n := vo.forward(l, pkt, d, key, now, wall, f)
			if n > 0 {
				vo.maybeSendSR(sub, now)
			}
			vo.mu.Unlock()
			if n > 0 {
				sent++
				bytes += uint64(n)
				sub.countSent(n)
			}
		}
		sub.maybeAllocate(now)
		sub.maybePad(now)
	}
	if sent > 0 {
		st := &r.engine.stats
		st.packetsOut.Add(sent)
		st.bytesOut.Add(bytes)
	}
}

// maybeSendSR sends a sender report for the slot if one is due (holding mu).
func (vo *videoOut) maybeSendSR(sub *Participant, now int64) {
	if now < vo.nextSR {
		return
	}
	vo.nextSR = now + reportInterval
	sub.sendSR(vo.ssrc, vo.lastTS+uint32((now-vo.lastWall)*videoClockRate/1e9), vo.packets, vo.octets)
}

// videoResender is a receiver's scratch space for video resends, made at
// its first video NACK; only its RTCP goroutine uses it.
type videoResender struct {
	wanted  [maxResendPerNACK]uint16
	payload [1600]byte
	out     [1600]byte
	pkt     rtp.Packet
}

// retransmitVideo re-sends the packets a receiver NACKed on slot vo, from
// the current layer's cache, within the slot's budget.
func (sub *Participant) retransmitVideo(vo *videoOut, fci []byte) {
	rs := sub.vrs
	if rs == nil {
		rs = new(videoResender)
		sub.vrs = rs
	}
	stats := &sub.engine.stats
	wanted, more := nackSeqs(fci, rs.wanted[:0])
	if more > 0 {
		stats.nackRate.Add(uint64(more))
	}
	now := sub.engine.nanotime()
	ms := msTime(now)
	wall := time.Now()
	var sent, bytes, rate, repeat uint64
	vo.mu.Lock()
	defer func() {
		vo.mu.Unlock()
		stats.nackRate.Add(rate)
		stats.nackRepeat.Add(repeat)
		if sent > 0 {
			stats.retransmit.Add(sent)
			stats.packetsOut.Add(sent)
			stats.bytesOut.Add(bytes)
		}
	}()
	l := vo.cur.Load()
	if l == nil || vo.w == nil || !sub.connected.Load() {
		return
	}
	vo.tokens = min(videoResendBurst, vo.tokens+int(vo.packets-vo.earned))
	vo.earned = vo.packets
	for _, seq := range wanted {
		e := &vo.hist[seq%videoHist]
		switch {
		case e.out != seq || e.run != vo.run:
			continue // not sent, or from another run
		case e.resent != 0 && ms-e.resent < resendRepeatMS:
			repeat++
			continue
		case vo.tokens == 0:
			rate++
			continue
		}
		l.cache.mu.Lock()
		payload, ok := l.cache.getLocked(e.up, &rs.pkt.Header, rs.payload[:])
		l.cache.mu.Unlock()
		if !ok {
			continue
		}
		d, err := vp8.Parse(payload)
		if err != nil {
			continue
		}
		n, err := vo.rw.Rewrite(rs.out[:], payload, d)
		if err != nil {
			continue
		}
		vo.fill(vo.ssrc, vo.pt, vo.absID, seq, rs.pkt.Timestamp+vo.tsDelta, rs.pkt.Marker, l.pub.source, wall)
		vo.stamp(n, wall)
		if _, err := vo.w.WriteRTP(&vo.hdr, rs.out[:n]); err != nil {
			continue
		}
		vo.tokens--
		e.resent = ms
		size := vo.hdr.MarshalSize() + n
		vo.sentBytes.Add(uint64(size))
		sub.countSent(size)
		sent++
		bytes += uint64(size)
	}
}
