package sfu

import (
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/sfu/rtc"

	"github.com/pion/rtcp"
)

// newRTCEngine is an Engine on the rtc plane (the default) and its rtc
// engine; the clients are pion's.
func newRTCEngine(t testing.TB, slots int) (*Engine, *rtc.Engine) {
	t.Helper()
	e := newTestEngine(t, slots)
	if e.rtc == nil {
		t.Fatal("the test engine is not on the rtc plane")
	}
	return e, e.rtc
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
