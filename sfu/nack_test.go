package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"palabre/internal/testkit"
)

// A NACKed slot packet is re-sent from the publisher's cache with the
// subscriber's rewritten sequence number.
func TestNACKRetransmission(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "speaker", "listener")
	sp, l := cs[0], cs[1]
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	sp.startTalking(20)
	testkit.Eventually(t, 5*time.Second, "listener hears", func() bool { return len(l.received("slot-0")) >= 20 })
	sp.stopTalking()
	last := sp.sent() - 1
	testkit.Eventually(t, 5*time.Second, "the speaker's last packet arrives", func() bool {
		pkts := l.received("slot-0")
		return len(pkts) > 0 && pkts[len(pkts)-1].counter == last
	})

	pkts := l.received("slot-0")
	want := []rxPacket{pkts[len(pkts)-10], pkts[len(pkts)-8], pkts[len(pkts)-7]}
	l.mu.Lock()
	ssrc := l.slotSSRC["slot-0"]
	l.mu.Unlock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{want[0].seq, want[1].seq, want[2].seq})}
	if err := l.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "retransmissions", func() bool { return len(l.received("slot-0")) >= len(pkts)+len(want) })
	got := l.received("slot-0")[len(pkts):]
	for i, w := range want {
		g := got[i]
		if g.seq != w.seq || g.ts != w.ts || g.counter != w.counter || len(g.csrc) != 1 || g.csrc[0] != sp.part.Source() {
			t.Errorf("retransmission %d = %+v, want %+v", i, g, w)
		}
	}
	if st := e.Stats(); st.Retransmit != uint64(len(want)) {
		t.Errorf("Retransmit = %d", st.Retransmit)
	}
	// An unknown sequence number is ignored. A known one after it, in the
	// same NACK, is handled after it: once that one is back, anything the
	// unknown one caused would be in too. (A packet not re-sent yet: one
	// re-sent within the last 100 ms is not sent again.)
	before := len(pkts) + len(want)
	again := pkts[len(pkts)-5]
	nack.Nacks = rtcp.NackPairsFromSequenceNumbers([]uint16{pkts[len(pkts)-1].seq + 100, again.seq})
	if err := l.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the known packet is sent again", func() bool { return len(l.received("slot-0")) > before })
	if got := l.received("slot-0")[before:]; len(got) != 1 || got[0].seq != again.seq {
		t.Errorf("after a NACK for an unsent packet and a sent one, got %+v, want the sent one only", got)
	}
	if st := e.Stats(); st.Retransmit != uint64(len(want)+1) {
		t.Errorf("Retransmit = %d, want %d", st.Retransmit, len(want)+1)
	}
}

// The server NACKs upstream gaps of a publisher whose gate is open.
func TestUpstreamNACKSent(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "speaker", "listener")
	sp := cs[0]
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	nacked := make(chan []uint16, 4)
	go func() {
		for {
			pkts, _, err := sp.sndr.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if n, ok := p.(*rtcp.TransportLayerNack); ok {
					var seqs []uint16
					for _, pair := range n.Nacks {
						seqs = append(seqs, pair.PacketList()...)
					}
					nacked <- seqs
				}
			}
		}
	}()
	for i := range 20 {
		if i == 10 {
			sp.sendMu.Lock()
			lost := sp.seq
			sp.seq++ // packet 10 is "lost"
			sp.ts += 960
			sp.sendMu.Unlock()
			defer func() {
				select {
				case seqs := <-nacked:
					if len(seqs) != 1 || seqs[0] != lost {
						t.Errorf("NACK for %v, want [%d]", seqs, lost)
					}
				case <-time.After(5 * time.Second):
					t.Error("no NACK for the lost packet")
				}
			}()
		}
		sp.sendOne()
		time.Sleep(20 * time.Millisecond)
	}
}
