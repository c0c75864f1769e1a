package rtc

import (
	"testing"
	"time"
)

// Consent comes from the client's checks: when they stop, the server
// connection goes disconnected, back to connected with the next check,
// and fails when consent expires; a connection nobody connects to fails
// after the connect timeout. The wheel does it all.
func TestConsentAndTimeouts(t *testing.T) {
	se := newTestEngine(t, Config{timing: timing{disconnect: time.Second, consent: 3 * time.Second}})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	ce.wheel.cancel(&p.client.timer) // the client checks only when told to

	waitState(t, p.server, StateDisconnected, 5*time.Second)
	p.client.sendCheck()
	waitState(t, p.server, StateConnected, 5*time.Second)
	waitState(t, p.server, StateFailed, 10*time.Second)
	want := []State{StateChecking, StateConnected, StateDisconnected, StateConnected, StateDisconnected, StateFailed}
	if got := p.sh.stateList(); len(got) != len(want) || got[2] != StateDisconnected || got[3] != StateConnected || got[5] != StateFailed {
		t.Fatalf("states %v, want %v", got, want)
	}
	if se.Stats().Conns != 0 {
		t.Fatal("the failed connection is still in the engine")
	}

	quick := newTestEngine(t, Config{timing: timing{connect: 300 * time.Millisecond}})
	idle, err := quick.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, idle, StateFailed, 5*time.Second)
	if idle.SetRemote(RemoteFrom(p.answer)) != ErrClosed {
		t.Fatal("SetRemote on a failed connection")
	}
}
