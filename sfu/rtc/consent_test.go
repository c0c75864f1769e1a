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
	tm := timing{connect: 600 * time.Millisecond, disconnect: 400 * time.Millisecond, consent: 1200 * time.Millisecond}
	se := newTestEngine(t, Config{timing: tm})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)

	// The client checks every 2.5 s: longer than this server's disconnect.
	waitState(t, p.server, StateDisconnected, 3*time.Second)
	p.client.sendCheck()
	waitState(t, p.server, StateConnected, 2*time.Second)
	p.client.Close()
	waitState(t, p.server, StateFailed, 3*time.Second)
	want := []State{StateChecking, StateConnected, StateDisconnected, StateConnected, StateDisconnected, StateFailed}
	got := p.sh.stateList()
	if len(got) < 4 || got[len(got)-1] != StateFailed || got[0] != StateChecking || got[1] != StateConnected || got[2] != StateDisconnected {
		t.Fatalf("states %v, want like %v", got, want)
	}
	if se.Stats().Conns != 0 {
		t.Fatal("the failed connection is still in the engine")
	}

	idle, err := se.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, idle, StateFailed, 3*time.Second)
	if idle.SetRemote(RemoteFrom(p.answer)) != ErrClosed {
		t.Fatal("SetRemote on a failed connection")
	}
}
