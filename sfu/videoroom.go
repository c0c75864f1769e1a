package sfu

import (
	"errors"
	"slices"

	"palabre/sfu/alloc"
)

// Who fills each receiver's video slots (docs/video.md): the camera slots
// follow the audio, the floor holders first, then the most recent speakers
// with a camera on, then the other cameras in the order they were turned
// on (last-N); the screen slot carries the latest screen share. A receiver
// never gets its own. A source that stays among a receiver's top V keeps
// its slot, so that a change of order moves as few tiles as possible.

// ErrNoVideo: the participant's offer has no video (it did not ask for it,
// or the Engine carries none).
var ErrNoVideo = errors.New("sfu: the participant has no video m-lines")

// maxRecent bounds the room's list of recent speakers.
const maxRecent = 64

// VideoObserver is told whose camera or screen each receiver's video slots
// carry. An Observer that implements it gets the events; they come from
// sfu goroutines holding sfu locks, so they must not block nor call back
// into the Room.
type VideoObserver interface {
	// VideoSlotChanged: receiverID's camera slot (or, screen, its screen
	// slot) slot now carries participantID's camera or screen, whose CSRC
	// is source; "" (source 0): the slot is empty.
	VideoSlotChanged(receiverID string, screen bool, slot int, participantID string, source uint32)
}

// HasVideo reports whether p's offer carries video m-lines.
func (p *Participant) HasVideo() bool { return len(p.vout) > 0 }

// SetCamera says that p sends its camera (or stops). Its packets are
// forwarded only while it is on. The signaling enforces the room's rules
// (video allowed, the number of cameras) before calling it.
func (p *Participant) SetCamera(on bool) error { return p.setVideo(&p.cameraOn, on, false) }

// SetScreen says that p shares its screen (or stops).
func (p *Participant) SetScreen(on bool) error { return p.setVideo(&p.screenOn, on, true) }

func (p *Participant) setVideo(flag interface{ Swap(bool) bool }, on, screen bool) error {
	if !p.HasVideo() {
		return ErrNoVideo
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[p.id] != p {
		return ErrNotInRoom
	}
	if flag.Swap(on) == on {
		return nil
	}
	list := &r.cameras
	if screen {
		list = &r.screens
	}
	*list = slices.DeleteFunc(*list, func(q *Participant) bool { return q == p })
	if on {
		*list = append(*list, p)
	}
	r.assignVideoLocked()
	return nil
}

// SetVideoWish sets what p wants of one of its video slots: camera slot
// slot, or the screen slot (slot 0).
func (p *Participant) SetVideoWish(screen bool, slot int, w alloc.Wish) error {
	vo := p.videoSlot(screen, slot)
	if vo == nil {
		return ErrNoVideo
	}
	vo.mu.Lock()
	changed := vo.wish != w
	vo.wish = w
	vo.mu.Unlock()
	if changed {
		p.reallocate()
	}
	return nil
}

// videoSlot returns p's camera slot i or screen slot, nil if none.
func (p *Participant) videoSlot(screen bool, i int) *videoOut {
	v := len(p.vout) - 1
	switch {
	case v < 0:
		return nil
	case screen && i == 0:
		return &p.vout[v]
	case !screen && i >= 0 && i < v:
		return &p.vout[i]
	}
	return nil
}

// cameraOrderLocked lists the participants with a camera on, in slot
// priority: floor holders, recent speakers, then by camera-on order.
func (r *Room) cameraOrderLocked(dst []*Participant) []*Participant {
	dst = dst[:0]
	add := func(p *Participant) {
		if p.cameraOn.Load() && !slices.Contains(dst, p) {
			dst = append(dst, p)
		}
	}
	for _, p := range r.floor {
		add(p)
	}
	for _, p := range r.recent {
		add(p)
	}
	for _, p := range r.cameras {
		add(p)
	}
	return dst
}

// noteSpeakerLocked moves p to the front of the recent speakers.
func (r *Room) noteSpeakerLocked(p *Participant) {
	if len(r.recent) > 0 && r.recent[0] == p {
		return
	}
	r.recent = slices.DeleteFunc(r.recent, func(q *Participant) bool { return q == p })
	r.recent = slices.Insert(r.recent, 0, p)
	if len(r.recent) > maxRecent {
		r.recent = r.recent[:maxRecent]
	}
	if p.cameraOn.Load() {
		r.assignVideoLocked()
	}
}

// forgetVideoLocked takes a leaving p out of the room's video lists.
func (r *Room) forgetVideoLocked(p *Participant) {
	del := func(q *Participant) bool { return q == p }
	r.cameras = slices.DeleteFunc(r.cameras, del)
	r.screens = slices.DeleteFunc(r.screens, del)
	r.recent = slices.DeleteFunc(r.recent, del)
	r.assignVideoLocked()
}

// assignVideoLocked gives every video receiver's slots their sources.
func (r *Room) assignVideoLocked() {
	r.order = r.cameraOrderLocked(r.order)
	for _, sub := range r.members {
		if sub.videoReady.Load() {
			r.assignReceiverLocked(sub)
		}
	}
}

// assignReceiverLocked fills sub's slots from the room's camera order and
// screen shares, keeping in place the sources it already shows.
func (r *Room) assignReceiverLocked(sub *Participant) {
	v := len(sub.vout) - 1
	var top [MaxVideoSlots]*Participant
	n := 0
	for _, p := range r.order {
		if n == v {
			break
		}
		if p != sub {
			top[n] = p
			n++
		}
	}
	taken := top[:n]
	var next [MaxVideoSlots]*Participant
	for j := range v {
		if src := sub.vout[j].src; src != nil && slices.Contains(taken, src) {
			next[j] = src
		}
	}
	for _, p := range taken {
		if slices.Contains(next[:v], p) {
			continue
		}
		for j := range v {
			if next[j] == nil {
				next[j] = p
				break
			}
		}
	}
	changed := false
	for j := range v {
		changed = r.setSourceLocked(sub, &sub.vout[j], next[j], slices.Index(taken, next[j])) || changed
	}
	var screen *Participant
	for k := len(r.screens) - 1; k >= 0; k-- {
		if r.screens[k] != sub {
			screen = r.screens[k]
			break
		}
	}
	changed = r.setSourceLocked(sub, &sub.vout[v], screen, 0) || changed
	if changed {
		sub.reallocate()
	}
}

// setSourceLocked assigns src to vo and tells the observer.
func (r *Room) setSourceLocked(sub *Participant, vo *videoOut, src *Participant, rank int) bool {
	vo.mu.Lock()
	old := vo.src
	vo.src, vo.rank = src, rank
	vo.mu.Unlock()
	if old == src {
		return false
	}
	if o, ok := r.obs.(VideoObserver); ok && r.eventsLocked() {
		id, source := "", uint32(0)
		if src != nil {
			id, source = src.id, src.source
		}
		o.VideoSlotChanged(sub.id, vo.screen, vo.index, id, source)
	}
	return true
}

// videoLayerChanged runs when a publisher's layer starts (or starts again
// after a pause): its receivers may now choose it.
func (r *Room) videoLayerChanged(p *Participant) {
	for _, sub := range r.subscribers() {
		if sub == p || !sub.videoReady.Load() {
			continue
		}
		for j := range sub.vout {
			vo := &sub.vout[j]
			vo.mu.Lock()
			has := vo.src == p
			vo.mu.Unlock()
			if has {
				sub.reallocate()
				break
			}
		}
	}
}

// reallocate chooses the layer of each of p's video slots: the allocator's
// choice within the receiver's estimate (allocate.go), honouring wishes.
func (p *Participant) reallocate() {
	if !p.HasVideo() {
		return
	}
	p.allocate(p.engine.nanotime())
}

// setTarget makes vo forward layer l (nil: pause) up to temporal layer
// tid, switching at l's next keyframe. Holding vo.mu.
func (vo *videoOut) setTarget(l *videoLayer, tid uint8, now int64) {
	if tid != vo.tmax {
		vo.tmax = tid
		if vo.rw != nil {
			vo.rw.SetMaxTemporalLayer(tid)
		}
	}
	if vo.want.Load() == l && (l == nil || vo.cur.Load() == l) {
		return
	}
	vo.want.Store(l)
	if l == nil {
		vo.cur.Store(nil)
		return
	}
	if vo.cur.Load() != l {
		l.requestKeyframe(now)
	}
}

// unbindVideoLocked stops every write to p's video slots (it is leaving).
func (p *Participant) stopVideo() {
	for j := range p.vout {
		vo := &p.vout[j]
		vo.mu.Lock()
		vo.w = nil
		vo.want.Store(nil)
		vo.cur.Store(nil)
		vo.mu.Unlock()
	}
}

// VideoSlotStats are what one of a receiver's video slots sent.
type VideoSlotStats struct {
	Screen bool
	Slot   int
	Source string // participant assigned, "" if none
	Layer  int    // spatial layer forwarded, -1 if none
	Bytes  uint64 // RTP bytes sent, resends included
}

// VideoStats reports p's video slots.
func (p *Participant) VideoStats() []VideoSlotStats {
	out := make([]VideoSlotStats, 0, len(p.vout))
	for j := range p.vout {
		vo := &p.vout[j]
		vo.mu.Lock()
		s := VideoSlotStats{Screen: vo.screen, Slot: vo.index, Layer: -1, Bytes: vo.sentBytes.Load()}
		if vo.src != nil {
			s.Source = vo.src.id
		}
		if l := vo.cur.Load(); l != nil {
			s.Layer = l.spatial
		}
		vo.mu.Unlock()
		out = append(out, s)
	}
	return out
}
