package sfu

import (
	"testing"
	"time"

	"palabre/internal/testkit"
)

// Packets sent shortly (~100 ms) before RequestFloor are delivered after
// it; packets older than the 300 ms pre-roll are not.
func TestPrerollReleasedOnFloor(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "speaker", "listener")
	sp, l := cs[0], cs[1]

	sp.startTalking(20)
	time.Sleep(time.Second)
	granted := time.Now()
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	first := sp.sent() // first packet sent with the floor
	testkit.Eventually(t, 5*time.Second, "speech after the press", func() bool {
		for _, p := range l.from(sp.part.Source()) {
			if p.counter >= first+5 {
				return true
			}
		}
		return false
	})
	sp.stopTalking()

	pkts := l.from(sp.part.Source())
	got := make(map[uint32]bool)
	for _, p := range pkts {
		got[p.counter] = true
		if age := granted.Sub(sp.sentTime(p.counter)); age > 400*time.Millisecond {
			t.Errorf("packet %d sent %v before the press was delivered", p.counter, age)
		}
	}
	// The packet sent closest to 100 ms before the press must be there.
	var near uint32
	for c := range first {
		if granted.Sub(sp.sentTime(c)) >= 100*time.Millisecond {
			near = c
		}
	}
	if !got[near] {
		t.Errorf("packet %d, sent %v before the press, was not delivered", near, granted.Sub(sp.sentTime(near)))
	}
	if pkts[0].counter >= first {
		t.Errorf("no pre-roll at all: first delivered packet %d, floor from %d", pkts[0].counter, first)
	}
	t.Logf("delivered %d..%d, floor taken at packet %d", pkts[0].counter, pkts[len(pkts)-1].counter, first)
	checkContinuous(t, "listener", l.received("slot-0"))
}
