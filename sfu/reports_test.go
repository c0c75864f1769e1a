package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"palabre/internal/testkit"
)

func TestReceiverStats(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	var s receiverStats
	feed := func(seq uint16, ts uint32, now int64) {
		s.update(&rtp.Header{SSRC: 5, SequenceNumber: seq, Timestamp: ts}, now)
	}
	// 65530..65535, 0..9 with 2 and 3 lost: 14 of 16 received, across a wrap.
	for i := range 16 {
		seq := uint16(65530 + i)
		if seq == 2 || seq == 3 {
			continue
		}
		feed(seq, uint32(i)*960, ms(int64(i)*20))
	}
	r := s.report(0x1234, 42)
	if r.SSRC != 5 || r.LastSequenceNumber != 1<<16+9 || r.TotalLost != 2 || r.FractionLost != 2*256/16 {
		t.Errorf("report %+v", r)
	}
	if r.Jitter != 0 || r.LastSenderReport != 0x1234 || r.Delay != 42 {
		t.Errorf("report %+v", r)
	}
	// Next interval: a late duplicate and jittery arrivals, no loss.
	feed(10, 16*960, ms(16*20+30))
	feed(11, 17*960, ms(17*20))
	feed(5, 11*960, ms(17*20+1)) // duplicate
	r = s.report(0, 0)
	if r.FractionLost != 0 || r.TotalLost != 1 || r.Jitter == 0 {
		t.Errorf("second report %+v", r)
	}
}

func TestNTPTime(t *testing.T) {
	ts := time.Unix(1700000000, 500_000_000)
	n := ntpTime(ts)
	if n>>32 != 1700000000+ntpEpochOffset || uint32(n) != 1<<31 {
		t.Errorf("ntpTime = %x", n)
	}
}

// Slots carry sender reports; the microphone gets receiver reports that
// echo the publisher's last sender report.
func TestReportsOnTheWire(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	cs := joinAll(t, room, "speaker", "listener")
	sp, l := cs[0], cs[1]
	if err := room.RequestFloor(sp.part, false); err != nil {
		t.Fatal(err)
	}
	micSSRC := uint32(sp.sndr.GetParameters().Encodings[0].SSRC)
	sentNTP := ntpTime(time.Now())
	if err := sp.pc.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: micSSRC, NTPTime: sentNTP}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	sp.startTalking(20)
	defer sp.stopTalking()

	rr := make(chan rtcp.ReceptionReport, 8)
	go func() {
		for {
			pkts, _, err := sp.sndr.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if r, ok := p.(*rtcp.ReceiverReport); ok && len(r.Reports) == 1 {
					rr <- r.Reports[0]
				}
			}
		}
	}()
	select {
	case r := <-rr:
		if r.SSRC != micSSRC || r.LastSenderReport != uint32(sentNTP>>16) || r.Delay == 0 || r.LastSequenceNumber == 0 {
			t.Errorf("receiver report %+v (mic ssrc %d, lsr %x)", r, micSSRC, uint32(sentNTP>>16))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no receiver report for the microphone")
	}

	testkit.Eventually(t, 5*time.Second, "listener receives", func() bool { return len(l.received("slot-0")) > 0 })
	l.mu.Lock()
	rcv, ssrc := l.receivers["slot-0"], l.slotSSRC["slot-0"]
	l.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := rcv.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		pkts, _, err := rcv.ReadRTCP()
		if err != nil {
			t.Fatalf("no sender report on slot-0: %v", err)
		}
		if sr, ok := pkts[0].(*rtcp.SenderReport); ok {
			if sr.SSRC != ssrc || sr.PacketCount == 0 || sr.OctetCount != sr.PacketCount*24 {
				t.Errorf("sender report %+v", sr)
			}
			break
		}
	}
}
