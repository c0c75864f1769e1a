package rtc

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// hasCCS reports whether a DTLS datagram carries a ChangeCipherSpec
// record: the last flight of either side (the client's flight 5, the
// server's flight 6) does.
func hasCCS(p []byte) bool {
	for len(p) >= 13 {
		if p[0] == 20 {
			return true
		}
		n := 13 + int(binary.BigEndian.Uint16(p[11:13]))
		if n > len(p) {
			return false
		}
		p = p[n:]
	}
	return false
}

// lossyLastFlight drops the first datagram of a last flight.
type lossyLastFlight struct {
	mu            sync.Mutex
	sent, dropped int
}

func (l *lossyLastFlight) drop(_ *Conn, p []byte) bool {
	if !hasCCS(p) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if l.dropped == 0 {
		l.dropped++
		return true
	}
	return false
}

func (l *lossyLastFlight) counts() (sent, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, l.dropped
}

// The engine as DTLS server: its last flight (CCS, Finished) is lost
// once; the client sends its own again, the engine answers with its last
// flight again, still there in the DTLS grace, and both connect.
func TestDTLSServerLostLastFlight(t *testing.T) {
	var loss lossyLastFlight
	se := newTestEngine(t, Config{dropDTLS: loss.drop})
	ce := newTestEngine(t, Config{})
	start := time.Now()
	p := dialPair(t, se, ce)
	sent, dropped := loss.counts()
	t.Logf("connected after %v; the server sent its last flight %d times", time.Since(start).Round(time.Millisecond), sent)
	if dropped != 1 || sent < 2 {
		t.Fatalf("last flight sent %d times, %d dropped", sent, dropped)
	}
	if st := se.Stats(); st.Handshakes != 1 || st.HandshakeFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := p.client.WriteRTP(p.micPacket(1)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "media", func() bool { return len(p.sh.packets()) == 1 })
}

// The engine as DTLS client (pion answers passive): its last flight is
// lost once; pion's server sends its flight again, the engine's
// handshake, still running, sends its own again.
func TestDTLSClientLostLastFlight(t *testing.T) {
	var loss lossyLastFlight
	e := newTestEngine(t, Config{dropDTLS: loss.drop})
	h := newRecorder()
	c, offer, offerSDP := serverConn(t, e, h, 0x5105)
	client := newPionClient(t, offerSDP)
	if a := applyAnswer(t, c, offer, client.answer); a.Setup != SetupPassive {
		t.Fatalf("pion answered %q", a.Setup)
	}
	waitState(t, c, StateConnected, 15*time.Second)
	select {
	case <-client.connected:
	case <-time.After(5 * time.Second):
		t.Fatal("pion did not connect")
	}
	if sent, dropped := loss.counts(); dropped != 1 || sent < 2 {
		t.Fatalf("last flight sent %d times, %d dropped", sent, dropped)
	}
}
