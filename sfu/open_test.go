package sfu

import (
	"testing"
	"time"

	"palabre/internal/testkit"
)

// Open room with one slot: the loud talker gets it, a silent one does not
// take it away, a muted one is never heard; once the loud one has been quiet
// long enough a new talker replaces it.
func TestOpenModeSpeakerSelection(t *testing.T) {
	e := newTestEngine(t, 1)
	obs := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeOpen}, obs)
	cs := joinAll(t, room, "loud", "silent", "muted", "listener")
	loud, silent, muted, l := cs[0], cs[1], cs[2], cs[3]
	room.SetMuted(muted.part, true)

	loud.startTalking(20)
	silent.startTalking(127)
	muted.startTalking(10)
	testkit.Eventually(t, 5*time.Second, "listener hears loud", func() bool { return len(l.from(loud.part.Source())) >= 50 })
	if n := len(l.from(silent.part.Source())); n != 0 {
		t.Fatalf("silent talker heard (%d packets)", n)
	}
	if !obs.has(func(ev event) bool { return ev.kind == "slot" && ev.id == "loud" && ev.source == loud.part.Source() }) {
		t.Error("no SlotChanged for the loud talker")
	}

	// loud falls silent, silent starts talking: after ~1.5 s it takes over.
	loud.level.Store(127)
	silent.level.Store(30)
	switched := time.Now()
	testkit.Eventually(t, 5*time.Second, "listener hears the new talker", func() bool { return len(l.from(silent.part.Source())) >= 10 })
	if d := time.Since(switched); d < time.Duration(quietReplace) {
		t.Errorf("slot taken after %v, before the occupant was quiet for %v", d, time.Duration(quietReplace))
	}
	loud.stopTalking()
	silent.stopTalking()
	muted.stopTalking()

	for _, c := range []*testClient{loud, silent, l} {
		if n := len(c.from(muted.part.Source())); n != 0 {
			t.Errorf("%s heard the muted participant (%d packets)", c.id, n)
		}
	}
	if st := e.Stats(); st.DropMuted == 0 || st.DropNoSlot == 0 {
		t.Errorf("stats = %+v", st)
	}
	checkContinuous(t, "listener", l.received("slot-0"))
}

// In open rooms RequestFloor and ReleaseFloor do nothing.
func TestOpenModeFloorNoop(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{}, nil)
	c := join(t, room, "a")
	if err := room.RequestFloor(c.part, false); err != nil {
		t.Fatal(err)
	}
	if room.ReleaseFloor(c.part) || len(room.Floor()) != 0 {
		t.Error("open room has a floor")
	}
}
