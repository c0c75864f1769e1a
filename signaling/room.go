package signaling

import (
	"encoding/json"
	"sync"

	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
)

// liveRoom is a room with people in it: its members' sessions and its media
// router.
//
// Locking: mu is a leaf lock. Nothing that calls into the sfu runs under it,
// so the sfu may call the observer methods (which take mu) from any of its
// goroutines without deadlock.
type liveRoom struct {
	s     *Server
	name  string
	media *sfu.Room

	mu      sync.Mutex
	def     rooms.Definition    // the definition as of the last change
	members map[string]*session // by participant id
	joinSeq []string            // ids in join order, for stable listings
	pending int                 // joins admitted but not yet registered
	floor   []string            // ids holding the floor
	closed  bool
}

func newLiveRoom(s *Server, def rooms.Definition) *liveRoom {
	lr := &liveRoom{s: s, name: def.Name, def: def, members: make(map[string]*session)}
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

// register turns a reserved place into a member and tells the others.
// It returns the joined reply for the newcomer.
func (lr *liveRoom) register(se *session, id uint32) proto.Message {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.pending--
	lr.members[se.info.ID] = se
	lr.joinSeq = append(lr.joinSeq, se.info.ID)
	info := lr.roomInfoLocked()
	joined := proto.Message{
		Type:         proto.TypeJoined,
		ID:           id,
		Self:         &se.info,
		RoomInfo:     &info,
		Participants: lr.participantsLocked(),
		Floor:        append([]string(nil), lr.floor...),
		ICEServers:   se.iceServers(),
	}
	joined.Nodes = lr.s.nodeURLs()
	self := se.info
	lr.broadcastLocked(proto.Message{Type: proto.TypeParticipantJoined, Participant: &self}, se)
	lr.s.reportLive(lr.name, len(lr.members))
	return joined
}

// unregister removes se and tells the others why it left.
func (lr *liveRoom) unregister(se *session, reason string) {
	lr.mu.Lock()
	if lr.members[se.info.ID] != se {
		lr.mu.Unlock()
		return
	}
	delete(lr.members, se.info.ID)
	for i, id := range lr.joinSeq {
		if id == se.info.ID {
			lr.joinSeq = append(lr.joinSeq[:i], lr.joinSeq[i+1:]...)
			break
		}
	}
	gone := se.info
	lr.broadcastLocked(proto.Message{Type: proto.TypeParticipantLeft, Participant: &gone, Reason: reason}, nil)
	lr.s.reportLive(lr.name, len(lr.members))
	lr.mu.Unlock()
	lr.s.releaseIfEmpty(lr)
}

// closeIfEmpty marks the room closed if nobody is in or joining it.
func (lr *liveRoom) closeIfEmpty() bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if len(lr.members) > 0 || lr.pending > 0 {
		return false
	}
	lr.closed = true
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

// setDefinition records a changed definition and announces it.
func (lr *liveRoom) setDefinition(def rooms.Definition, by string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.def = def
	info := lr.roomInfoLocked()
	lr.broadcastLocked(proto.Message{Type: proto.TypeRoom, RoomInfo: &info, By: by}, nil)
}

// update changes one member's public record with fn and broadcasts the
// result as an event of type typ.
func (lr *liveRoom) update(se *session, typ, by string, fn func(*proto.Participant)) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.members[se.info.ID] != se {
		return
	}
	fn(&se.info)
	p := se.info
	lr.broadcastLocked(proto.Message{Type: typ, Participant: &p, By: by}, nil)
}

func (lr *liveRoom) roomInfoLocked() proto.RoomInfo {
	return lr.s.roomInfo(lr.def)
}

func (lr *liveRoom) participantsLocked() []proto.Participant {
	out := make([]proto.Participant, 0, len(lr.joinSeq))
	for _, id := range lr.joinSeq {
		out = append(out, lr.members[id].info)
	}
	return out
}

// broadcastLocked sends m to every member except skip. The message is
// encoded once; a member whose queue is full is disconnected rather than
// allowed to hold up the room.
func (lr *liveRoom) broadcastLocked(m proto.Message, skip *session) {
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

func (lr *liveRoom) broadcast(m proto.Message) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.broadcastLocked(m, nil)
}

// SlotChanged implements sfu.Observer.
func (lr *liveRoom) SlotChanged(slot int, participantID string, source uint32) {
	lr.broadcast(proto.Message{Type: proto.TypeSpeaking, Speaker: &proto.Speaker{
		Slot: slot, Participant: participantID, Source: source,
	}})
}

// FloorChanged implements sfu.Observer.
func (lr *liveRoom) FloorChanged(holders []string) {
	lr.s.metrics.floorChanges.Inc()
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.floor = append(lr.floor[:0], holders...)
	held := make(map[string]bool, len(holders))
	for _, id := range holders {
		held[id] = true
	}
	for id, se := range lr.members {
		se.info.Floor = held[id]
		if held[id] {
			se.info.Hand = false // getting the floor answers a raised hand
		}
	}
	lr.broadcastLocked(proto.Message{Type: proto.TypeFloor, Floor: append([]string{}, holders...)}, nil)
}

// ParticipantClosed implements sfu.Observer: the media connection died on
// its own (ICE failure, DTLS closed). The session goes with it.
func (lr *liveRoom) ParticipantClosed(participantID string, err error) {
	if se := lr.member(participantID); se != nil {
		lr.s.log.Info("media connection closed", "room", lr.name, "participant", participantID, "err", err)
		go se.shutdown("media connection lost")
	}
}
