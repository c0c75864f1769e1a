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
	"slices"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/internal/testkit/testserver"
)

func init() {
	scenarios = append(scenarios, scenario{
		name: "SimulcastToGo", webrtc: true, engines: []string{"chromium"},
		why: "Chromium's fake camera is the one that sends simulcast from a file",
		run: simulcastToGo,
	}, scenario{
		name: "FirefoxSimulcastToGo", webrtc: true, engines: []string{"firefox"},
		why: "Firefox's own fake camera, whose size is its own: the layers are read from its sender",
		run: firefoxSimulcastToGo,
	})
}

// goViewer joins a Go client to room, with one camera slot, and waits
// until the slot carries participant id.
func goViewer(t *testing.T, url, room, id string) *client.Client {
	t.Helper()
	g := goViewerJoin(t, url, room)
	testkit.Eventually(t, 20*time.Second, "the Go client's slot carries "+id, func() bool { return g.VideoSlot(false, 0).Participant == id })
	return g
}

// goViewerJoin joins a Go client to room, with one camera slot, and waits
// until its media is connected.
func goViewerJoin(t *testing.T, url, room string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if _, err := g.Join(ctx, client.JoinRequest{Room: room, Name: "Go viewer", WantVideo: true, CameraLayers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return g
}

// Firefox publishes its fake camera in the simulcast layers the server's
// offer asks for (it chooses their sizes and rates itself, and changes
// them with its bandwidth); as the Go viewer's REMB falls below its wider
// layers' rate, the slot goes to its narrowest layer, and back to the
// widest when the REMB is high again: at keyframes, the picture IDs
// running on.
func firefoxSimulcastToGo(t *testing.T, b *bench) {
	s, a, aID, aSource := cameraPublisher(t, b, true)
	defer logVideo(t, s, a)
	type sent struct {
		RID   string  `json:"rid"`
		Width float64 `json:"width"`
		Bytes float64 `json:"bytes"`
	}
	// layers returns the width and rate (bit/s, over the time since the
	// previous call) of each layer Firefox sends.
	prev, prevAt := map[string]float64{}, time.Now()
	layers := func() (widths []int, rates []float64) {
		now := time.Now()
		for _, l := range eval[[]sent](a, cameraOutJS) {
			if l.RID == "" || l.Width == 0 {
				continue
			}
			widths = append(widths, int(l.Width))
			rates = append(rates, (l.Bytes-prev[l.RID])*8/now.Sub(prevAt).Seconds())
			prev[l.RID] = l.Bytes
		}
		prevAt = now
		return widths, rates
	}
	var widths []int
	testkit.Eventually(t, 30*time.Second, "Firefox sends two simulcast layers or more", func() bool {
		widths, _ = layers()
		return len(widths) >= 2 && slices.Min(widths) < slices.Max(widths)
	})
	t.Logf("Firefox's layers: %v px wide", widths)
	g := goViewer(t, s.URL, "simulcast", aID)
	// The REMB that fits the narrowest layer only: 1.3 × its rate (the
	// allocator's headroom is 15 %) and 20 kbit/s more, refreshed as
	// Firefox's rates move.
	narrowOnly := func() (uint64, func(int) bool) {
		w, r := layers()
		if len(w) < 2 {
			return 150_000, func(int) bool { return false }
		}
		i := slices.Index(w, slices.Min(w))
		return uint64(1.3*r[i]) + 20_000, func(got int) bool { return got == w[i] }
	}
	widestNow := func() (uint64, func(int) bool) {
		w, _ := layers()
		return 8_000_000, func(got int) bool { return len(w) > 0 && got == slices.Max(w) }
	}
	for _, step := range []struct {
		what string
		remb func() (uint64, func(int) bool)
	}{{"the widest layer", widestNow}, {"the narrowest layer", narrowOnly}, {"the widest again", widestNow}} {
		start := time.Now()
		bps, want := step.remb()
		k := 0
		testkit.Eventually(t, 60*time.Second, step.what, func() bool {
			if k++; k%10 == 0 { // every 3 s
				bps, want = step.remb()
				st := g.VideoStats(false, 0)
				t.Logf("  REMB %d bit/s: %d px, %d keyframes; Ana sends %s", bps, st.Width, st.Keyframes, eval[string](a, `(async () => JSON.stringify(await `+cameraOutJS+`))()`))
			}
			_ = g.SendREMB(bps)
			time.Sleep(300 * time.Millisecond)
			return want(g.VideoStats(false, 0).Width)
		})
		t.Logf("%s: %d px after %v (REMB %d bit/s)", step.what, g.VideoStats(false, 0).Width, time.Since(start).Round(10*time.Millisecond), bps)
	}
	checkLayerChanges(t, g, a, aSource)
}

func simulcastToGo(t *testing.T, b *bench) {
	s, a, aID, aSource := cameraPublisher(t, b, false)
	// The viewer's link is known before the camera comes on (as a
	// browser's first REMB comes with its first packets): the slot then
	// climbs from the narrowest layer. A slot first given a wider layer
	// by the server's initial estimate would shed its frame rate before
	// its width (package alloc), and keep it.
	g := goViewerJoin(t, s.URL, "simulcast")
	for range 10 {
		if err := g.SendREMB(250_000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.cameraOn()
	testkit.Eventually(t, 20*time.Second, "the Go client's slot carries "+aID, func() bool {
		_ = g.SendREMB(250_000)
		return g.VideoSlot(false, 0).Participant == aID
	})

	// REMBs the layers fit in with the allocator's 15 % headroom: Chrome's
	// 720p simulcast sends about 150, 500 and 1,500 kbit/s.
	for _, step := range []struct {
		bps   uint64
		width int
	}{{250_000, 320}, {1_000_000, 640}, {8_000_000, 1280}} {
		start := time.Now()
		k := 0
		testkit.Eventually(t, 60*time.Second, fmt.Sprintf("%d px wide with a REMB of %d bit/s", step.width, step.bps), func() bool {
			if k++; k%10 == 0 { // every 3 s: what the slot and Ana's layers do
				t.Logf("  REMB %d bit/s: the slot %+v; Ana sends %s", step.bps, g.VideoStats(false, 0), eval[string](a, `(async () => JSON.stringify(await `+cameraOutJS+`))()`))
			}
			_ = g.SendREMB(step.bps)
			time.Sleep(300 * time.Millisecond)
			return g.VideoStats(false, 0).Width == step.width
		})
		t.Logf("REMB %d bit/s: %d px wide after %v", step.bps, step.width, time.Since(start).Round(10*time.Millisecond))
	}
	checkLayerChanges(t, g, a, aSource)
}

// checkLayerChanges asserts what the layer changes must leave: a slot
// whose picture IDs ran on, that carried the publisher (source) only,
// and a publisher that negotiated once.
func checkLayerChanges(t *testing.T, g *client.Client, pub *page, source uint32) {
	t.Helper()
	st := g.VideoStats(false, 0)
	t.Logf("the Go client's slot: %+v", st)
	if st.PictureGaps != 0 {
		t.Errorf("picture ID gaps across the layer changes: %+v", st)
	}
	if len(st.Sources) != 1 || st.Sources[0] != source {
		t.Errorf("sources %v, want the publisher's %d only", st.Sources, source)
	}
	checkOneNegotiation(t, pub, "after the layer changes")
}

// cameraPublisher starts a server with a video room of one camera slot,
// where Ana (its organizer, camera on) publishes; it returns the server,
// her page, id and source.
func cameraPublisher(t *testing.T, b *bench, on bool) (*testserver.Server, *page, string, uint32) {
	t.Helper()
	s, room := videoRoom(t, "simulcast", "open", 1)
	a := b.withCamera("A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	if on {
		a.cameraOn()
	}
	return s, a, eval[string](a, `window.palabre.self.id`), uint32(eval[float64](a, `window.palabre.self.source`))
}
