package sfu

import "time"

// Open-room speaker selection.
//
// Every publisher packet carries its RFC 6464 audio level (0 = 0 dBov, the
// loudest; 127 = silence). The reader smooths the loudness (127-level) with a
// fast attack and a slow decay, so one click is not speech and a short pause
// between words is not silence. A voice-active publisher without a slot
// claims a free one, or replaces an occupant that has been quiet for
// quietReplace; occupants keep their slot while they talk. Claims are rate
// limited per publisher so the room lock is not taken per packet.

const (
	// voiceThreshold: smoothed loudness at or above this is speech
	// (127-50: louder than -50 dBov).
	voiceThreshold = 127 - 50
	// claimInterval: at most one slot claim (or release) per publisher per
	// interval.
	claimInterval = int64(100 * time.Millisecond)
)

// voiceActivity is a publisher's smoothed loudness, in 1/16 units.
type voiceActivity struct {
	loud16 int32
}

// update feeds one packet's level and reports whether the publisher is
// currently voice-active.
func (v *voiceActivity) update(level uint8) bool {
	x := (127 - int32(level&0x7f)) << 4
	if x > v.loud16 {
		v.loud16 += (x - v.loud16) / 2 // attack: two loud packets are speech
	} else {
		v.loud16 += (x - v.loud16) / 16 // decay: ~100 ms from speech to quiet
	}
	return v.loud16 >= voiceThreshold<<4
}

// openModeActivity runs in the publisher's reader for every packet of an
// open room: it tracks voice activity and claims or gives back a slot.
// Packets without an audio level count as speech (the client cannot be
// ranked, but it can be heard when a slot is free).
func (p *Participant) openModeActivity(level uint8, hasLevel bool, now int64) {
	rd := p.rd
	active := !hasLevel || rd.vad.update(level)
	if active {
		p.lastVoice.Store(now)
	}
	if now < rd.nextClaim {
		return
	}
	holds := p.slot() >= 0
	switch {
	case active && !holds:
		rd.nextClaim = now + claimInterval
		p.room.claimSlot(p, now)
	case !active && holds && now-p.lastVoice.Load() > quietRelease:
		rd.nextClaim = now + claimInterval
		p.room.releaseQuiet(p, now)
	}
}

// claimSlot gives p a free slot, or the slot of the occupant quiet for the
// longest time if that is more than quietReplace.
func (r *Room) claimSlot(p *Participant, now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.currentMode() != ModeOpen || p.muted.Load() || p.slot() >= 0 || r.members[p.id] != p {
		return
	}
	i := r.freeSlotLocked()
	if i < 0 {
		oldest := now - quietReplace
		for k := range r.slots {
			if lv := r.slots[k].owner.lastVoice.Load(); lv < oldest {
				i, oldest = k, lv
			}
		}
		if i < 0 {
			return
		}
	}
	r.assignLocked(i, p) // replaces the quiet occupant, if any
}

// releaseQuiet gives back the slot of an occupant that stopped talking, so
// its silence is no longer forwarded.
func (r *Room) releaseQuiet(p *Participant, now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := p.slot()
	if r.currentMode() != ModeOpen || i < 0 || r.slots[i].owner != p || now-p.lastVoice.Load() <= quietRelease {
		return
	}
	r.vacateLocked(i)
}
