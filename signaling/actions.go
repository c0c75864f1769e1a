package signaling

import (
	"errors"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

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
		up := m.Type == proto.TypeRaiseHand
		se.room.update(se, proto.TypeHand, "", func(p *proto.Participant) { p.Hand = up && !p.Floor })
		se.ack(m)
	case proto.TypeMute, proto.TypeUnmute:
		se.mute(m, m.Type == proto.TypeMute)
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
	err := se.room.media.RequestFloor(se.part, se.organizer)
	if errors.Is(err, sfu.ErrFloorBusy) {
		se.fail(m, proto.CodeFloorBusy, "someone else has the floor")
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
	byOrganizer := target != se
	lr := se.room
	lr.mu.Lock()
	if !muted && !byOrganizer && target.mutedByOrganizer && !se.organizer {
		lr.mu.Unlock()
		se.fail(m, proto.CodeNotAllowed, "an organizer muted you")
		return
	}
	lr.mu.Unlock()
	lr.media.SetMuted(target.part, muted)
	by := ""
	if byOrganizer {
		by = se.info.ID
	}
	lr.update(target, proto.TypeMuted, by, func(p *proto.Participant) {
		p.Muted = muted
		target.mutedByOrganizer = muted && byOrganizer
	})
	se.ack(m)
}

// organizerAction runs the requests reserved to organizers.
func (se *session) organizerAction(m proto.Message) {
	if !se.organizer {
		se.fail(m, proto.CodeNotAllowed, m.Type+" is for organizers")
		return
	}
	lr := se.room
	switch m.Type {
	case proto.TypeKick, proto.TypeGrant, proto.TypeRevoke:
		target := lr.member(m.Target)
		if target == nil {
			se.fail(m, proto.CodeNotFound, "no such participant")
			return
		}
		switch m.Type {
		case proto.TypeKick:
			target.send(proto.Message{Type: proto.TypeKicked, By: se.info.ID, Message: "an organizer removed you from the room"})
			target.closeWith(websocket.StatusNormalClosure, "kicked")
		case proto.TypeGrant:
			if err := lr.media.RequestFloor(target.part, true); err != nil {
				se.fail(m, proto.CodeInternal, err.Error())
				return
			}
		case proto.TypeRevoke:
			lr.media.ReleaseFloor(target.part)
		}
	case proto.TypeLock, proto.TypeUnlock:
		locked := m.Type == proto.TypeLock
		if !se.changeRoom(m, func(r *rooms.Definition) error { r.Locked = locked; return nil }) {
			return
		}
	case proto.TypeSetMode:
		mode, _ := rooms.ParseMode(m.Mode)
		if !se.changeRoom(m, func(r *rooms.Definition) error {
			// Open rooms hear up to three voices, the others one speaker
			// by default: crossing that line resets the floor size.
			if (r.Mode == rooms.ModeOpen) != (mode == rooms.ModeOpen) {
				r.MaxSpeakers = mode.DefaultMaxSpeakers()
			}
			r.Mode = mode
			return nil
		}) {
			return
		}
		lr.media.Configure(mediaSettings(lr.definition()))
	case proto.TypeSetPassword:
		def, err := se.s.cfg.Rooms.SetPassword(lr.name, m.Password)
		if err != nil {
			se.fail(m, proto.CodeBadMessage, err.Error())
			return
		}
		lr.setDefinition(def, se.info.ID)
	default:
		se.fail(m, proto.CodeBadMessage, "unexpected "+m.Type)
		return
	}
	se.ack(m)
}

// changeRoom updates the stored definition and announces it.
func (se *session) changeRoom(m proto.Message, fn func(*rooms.Definition) error) bool {
	def, err := se.s.cfg.Rooms.Update(se.room.name, fn)
	if err != nil {
		code := proto.CodeInternal
		if errors.Is(err, rooms.ErrInvalid) {
			code = proto.CodeBadMessage
		}
		se.fail(m, code, err.Error())
		return false
	}
	se.room.setDefinition(def, se.info.ID)
	return true
}
