package sfu

import (
	"testing"
	"time"

	"palabre/internal/testkit"
)

// A listener NACKing the last 34 packets of its slot 20,000 times a second
// gets no more retransmissions than the slot's own packet rate, and the
// honest listeners do not notice.
func TestAttackNACKFlood(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	h := newHonest(t, room)
	a := startAttacker(t, room, "attacker")
	testkit.Eventually(t, 5*time.Second, "attacker hears the speaker", func() bool { return a.call(attackRequest{Op: "recv"}).Received >= 20 })

	const d = 5 * time.Second
	before := e.Stats()
	cpu0, wall0 := cpuTime(), time.Now()
	rep := a.call(attackRequest{Op: "nack", Rate: 20000, Duration: d, Seqs: 34})
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	after := e.Stats()
	resent := after.Retransmit - before.Retransmit
	perSec := float64(resent) / wall.Seconds()
	t.Logf("%d NACKs in %v (%.0f/s): %d retransmissions (%.0f/s, %.1f MB/s), attacker received %d slot-0 packets; this process used %.0f%% of a core",
		rep.Sent, wall.Round(time.Millisecond), float64(rep.Sent)/wall.Seconds(), resent, perSec,
		float64(after.BytesOut-before.BytesOut)/wall.Seconds()/1e6, rep.Received, 100*cpu.Seconds()/wall.Seconds())
	t.Logf("dropped: %d NACK packets at the guard (over the participant's RTCP rate), %d NACKed packets over the resend budget, %d repeats",
		after.DropFlood-before.DropFlood, after.DropNACKRate-before.DropNACKRate, after.DropNACKRepeat-before.DropNACKRepeat)
	if perSec > 60 {
		t.Errorf("%.0f retransmissions/s to one listener, want at most the slot's own rate (50/s)", perSec)
	}
	h.check()
}
