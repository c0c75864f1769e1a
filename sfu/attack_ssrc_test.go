package sfu

import (
	"errors"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// A participant that invents a new SSRC for every RTP and RTCP packet must
// not grow the server's memory: 20,000 RTP packets with fresh SSRCs, 5,000
// RTCP packets from and about fresh SSRCs, while an honest room talks.
// Then RTCP from one sender about fresh SSRCs, which the guard cannot see
// (encrypted): the participant is closed after maxUnknownRTCP of them.
func TestAttackFreshSSRCs(t *testing.T) {
	e := newTestEngine(t, 3)
	rec := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, rec)
	h := newHonest(t, room)
	a := startAttacker(t, room, "attacker")
	time.Sleep(500 * time.Millisecond)

	before := heapInUse()
	st0 := e.Stats()
	start := time.Now()
	nRTP := a.call(attackRequest{Op: "rtp", N: 20000, Rate: 4000}).Sent
	nRTCP := a.call(attackRequest{Op: "rtcp", N: 5000, Rate: 2000}).Sent
	time.Sleep(time.Second) // pion's goroutines catch up
	growth := int64(heapInUse()) - int64(before)
	st := e.Stats()
	t.Logf("%d RTP + %d RTCP packets with fresh SSRCs in %v: server heap %+.2f MiB (%.0f B per packet), %d dropped as unknown SSRCs",
		nRTP, nRTCP, time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20),
		float64(growth)/float64(nRTP+nRTCP), st.DropUnknownSSRC-st0.DropUnknownSSRC)
	if growth > 2<<20 {
		t.Errorf("heap grew by %.1f MiB, want < 2 MiB", float64(growth)/(1<<20))
	}
	// The rtc plane accepts up to 16 SSRCs each way, announced ones first
	// (the pion plane's guard, learnRTP and learnRTCP unannounced ones).
	if d := st.DropUnknownSSRC - st0.DropUnknownSSRC; d < uint64(nRTP+nRTCP)-32 {
		t.Errorf("DropUnknownSSRC +%d, want about %d", d, nRTP+nRTCP)
	}
	if !a.part.Connected() {
		t.Fatal("the attacker was disconnected by packets the guard drops")
	}

	// RTCP about SSRCs that nobody announced: closed.
	n := a.call(attackRequest{Op: "rtcp-about", N: 1000, Rate: 2000}).Sent
	testkit.Eventually(t, 5*time.Second, "the attacker closed", func() bool {
		return rec.has(func(ev event) bool {
			return ev.kind == "closed" && ev.id == "attacker" && errors.Is(ev.err, ErrHostileMedia)
		})
	})
	if st := e.Stats(); st.ClosedHostile != 1 {
		t.Errorf("ClosedHostile = %d", st.ClosedHostile)
	}
	t.Logf("RTCP about fresh SSRCs from the announced sender: closed after %d packets, %d packets dropped as unknown SSRCs in all", n, e.Stats().DropUnknownSSRC)
	h.check()
}
