package rtc

import (
	"bytes"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The client mode connects to a server connection (the engine is then
// the DTLS server), and audio flows both ways; the client's first RTCP
// ends the server's DTLS grace.
func TestClientModeAudioBothWays(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	if p.answer.Setup != SetupActive {
		t.Fatalf("client mode answered %q", p.answer.Setup)
	}
	testkit.Eventually(t, 2*time.Second, "server's DTLS session ended", func() bool { return !p.server.hasSession() })
	// The client's first receiver report may have come before the server's
	// keys (dropped, but it ended the grace all the same); this one passes.
	rr, _ := (&rtcp.ReceiverReport{SSRC: p.micSSRC}).Marshal()
	before := p.sh.rtcpCount()
	if err := p.client.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 2*time.Second, "a receiver report", func() bool { return p.sh.rtcpCount() == before+1 })

	for i := range uint16(20) {
		if err := p.client.WriteRTP(p.micPacket(i + 1)); err != nil {
			t.Fatal(err)
		}
		hdr := rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: 500 + i, SSRC: p.slotSSRC}
		if err := p.server.WriteRTP(&hdr, []byte{9, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 2*time.Second, "20 packets each way", func() bool {
		return len(p.sh.packets()) == 20 && len(p.ch.packets()) == 20
	})
	for i, pkt := range p.sh.packets() {
		_, want := p.micPacket(uint16(i + 1))
		if pkt.SSRC != p.micSSRC || !bytes.Equal(pkt.Payload, want) {
			t.Fatalf("server got %v %x", pkt.Header, pkt.Payload)
		}
	}
	for i, pkt := range p.ch.packets() {
		if pkt.SSRC != p.slotSSRC || pkt.SequenceNumber != 500+uint16(i) {
			t.Fatalf("client got %v", pkt.Header)
		}
	}
	if p.server.RemoteAddr() != p.client.sock.Load().local {
		t.Fatalf("server sends to %v, the client is at %v", p.server.RemoteAddr(), p.client.sock.Load().local)
	}
}

// blockingHandler holds the reader in HandleRTP until released.
type blockingHandler struct {
	*recorder
	in      chan struct{}
	release chan struct{}
}

func (h *blockingHandler) HandleRTP(c *Conn, p *rtp.Packet, raw []byte) {
	h.in <- struct{}{}
	<-h.release
	h.recorder.HandleRTP(c, p, raw)
}

// Close returns only once no Handler call is in progress, and none comes
// after it.
func TestCloseWaitsForHandler(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	bh := &blockingHandler{in: make(chan struct{}, 1), release: make(chan struct{})}
	p := dialPairWith(t, se, ce, func(r *recorder) Handler { bh.recorder = r; return bh })
	if err := p.client.WriteRTP(p.micPacket(1)); err != nil {
		t.Fatal(err)
	}
	<-bh.in // the reader is in HandleRTP
	closed := make(chan struct{})
	go func() { p.server.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the handler was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(bh.release)
	<-closed
	if err := p.client.WriteRTP(p.micPacket(2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(p.sh.packets()); n != 1 {
		t.Fatalf("%d packets handled, want 1", n)
	}
}
