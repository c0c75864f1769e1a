package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling"
)

// A participant that can reach the server only over TCP joins through
// ICE-TCP on the media TCP port and hears the speaker.
func TestICETCPOnlyClientHears(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) { o.MediaTCPPort = server.AnyPort }))
	ts.createRoom(signaling.CreateRoomRequest{Name: "tcp", Mode: "ptt"})
	speaker := ts.join("tcp", "speaker", "")

	c, err := client.Dial(testCtx(t, 10*time.Second), ts.URL, client.Options{TCPOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t, 20*time.Second)
	if _, err := c.Join(ctx, client.JoinRequest{Room: "tcp", Name: "behind a firewall"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("ICE-TCP: %v", err)
	}
	pair, err := c.SelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Port != uint16(ts.Engine.MediaTCPAddr().Port) {
		t.Fatalf("selected pair %v (%v), want TCP to the media TCP port %v", pair, err, ts.Engine.MediaTCPAddr())
	}
	testkit.Eventually(t, 5*time.Second, "the server counts an ICE-TCP connection", func() bool {
		return ts.Engine.Stats().ConnectedTCP == 1
	})
	if err := speaker.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := speaker.Publish(client.NewToneSource([]byte("s"), 30)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the TCP-only client hears the speaker", func() bool {
		return heard(c, speaker.Self().Source) > 25
	})
}
