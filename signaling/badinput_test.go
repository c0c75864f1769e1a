package signaling_test

import (
	"strings"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// Malformed, oversized and unknown messages get an error reply and the
// session carries on.
func TestBadMessagesKeepSessionAlive(t *testing.T) {
	ts := startServer(t)
	// A created room: the opener of an ad-hoc one is its organizer.
	ts.createRoom(signaling.CreateRoomRequest{Name: "lobby"})
	c := ts.join("lobby", "tester", "")
	cases := []struct {
		name string
		raw  string
		code string
	}{
		{"not json", `{"type":`, proto.CodeBadMessage},
		{"not an object", `[1,2,3]`, proto.CodeBadMessage},
		{"no type", `{"id":3}`, proto.CodeBadMessage},
		{"unknown type", `{"type":"launch_rockets"}`, proto.CodeBadMessage},
		{"oversized", `{"type":"ping","name":"` + strings.Repeat("x", proto.MaxMessageBytes) + `"}`, proto.CodeBadMessage},
		{"field too long", `{"type":"mute","target":"` + strings.Repeat("p", 200) + `"}`, proto.CodeBadMessage},
		{"bad mode", `{"type":"set_mode","mode":"karaoke"}`, proto.CodeBadMessage},
		{"second join", `{"type":"join","room":"lobby","name":"again"}`, proto.CodeBadState},
		{"organizer only", `{"type":"kick","target":"pzzz"}`, proto.CodeNotAllowed},
		{"garbage answer", `{"type":"answer","sdp":"not sdp"}`, proto.CodeBadState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.SendRaw([]byte(tc.raw)); err != nil {
				t.Fatal(err)
			}
			ev := waitEvent(t, c, "error reply", func(m proto.Message) bool { return m.Type == proto.TypeError })
			if ev.Code != tc.code {
				t.Errorf("error code %q (%s), want %q", ev.Code, ev.Message, tc.code)
			}
			if _, err := c.Request(testCtx(t, 5*time.Second), proto.Message{Type: proto.TypePing}); err != nil {
				t.Fatalf("session dead after %s: %v", tc.name, err)
			}
		})
	}
}

// A client that floods is disconnected; the others in its room go on
// hearing their speaker.
func TestFloodDisconnectsOnlyTheFlooder(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "busy", Mode: "ptt"})
	speaker := ts.join("busy", "speaker", "")
	listener := ts.join("busy", "listener", "")
	flooder := ts.join("busy", "flooder", "")
	if err := speaker.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := speaker.Publish(client.NewToneSource([]byte("s"), 30)); err != nil {
		t.Fatal(err)
	}
	src := speaker.Self().Source
	testkit.Eventually(t, 5*time.Second, "listener hears the speaker", func() bool { return heard(listener, src) > 10 })

	for i := 0; i < 500; i++ {
		if err := flooder.Send(proto.Message{Type: proto.TypePing}); err != nil {
			break // already cut off
		}
	}
	select {
	case <-flooder.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("flooder still connected")
	}
	if !strings.Contains(flooder.Err().Error(), "flood") {
		t.Errorf("flooder closed with %v, want a flood reason", flooder.Err())
	}
	waitEvent(t, listener, "flooder leaves", func(m proto.Message) bool {
		_, left := m.Presence.Departure(flooder.Self().ID)
		return m.Type == proto.TypePresence && left
	})
	before := heard(listener, src)
	testkit.Eventually(t, 5*time.Second, "listener still hears the speaker", func() bool { return heard(listener, src) > before+25 })
	if _, err := listener.Request(testCtx(t, 5*time.Second), proto.Message{Type: proto.TypePing}); err != nil {
		t.Fatalf("listener's session: %v", err)
	}
}

func TestHelloRules(t *testing.T) {
	ts := startServer(t)
	t.Run("unsupported version", func(t *testing.T) {
		c, err := client.Dial(testCtx(t, 5*time.Second), ts.URL, client.Options{ProtocolVersion: 99})
		if err == nil {
			c.Close()
		}
		if errCode(err) != proto.CodeUnsupportedVersion {
			t.Fatalf("got %v, want unsupported_version", err)
		}
	})
}
