package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"palabre/internal/testkit/testserver"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	goleak.VerifyTestMain(m)
}

// A short run: every listener hears audio, loss stays under 1 %, and the
// JSON result carries every field an operator reads.
func TestShortRun(t *testing.T) {
	url := testserver.Start(t).URL
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Server: url, Rooms: 1, Listeners: 20, Speakers: 2,
		Turn: 2 * time.Second, Duration: 5 * time.Second, JoinRate: 50,
		Progress: &progress, Sample: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkShortRun(t, res, &progress)
}

// The same run in the light mode (participants on sfu/rtc's client mode)
// gives the same figures, in the same Result.
func TestShortRunLight(t *testing.T) {
	url := testserver.Start(t).URL
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Server: url, Rooms: 1, Listeners: 20, Speakers: 2,
		Turn: 2 * time.Second, Duration: 5 * time.Second, JoinRate: 50,
		Progress: &progress, Sample: time.Second, Light: true, LightIP: "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	checkShortRun(t, res, &progress)
}

// Idle participants (light, in rooms of their own) join beside the talking
// rooms and count among the participants, not the listeners; the GC watch
// splits the latency at the server's collections (here, this process's:
// forced every 300 ms).
func TestShortRunIdleAndGCWatch(t *testing.T) {
	url := testserver.Start(t).URL
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	res, err := Run(context.Background(), Config{
		Server: url, Rooms: 1, Listeners: 5, Speakers: 1, Light: true,
		Idle: 30, IdleRoomSize: 20, IdleJoinRate: 200,
		Turn: 2 * time.Second, Duration: 4 * time.Second, JoinRate: 50,
		Sample: time.Second, GCWatch: 250 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("result:\n%s", table.String())
	if res.Participants != 36 || res.Idle != 30 || res.JoinFailures != 0 {
		t.Errorf("participants %d (idle %d), join failures %d; want 36 (30) and 0", res.Participants, res.Idle, res.JoinFailures)
	}
	if res.ServerParticipants == nil || *res.ServerParticipants != 36 {
		t.Errorf("server participants %v, want 36", res.ServerParticipants)
	}
	if res.ListenersHeard != 5 || res.LossPct >= 1 {
		t.Errorf("%d of 5 listeners heard, loss %.3f %%", res.ListenersHeard, res.LossPct)
	}
	if res.ServerGCs == nil || *res.ServerGCs < 5 || res.ServerGCPauseMS == nil || res.ServerGCPauseMaxMS == nil {
		t.Errorf("server GCs %v, pauses %v, max %v: want ≥ 5 forced ones", res.ServerGCs, res.ServerGCPauseMS, res.ServerGCPauseMaxMS)
	}
	g := res.GC
	if g == nil || g.Collections < 5 || len(g.Windows) == 0 || g.Packets == 0 || g.LatencyMS.P99 <= 0 || g.PauseTotalMS <= 0 {
		t.Fatalf("GC watch: %+v", g)
	}
	if g.Packets+g.OtherPackets == 0 || g.Collections > int(*res.ServerGCs)+2 {
		t.Errorf("GC watch: %d collections (%d over the run), %d + %d packets", g.Collections, int(*res.ServerGCs), g.Packets, g.OtherPackets)
	}
	if n := len(res.Samples); n < 3 || res.Samples[1].GCs == nil || *res.Samples[1].GCs < 1 {
		t.Errorf("samples lack the window's GCs: %+v", res.Samples)
	}
}

// A run of idle participants only: no rooms of speakers and listeners.
func TestIdleOnly(t *testing.T) {
	url := testserver.Start(t).URL
	res, err := Run(context.Background(), Config{
		Server: url, Rooms: 0, Idle: 12, IdleRoomSize: 5, IdleJoinRate: 100, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Participants != 12 || res.Idle != 12 || res.Rooms != 0 || res.JoinFailures != 0 || res.PacketsReceived != 0 {
		t.Errorf("participants %d (idle %d), rooms %d, join failures %d, received %d; want 12 idle in no room of listeners",
			res.Participants, res.Idle, res.Rooms, res.JoinFailures, res.PacketsReceived)
	}
}

// checkShortRun judges a run of 1 room, 2 speakers, 20 listeners, 5 s.
func checkShortRun(t *testing.T, res *Result, progress *bytes.Buffer) {
	t.Helper()
	if res.Participants != 22 || res.JoinFailures != 0 {
		t.Errorf("participants %d, join failures %d; want 22 and 0", res.Participants, res.JoinFailures)
	}
	if res.ListenersHeard != 20 {
		t.Errorf("%d of 20 listeners heard audio", res.ListenersHeard)
	}
	if res.LossPct >= 1 {
		t.Errorf("loss %.3f %%, want < 1 %%", res.LossPct)
	}
	// 5 s of 50 packets/s to 20 listeners, less turn changes.
	if res.PacketsSent < 150 || res.PacketsReceived < 20*150 {
		t.Errorf("sent %d, received %d: too few", res.PacketsSent, res.PacketsReceived)
	}
	if res.LatencyMS.P50 <= 0 || res.LatencyMS.P99 < res.LatencyMS.P50 || res.LatencyMS.Max < res.LatencyMS.P99 {
		t.Errorf("latency quantiles %+v", res.LatencyMS)
	}
	// The server's own view of what it adds (palabre_media_fanout_seconds).
	if f := res.ServerFanoutMS; f == nil || f.P50 <= 0 || f.P99 < f.P50 || f.Max < f.P99 {
		t.Errorf("server fan-out time %+v", f)
	}
	if !bytes.Contains(progress.Bytes(), []byte("joining:")) {
		t.Errorf("no progress lines: %q", progress.String())
	}

	// A sample a second, from 0 s to 5 s (the last one may come late).
	if n := len(res.Samples); n < 5 || n > 7 {
		t.Errorf("%d samples, want 6", n)
	} else if s := res.Samples[2]; s.PacketsReceived == 0 || s.Goroutines == nil || s.HeapGoalBytes == nil ||
		s.FDs == nil || s.CPUPct == nil || s.Participants == nil || *s.Participants != 22 {
		t.Errorf("sample at %g s: %+v", s.T, s)
	}

	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("result:\n%s", table.String())

	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	json.Unmarshal(raw, &fields)
	for _, k := range []string{"participants", "join_ms", "latency_ms", "loss_pct", "packets_sent",
		"packets_received", "server_cpu_seconds", "server_rss_bytes", "server_cpu_us_per_packet",
		"generator_cpu_pct", "generator_rss_bytes", "generator_heap_inuse_bytes", "generator_goroutines", "generator_rss_per_participant_bytes"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON result lacks %q: %s", k, raw)
		}
	}
	for _, k := range []string{"join_ms", "latency_ms"} {
		q, _ := fields[k].(map[string]any)
		for _, sub := range []string{"p50", "p99"} {
			if _, ok := q[sub]; !ok {
				t.Errorf("JSON %s lacks %s", k, sub)
			}
		}
	}
}

// Pointed at one node of a cluster, the load tester's participants follow
// the redirects to the rooms' nodes, like real ones. The rooms' names are
// random, so all 4 may hash to the first node (1 time in 16): then the
// test runs again with new rooms, up to 3 times.
func TestRunAgainstCluster(t *testing.T) {
	nodes := testserver.StartCluster(t, 2)
	for attempt := 1; ; attempt++ {
		res, err := Run(context.Background(), Config{
			Server: nodes[0].URL, Rooms: 4, Listeners: 2, Speakers: 1,
			Turn: time.Second, Duration: 2 * time.Second, JoinRate: 50,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Participants != 12 || res.JoinFailures != 0 || res.ListenersHeard != 8 {
			t.Errorf("participants %d, join failures %d, listeners heard %d; want 12, 0, 8",
				res.Participants, res.JoinFailures, res.ListenersHeard)
		}
		m, err := scrape(context.Background(), nodes[0].URL+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m["palabre_join_redirects_total"]; !ok {
			t.Fatal("no palabre_join_redirects_total in /metrics")
		}
		if m["palabre_join_redirects_total"] > 0 {
			return
		}
		if attempt == 3 {
			t.Fatal("no join was redirected in 3 runs: the rooms all hashed to the first node, the test proves nothing")
		}
	}
}

// With video, the speaker's camera reaches both listeners for the whole
// run, as one continuous VP8 stream per slot, while the audio turns go on
// as without video.
func TestShortRunVideo(t *testing.T) {
	url := testserver.Start(t).URL
	res, err := Run(context.Background(), Config{
		Server: url, Rooms: 1, Listeners: 2, Speakers: 1,
		Turn: time.Second, Duration: 3 * time.Second, JoinRate: 50,
		Video: true, VideoDir: "../client/testdata", Sample: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("result:\n%s", table.String())
	if res.ListenersHeard != 2 || res.LossPct >= 1 || res.PacketsReceived < 2*100 {
		t.Errorf("audio: %d of 2 listeners heard, loss %.3f %%, %d packets received", res.ListenersHeard, res.LossPct, res.PacketsReceived)
	}
	v := res.Video
	if v == nil {
		t.Fatal("no video result")
	}
	if v.Cameras != 1 || v.ListenersSaw != 2 || v.BytesReceived == 0 || v.Frames < 2*30 || v.Keyframes == 0 {
		t.Errorf("video: %+v", v)
	}
	if v.LossPct >= 1 || v.PictureGaps > v.Frames/100 {
		t.Errorf("video loss %.3f %%, %d picture gaps in %d frames", v.LossPct, v.PictureGaps, v.Frames)
	}
	// The lowest layer alone is about 100 kbit/s.
	if v.KbpsPerListener < 50 {
		t.Errorf("video %.1f kbit/s per listener", v.KbpsPerListener)
	}
	if res.ServerPacketsOut == nil || *res.ServerPacketsOut < float64(res.PacketsReceived+v.PacketsReceived) {
		t.Errorf("the server forwarded %v packets; the listeners received %d audio and %d video", res.ServerPacketsOut, res.PacketsReceived, v.PacketsReceived)
	}
	// Every sample after the first has the video of its window.
	for _, s := range res.Samples[1:] {
		if s.VideoKbps == nil || *s.VideoKbps <= 0 {
			t.Errorf("sample at %g s: video %v kbit/s", s.T, s.VideoKbps)
		}
	}
	for _, want := range []string{"video received", "kbit/s per listener", "video layers", "| video kbit/s per listener |"} {
		if !bytes.Contains(table.Bytes(), []byte(want)) {
			t.Errorf("the table lacks %q", want)
		}
	}
	raw, _ := json.Marshal(res)
	var fields struct{ Video map[string]any }
	json.Unmarshal(raw, &fields)
	for _, k := range []string{"bytes_received", "kbit_s_per_listener", "frames", "keyframes", "picture_gaps", "loss_pct", "layers"} {
		if _, ok := fields.Video[k]; !ok {
			t.Errorf("JSON video lacks %q: %s", k, raw)
		}
	}
}

// Without video, neither the JSON nor the table says anything of it.
func TestResultWithoutVideo(t *testing.T) {
	res := &Result{Rooms: 1, Listeners: 2, Speakers: 1}
	raw, _ := json.Marshal(res)
	var table bytes.Buffer
	res.WriteTable(&table)
	if bytes.Contains(raw, []byte(`"video"`)) || bytes.Contains(table.Bytes(), []byte("video")) {
		t.Errorf("video in an audio-only result:\n%s\n%s", raw, table.String())
	}
}

// The light mode measures what the pion mode measures: the same small
// run, once with pion clients and once with light ones, on the same
// server, loses nothing in both and shows latencies of the same order
// (both are bounded loosely: CI runs this on 2 loaded cores under -race;
// docs/performance.md, "Light load generator", has figures of a quiet
// machine).
func TestLightMatchesPion(t *testing.T) {
	url := testserver.Start(t).URL
	results := map[bool]*Result{}
	for _, light := range []bool{false, true} {
		res, err := Run(context.Background(), Config{
			Server: url, Rooms: 1, Listeners: 10, Speakers: 1,
			Turn: 3 * time.Second, Duration: 3 * time.Second, JoinRate: 50, Light: light,
		})
		if err != nil {
			t.Fatal(err)
		}
		results[light] = res
		t.Logf("light=%v: loss %.3f %%, %d/%d packets, latency p50 %.2f p99 %.2f max %.2f ms", light, res.LossPct,
			res.PacketsReceived, res.PacketsExpected, res.LatencyMS.P50, res.LatencyMS.P99, res.LatencyMS.Max)
	}
	pion, light := results[false], results[true]
	for _, res := range []*Result{pion, light} {
		if res.Participants != 11 || res.ListenersHeard != 10 || res.LossPct >= 1 || res.PacketsSent < 100 ||
			res.PacketsReceived < 10*res.PacketsSent*99/100 {
			t.Errorf("run: %+v", res)
		}
	}
	// Latency on loopback is a few milliseconds either way; a light mode
	// that measured something else (a clock, a queue of its own) would be
	// far off.
	if light.LatencyMS.P50 > 10*pion.LatencyMS.P50+20 || pion.LatencyMS.P50 > 10*light.LatencyMS.P50+20 {
		t.Errorf("latency p50: pion %.2f ms, light %.2f ms", pion.LatencyMS.P50, light.LatencyMS.P50)
	}
}

// The light mode carries no video.
func TestLightRefusesVideo(t *testing.T) {
	if _, err := Run(context.Background(), Config{Server: "http://127.0.0.1:1", Listeners: 1, Light: true, Video: true}); err == nil {
		t.Fatal("a light run with video started")
	}
}
