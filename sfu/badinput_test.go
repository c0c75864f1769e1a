package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"palabre/internal/testkit"
)

// Garbage answers and candidates are rejected; the room keeps working.
func TestBadInput(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "a", "b")
	a, b := cs[0], cs[1]

	bad := newClient(t, room, "bad")
	for _, sdp := range []string{"", "garbage", "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n"} {
		if err := bad.part.SetAnswer(sdp); err == nil {
			t.Errorf("SetAnswer(%q) succeeded", sdp)
		}
	}
	if err := bad.part.SetAnswer(bad.answer()); err != nil { // a good answer after bad ones
		t.Fatal(err)
	}
	if err := bad.part.SetAnswer(bad.pc.LocalDescription().SDP); !errors.Is(err, ErrAnswered) {
		t.Errorf("second SetAnswer = %v, want ErrAnswered", err)
	}
	if err := bad.part.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:garbage"}); err == nil {
		t.Error("garbage candidate accepted")
	}
	bad.waitConnected()

	if _, _, err := room.Join(ParticipantConfig{ID: "a"}); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate Join = %v", err)
	}
	if _, _, err := room.Join(ParticipantConfig{}); err == nil {
		t.Error("Join with an empty id succeeded")
	}

	if err := room.RequestFloor(a.part, false); err != nil {
		t.Fatal(err)
	}
	a.startTalking(20)
	for _, c := range []*testClient{b, bad} {
		testkit.Eventually(t, 5*time.Second, c.id+" hears a", func() bool { return len(c.from(a.part.Source())) >= 10 })
	}
	a.stopTalking()
}

// Non-loopback candidates never reach ICE on a loopback engine, and
// candidates that arrive before the answer are kept.
func TestCandidatesBeforeAnswerAndNonLoopback(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{}, nil)
	c := newClient(t, room, "early")
	if err := c.part.AddCandidate(webrtc.ICECandidateInit{
		Candidate: "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host",
	}); err != nil {
		t.Fatalf("queued candidate: %v", err)
	}
	if err := c.part.SetAnswer(c.answer()); err != nil {
		t.Fatal(err)
	}
	c.waitConnected()
}
