package sfu

import (
	"testing"
	"time"

	"palabre/internal/testkit"
)

// Speaker switches (A, B, A in push-to-talk, then A in open mode) never
// leave a hole in any listener's slot stream, and timestamps only grow.
func TestSlotSequenceContinuity(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 1}, nil)
	cs := joinAll(t, room, "a", "b", "l1", "l2")
	a, b, l1 := cs[0], cs[1], cs[2]

	a.startTalking(20)
	b.startTalking(20)
	turn := func(c *testClient) {
		t.Helper()
		if err := room.RequestFloor(c.part, false); err != nil {
			t.Fatal(err)
		}
		n := len(l1.from(c.part.Source()))
		testkit.Eventually(t, 5*time.Second, c.id+" heard", func() bool { return len(l1.from(c.part.Source())) >= n+20 })
		room.ReleaseFloor(c.part)
		time.Sleep(100 * time.Millisecond)
	}
	turn(a)
	turn(b)
	turn(a)

	// Open mode: a keeps talking loud, b goes silent.
	b.level.Store(127)
	room.Configure(RoomSettings{Mode: ModeOpen})
	n := len(l1.from(a.part.Source()))
	testkit.Eventually(t, 5*time.Second, "a heard in open mode", func() bool { return len(l1.from(a.part.Source())) >= n+20 })
	a.stopTalking()
	b.stopTalking()
	time.Sleep(100 * time.Millisecond)

	for _, c := range cs {
		for _, track := range c.tracks() {
			pkts := c.received(track)
			checkContinuous(t, c.id+"/"+track, pkts)
			markers := 0
			for _, p := range pkts {
				if p.marker {
					markers++
				}
			}
			t.Logf("%s/%s: %d packets, %d runs", c.id, track, len(pkts), markers)
		}
	}
	if got := len(l1.received("slot-0")); got < 80 {
		t.Errorf("l1 received only %d packets on slot-0", got)
	}
	if len(l1.from(b.part.Source())) == 0 {
		t.Error("l1 never heard b")
	}
}

func checkContinuous(t *testing.T, name string, pkts []rxPacket) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		prev, cur := pkts[i-1], pkts[i]
		if cur.seq != prev.seq+1 {
			t.Errorf("%s: packet %d: sequence %d after %d", name, i, cur.seq, prev.seq)
		}
		if int32(cur.ts-prev.ts) <= 0 {
			t.Errorf("%s: packet %d: timestamp %d after %d", name, i, cur.ts, prev.ts)
		}
	}
}
