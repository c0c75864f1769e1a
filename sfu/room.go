package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Mode is what the media plane needs of a room's speaking rule: who fills
// the slots. How the floor is taken (pressing a key, being granted it by an
// organizer) is the signaling layer's business.
type Mode int

const (
	ModeOpen  Mode = iota // everyone not muted; the voice-active fill the slots
	ModeFloor             // only the floor holders are heard
)

func (m Mode) String() string {
	switch m {
	case ModeOpen:
		return "open"
	case ModeFloor:
		return "floor"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// RoomSettings are a room's media settings.
type RoomSettings struct {
	Mode Mode
	// MaxSpeakers is the floor size in ModeFloor: 1..Slots;
	// 0 means 1, larger values are capped at the Engine's slot count.
	MaxSpeakers int
}

// Observer receives room events. Methods are called synchronously from sfu
// goroutines, possibly with sfu locks held: they must not block and must not
// call back into the Room.
type Observer interface {
	// SlotChanged: slot now carries participantID's voice, whose CSRC is
	// source; participantID "" (source 0) means the slot went quiet.
	SlotChanged(slot int, participantID string, source uint32)
	// FloorChanged: the floor holders, in the order they took the floor.
	FloorChanged(holders []string)
	// ParticipantClosed: the participant's PeerConnection failed or was
	// closed by the peer; it has left the room. Never called for a
	// participant whose Leave started first.
	ParticipantClosed(participantID string, err error)
}

type nopObserver struct{}

func (nopObserver) SlotChanged(int, string, uint32) {}
func (nopObserver) FloorChanged([]string)           {}
func (nopObserver) ParticipantClosed(string, error) {}

// roomSlot is one of the room's K audio slots. mu serialises the fan-out of
// one packet into every subscriber's state for this slot (out[i] of each
// participant is only touched under slots[i].mu), and owner changes.
type roomSlot struct {
	mu    sync.Mutex
	owner *Participant // guarded by mu and Room.mu (written holding both)
	_     [48]byte     // keep slots on separate cache lines
}

// Room is a live room: its participants, floor and slots.
type Room struct {
	engine *Engine
	obs    Observer
	slots  []roomSlot

	mode atomic.Int32                   // Mode, read per packet
	subs atomic.Pointer[[]*Participant] // copy-on-write list of all participants

	mu          sync.Mutex // membership, floor, settings; taken before a slot's mu
	maxSpeakers int
	members     map[string]*Participant
	joining     map[string]bool // ids reserved by Joins in progress
	joins       sync.WaitGroup  // Joins in progress
	floor       []*Participant  // in the order they took it
	closed      bool

	// Video (videoroom.go): cameras and screens on, in the order turned
	// on; recent speakers, most recent first; order is scratch.
	cameras, screens, recent, order []*Participant
}

func newRoom(e *Engine, s RoomSettings, obs Observer) *Room {
	if obs == nil {
		obs = nopObserver{}
	}
	r := &Room{
		engine:  e,
		obs:     obs,
		slots:   make([]roomSlot, e.slots),
		members: make(map[string]*Participant),
		joining: make(map[string]bool),
	}
	r.mode.Store(int32(s.Mode))
	r.maxSpeakers = r.clampSpeakers(s.MaxSpeakers)
	r.subs.Store(&[]*Participant{})
	return r
}

func (r *Room) clampSpeakers(n int) int {
	return min(max(n, 1), len(r.slots))
}

func (r *Room) currentMode() Mode { return Mode(r.mode.Load()) }

// Len is the number of participants in the room.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Configure changes the room's settings. A mode change clears the floor and
// every slot; a smaller MaxSpeakers removes the longest holders.
func (r *Room) Configure(s RoomSettings) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.maxSpeakers = r.clampSpeakers(s.MaxSpeakers)
	if s.Mode != r.currentMode() {
		r.mode.Store(int32(s.Mode))
		hadFloor := len(r.floor) > 0
		r.floor = nil
		for i := range r.slots {
			if o := r.slots[i].owner; o != nil {
				r.vacateLocked(i)
			}
		}
		if hadFloor {
			r.floorChangedLocked()
		}
		return
	}
	if len(r.floor) > r.maxSpeakers {
		for len(r.floor) > r.maxSpeakers {
			r.dropHolderLocked(r.floor[0])
		}
		r.floorChangedLocked()
	}
}

// ClearFloor takes the floor from every holder (a room that changes from
// push-to-talk to moderated, say: the floor is then the organizer's to give).
func (r *Room) ClearFloor() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.floor) == 0 {
		return
	}
	for len(r.floor) > 0 {
		r.dropHolderLocked(r.floor[0])
	}
	r.floorChangedLocked()
}

// Join adds a participant: it creates its PeerConnection with one recvonly
// audio transceiver (the microphone) then Slots sendonly ones (the slots),
// and returns the offer, already set as local description and carrying the
// local candidates (which are also trickled through cfg.OnCandidate).
func (r *Room) Join(cfg ParticipantConfig) (*Participant, webrtc.SessionDescription, error) {
	if cfg.ID == "" {
		return nil, webrtc.SessionDescription{}, fmt.Errorf("sfu: empty participant id")
	}
	p := newParticipant(r, cfg)

	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil, webrtc.SessionDescription{}, ErrRoomClosed
	case r.members[cfg.ID] != nil || r.joining[cfg.ID]:
		r.mu.Unlock()
		return nil, webrtc.SessionDescription{}, ErrDuplicateID
	}
	r.joining[cfg.ID] = true // reserve the id while the PeerConnection is built
	r.joins.Add(1)           // Close waits for Joins in progress
	r.mu.Unlock()
	defer r.joins.Done()

	sdp, err := p.open()

	r.mu.Lock()
	delete(r.joining, cfg.ID)
	if err == nil && r.closed {
		err = ErrRoomClosed
	}
	if err != nil {
		r.mu.Unlock()
		p.abort()
		return nil, webrtc.SessionDescription{}, err
	}
	r.members[cfg.ID] = p
	r.addSubLocked(p)
	r.mu.Unlock()
	r.engine.log.Debug("participant joined", "participant", p.id, "source", p.source)
	return p, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}, nil
}

func (r *Room) addSubLocked(p *Participant) {
	old := *r.subs.Load()
	next := make([]*Participant, len(old), len(old)+1)
	copy(next, old)
	next = append(next, p)
	r.subs.Store(&next)
}

func (r *Room) removeSubLocked(p *Participant) {
	old := *r.subs.Load()
	next := make([]*Participant, 0, len(old))
	for _, q := range old {
		if q != p {
			next = append(next, q)
		}
	}
	r.subs.Store(&next)
}

// remove takes p out of the room: floor, slot, subscriber list. It returns
// false if p was not (or no longer) a member. When it returns no fan-out is
// writing to p any more.
func (r *Room) remove(p *Participant) bool {
	r.mu.Lock()
	if r.members[p.id] != p {
		r.mu.Unlock()
		return false
	}
	delete(r.members, p.id)
	if r.holdsFloorLocked(p) {
		r.dropHolderLocked(p)
		r.floorChangedLocked()
	} else if i := p.slot(); i >= 0 && r.slots[i].owner == p {
		r.vacateLocked(i)
	}
	r.removeSubLocked(p)
	r.forgetVideoLocked(p)
	r.mu.Unlock()
	p.stopVideo()
	// Barrier: a fan-out loads the subscriber list under its slot's mutex,
	// so once every slot mutex has been taken once, nobody writes to p.
	for i := range r.slots {
		r.slots[i].mu.Lock()
		//lint:ignore SA2001 empty critical section is the barrier
		r.slots[i].mu.Unlock()
	}
	return true
}

// Close closes every participant of the room; later Joins fail.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	parts := make([]*Participant, 0, len(r.members))
	for _, p := range r.members {
		parts = append(parts, p)
	}
	r.mu.Unlock()
	r.engine.removeRoom(r)
	r.joins.Wait() // they see closed and close what they built

	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Leave()
		}()
	}
	wg.Wait()
}

// eventsLocked reports whether observer events should fire (not while the
// room is being closed).
func (r *Room) eventsLocked() bool { return !r.closed }

// assignLocked gives slot i to p (taking it from its owner, if any) and
// opens p's gate (new epoch). One SlotChanged.
func (r *Room) assignLocked(i int, p *Participant) {
	s := &r.slots[i]
	s.mu.Lock()
	if s.owner != nil {
		s.owner.setGrant(-1)
	}
	s.owner = p
	p.setGrant(i)
	s.mu.Unlock()
	if r.eventsLocked() {
		r.obs.SlotChanged(i, p.id, p.source)
	}
	r.noteSpeakerLocked(p)
}

// vacateLocked empties slot i and closes its owner's gate.
func (r *Room) vacateLocked(i int) {
	s := &r.slots[i]
	s.mu.Lock()
	o := s.owner
	s.owner = nil
	if o != nil {
		o.setGrant(-1)
	}
	s.mu.Unlock()
	if o != nil && r.eventsLocked() {
		r.obs.SlotChanged(i, "", 0)
	}
}

func (r *Room) freeSlotLocked() int {
	for i := range r.slots {
		if r.slots[i].owner == nil {
			return i
		}
	}
	return -1
}

// subscribers is the current copy-on-write participant list.
func (r *Room) subscribers() []*Participant { return *r.subs.Load() }

const (
	// Open rooms: an occupant quiet for this long may be replaced.
	quietReplace = int64(1500 * time.Millisecond)
	// Open rooms: an occupant quiet for this long gives its slot back.
	quietRelease = int64(5 * time.Second)
)
