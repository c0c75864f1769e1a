package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// Pre-roll windows: when a publisher's gate opens, its gated packets that
// arrived within this window are forwarded first. In ptt/moderated rooms it
// covers a press message that arrives after the first syllable; in open
// rooms, the voice-activity detection delay.
const (
	prerollFloor = int64(300 * time.Millisecond)
	prerollOpen  = int64(100 * time.Millisecond)
)

// reader is the state of one publisher's microphone reader goroutine. Only
// that goroutine touches it, so the pre-roll ring and the voice-activity
// state need no lock.
type reader struct {
	pkt       rtp.Packet // live packet, reused
	old       rtp.Packet // pre-roll packet being replayed, reused
	levelID   uint8      // the publisher's audio-level extension id, 0 = none
	lastEpoch uint32     // last gate epoch seen
	ring      preroll
	nack      upstreamNACK
	stats     receiverStats
	vad       voiceActivity
	nextClaim int64 // open rooms: earliest nanotime of the next slot claim
}

// handle runs one publisher packet through the gate and, if it passes,
// forwards it into its slot.
func (p *Participant) handle(raw []byte, now int64) {
	st := &p.engine.stats
	st.packetsIn.Add(1)
	st.bytesIn.Add(uint64(len(raw)))
	rd := p.rd
	if err := rd.pkt.Unmarshal(raw); err != nil {
		return
	}
	rd.stats.update(&rd.pkt.Header, now)
	p.maybeSendRR(now)
	muted := p.muted.Load()
	open := p.slot() >= 0 && !muted
	if seqs := rd.nack.observe(rd.pkt.SequenceNumber, now, open); len(seqs) > 0 {
		p.sendNACK(rd.pkt.SSRC, seqs)
	}
	if muted {
		rd.ring.reset() // nothing said while muted may leak out later
		st.muted.Add(1)
		return
	}
	r := p.room
	mode := r.currentMode()
	level, hasLevel := audioLevel(&rd.pkt.Header, rd.levelID)
	if mode == ModeOpen {
		p.openModeActivity(level, hasLevel, now)
	}

	slot, epoch := splitGrant(p.grant.Load())
	if slot < 0 {
		rd.ring.push(raw, now)
		if mode == ModeOpen {
			st.noSlot.Add(1)
		} else {
			st.gated.Add(1)
		}
		return
	}
	if epoch != rd.lastEpoch {
		// The gate (re)opened since our last packet: replay the pre-roll.
		rd.lastEpoch = epoch
		window := prerollFloor
		if mode == ModeOpen {
			window = prerollOpen
		}
		for k := range rd.ring.len() {
			at, b := rd.ring.at(k)
			if now-at > window || rd.old.Unmarshal(b) != nil {
				continue
			}
			l, ok := audioLevel(&rd.old.Header, rd.levelID)
			r.forward(p, slot, epoch, &rd.old, l, ok, now)
		}
	}
	rd.ring.reset()
	r.forward(p, slot, epoch, &rd.pkt, level, hasLevel, now)
}

// audioLevel reads the RFC 6464 byte: the voice-activity flag in the top
// bit, then the level (0 loudest, 127 silence). It is forwarded as is.
func audioLevel(h *rtp.Header, id uint8) (uint8, bool) {
	if id == 0 || !h.Extension {
		return 0, false
	}
	b := h.GetExtension(id)
	if len(b) == 0 {
		return 0, false
	}
	return b[0], true
}
