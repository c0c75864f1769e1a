package rtc

import (
	"bytes"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtp"
)

// A real pion PeerConnection (a full ICE agent, DTLS client) connects to
// the engine over loopback and exchanges SRTP audio both ways: the
// client's microphone reaches the handler, the server's slot packets
// (sent alone and in a batch) reach the client's track.
func TestPionPeerConnectionAudioBothWays(t *testing.T) {
	e := newTestEngine(t, Config{})
	h := newRecorder()
	const slotSSRC = 0x5105
	c, offer, offerSDP := serverConn(t, e, h, slotSSRC)
	client := newPionClient(t, offerSDP)
	answer := applyAnswer(t, c, offer, client.answer)
	// pion answers an ICE-lite offer with setup:passive: the server is
	// then the DTLS client (browsers answer active).
	if answer.Setup != SetupPassive {
		t.Fatalf("pion answered setup %q", answer.Setup)
	}
	select {
	case <-client.connected:
	case <-time.After(15 * time.Second):
		t.Fatal("pion did not connect")
	}
	waitState(t, c, StateConnected, 5*time.Second)

	// Client → server: the microphone.
	micSSRC := answer.Media[0].SSRCs
	if len(micSSRC) == 0 {
		t.Fatal("pion's answer announced no microphone SSRC")
	}
	payload := []byte("twenty milliseconds of opus")
	defer func() {
		if t.Failed() {
			t.Logf("stats %+v", e.Stats())
		}
	}()
	micSeq := uint16(0)
	testkit.Eventually(t, 5*time.Second, "microphone packets at the server", func() bool {
		micSeq++
		_ = client.mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: micSeq, Timestamp: 960 * uint32(micSeq)}, Payload: payload})
		return len(h.packets()) >= 5
	})
	for _, p := range h.packets() {
		if p.SSRC != micSSRC[0] || !bytes.Equal(p.Payload, payload) || p.PayloadType != opusPT {
			t.Fatalf("server got SSRC %x PT %d payload %q, want SSRC %x PT %d %q", p.SSRC, p.PayloadType, p.Payload, micSSRC[0], opusPT, payload)
		}
	}

	// Server → client: a slot, alone and batched.
	b := e.NewBatch()
	seq := uint16(100)
	testkit.Eventually(t, 5*time.Second, "slot packets at the client", func() bool {
		for range 3 {
			seq++
			hdr := rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: slotSSRC, CSRC: []uint32{7}}
			if seq%2 == 0 {
				if err := c.WriteRTP(&hdr, payload); err != nil {
					t.Fatal(err)
				}
			} else if err := b.WriteRTP(c, &hdr, payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		return len(client.received()) >= 10
	})
	for _, p := range client.received() {
		if p.SSRC != slotSSRC || !bytes.Equal(p.Payload, payload) || len(p.CSRC) != 1 || p.CSRC[0] != 7 {
			t.Fatalf("client got SSRC %x CSRC %v payload %q", p.SSRC, p.CSRC, p.Payload)
		}
	}
	st := e.Stats()
	if st.Handshakes != 1 || st.PacketsIn < 5 || st.PacketsOut < 10 || st.Checks == 0 {
		t.Fatalf("stats %+v", st)
	}
	// The client's SRTP ended the DTLS grace: no handshake state is left.
	testkit.Eventually(t, 2*time.Second, "DTLS session ended", func() bool { return !c.hasSession() })

	c.Close()
	if c.State() != StateClosed {
		t.Fatalf("state %v after Close", c.State())
	}
	if st := e.Stats(); st.Conns != 0 {
		t.Fatalf("%d connections left", st.Conns)
	}
	if err := c.WriteRTP(&rtp.Header{Version: 2, SSRC: slotSSRC}, payload); err != ErrNotReady {
		t.Fatalf("write after close: %v", err)
	}
	want := []State{StateChecking, StateConnected, StateClosed}
	if got := h.stateList(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("states %v, want %v", got, want)
	}
}
