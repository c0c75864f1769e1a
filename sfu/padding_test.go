package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// A paused slot's padding: padding-only packets in the slot's own
// sequence space, and the run that resumes it follows them.
func TestPaddingOnPausedSlot(t *testing.T) {
	w := &fakeWriter{keep: true}
	var vo videoOut
	vo.bind(OutStream{Writer: w, SSRC: 7, PayloadType: vp8PayloadType})
	vo.started = true // it carried video before
	first := vo.lastSeq + 1
	for range 3 {
		if n := vo.pad(time.Now()); n != 12+padSize {
			t.Fatalf("padding packet of %d bytes, want %d", n, 12+padSize)
		}
		if h := w.last; !h.Padding || h.PaddingSize != padSize || h.SSRC != 7 || len(h.CSRC) != 0 {
			t.Fatalf("padding header %+v", h)
		}
	}
	if vo.hdr.Padding || vo.hdr.PaddingSize != 0 {
		t.Fatal("the slot's header kept the padding flag")
	}
	vo.switchTo(nil, &rtp.Header{SequenceNumber: 1000, Timestamp: 5}, 0)
	if got := 1000 + vo.seqDelta; got != first+3 {
		t.Fatalf("the run resumes at %d, want %d (after the padding)", got, first+3)
	}
	if want := []uint16{first, first + 1, first + 2}; len(w.seqs) != 3 || w.seqs[0] != want[0] || w.seqs[2] != want[2] {
		t.Fatalf("padding sequence numbers %v, want %v", w.seqs, want)
	}
}

// Every packet of a compound RTCP packet is handled, not only the first:
// here a NACK after an empty receiver report, as Chromium sends them.
func TestRTCPCompoundEachPacket(t *testing.T) {
	f := newFakeRoom(t, 1)
	now := f.e.nanotime()
	for i := range 20 {
		f.pub.handle(fakePacket(uint16(i)), now)
	}
	sub, w := f.subs[0], f.w[0][0]
	out := w.seqs[len(w.seqs)-3:]
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 99},
		&rtcp.TransportLayerNack{MediaSSRC: sub.slotSSRC[0], Nacks: rtcp.NackPairsFromSequenceNumbers(out)},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := w.count()
	(*peerHandler)(sub).RTCP(sub.slotSSRC[0], b)
	if got := w.count() - before; got != 3 {
		t.Fatalf("%d resent for the NACK in a compound, want 3", got)
	}
	// A truncated compound stops at the broken packet.
	before = w.count()
	(*peerHandler)(sub).RTCP(sub.slotSSRC[0], b[:len(b)-2])
	if got := w.count() - before; got != 0 {
		t.Fatalf("%d resent for a truncated NACK", got)
	}
}
