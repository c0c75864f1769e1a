package e2e

// Video on a weak link (docs/video.md, "Layers"): the receiver's
// downstream is a veth pair between two network namespaces with a token
// bucket (tc tbf) on the server's end, never lo or a real interface. As
// the cap falls the receiver gets a lower layer, then no video, while
// its audio loses nothing; when the cap goes, video comes back.

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"palabre/e2e/netns"
	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
)

// linked runs the calling test in the A end of a link between two
// namespaces of its own (each with lo, and the link on 10.78.0.0/30) and
// returns nil: the caller returns. Inside, it returns the link: the test
// runs its server in A (this process) and browsers in B.
func linked(t *testing.T) *netns.Link {
	t.Helper()
	if v := os.Getenv(linkEnv); v != "" {
		l, err := netns.ParseLink(v)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: this test runs in network namespaces, and CI runs as root", err)
		}
		t.Skip(err)
	}
	a, err := netns.New("e2e-la")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := netns.New("e2e-lb")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := netns.Connect(a, b, netip.MustParsePrefix("10.78.0.0/30"))
	if err != nil {
		t.Fatal(err)
	}
	runInside(t, a, l)
	return nil
}

// linkSample is one second of what the receiver got.
type linkSample struct {
	At         time.Duration // since the phase began
	VideoBps   float64       // video bits/s on the slot
	Width      float64       // the slot's frame width
	AudioBps   float64
	AudioLost  float64 // packetsLost, cumulative
	AudioPkts  float64 // packetsReceived, cumulative
	VideoBytes float64 // cumulative
	AudioBytes float64
}

// receiverJS reads the receiver's audio (inbound-rtp audio, summed) and
// one video slot.
func receiverJS(slot int) string {
	return fmt.Sprintf(`(async () => {
	const v = await %s;
	const out = {videoBytes: v.bytes, width: v.width, audioBytes: 0, audioLost: 0, audioPkts: 0};
	(await window.palabre.pc.getStats()).forEach(r => {
		if (r.type === 'inbound-rtp' && r.kind === 'audio') {
			out.audioBytes += r.bytesReceived || 0;
			out.audioLost += r.packetsLost || 0;
			out.audioPkts += r.packetsReceived || 0;
		}
	});
	return out;
})()`, slotStatsJS("camera", slot))
}

type receiverStats struct {
	VideoBytes float64 `json:"videoBytes"`
	Width      float64 `json:"width"`
	AudioBytes float64 `json:"audioBytes"`
	AudioLost  float64 `json:"audioLost"`
	AudioPkts  float64 `json:"audioPkts"`
}

// Ana (camera: Chromium's simulcast of a 1280×720 picture) and Bo are in
// namespace B, the server in A; everything the server sends them crosses
// the capped link. Ana talks (push-to-talk, latched), Bo listens: what
// crosses is Ana's voice and camera.
func TestVideoUnderBandwidthCap(t *testing.T) {
	if chromiumPath == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium installed under CI: .ci/run must install it")
		}
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	link := linked(t)
	if link == nil {
		return
	}
	run := &engineRun{t: t}
	t.Cleanup(run.close)
	b := &bench{t: t, e: chromiumEngine, run: run}
	s := testserver.Start(t, func(o *server.Options) {
		o.Listen = link.AddrA.String() + ":0"
		o.MediaIP = link.AddrA.String()
		o.VideoSlots = 4
		o.TURN.Enabled = false
	})
	t.Cleanup(func() { link.Cap(0, 0) })
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "weak-link", Mode: "ptt"})
	a := b.personWith(variant{camera: true, ns: link.B.Name, origin: s.URL}, "A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	bo := b.personWith(variant{ns: link.B.Name, origin: s.URL}, "B")
	bo.joinVideo(room.Link, "Bo")
	aID := eval[string](a, `window.palabre.self.id`)
	a.cameraOn()
	a.click("#ptt-latch")
	a.waitFor("Ana talks without holding", `document.getElementById('ptt-latch').dataset.latched === 'true'`)
	defer logVideo(t, s, a, bo)
	slot := bo.waitSlot("Bo is told which slot carries Ana's camera", "camera", aID)
	bo.waitAudio("Bo hears Ana", false)

	var report []string
	prev := eval[receiverStats](bo, receiverJS(slot))
	sample := func(start time.Time) linkSample {
		time.Sleep(time.Second)
		cur := eval[receiverStats](bo, receiverJS(slot))
		s := linkSample{
			At:       time.Since(start).Round(100 * time.Millisecond),
			VideoBps: (cur.VideoBytes - prev.VideoBytes) * 8, Width: cur.Width,
			AudioBps: (cur.AudioBytes - prev.AudioBytes) * 8, AudioLost: cur.AudioLost, AudioPkts: cur.AudioPkts,
			VideoBytes: cur.VideoBytes, AudioBytes: cur.AudioBytes,
		}
		prev = cur
		return s
	}
	// phase caps the link at rate (0: no cap) and samples every second
	// until done says so (then a few seconds more, to see it hold), for
	// at most limit.
	phase := func(name string, rate int, limit time.Duration, done func(linkSample) bool) []linkSample {
		required := !strings.HasSuffix(name, "?")
		t.Helper()
		if err := link.Cap(rate, time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var got []linkSample
		reached := time.Duration(-1)
		for time.Since(start) < limit {
			sm := sample(start)
			got = append(got, sm)
			if reached < 0 && done(sm) {
				reached = sm.At
			}
			if reached >= 0 && sm.At >= reached+4*time.Second {
				break
			}
		}
		drops, _ := link.Dropped()
		t.Logf("%s: %s", name, samplesText(got))
		line := fmt.Sprintf("%-28s", name)
		if reached < 0 {
			if required {
				t.Errorf("%s: not reached in %v; seconds: %s", name, limit, samplesText(got))
			}
			line += fmt.Sprintf(" not reached in %v", limit)
		} else {
			line += fmt.Sprintf(" reached after %5.1f s", reached.Seconds())
		}
		last := got[len(got)-1]
		report = append(report, fmt.Sprintf("%s; then video %4.0f kbit/s, %4.0f px wide, audio %3.0f kbit/s; audio lost so far %.0f of %.0f; link drops so far %d; delay cuts so far %d",
			line, last.VideoBps/1000, last.Width, last.AudioBps/1000, last.AudioLost, last.AudioPkts+last.AudioLost, drops, s.Engine.Stats().DelayCuts))
		return got
	}

	// The full picture while the link is free.
	phase("no cap: full size", 0, 60*time.Second, func(s linkSample) bool { return s.Width >= 1280 })
	lostBefore := prev.AudioLost
	// 500 kbit/s: not enough for 1280×720 (Chromium sends it at 700
	// kbit/s and more); a smaller layer.
	phase("500 kbit/s: smaller layer", 500_000, 45*time.Second, func(s linkSample) bool {
		return s.Width > 0 && s.Width <= 640 && s.VideoBps > 0 && s.VideoBps < 450_000
	})
	// 100 kbit/s: the voice (about 30 kbit/s with its headers) and no
	// video at all.
	paused := phase("100 kbit/s: video paused", 100_000, 45*time.Second, func(s linkSample) bool {
		return s.VideoBps < 8_000
	})
	lost := prev.AudioLost - lostBefore
	for _, sm := range paused[len(paused)-3:] {
		if sm.AudioBps < 15_000 {
			t.Errorf("with video paused Bo receives %.0f bit/s of audio: the voice should flow", sm.AudioBps)
		}
	}
	// The audio loses nothing while the cap falls: the transport-wide
	// feedback shows the link's queue growing, and the video is shed
	// before the queue overflows (docs/video.md, "Layers").
	report = append(report, fmt.Sprintf("audio packets lost while the cap fell: %.0f", lost))
	if lost > 0 {
		t.Errorf("Bo's audio lost %.0f packets while the cap fell", lost)
	}
	// Chromium without a camera sends no REMB: the paused video comes
	// back through the server's probes (padding), judged by loss.
	phase("no cap again: video back", 0, 40*time.Second, func(s linkSample) bool { return s.VideoBps > 30_000 })
	st := s.Engine.Stats()
	report = append(report, fmt.Sprintf("transport feedback read %d, delay cuts %d, padding packets %d", st.TransportFeedback, st.DelayCuts, st.PaddingPackets))
	t.Logf("Bo's link, phase by phase (Chromium, docs/video.md):\n%s", strings.Join(report, "\n"))
	checkOnlyServer(t, s.URL, a, bo)
}

func samplesText(ss []linkSample) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "[%v video %.0fk %0.fpx audio %.0fk lost %.0f] ", s.At, s.VideoBps/1000, s.Width, s.AudioBps/1000, s.AudioLost)
	}
	return b.String()
}
