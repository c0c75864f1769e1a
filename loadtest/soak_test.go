package loadtest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
)

// TestSoak runs a bounded load against an in-process server for
// $PALABRE_SOAK (e.g. 2m; scripts/soak.sh sets it, .ci/run calls the
// script) and asserts that nothing grows: 5 push-to-talk rooms, each with
// 2 speakers taking 5-second turns and 10 listeners, beside 1,000 idle
// light participants in a room of their own (Config.Idle: the idle path
// soaked too, as scripts/soak.sh's SOAK_IDLE does with 10,000), sampled
// every 10 s, judged by CheckFlat's default rules after a longer warm-up
// (below). The GC watch's figures (latency around the collections) are
// logged, not judged: the clients share the process and its collector.
// Without $PALABRE_SOAK it skips: minutes of wall time are too long for
// go test ./..., and under -race the detector's own memory growth and
// slowdown would make the figures noise.
//
// Server and clients share this process, so the figures (read from the
// server's /metrics, whose process collector is this process) are the
// sum of both: each must stay flat anyway.
func TestSoak(t *testing.T) {
	env := os.Getenv("PALABRE_SOAK")
	if env == "" {
		t.Skip("set PALABRE_SOAK=2m (scripts/soak.sh does) to run the soak")
	}
	d, err := time.ParseDuration(env)
	if err != nil || d < 2*time.Minute {
		t.Fatalf("PALABRE_SOAK=%q: want a duration of at least 2m (the warm-up alone takes one)", env)
	}
	// The warm-up is longer than DefaultFlatLimits': the speakers' NACK
	// responders (pion's, in this process: 1,024 packets per stream)
	// fill for the first 40 s of the measurement, as each speaker talks
	// half of the time.
	lim := DefaultFlatLimits()
	lim.Warmup = time.Minute
	// A small, quick heap sawtooth: with GOGC=100 this process (the
	// server and 60 clients: ~65 MiB live, ~1.5 MiB allocated a second,
	// before the idle participants) runs 40-second GC cycles, and RSS
	// climbs towards the top of the sawtooth for most of two minutes; at
	// 25 a cycle takes ~10 s.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	// Two minutes of joins and floor changes logged are noise under -v.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	srv := testserver.Start(t, func(o *server.Options) {
		const lifted = 1 << 20
		o.PerAddress = signaling.AddressLimits{Unjoined: lifted, Participants: lifted, AdhocRooms: lifted}
		o.Admission.JoinsPerSecond, o.Admission.JoinBurst = 10000, 10000
	})
	const rooms, speakers, listeners, idle = 5, 2, 10, 1000
	res, err := Run(context.Background(), Config{
		Server: srv.URL, Rooms: rooms, Speakers: speakers, Listeners: listeners,
		Idle: idle, IdleJoinRate: 200,
		Turn: 5 * time.Second, Duration: d, JoinRate: 50, Sample: 10 * time.Second, GCWatch: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Flat = res.CheckFlat(lim)
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("soak of %s:\n%s", d, table.String())

	if want := rooms*(speakers+listeners) + idle; res.Participants != want || res.Idle != idle || res.JoinFailures != 0 {
		t.Errorf("participants %d (idle %d), join failures %d; want %d (%d) and 0", res.Participants, res.Idle, res.JoinFailures, want, idle)
	}
	if res.ListenersHeard != rooms*listeners {
		t.Errorf("%d of %d listeners heard audio", res.ListenersHeard, rooms*listeners)
	}
	if res.LossPct > lim.MaxLossPct {
		t.Errorf("loss %.3f %% over the run, more than %.3f %%", res.LossPct, lim.MaxLossPct)
	}
	if err := res.Flat.Err(); err != nil {
		t.Error(err)
	}
}
