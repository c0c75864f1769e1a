package sfu

import "errors"

// ErrFloorBusy is returned by RequestFloor when MaxSpeakers already hold the
// floor and preemption was not asked for.
var ErrFloorBusy = errors.New("floor busy")

// RequestFloor gives p the floor in ModeFloor rooms if fewer than
// MaxSpeakers hold it; otherwise it fails with ErrFloorBusy, unless preempt:
// then the longest holder loses the floor. Holding the floor means holding a
// slot: p's packets (and its last 300 ms of pre-roll) are forwarded from now
// on. Asking again while holding is a no-op. In open rooms: no-op, nil. A
// participant whose media connection is not up gets ErrNotConnected.
func (r *Room) RequestFloor(p *Participant, preempt bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return ErrRoomClosed
	case p == nil || r.members[p.id] != p:
		return ErrNotInRoom
	case r.currentMode() == ModeOpen:
		return nil
	case r.holdsFloorLocked(p):
		return nil
	case !p.Connected():
		return ErrNotConnected
	}
	i := -1
	if len(r.floor) >= r.maxSpeakers {
		if !preempt {
			return ErrFloorBusy
		}
		// The longest holders lose the floor; p takes over the slot of the
		// last one removed (one SlotChanged, no silent gap in between).
		for len(r.floor) >= r.maxSpeakers {
			v := r.floor[0]
			r.floor = r.floor[1:]
			if i >= 0 {
				r.vacateLocked(i)
			}
			i = v.slot()
		}
	}
	if i < 0 {
		i = r.freeSlotLocked()
	}
	if i < 0 { // cannot happen: only holders occupy slots in these modes
		return ErrFloorBusy
	}
	r.floor = append(r.floor, p)
	r.assignLocked(i, p)
	r.floorChangedLocked()
	return nil
}

// ReleaseFloor takes the floor from p; it reports whether p held it. When it
// returns, no more packets of p are forwarded.
func (r *Room) ReleaseFloor(p *Participant) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p == nil || !r.holdsFloorLocked(p) {
		return false
	}
	r.dropHolderLocked(p)
	r.floorChangedLocked()
	return true
}

// Floor returns the ids of the floor holders, in the order they took it.
func (r *Room) Floor() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.floorIDsLocked()
}

// SetMuted mutes or unmutes p on the server: a muted participant's packets
// are dropped. A muted floor holder keeps the floor (and its slot) but is not
// heard; in open rooms a muted participant gives its slot back.
func (r *Room) SetMuted(p *Participant, muted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p == nil || r.members[p.id] != p || p.muted.Load() == muted {
		return
	}
	p.muted.Store(muted)
	i := p.slot()
	switch {
	case i < 0 || r.slots[i].owner != p:
	case muted && r.currentMode() == ModeOpen:
		r.vacateLocked(i)
	case !muted:
		// The gate re-opens: a new epoch makes every slot state rebase.
		s := &r.slots[i]
		s.mu.Lock()
		p.setGrant(i)
		s.mu.Unlock()
	}
}

func (r *Room) holdsFloorLocked(p *Participant) bool {
	for _, h := range r.floor {
		if h == p {
			return true
		}
	}
	return false
}

// dropHolderLocked removes p from the floor and frees its slot; the caller
// reports the floor change.
func (r *Room) dropHolderLocked(p *Participant) {
	for k, h := range r.floor {
		if h == p {
			r.floor = append(r.floor[:k:k], r.floor[k+1:]...)
			break
		}
	}
	if i := p.slot(); i >= 0 && r.slots[i].owner == p {
		r.vacateLocked(i)
	}
}

func (r *Room) floorIDsLocked() []string {
	ids := make([]string, len(r.floor))
	for k, h := range r.floor {
		ids[k] = h.id
	}
	return ids
}

func (r *Room) floorChangedLocked() {
	if r.eventsLocked() {
		r.obs.FloorChanged(r.floorIDsLocked())
	}
	if len(r.cameras) > 0 {
		r.assignVideoLocked()
	}
}
