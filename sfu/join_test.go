package sfu

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"palabre/internal/testkit"
)

// Joining more participants never renegotiates the earlier ones.
func TestJoinDoesNotRenegotiateOthers(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeOpen}, nil)
	early := joinAll(t, room, "p1", "p2", "p3")
	type snapshot struct {
		states int
		needed int32
	}
	before := make([]snapshot, len(early))
	for i, c := range early {
		c.mu.Lock()
		before[i] = snapshot{len(c.sigStates), c.negotiationNeeded.Load()}
		c.mu.Unlock()
	}
	early[0].startTalking(20) // media flowing while others join
	late := joinAll(t, room, "p4", "p5", "p6")
	testkit.Eventually(t, 5*time.Second, "p6 hears p1", func() bool { return len(late[2].from(early[0].part.Source())) > 10 })
	early[0].stopTalking()

	for i, c := range early {
		c.mu.Lock()
		states := slices.Clone(c.sigStates[before[i].states:])
		c.mu.Unlock()
		if len(states) != 0 {
			t.Errorf("%s: signaling state changed to %v after later joins", c.id, states)
		}
		if n := c.negotiationNeeded.Load(); n != before[i].needed {
			t.Errorf("%s: negotiationneeded fired %d times after later joins", c.id, n-before[i].needed)
		}
		if s := c.pc.SignalingState(); s != webrtc.SignalingStateStable {
			t.Errorf("%s: signaling state %v", c.id, s)
		}
		t.Logf("%s: negotiationneeded fired %d times in total", c.id, c.negotiationNeeded.Load())
	}
	if room.Len() != 6 {
		t.Errorf("Len = %d", room.Len())
	}
}

// Leave releases floor and slot; Leave and Engine.Close leave no goroutine
// behind.
func TestLeaveAndCloseNoLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e, err := NewEngine(Config{MediaAddr: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	obs := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 2}, obs)
	cs := joinAll(t, room, "a", "b", "c")
	a, b := cs[0], cs[1]
	if err := room.RequestFloor(a.part, false); err != nil {
		t.Fatal(err)
	}
	a.startTalking(20)
	testkit.Eventually(t, 5*time.Second, "b hears a", func() bool { return len(b.from(a.part.Source())) > 5 })

	a.part.Leave()
	a.part.Leave() // idempotent
	if room.Len() != 2 || len(room.Floor()) != 0 {
		t.Fatalf("after Leave: Len %d, floor %v", room.Len(), room.Floor())
	}
	if !obs.has(func(ev event) bool { return ev.kind == "slot" && ev.id == "" }) {
		t.Error("no SlotChanged when the floor holder left")
	}
	if obs.has(func(ev event) bool { return ev.kind == "closed" }) {
		t.Error("ParticipantClosed called after Leave")
	}
	if err := room.RequestFloor(a.part, false); !errors.Is(err, ErrNotInRoom) {
		t.Errorf("RequestFloor after Leave = %v", err)
	}
	a.stopTalking()

	// A second room, closed with the engine.
	room2 := e.NewRoom(RoomSettings{}, nil)
	d := join(t, room2, "d")
	defer d.close() // before the leak check: the server sends it nothing when it closes
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if room.Len() != 0 || room2.Len() != 0 {
		t.Errorf("after Close: rooms still have %d and %d participants", room.Len(), room2.Len())
	}
	if _, _, err := room.Join(ParticipantConfig{ID: "late"}); !errors.Is(err, ErrRoomClosed) {
		t.Errorf("Join after Close = %v", err)
	}
	for _, c := range cs {
		c.close()
	}
}

// A client that goes away on its own is removed from the room and reported.
func TestParticipantClosedByPeer(t *testing.T) {
	e := newTestEngine(t, 3)
	obs := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, obs)
	cs := joinAll(t, room, "a", "b")
	if err := room.RequestFloor(cs[0].part, false); err != nil {
		t.Fatal(err)
	}
	cs[0].close() // DTLS close_notify: the server's PeerConnection closes
	testkit.Eventually(t, 10*time.Second, "ParticipantClosed", func() bool {
		return obs.has(func(ev event) bool { return ev.kind == "closed" && ev.id == "a" })
	})
	if room.Len() != 1 || len(room.Floor()) != 0 {
		t.Errorf("Len %d, floor %v", room.Len(), room.Floor())
	}
	for _, ev := range obs.all() {
		if ev.kind == "closed" && !errors.Is(ev.err, ErrConnectionClosed) && !errors.Is(ev.err, ErrConnectionFailed) {
			t.Errorf("ParticipantClosed err = %v", ev.err)
		}
	}
	cs[0].part.Leave() // still fine
}
