package sfu

import (
	"fmt"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/sfu/rtc"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// newRTCEngine is an Engine whose participants' connections are an rtc
// engine's (RTCOpener) instead of pion PeerConnections; the clients are
// still pion's.
func newRTCEngine(t testing.TB, slots int) (*Engine, *rtc.Engine) {
	t.Helper()
	e := newTestEngine(t, slots)
	re, err := rtc.NewEngine(rtc.Config{Addr: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = re.Close() })
	e.openTransport = RTCOpener(re)
	return e, re
}

// Push-to-talk over the rtc transport: the listeners hear the floor
// holder on a slot, with the speaker as CSRC; nobody hears the others.
func TestRTCTransportPushToTalk(t *testing.T) {
	e, re := newRTCEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 1}, nil)
	cs := joinAll(t, room, "speaker", "l1", "l2")
	sp, listeners := cs[0], cs[1:]
	for _, l := range listeners {
		l.startTalking(10) // without the floor: gated
	}
	sp.startTalking(20)
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	src := sp.part.Source()
	for _, l := range listeners {
		testkit.Eventually(t, 5*time.Second, l.id+" hears the speaker", func() bool { return len(l.from(src)) >= 20 })
		if n := l.total(); n != len(l.from(src)) {
			t.Fatalf("%s heard %d packets, %d from the speaker", l.id, n, len(l.from(src)))
		}
	}
	sp.stopTalking()
	if n := sp.total(); n != 0 {
		t.Fatalf("the speaker heard %d packets", n)
	}
	st := re.Stats()
	if st.Conns != 3 || st.Handshakes != 3 || st.PacketsOut == 0 {
		t.Fatalf("rtc stats %+v", st)
	}
}

// A listener's NACK (RTCP through the rtc transport) is answered from the
// speaker's cache.
func TestRTCTransportNACK(t *testing.T) {
	e, _ := newRTCEngine(t, 3)
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
	want := pkts[len(pkts)-5]
	l.mu.Lock()
	ssrc := l.slotSSRC["slot-0"]
	l.mu.Unlock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{want.seq})}
	if err := l.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the retransmission", func() bool {
		got := l.received("slot-0")
		return len(got) > len(pkts) && got[len(got)-1].seq == want.seq && got[len(got)-1].counter == want.counter
	})
}

// Leaving closes the rtc connection: the rtc engine holds nothing more.
func TestRTCTransportLeave(t *testing.T) {
	e, re := newRTCEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "a", "b")
	cs[0].part.Leave()
	cs[1].part.Leave()
	if st := re.Stats(); st.Conns != 0 {
		t.Fatalf("%d rtc connections left", st.Conns)
	}
}

// BenchmarkForwardRTC is BenchmarkForward over the rtc transport: the same
// fan-out (rewrite, one write per subscriber) through rtc.Conn.WriteRTP
// (SRTP in place, one sendto each; no batching yet: the forwarder has no
// end-of-fan-out hook to flush at). Compare with BenchmarkForward, in the
// same run:
//
//	flock /tmp/palabre-bench.lock go test -run '^$' -bench 'Forward' -benchmem ./sfu/
func BenchmarkForwardRTC(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			e, _ := newRTCEngine(b, 3)
			room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
			pub := joinQuiet(b, room, "pub")
			for i := range n {
				joinQuiet(b, room, fmt.Sprintf("sub%d", i))
			}
			if err := room.RequestFloor(pub.part, false); err != nil {
				b.Fatal(err)
			}
			slot, epoch := splitGrant(pub.part.grant.Load())
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType, SSRC: 1234}, Payload: make([]byte, 80)}
			if err := pkt.Header.SetExtension(1, []byte{0x80 | 30}); err != nil {
				b.Fatal(err)
			}
			before := e.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				pkt.SequenceNumber = uint16(i)
				pkt.Timestamp = uint32(i) * frameTicks
				room.forward(pub.part, slot, epoch, pkt, 0x80|30, true, e.nanotime())
			}
			b.StopTimer()
			after := e.Stats()
			if out := after.PacketsOut - before.PacketsOut; out != uint64(b.N*n) || after.DropWriteError != before.DropWriteError {
				b.Fatalf("%d packets out, %d write errors, want %d", out, after.DropWriteError-before.DropWriteError, b.N*n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt-out")
		})
	}
}
