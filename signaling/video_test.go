package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling/proto"
)

// Video with real pion peers over loopback: Go clients publishing VP8
// files (client/testdata, three simulcast layers) to a real server, and
// receiving the video slots.

func withVideoSlots(n int) serverOption {
	return withOptions(func(o *server.Options) { o.VideoSlots = n })
}

// cameraFiles are the client's test files, lowest layer first.
func cameraFiles(t *testing.T) []*client.VP8File {
	t.Helper()
	var files []*client.VP8File
	for _, rid := range []string{"q", "h", "f"} {
		f, err := client.OpenIVF("../client/testdata/camera-" + rid + ".ivf")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// joinVideo joins with video and waits for the media.
func (ts *testServer) joinVideo(room, name string) *client.Client {
	ts.t.Helper()
	return ts.joinAs(client.JoinRequest{Room: room, Name: name, WantVideo: true})
}

// startCamera turns c's camera on and publishes the test files.
func startCamera(t *testing.T, c *client.Client, files []*client.VP8File) {
	t.Helper()
	if err := c.CameraOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("camera_on: %v", err)
	}
	if err := c.PublishCamera(files...); err != nil {
		t.Fatal(err)
	}
}

// waitSlot waits until c's camera slot 0 shows who.
func waitSlot(t *testing.T, c *client.Client, slot int, who *client.Client) {
	t.Helper()
	id := who.Self().ID
	testkit.Eventually(t, 10*time.Second, "camera slot shows "+id, func() bool { return c.VideoSlot(false, slot).Participant == id })
}

// framesArrive waits until c's camera slot has decodable frames from who.
func framesArrive(t *testing.T, c *client.Client, slot int, min uint64) client.VideoSlotStats {
	t.Helper()
	var s client.VideoSlotStats
	testkit.Eventually(t, 10*time.Second, "frames on the camera slot", func() bool {
		s = c.VideoStats(false, slot)
		return s.Frames >= min && s.Keyframes > 0
	})
	return s
}

// A camera reaches the others' slot as one continuous VP8 stream, at the
// layer their link allows; nobody renegotiates when a third joins or the
// camera goes off and on; a wish off stops the slot's bytes.
func TestVideoSlotEndToEnd(t *testing.T) {
	ts := startServer(t, withVideoSlots(2))
	files := cameraFiles(t)
	a := ts.joinVideo("standup", "Alice")
	b := ts.joinVideo("standup", "Bob")
	startCamera(t, a, files)
	waitSlot(t, b, 0, a)
	s := framesArrive(t, b, 0, 30)
	if s.PictureGaps != 0 || len(s.Sources) != 1 || s.Sources[0] != a.Self().Source {
		t.Errorf("Bob's slot: %+v", s)
	}
	t.Logf("Bob receives Alice at %dx%d: %+v", s.Width, s.Height, s)

	// A third joins, the camera goes off and on: no renegotiation.
	c := ts.joinVideo("standup", "Carol")
	waitSlot(t, c, 0, a)
	framesArrive(t, c, 0, 10)
	ctx := testCtx(t, 10*time.Second)
	if err := a.CameraOff(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "slot emptied", func() bool { return b.VideoSlot(false, 0).Participant == "" })
	if err := a.CameraOn(ctx); err != nil {
		t.Fatal(err)
	}
	waitSlot(t, b, 0, a)
	before := b.VideoStats(false, 0).Keyframes
	testkit.Eventually(t, 10*time.Second, "video back after camera on", func() bool { return b.VideoStats(false, 0).Keyframes > before })
	for _, x := range []*client.Client{a, b, c} {
		if n := x.Negotiations(); n != 1 {
			t.Errorf("%s: %d negotiations", x.Self().Name, n)
		}
	}

	// Wish off: the slot's bytes stop (the positive control: they flowed
	// just above, and flow again after high).
	if err := b.VideoWish(ctx, proto.VideoWish{Slot: 0, Kind: proto.VideoCamera, Level: proto.WishOff}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // what was in flight
	off := b.VideoStats(false, 0).Bytes
	time.Sleep(time.Second)
	if got := b.VideoStats(false, 0).Bytes - off; got > 2000 {
		t.Errorf("wish off: %d bytes in a second", got)
	}
	if err := b.VideoWish(ctx, proto.VideoWish{Slot: 0, Kind: proto.VideoCamera, Level: proto.WishHigh}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "bytes again after wish high", func() bool { return b.VideoStats(false, 0).Bytes > off+10000 })
	if s := b.VideoStats(false, 0); s.PictureGaps != 0 {
		t.Errorf("picture id gaps across the pauses: %+v", s)
	}
}

// The slot follows the speaker: when Bob talks, Carol's one camera slot
// switches from Alice to Bob at a keyframe, the picture IDs running on.
func TestVideoSlotFollowsSpeaker(t *testing.T) {
	ts := startServer(t, withVideoSlots(1))
	files := cameraFiles(t)
	a := ts.joinVideo("talk", "Alice")
	b := ts.joinVideo("talk", "Bob")
	c := ts.joinVideo("talk", "Carol")
	startCamera(t, a, files)
	startCamera(t, b, files)
	waitSlot(t, c, 0, a)
	framesArrive(t, c, 0, 20)
	if err := b.Publish(client.NewToneSource([]byte("bob"), 20)); err != nil {
		t.Fatal(err)
	}
	switched := time.Now()
	waitSlot(t, c, 0, b)
	testkit.Eventually(t, 10*time.Second, "Bob's video on Carol's slot", func() bool {
		s := c.VideoStats(false, 0)
		return len(s.Sources) == 2 && s.Sources[1] == b.Self().Source
	})
	t.Logf("slot switched to the new speaker's video in %v", time.Since(switched))
	s := c.VideoStats(false, 0)
	if s.PictureGaps != 0 || s.Sources[0] != a.Self().Source {
		t.Errorf("Carol's slot: %+v", s)
	}
}

// The room's rules: a camera cap (too_many_cameras), and video_off, which
// turns the cameras off and refuses camera_on; a client without video
// gets video_off too.
func TestVideoRoomRules(t *testing.T) {
	ts := startServer(t, withVideoSlots(2))
	org := ts.joinVideo("rules", "Org") // opened the ad-hoc room: organizer
	a := ts.joinVideo("rules", "Alice")
	ctx := testCtx(t, 10*time.Second)
	if err := org.SetCameras(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := org.CameraOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.CameraOn(ctx); errCode(err) != proto.CodeTooManyCameras {
		t.Errorf("second camera with a cap of 1: %v", err)
	}
	if err := a.ScreenOn(ctx); err != nil {
		t.Errorf("a screen is not a camera: %v", err)
	}
	if err := org.SetVideo(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, "Org's camera off", func(m proto.Message) bool {
		return m.Type == proto.TypeCamera && m.Participant != nil && m.Participant.ID == org.Self().ID && !m.Participant.Camera
	})
	if err := a.CameraOn(ctx); errCode(err) != proto.CodeVideoOff {
		t.Errorf("camera_on in an audio-only room: %v", err)
	}
	audio := ts.join("rules", "Old client", "")
	if err := audio.CameraOn(ctx); errCode(err) != proto.CodeVideoOff {
		t.Errorf("camera_on without video m-lines: %v", err)
	}
	if err := org.SetVideo(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := a.CameraOn(ctx); err != nil {
		t.Errorf("camera_on after video_on: %v", err)
	}
}

// The layer a receiver gets follows its estimate (here its REMB, as a
// browser sends it): a low one gets the quarter-resolution layer, a high
// one climbs to full resolution, each change at a keyframe of the new
// layer, the picture IDs running on.
func TestVideoLayerFollowsREMB(t *testing.T) {
	ts := startServer(t, withVideoSlots(1))
	a := ts.joinVideo("layers", "Alice")
	b := ts.joinVideo("layers", "Bob")
	startCamera(t, a, cameraFiles(t))
	waitSlot(t, b, 0, a)
	framesArrive(t, b, 0, 5)
	remb := func(bps uint64, width int) time.Duration {
		start := time.Now()
		testkit.Eventually(t, 20*time.Second, fmt.Sprintf("width %d with a REMB of %d", width, bps), func() bool {
			_ = b.SendREMB(bps)
			time.Sleep(200 * time.Millisecond)
			return b.VideoStats(false, 0).Width == width
		})
		return time.Since(start)
	}
	// 180 kbit/s holds the quarter layer (~100 kbit/s here) with the 15 %
	// headroom, not the half one (~250 kbit/s).
	low := remb(180_000, 160)
	high := remb(5_000_000, 640)
	back := remb(180_000, 160)
	t.Logf("to the lowest layer in %v, up to the highest in %v (the allocator waits 3 s with headroom), down again in %v", low, high, back)
	if s := b.VideoStats(false, 0); s.PictureGaps != 0 || s.Keyframes < 3 {
		t.Errorf("Bob's slot across the layer changes: %+v", s)
	}
}
