package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
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
		"packets_received", "server_cpu_seconds", "server_rss_bytes", "server_cpu_us_per_packet"} {
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
