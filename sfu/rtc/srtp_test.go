package rtc

import (
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// SRTP and SRTCP replays are rejected: the same packet twice, a packet
// older than the replay window; packets within the window out of order
// pass; a tampered one fails authentication. None reaches the handler.
func TestSRTPReplayRejected(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	raw := func(seq uint16, tamper bool) []byte {
		hdr, payload := p.micPacket(seq)
		_, enc, err := p.client.sealRTP(make([]byte, 1500), hdr, payload, &rtp.Header{})
		if err != nil {
			t.Fatal(err)
		}
		if tamper {
			enc[len(enc)-1] ^= 1
		}
		return enc
	}
	send := func(b []byte) {
		if _, err := p.client.sock.Load().conn.WriteToUDPAddrPort(b, se.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	base := se.Stats()
	steps := []struct {
		what      string
		pkt       []byte
		delivered int // handler's total after the step
		replays   uint64
		auth      uint64
	}{
		{"a packet", raw(2000, false), 1, 0, 0},
		{"the same again", nil, 1, 1, 0}, // filled below: the same bytes
		{"an older one within the window", raw(2000-100, false), 2, 1, 0},
		{"that one again", nil, 2, 2, 0},
		{"one older than the window", raw(2000-replayWindow-1, false), 2, 3, 0},
		{"a tampered one", raw(2001, true), 2, 3, 1},
		{"the genuine one after it", raw(2001, false), 3, 3, 1},
	}
	steps[1].pkt = steps[0].pkt
	steps[3].pkt = steps[2].pkt
	for _, s := range steps {
		send(s.pkt)
		testkit.Eventually(t, 2*time.Second, s.what, func() bool {
			st := se.Stats()
			return len(p.sh.packets()) == s.delivered && st.DropReplay-base.DropReplay == s.replays && st.DropAuth-base.DropAuth == s.auth
		})
	}

	// SRTCP: the same receiver report twice.
	rr, _ := (&rtcp.ReceiverReport{SSRC: p.micSSRC}).Marshal()
	_, enc, err := p.client.sealRTCP(make([]byte, 1500), rr)
	if err != nil {
		t.Fatal(err)
	}
	before := p.sh.rtcpCount()
	send(enc)
	send(enc)
	testkit.Eventually(t, 2*time.Second, "one RTCP delivered, one replay", func() bool {
		return p.sh.rtcpCount() == before+1 && se.Stats().DropReplay-base.DropReplay == 4
	})
	time.Sleep(50 * time.Millisecond)
	if n := len(p.sh.packets()); n != 3 || p.sh.rtcpCount() != before+1 {
		t.Fatalf("%d RTP and %d RTCP delivered", n, p.sh.rtcpCount()-before)
	}
}

// A peer that sends from ever new SSRCs (it has the keys: every packet
// authenticates) makes the engine keep state for maxSSRCs of them at most:
// announced ones first, then the first others.
func TestSSRCBudget(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	send := func(ssrc uint32) {
		hdr := &rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: 1, SSRC: ssrc}
		if err := p.client.WriteRTP(hdr, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint32(30) {
		send(0x1000 + i)
	}
	// The announced microphone (one SSRC) keeps its room.
	send(p.micSSRC)
	want := maxSSRCs - 1 + 1
	testkit.Eventually(t, 2*time.Second, "the budget's packets", func() bool {
		return len(p.sh.packets()) == want && se.Stats().DropSSRC == 30-uint64(maxSSRCs-1)
	})
	if p.server.rtpSSRCs.n != maxSSRCs {
		t.Fatalf("%d SSRCs kept", p.server.rtpSSRCs.n)
	}
}
