package signaling

import (
	"errors"
	"fmt"

	"palabre/rooms"
	"palabre/sfu"
	"palabre/sfu/alloc"
	"palabre/signaling/proto"
)

// Video requests (docs/video.md, docs/protocol.md "Video"): cameras and
// screens on and off under the room's rules, receiver wishes, and the
// video_slot events each receiver gets about its own slots.

// setVideo turns se's camera (or screen) on or off. The room's rules are
// checked and applied in one step under ctl, so two cameras turned on at
// once cannot both take the last place, nor a camera slip past video_off.
func (se *session) setVideo(m proto.Message, screen, on bool) {
	lr := se.room
	lr.ctl.Lock()
	defer lr.ctl.Unlock()
	def := lr.definition()
	if on {
		switch {
		case !se.part.HasVideo():
			se.fail(m, proto.CodeVideoOff, "your connection has no video: join with want_video (on a server with video)")
			return
		case !def.VideoAllowed():
			se.fail(m, proto.CodeVideoOff, "this room is audio only")
			return
		case !screen && def.MaxCameras > 0 && lr.camerasOn(se) >= def.MaxCameras:
			se.fail(m, proto.CodeTooManyCameras, fmt.Sprintf("the room has %d cameras on, its maximum", def.MaxCameras))
			return
		}
	}
	set := se.part.SetCamera
	if screen {
		set = se.part.SetScreen
	}
	if err := set(on); err != nil {
		if errors.Is(err, sfu.ErrNoVideo) {
			se.ack(m) // off on a connection without video: nothing to do
			return
		}
		se.fail(m, proto.CodeInternal, err.Error())
		return
	}
	lr.update(se, proto.TypeCamera, "", func(p *proto.Participant) {
		if screen {
			p.Screen = on
		} else {
			p.Camera = on
		}
	})
	se.ack(m)
}

// camerasOn counts the members other than se with a camera on.
func (lr *liveRoom) camerasOn(se *session) int {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	n := 0
	for _, o := range lr.members {
		if o != se && o.info.Camera {
			n++
		}
	}
	return n
}

// videoOffLocked turns every camera and screen off (the room became audio
// only). Holding ctl.
func (lr *liveRoom) videoOffLocked(by string) {
	for _, se := range lr.sessions() {
		lr.mu.Lock()
		had := se.info.Camera || se.info.Screen
		lr.mu.Unlock()
		if !had {
			continue
		}
		_ = se.part.SetCamera(false)
		_ = se.part.SetScreen(false)
		lr.update(se, proto.TypeCamera, by, func(p *proto.Participant) { p.Camera, p.Screen = false, false })
	}
}

var wishes = map[string]alloc.Wish{proto.WishOff: alloc.WishOff, proto.WishLow: alloc.WishLow, proto.WishHigh: alloc.WishHigh}

// videoWish applies a receiver's wishes for its video slots.
func (se *session) videoWish(m proto.Message) {
	if !se.part.HasVideo() {
		se.fail(m, proto.CodeVideoOff, "your connection has no video")
		return
	}
	for _, w := range m.Wishes {
		if err := se.part.SetVideoWish(w.Kind == proto.VideoScreen, w.Slot, wishes[w.Level]); err != nil {
			se.fail(m, proto.CodeBadMessage, fmt.Sprintf("no %s slot %d on this connection", w.Kind, w.Slot))
			return
		}
	}
	se.ack(m)
}

// VideoSlotChanged implements sfu.VideoObserver: the receiver alone is told.
func (lr *liveRoom) VideoSlotChanged(receiverID string, screen bool, slot int, participantID string, source uint32) {
	kind := proto.VideoCamera
	if screen {
		kind = proto.VideoScreen
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	se := lr.members[receiverID]
	if se == nil {
		return
	}
	vs := proto.VideoSlot{Slot: slot, Kind: kind, Participant: participantID, Source: source}
	lr.broadcastToLocked(proto.Message{Type: proto.TypeVideoSlot, Video: &vs}, func(o *session) bool { return o == se })
}

// videoChange is the room change of video_on, video_off and set_cameras.
func videoChange(m proto.Message) rooms.Change {
	switch m.Type {
	case proto.TypeVideoOn, proto.TypeVideoOff:
		v := rooms.VideoOn
		if m.Type == proto.TypeVideoOff {
			v = rooms.VideoOff
		}
		return rooms.Change{Video: &v}
	}
	return rooms.Change{MaxCameras: &m.MaxCameras}
}
