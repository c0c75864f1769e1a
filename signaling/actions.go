package signaling

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
)

// handleInRoom runs a request from a joined participant.
func (se *session) handleInRoom(m proto.Message) {
	switch m.Type {
	case proto.TypeHello, proto.TypeJoin:
		se.fail(m, proto.CodeBadState, "already joined")
	case proto.TypeAnswer:
		se.answer(m)
	case proto.TypeCandidate:
		se.candidate(m)
	case proto.TypePTTOn:
		se.pttOn(m)
	case proto.TypePTTOff:
		se.room.media.ReleaseFloor(se.part)
		se.ack(m)
	case proto.TypeRaiseHand, proto.TypeLowerHand:
		se.room.raiseHand(se, m.Type == proto.TypeRaiseHand)
		se.ack(m)
	case proto.TypeChat:
		se.chat(m)
	case proto.TypeMute, proto.TypeUnmute:
		se.mute(m, m.Type == proto.TypeMute)
	case proto.TypeCameraOn, proto.TypeCameraOff:
		se.setVideo(m, false, m.Type == proto.TypeCameraOn)
	case proto.TypeScreenOn, proto.TypeScreenOff:
		se.setVideo(m, true, m.Type == proto.TypeScreenOn)
	case proto.TypeVideoWish:
		se.videoWish(m)
	case proto.TypeList:
		se.list(m)
	default:
		se.organizerAction(m)
	}
}

func (se *session) answer(m proto.Message) {
	err := se.part.SetAnswer(m.SDP)
	switch {
	case err == nil:
		se.ack(m)
	case errors.Is(err, sfu.ErrAnswered):
		se.fail(m, proto.CodeBadState, "already answered")
	default:
		se.fail(m, proto.CodeBadMessage, "answer rejected: "+err.Error())
	}
}

func (se *session) candidate(m proto.Message) {
	err := se.part.AddCandidate(webrtc.ICECandidateInit(*m.Candidate))
	if err != nil {
		se.fail(m, proto.CodeBadMessage, "candidate rejected: "+err.Error())
		return
	}
	se.ack(m)
}

// mediaGrace is how long a press waits for a media connection that is
// still coming up.
const mediaGrace = 3 * time.Second

// pttOn takes the floor. In open rooms everyone is heard anyway; in
// moderated rooms only organizers take the floor themselves, the others
// raise a hand. Organizers may take the floor from someone else.
func (se *session) pttOn(m proto.Message) {
	switch se.room.definition().Mode {
	case rooms.ModeOpen:
		se.ack(m)
		return
	case rooms.ModeModerated:
		if !se.organizer {
			se.fail(m, proto.CodeNotAllowed, "in a moderated room, raise your hand and wait for the floor")
			return
		}
	}
	if !se.part.Connected() {
		// A press right after joining may beat the media's last step on
		// this side (the client saw its connection up first): wait a
		// little, the read loop of this one session only.
		ctx, cancel := context.WithTimeout(context.Background(), mediaGrace)
		se.part.WaitConnected(ctx)
		cancel()
	}
	err := se.room.media.RequestFloor(se.part, se.organizer)
	if errors.Is(err, sfu.ErrFloorBusy) {
		se.fail(m, proto.CodeFloorBusy, "someone else has the floor")
		return
	}
	if errors.Is(err, sfu.ErrNotConnected) {
		se.fail(m, proto.CodeNoMedia, "your audio connection is not up yet")
		return
	}
	if err != nil {
		se.fail(m, proto.CodeInternal, err.Error())
		return
	}
	se.ack(m)
}

// mute mutes or unmutes oneself (no target) or, for an organizer, anyone.
// Someone muted by an organizer cannot unmute themselves.
func (se *session) mute(m proto.Message, muted bool) {
	target := se
	if m.Target != "" && m.Target != se.info.ID {
		if !se.organizer {
			se.fail(m, proto.CodeNotAllowed, "only organizers mute others")
			return
		}
		if target = se.room.member(m.Target); target == nil {
			se.fail(m, proto.CodeNotFound, "no such participant")
			return
		}
	}
	if code, why := se.setMuted(target, muted); code != "" {
		se.fail(m, code, why)
		return
	}
	se.ack(m)
}

// setMuted mutes or unmutes target on se's word (se itself, or an
// organizer for anyone). Someone muted by an organizer cannot unmute
// themselves. The check of who muted whom, the media plane's mute and the
// announcement are one step: an organizer's mute cannot slip in between a
// self-unmute's check and its effect.
func (se *session) setMuted(target *session, muted bool) (code, why string) {
	byOrganizer := target != se
	lr := se.room
	lr.ctl.Lock()
	defer lr.ctl.Unlock()
	lr.mu.Lock()
	forbidden := !muted && !byOrganizer && target.mutedByOrganizer && !se.organizer
	lr.mu.Unlock()
	if forbidden {
		return proto.CodeNotAllowed, "an organizer muted you"
	}
	if hook := se.s.hooks.muteDecided.Load(); hook != nil {
		(*hook)(se, muted)
	}
	lr.media.SetMuted(target.part, muted)
	by := ""
	if byOrganizer {
		by = se.info.ID
	}
	lr.update(target, proto.TypeMuted, by, func(p *proto.Participant) {
		p.Muted = muted
		target.mutedByOrganizer = muted && byOrganizer
	})
	return "", ""
}

// organizerAction runs the requests reserved to organizers.
func (se *session) organizerAction(m proto.Message) {
	if !se.organizer {
		se.fail(m, proto.CodeNotAllowed, m.Type+" is for organizers")
		return
	}
	lr := se.room
	switch m.Type {
	case proto.TypeKick, proto.TypeGrant, proto.TypeRevoke, proto.TypeChatMute, proto.TypeChatUnmute:
		target := lr.member(m.Target)
		if target == nil {
			se.fail(m, proto.CodeNotFound, "no such participant")
			return
		}
		switch m.Type {
		case proto.TypeChatMute, proto.TypeChatUnmute:
			lr.chatMute(target, m.Type == proto.TypeChatMute, se.info.ID)
		case proto.TypeKick:
			target.send(proto.Message{Type: proto.TypeKicked, By: se.info.ID, Message: "an organizer removed you from the room"})
			target.closeWith(websocket.StatusNormalClosure, "kicked")
		case proto.TypeGrant:
			err := lr.media.RequestFloor(target.part, true)
			if errors.Is(err, sfu.ErrNotConnected) {
				se.fail(m, proto.CodeNoMedia, "this participant's audio connection is not up")
				return
			}
			if err != nil {
				se.fail(m, proto.CodeInternal, err.Error())
				return
			}
		case proto.TypeRevoke:
			lr.media.ReleaseFloor(target.part)
		}
	case proto.TypeLock, proto.TypeUnlock:
		locked := m.Type == proto.TypeLock
		if !se.changeRoom(m, rooms.Change{Locked: &locked}) {
			return
		}
	case proto.TypeChatOn, proto.TypeChatOff:
		off := m.Type == proto.TypeChatOff
		if !se.changeRoom(m, rooms.Change{NoChat: &off}) {
			return
		}
	case proto.TypeLobbyOn, proto.TypeLobbyOff:
		on := m.Type == proto.TypeLobbyOn
		if !se.changeRoom(m, rooms.Change{Lobby: &on}) {
			return
		}
		if !on {
			lr.admitWaiting("") // nobody waits in a room without a lobby
		}
	case proto.TypeAdmit, proto.TypeAdmitAll:
		if lr.admitWaiting(m.Target) == 0 && m.Type == proto.TypeAdmit {
			se.fail(m, proto.CodeNotFound, "nobody of that id waits in the lobby")
			return
		}
	case proto.TypeRefuse:
		if !lr.refuseWaiting(m.Target, se.info.ID) {
			se.fail(m, proto.CodeNotFound, "nobody of that id waits in the lobby")
			return
		}
	case proto.TypeGrantNext:
		next := lr.member(lr.firstHand())
		if next == nil {
			se.fail(m, proto.CodeNotFound, "no hand is raised")
			return
		}
		if err := lr.media.RequestFloor(next.part, true); err != nil {
			code := proto.CodeInternal
			if errors.Is(err, sfu.ErrNotConnected) {
				code = proto.CodeNoMedia
			}
			se.fail(m, code, err.Error())
			return
		}
	case proto.TypeMuteAll:
		for _, other := range lr.sessions() {
			if other != se {
				se.setMuted(other, true)
			}
		}
	case proto.TypeSetMode:
		mode, _ := rooms.ParseMode(m.Mode) // validated with the message
		if !se.changeRoom(m, rooms.Change{Mode: &mode}) {
			return
		}
	case proto.TypeSetPassword:
		if !se.changeRoom(m, rooms.Change{Password: &m.Password}) {
			return
		}
	case proto.TypeVideoOn, proto.TypeVideoOff, proto.TypeSetCameras:
		if !se.changeRoom(m, videoChange(m)) {
			return
		}
	default:
		se.fail(m, proto.CodeBadMessage, "unexpected "+m.Type)
		return
	}
	se.ack(m)
}

// changeRoom stores the change and applies it to the live room.
func (se *session) changeRoom(m proto.Message, c rooms.Change) bool {
	def, err := se.s.cfg.Rooms.Edit(se.room.name, c)
	if err != nil {
		code := proto.CodeInternal
		if errors.Is(err, rooms.ErrInvalid) {
			code = proto.CodeBadMessage
		} else {
			se.logger().Error("room change", "err", err)
		}
		se.fail(m, code, err.Error())
		return false
	}
	se.room.apply(def, se.info.ID)
	return true
}

// list answers a list request with a page of the room's participants
// (presence.go). Each session may ask listRate times a second (bursts of
// listBurst); beyond, rate_limited, and nothing else is lost.
func (se *session) list(m proto.Message) {
	if se.listLimit == nil {
		se.listLimit = rate.NewLimiter(listRate, listBurst)
	}
	if !se.listLimit.Allow() {
		reply := proto.ErrorReply(m.ID, proto.CodeRateLimited, "too many list requests; try again in 1 s")
		reply.RetryAfter = 1
		se.send(reply)
		return
	}
	after, _ := proto.ParseCursor(m.Cursor) // validated with the message
	limit := m.Limit
	if limit == 0 {
		limit = proto.DefaultPageSize
	}
	list, count, cursor := se.room.page(after, m.Query, limit)
	se.s.metrics.listRequests.Inc()
	se.send(proto.Message{Type: proto.TypePage, ID: m.ID, Participants: list, Count: count, Cursor: cursor})
}
