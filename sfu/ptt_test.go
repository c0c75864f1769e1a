package sfu

import (
	"errors"
	"slices"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// 1 speaker, 5 listeners: heard only while holding the floor.
func TestPTTSpeakerHeardOnlyWithFloor(t *testing.T) {
	e := newTestEngine(t, 3)
	obs := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 1}, obs)
	cs := joinAll(t, room, "speaker", "l1", "l2", "l3", "l4", "l5")
	sp, listeners := cs[0], cs[1:]
	src := sp.part.Source()

	sp.startTalking(20)
	time.Sleep(400 * time.Millisecond) // gated: nobody hears this
	for _, l := range listeners {
		if n := l.total(); n != 0 {
			t.Fatalf("%s received %d packets before the floor was taken", l.id, n)
		}
	}

	before := sp.sent()
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	if got := room.Floor(); !slices.Equal(got, []string{"speaker"}) {
		t.Fatalf("Floor() = %v", got)
	}
	for _, l := range listeners {
		testkit.Eventually(t, 5*time.Second, l.id+" hears the speaker", func() bool { return len(l.from(src)) >= 20 })
	}
	if !room.ReleaseFloor(sp.part) {
		t.Fatal("ReleaseFloor: speaker did not hold the floor")
	}
	last := sp.sent() // packets counted from here on were sent without the floor
	time.Sleep(400 * time.Millisecond)
	sp.stopTalking()

	for _, l := range listeners {
		pkts := l.from(src)
		if len(pkts) != l.total() {
			t.Errorf("%s: %d packets, %d from the speaker", l.id, l.total(), len(pkts))
		}
		for _, p := range pkts {
			if p.counter >= last {
				t.Fatalf("%s received packet %d sent after ReleaseFloor (last allowed %d)", l.id, p.counter, last-1)
			}
			if p.counter+prerollSize < before {
				t.Fatalf("%s received packet %d, older than the pre-roll (floor taken at %d)", l.id, p.counter, before)
			}
		}
	}
	if n := sp.total(); n != 0 {
		t.Errorf("the speaker heard itself (%d packets)", n)
	}

	want := []event{
		{kind: "slot", slot: 0, id: "speaker", source: src},
		{kind: "floor", holders: []string{"speaker"}},
		{kind: "slot", slot: 0},
		{kind: "floor", holders: []string{}},
	}
	got := obs.all()
	if len(got) != len(want) {
		t.Fatalf("events = %+v", got)
	}
	for i := range want {
		if got[i].kind != want[i].kind || got[i].slot != want[i].slot || got[i].id != want[i].id ||
			got[i].source != want[i].source || !slices.Equal(got[i].holders, want[i].holders) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	st := e.Stats()
	if st.DropGated == 0 || st.PacketsOut == 0 || st.PacketsIn == 0 || st.Participants != 6 || st.Rooms != 1 {
		t.Errorf("stats = %+v", st)
	}
	// Every packet forwarded (to several listeners) is one fan-out time
	// sample; a gated one is none.
	if n := st.FanoutTime.Total(); n == 0 || n > st.PacketsOut || st.FanoutTime.Sum <= 0 {
		t.Errorf("fan-out time: %d samples (%d packets out), %v in all", n, st.PacketsOut, st.FanoutTime.Sum)
	}
}

// A peer that sends without the floor is heard by nobody, while the floor
// holder in the same room is.
func TestPTTSenderWithoutFloorNeverHeard(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 1}, nil)
	cs := joinAll(t, room, "holder", "rogue", "l1", "l2")
	holder, rogue, listeners := cs[0], cs[1], cs[2:]

	if err := room.RequestFloor(holder.part, false); err != nil {
		t.Fatal(err)
	}
	if err := room.RequestFloor(rogue.part, false); !errors.Is(err, ErrFloorBusy) {
		t.Fatalf("second RequestFloor = %v, want ErrFloorBusy", err)
	}
	holder.startTalking(30)
	rogue.startTalking(0)
	for _, l := range listeners {
		testkit.Eventually(t, 5*time.Second, l.id+" hears the holder", func() bool { return len(l.from(holder.part.Source())) >= 40 })
	}
	testkit.Eventually(t, 5*time.Second, "the rogue hears the holder", func() bool { return len(rogue.from(holder.part.Source())) >= 40 })
	holder.stopTalking()
	rogue.stopTalking()
	for _, c := range []*testClient{holder, listeners[0], listeners[1]} {
		if n := len(c.from(rogue.part.Source())); n != 0 {
			t.Errorf("%s heard %d packets of the rogue", c.id, n)
		}
	}
}
