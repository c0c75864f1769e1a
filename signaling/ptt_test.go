package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// One speaker and five listeners in a push-to-talk room: the listeners hear
// the speaker only while it holds the floor, and the events name it.
func TestPTTSpeakerHeardOnlyWithFloor(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "ptt-room", Mode: "ptt"})

	speaker := ts.join("ptt-room", "speaker", "")
	var listeners []*client.Client
	for i := range 5 {
		listeners = append(listeners, ts.join("ptt-room", fmt.Sprintf("listener-%d", i), ""))
	}
	src := speaker.Self().Source
	if err := speaker.Publish(client.NewToneSource([]byte("spk"), 30)); err != nil {
		t.Fatal(err)
	}

	// Talking without the floor: nobody hears it.
	ts.assertSilent(t, "before the floor", src, listeners...)
	for i, l := range listeners {
		if n := heard(l, src); n != 0 {
			t.Fatalf("listener %d heard %d packets before the speaker took the floor", i, n)
		}
	}

	if err := speaker.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("ptt_on: %v", err)
	}
	for i, l := range listeners {
		ev := waitEvent(t, l, "speaking event", func(m proto.Message) bool {
			return m.Type == proto.TypeSpeaking && m.Speaker.Participant != ""
		})
		if ev.Speaker.Participant != speaker.Self().ID || ev.Speaker.Source != src {
			t.Errorf("listener %d: speaking event names %+v, want %s/%d", i, ev.Speaker, speaker.Self().ID, src)
		}
		testkit.Eventually(t, 5*time.Second, fmt.Sprintf("listener %d hears the speaker", i), func() bool {
			return heard(l, src) >= 25
		})
	}

	if err := speaker.PTTOff(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("ptt_off: %v", err)
	}
	for _, l := range listeners {
		waitEvent(t, l, "slot goes quiet", func(m proto.Message) bool {
			return m.Type == proto.TypeSpeaking && m.Speaker.Participant == ""
		})
	}
	ts.assertSilent(t, "after the floor was released", src, listeners...)
}

// A client that pushes RTP without ever taking the floor is heard by no
// one, while the floor holder next to it is.
func TestRawSenderWithoutFloorNotHeard(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "raw", Mode: "ptt"})
	holder := ts.join("raw", "holder", "")
	rogue := ts.join("raw", "rogue", "")
	listener := ts.join("raw", "listener", "")

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: make([]byte, 80)}
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				pkt.SequenceNumber++
				pkt.Timestamp += 960
				_ = rogue.WriteRTP(pkt)
			}
		}
	}()
	defer func() { close(stop); <-done }()

	if err := holder.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := holder.Publish(client.NewToneSource([]byte("hld"), 30)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the listener hears the floor holder", func() bool {
		return heard(listener, holder.Self().Source) >= 50
	})
	for _, c := range []*client.Client{listener, holder} {
		if n := heard(c, rogue.Self().Source); n != 0 {
			t.Errorf("%s heard %d packets from the rogue sender", c.Self().Name, n)
		}
	}
	// Its packets did reach the server: the gate dropped them.
	if st := ts.Engine.Stats(); st.DropGated < 20 {
		t.Errorf("server gated %d packets, want the rogue's (at least 20)", st.DropGated)
	}
	// The rogue cannot take the floor while it is held.
	if err := rogue.PTTOn(testCtx(t, 5*time.Second)); errCode(err) != proto.CodeFloorBusy {
		t.Errorf("rogue ptt_on: %v, want floor_busy", err)
	}
}

// Downstream sequence numbers stay continuous across floor changes and
// speaker switches: no holes that would make receivers send NACKs.
func TestSlotSequenceContinuous(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "turns", Mode: "ptt"})
	a := ts.join("turns", "a", "")
	b := ts.join("turns", "b", "")
	listener := ts.join("turns", "listener", "")
	for _, c := range []*client.Client{a, b} {
		if err := c.Publish(client.NewToneSource([]byte(c.Self().Name), 30)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testCtx(t, 30*time.Second)
	turn := func(c *client.Client) {
		t.Helper()
		before := heard(listener, c.Self().Source)
		if err := c.PTTOn(ctx); err != nil {
			t.Fatalf("%s ptt_on: %v", c.Self().Name, err)
		}
		testkit.Eventually(t, 5*time.Second, c.Self().Name+" is heard", func() bool {
			return heard(listener, c.Self().Source) >= before+15
		})
		if err := c.PTTOff(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // a silent gap between turns
	}
	for _, c := range []*client.Client{a, b, a, b, b, a} {
		turn(c)
	}
	var total uint64
	for slot, s := range listener.Stats() {
		total += s.Packets
		if s.Gaps != 0 {
			t.Errorf("slot %d: %d missing sequence numbers over %d packets", slot, s.Gaps, s.Packets)
		}
	}
	if total < 6*15 {
		t.Errorf("listener got %d packets, want at least %d", total, 6*15)
	}
}

// Participants joining later do not renegotiate the earlier participants'
// connections: each client saw exactly one offer, and audio keeps flowing.
func TestLaterJoinsDoNotRenegotiate(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "steady", Mode: "ptt"})
	var early []*client.Client
	for i := range 3 {
		early = append(early, ts.join("steady", fmt.Sprintf("early-%d", i), ""))
	}
	speaker := early[0]
	if err := speaker.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := speaker.Publish(client.NewToneSource([]byte("s"), 30)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		late := ts.join("steady", fmt.Sprintf("late-%d", i), "")
		testkit.Eventually(t, 5*time.Second, "the late joiner hears the speaker", func() bool {
			return heard(late, speaker.Self().Source) > 10
		})
		if n := late.Negotiations(); n != 1 {
			t.Errorf("late joiner saw %d offers, want 1", n)
		}
	}
	for i, c := range early {
		if n := c.Negotiations(); n != 1 {
			t.Errorf("early participant %d saw %d offers, want 1", i, n)
		}
	}
	for i, c := range early[1:] {
		before := heard(c, speaker.Self().Source)
		testkit.Eventually(t, 5*time.Second, fmt.Sprintf("early listener %d still hears", i), func() bool {
			return heard(c, speaker.Self().Source) > before+10
		})
	}
}
