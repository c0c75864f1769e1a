package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/signaling"
)

// Participants who can only use the relay join through the bundled TURN
// server, over UDP and over TCP, and hear the speaker.
func TestRelayOnlyClientsHear(t *testing.T) {
	ts := startServer(t, withBundledTURN())
	ts.createRoom(signaling.CreateRoomRequest{Name: "relayed", Mode: "ptt"})
	speaker := ts.join("relayed", "speaker", "")
	ctx := testCtx(t, 60*time.Second)
	if err := speaker.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := speaker.Publish(client.NewToneSource([]byte("s"), 30)); err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			c, err := client.Dial(ctx, ts.URL, client.Options{RelayOnly: true, TURNTransport: transport})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			joined, err := c.Join(ctx, client.JoinRequest{Room: "relayed", Name: "behind a firewall " + transport})
			if err != nil {
				t.Fatal(err)
			}
			if len(joined.ICEServers) == 0 || joined.ICEServers[0].Username == "" {
				t.Fatalf("joined without TURN credentials: %+v", joined.ICEServers)
			}
			if err := c.WaitConnected(ctx); err != nil {
				t.Fatalf("through TURN/%s: %v", transport, err)
			}
			pair, err := c.SelectedCandidatePair()
			if err != nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
				t.Fatalf("selected pair %v (%v), want a relay candidate", pair, err)
			}
			testkit.Eventually(t, 5*time.Second, "the server counts a relayed connection", func() bool {
				return ts.Engine.Stats().ConnectedRelay == 1
			})
			testkit.Eventually(t, 10*time.Second, "the relayed client hears the speaker", func() bool {
				return heard(c, speaker.Self().Source) > 25
			})
		})
	}
}
