package e2e

// Chromium publishes its camera (the harness's fake camera, 1280×720) as
// three simulcast layers; a Go client receives the slot and, as its
// estimate (its REMB) moves, gets each layer in turn: quarter, half and
// full resolution, every change at a keyframe, the picture IDs running on.
// (Back down is TestVideoLayerFollowsREMB's, with a Go publisher: Chromium,
// its REMB cut from 2.5 Mbit/s to 200 kbit/s at once, sent no video at all
// for most of a minute in one run.)

import (
	"context"
	"fmt"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
)

func init() {
	scenarios = append(scenarios, scenario{
		name: "SimulcastToGo", webrtc: true, engines: []string{"chromium"},
		why: "Chromium's fake camera is the one that sends simulcast from a file",
		run: simulcastToGo,
	})
}

func simulcastToGo(t *testing.T, b *bench) {
	s, room := videoRoom(t, "simulcast", "open", 1)
	a := b.withCamera("A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	a.cameraOn()
	aID := eval[string](a, `window.palabre.self.id`)
	aSource := uint32(eval[float64](a, `window.palabre.self.source`))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := client.Dial(ctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Join(ctx, client.JoinRequest{Room: "simulcast", Name: "Go viewer", WantVideo: true, CameraLayers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "the Go client's slot carries Ana", func() bool { return g.VideoSlot(false, 0).Participant == aID })

	// REMBs the layers fit in with the allocator's 15 % headroom: Chrome's
	// 720p simulcast sends about 150, 500 and 1,500 kbit/s.
	for _, step := range []struct {
		bps   uint64
		width int
	}{{250_000, 320}, {1_000_000, 640}, {8_000_000, 1280}} {
		start := time.Now()
		testkit.Eventually(t, 60*time.Second, fmt.Sprintf("%d px wide with a REMB of %d bit/s", step.width, step.bps), func() bool {
			_ = g.SendREMB(step.bps)
			time.Sleep(300 * time.Millisecond)
			return g.VideoStats(false, 0).Width == step.width
		})
		t.Logf("REMB %d bit/s: %d px wide after %v", step.bps, step.width, time.Since(start).Round(10*time.Millisecond))
	}
	st := g.VideoStats(false, 0)
	t.Logf("the Go client's slot: %+v", st)
	if st.PictureGaps != 0 {
		t.Errorf("picture ID gaps across the layer changes: %+v", st)
	}
	if len(st.Sources) != 1 || st.Sources[0] != aSource {
		t.Errorf("sources %v, want Ana's %d only", st.Sources, aSource)
	}
	checkOneNegotiation(t, a, "after the layer changes")
}
