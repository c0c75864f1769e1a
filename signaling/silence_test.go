package signaling_test

import (
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
)

// gateDrops is how many publisher packets the server has dropped at its
// gate (no floor, or muted) since it started.
func (ts *testServer) gateDrops() uint64 {
	s := ts.Engine.Stats()
	return s.DropGated + s.DropMuted
}

// assertSilent checks that no listener hears source over a window in which
// the server drops at least 10 more packets at its gate: the positive
// control that the sender is sending and reaching the server, and that
// the gate, not a quiet sender, is what the listeners do not hear. The
// window opens once 5 packets have been dropped, so that what was
// forwarded before the gate closed has arrived.
func (ts *testServer) assertSilent(t *testing.T, what string, source uint32, listeners ...*client.Client) {
	t.Helper()
	d0 := ts.gateDrops()
	testkit.Eventually(t, 5*time.Second, what+": the server drops the sender's packets", func() bool {
		return ts.gateDrops() >= d0+5
	})
	before := make([]uint64, len(listeners))
	for i, l := range listeners {
		before[i] = heard(l, source)
	}
	d1 := ts.gateDrops()
	testkit.Eventually(t, 5*time.Second, what+": 10 more packets dropped", func() bool {
		return ts.gateDrops() >= d1+10
	})
	for i, l := range listeners {
		if n := heard(l, source) - before[i]; n != 0 {
			t.Errorf("%s: listener %d heard %d packets while the server dropped %d at its gate",
				what, i, n, ts.gateDrops()-d1)
		}
	}
}
