package sfu

import (
	"time"

	"palabre/sfu/alloc"
)

// Probes (package alloc, Probe): to learn whether a receiver's link
// carries an upgrade, the server sends it that much more for
// alloc.ProbeDuration as RTP padding: padding-only packets on one of its
// video slots, in the slot's own sequence space, so that the receiver's
// reports count them (lost or not) and its REMB, if it sends one, sees
// them. Only on a paused slot (one that carried video and forwards none
// now): not on a slot that never carried video (Chromium then reports
// most of the padding lost), and not inside an active run (the numbers of
// late packets would be taken). A paused slot has nothing else to test
// the link with, and a receiver whose video is paused stops reporting on
// it: the padding brings its reports back.
//
// Padding is sent from the video fan-out (forwardVideo, for every
// receiver at every packet of the room's video), so no timer runs for it.
// When no slot is paused, no padding is sent: the probe is lost, and the
// allocator's schedule tries again later; a loss-based estimate still
// grows while it is used (alloc.Estimator).

const (
	// padSize is the padding of one packet: the most an RTP padding
	// length byte says.
	padSize = 255
	// padBurst bounds the padding packets sent in one call.
	padBurst = 8
)

// startPadding starts a probe of bps for alloc.ProbeDuration.
func (va *videoAlloc) startPadding(bps int, now int64) {
	va.padMu.Lock()
	va.padFrom = now
	va.padMu.Unlock()
	va.padBps.Store(int64(bps))
	va.padUntil.Store(now + int64(alloc.ProbeDuration))
}

// maybePad sends the padding a running probe owes p by now.
func (p *Participant) maybePad(now int64) {
	va := p.va
	if va == nil || now >= va.padUntil.Load() || !va.padMu.TryLock() {
		return
	}
	defer va.padMu.Unlock()
	bps := va.padBps.Load()
	per := int64(padSize*8) * int64(time.Second) / max(bps, 1) // ns per packet
	n := min((now-va.padFrom)/per, padBurst)
	if n <= 0 {
		return
	}
	va.padFrom += n * per
	if now-va.padFrom > int64(alloc.ProbeDuration) {
		va.padFrom = now // fell behind (no video for a while): owe nothing
	}
	wall := time.Now()
	for j := range p.vout {
		vo := &p.vout[j]
		vo.mu.Lock()
		if vo.w == nil || !vo.started || vo.cur.Load() != nil {
			vo.mu.Unlock()
			continue
		}
		var packets, bytes int
		for ; packets < int(n); packets++ {
			size := vo.pad(wall)
			if size == 0 {
				break
			}
			bytes += size
		}
		vo.mu.Unlock()
		if packets > 0 {
			p.countSent(bytes)
			st := &p.engine.stats
			st.padding.Add(uint64(packets))
			st.packetsOut.Add(uint64(packets))
			st.bytesOut.Add(uint64(bytes))
		}
		return
	}
}

// pad writes one padding-only packet on vo, a paused slot (holding mu),
// and returns its size (0 if it could not be written). It takes the next
// sequence number: a run that starts later follows it (switchTo), and a
// NACK for it finds nothing to resend.
func (vo *videoOut) pad(wall time.Time) int {
	vo.lastSeq++
	vo.fill(vo.ssrc, vo.pt, vo.absID, vo.lastSeq, vo.lastTS, false, 0, wall)
	h := &vo.hdr
	h.CSRC = h.CSRC[:0]
	vo.stamp(padSize, wall)
	h.Padding, h.PaddingSize = true, padSize
	_, err := vo.w.WriteRTP(h, nil)
	size := h.MarshalSize() + padSize
	h.Padding, h.PaddingSize = false, 0
	if err != nil {
		return 0
	}
	vo.sentBytes.Add(uint64(size))
	return size
}
