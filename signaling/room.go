package signaling

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sync"
	"time"

	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
)

// liveRoom is a room with people in it: its members' sessions and its media
// router.
//
// Locking: mu is a leaf lock. Nothing that calls into the sfu runs under it,
// so the sfu may call the observer methods (which take mu) from any of its
// goroutines without deadlock. ctl serialises the decisions that span the
// room's state and the media plane (a definition change, a mute): taken
// before mu and before any sfu lock, never by the observer methods, it
// makes "decide, then tell the sfu" one step.
type liveRoom struct {
	s     *Server
	name  string
	media *sfu.Room
	// opener is the address that opened an ad-hoc room, charged one of
	// its AddressLimits.AdhocRooms until the room closes.
	opener  netip.Addr
	charged bool

	ctl sync.Mutex

	mu      sync.Mutex
	def     rooms.Definition    // the definition as of the last change
	members map[string]*session // by participant id
	// order is the members in join order (tombstones: se nil), by seq,
	// for stable listings and paging (presence.go).
	order   []member
	dead    int    // tombstones in order
	seq     uint64 // the last join sequence number given
	pending int    // joins admitted but not yet registered
	// stage are the members every member of a large room sees
	// (organizers, floor holders, raised hands, cameras, screens).
	stage map[string]*session
	// large: the room is above PresenceSettings.LargeRoom (hysteresis).
	large bool
	// The presence batch and its timer (presence.go): armed while a
	// flush is due at timerAt.
	batch     presenceBatch
	timer     *time.Timer
	armed     bool
	timerAt   time.Time
	lastFlush time.Time
	floor     []string // ids holding the floor
	// speakers are the audio slots' occupants, by slot (Participant ""
	// when quiet), as the sfu last said: joined carries them.
	speakers []proto.Speaker
	// waiting is the lobby, in arrival order (lobby.go).
	waiting []waiter
	// hands are the ids with a raised hand, first raised first.
	hands  []string
	closed bool
}

func newLiveRoom(s *Server, def rooms.Definition) *liveRoom {
	lr := &liveRoom{s: s, name: def.Name, def: def, members: make(map[string]*session), stage: make(map[string]*session)}
	lr.media = s.cfg.Engine.NewRoom(mediaSettings(def), lr)
	return lr
}

func mediaSettings(def rooms.Definition) sfu.RoomSettings {
	mode := sfu.ModeFloor
	if def.Mode == rooms.ModeOpen {
		mode = sfu.ModeOpen
	}
	return sfu.RoomSettings{Mode: mode, MaxSpeakers: def.MaxSpeakers}
}

func (lr *liveRoom) count() int {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return len(lr.members) + lr.pending
}

// errRoomClosing is admit's answer for a live room that just closed; it
// never reaches a client.
const errRoomClosing = "closing"

// admit reserves a place for a new participant, checking lock and capacity
// against the current definition. It returns an error code or "".
func (lr *liveRoom) admit(organizer bool) (code, msg string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	switch {
	case lr.closed:
		return errRoomClosing, ""
	case lr.def.Locked && !organizer:
		return proto.CodeRoomLocked, "the room is locked"
	case lr.def.MaxParticipants > 0 && len(lr.members)+lr.pending >= lr.def.MaxParticipants:
		return proto.CodeRoomFull, "the room is full"
	}
	lr.pending++
	return "", ""
}

// unadmit gives back a place reserved by admit when the join failed.
func (lr *liveRoom) unadmit() {
	lr.mu.Lock()
	lr.pending--
	lr.mu.Unlock()
	lr.s.releaseIfEmpty(lr)
}

// register turns a reserved place into a member, sends it the joined
// reply (before any presence batch that names it) and puts its arrival
// in the room's next batch. What it costs does not grow with the room
// once the room is large: joined then carries a first page.
func (lr *liveRoom) register(se *session, id uint32, organizerSecret string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	cfg := lr.s.presence()
	lr.pending--
	lr.members[se.info.ID] = se
	lr.addOrderLocked(se)
	lr.resizeLocked(cfg)
	lr.restageLocked(se, true)
	info := lr.roomInfoLocked()
	self := se.info
	joined := proto.Message{
		Type:            proto.TypeJoined,
		ID:              id,
		Self:            &self,
		RoomInfo:        &info,
		Count:           len(lr.members),
		Floor:           append([]string(nil), lr.floor...),
		Speakers:        lr.speakersLocked(),
		Hands:           lr.handsListedLocked(),
		ICEServers:      se.iceServers(),
		OrganizerSecret: organizerSecret,
	}
	if lr.large {
		joined.Participants, joined.Cursor = lr.firstPageLocked(cfg)
		joined.Paged = true
	} else {
		joined.Participants = lr.participantsLocked()
	}
	joined.Nodes = lr.s.nodeURLs()
	if se.info.Organizer {
		joined.Waiting = lr.waitingLocked()
	}
	se.send(joined)
	lr.presenceJoinLocked(se)
	lr.s.reportLive(lr.name, len(lr.members))
}

// unregister removes se and tells the others why it left.
func (lr *liveRoom) unregister(se *session, reason string) {
	lr.mu.Lock()
	if lr.members[se.info.ID] != se {
		lr.mu.Unlock()
		return
	}
	delete(lr.members, se.info.ID)
	lr.removeOrderLocked(se)
	gone := se.info
	lr.presenceLeaveLocked(gone, reason)
	if lr.dropHandsLocked(gone.ID) {
		lr.handsChangedLocked()
	}
	lr.s.reportLive(lr.name, len(lr.members))
	lr.mu.Unlock()
	lr.s.releaseIfEmpty(lr)
}

// closeIfEmpty marks the room closed if nobody is in or joining it.
func (lr *liveRoom) closeIfEmpty() bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if len(lr.members) > 0 || lr.pending > 0 || len(lr.waiting) > 0 {
		return false
	}
	lr.closed = true
	lr.stopPresenceLocked()
	return true
}

func (lr *liveRoom) member(id string) *session {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.members[id]
}

func (lr *liveRoom) definition() rooms.Definition {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.def
}

// apply makes def the room's definition if it is newer than the one the
// room has (store writes may finish in any order, and replicated ones
// arrive from other nodes), announces it to the members with by as its
// author, and configures the media plane. It is the one way a changed
// definition reaches a live room.
func (lr *liveRoom) apply(def rooms.Definition, by string) {
	lr.ctl.Lock()
	defer lr.ctl.Unlock()
	lr.mu.Lock()
	old := lr.def
	// An ad-hoc room made persistent (created over the API, or replicated
	// from another node) takes the new definition whatever the versions.
	if !old.Version.Less(def.Version) && !(old.Ephemeral && !def.Ephemeral) {
		lr.mu.Unlock()
		return // stale or already applied
	}
	lr.def = def
	info := lr.roomInfoLocked()
	lr.broadcastLocked(proto.Message{Type: proto.TypeRoom, RoomInfo: &info, By: by}, nil)
	lr.mu.Unlock()

	lr.media.Configure(mediaSettings(def))
	if old.VideoAllowed() && !def.VideoAllowed() {
		lr.videoOffLocked(by)
	}
	if old.Mode != def.Mode {
		// Push-to-talk and moderated rooms are the same to the media
		// plane, but the floor taken by pressing a key is not the floor an
		// organizer gives: a mode change starts with a free floor.
		lr.media.ClearFloor()
	}
}

// update changes one member's public record with fn and announces the
// result as an event of type typ: to everyone in a small room; in a large
// one to the participant and to whoever did it, the others learning it
// from the next presence batch if the participant is on the stage.
func (lr *liveRoom) update(se *session, typ, by string, fn func(*proto.Participant)) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.members[se.info.ID] != se {
		return
	}
	before := se.info
	fn(&se.info)
	p := se.info
	lr.eventLocked(se, before, proto.Message{Type: typ, Participant: &p, By: by})
}

// eventLocked announces m, the change of se's record from before (see
// update).
func (lr *liveRoom) eventLocked(se *session, before proto.Participant, m proto.Message) {
	if !lr.changedLocked(se, before) {
		lr.broadcastLocked(m, nil)
		return
	}
	se.send(m)
	if o := lr.members[m.By]; o != nil && o != se {
		o.send(m)
	}
}

func (lr *liveRoom) roomInfoLocked() proto.RoomInfo {
	return lr.s.roomInfo(lr.def)
}

// participantsLocked is the whole list, in join order.
func (lr *liveRoom) participantsLocked() []proto.Participant {
	out := make([]proto.Participant, 0, len(lr.members))
	for _, m := range lr.order {
		if m.se != nil {
			out = append(out, m.se.info)
		}
	}
	return out
}

// broadcastLocked sends m to every member except skip, after the
// pending presence batch of a small room. The message is encoded once; a
// member whose queue is full is disconnected rather than allowed to hold
// up the room.
func (lr *liveRoom) broadcastLocked(m proto.Message, skip *session) {
	lr.flushBeforeLocked()
	lr.sendLocked(m, skip)
}

// sendAllLocked sends m to every member, as it is (no flush).
func (lr *liveRoom) sendAllLocked(m proto.Message) { lr.sendLocked(m, nil) }

func (lr *liveRoom) sendLocked(m proto.Message, skip *session) {
	data, err := json.Marshal(m)
	if err != nil {
		lr.s.log.Error("encode broadcast", "type", m.Type, "err", err)
		return
	}
	for _, se := range lr.members {
		if se != skip {
			se.enqueue(data)
		}
	}
}

// broadcastToLocked sends m to the members for which to is true.
func (lr *liveRoom) broadcastToLocked(m proto.Message, to func(*session) bool) {
	data, err := json.Marshal(m)
	if err != nil {
		lr.s.log.Error("encode broadcast", "type", m.Type, "err", err)
		return
	}
	for _, se := range lr.members {
		if to(se) {
			se.enqueue(data)
		}
	}
}

func (lr *liveRoom) broadcast(m proto.Message) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.broadcastLocked(m, nil)
}

// speakersLocked lists the slots that carry a voice now.
func (lr *liveRoom) speakersLocked() []proto.Speaker {
	var out []proto.Speaker
	for _, sp := range lr.speakers {
		if sp.Participant != "" {
			out = append(out, sp)
		}
	}
	return out
}

// SlotChanged implements sfu.Observer. The change is recorded and
// announced in one critical section, so a newcomer gets it either in its
// joined message or as an event, never neither.
func (lr *liveRoom) SlotChanged(slot int, participantID string, source uint32) {
	sp := proto.Speaker{Slot: slot, Participant: participantID, Source: source}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if slot >= 0 && slot < sfu.MaxSlots {
		for len(lr.speakers) <= slot {
			lr.speakers = append(lr.speakers, proto.Speaker{Slot: len(lr.speakers)})
		}
		lr.speakers[slot] = sp
	}
	lr.broadcastLocked(proto.Message{Type: proto.TypeSpeaking, Speaker: &sp}, nil)
}

// FloorChanged implements sfu.Observer.
func (lr *liveRoom) FloorChanged(holders []string) {
	lr.s.metrics.floorChanges.Inc()
	lr.mu.Lock()
	defer lr.mu.Unlock()
	// Only the old and new holders change: a floor change costs the
	// floor's size, not the room's.
	touched := append(slices.Clone(lr.floor), holders...)
	lr.floor = append(lr.floor[:0], holders...)
	for _, id := range touched {
		se := lr.members[id]
		if se == nil {
			continue
		}
		before := se.info
		held := slices.Contains(holders, id)
		se.info.Floor = held
		if held {
			se.info.Hand = false // getting the floor answers a raised hand
		}
		if se.info != before {
			lr.changedLocked(se, before)
		}
	}
	lr.broadcastLocked(proto.Message{Type: proto.TypeFloor, Floor: append([]string{}, holders...)}, nil)
	if lr.dropHandsLocked(holders...) {
		lr.handsChangedLocked()
	}
}

// ParticipantClosed implements sfu.Observer: the media connection died on
// its own (ICE failure, DTLS closed). The session goes with it.
func (lr *liveRoom) ParticipantClosed(participantID string, err error) {
	if se := lr.member(participantID); se != nil {
		lr.s.log.Info("media connection closed", "room", lr.name, "participant", participantID, "err", err)
		go se.shutdown("media connection lost")
	}
}
