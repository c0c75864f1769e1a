package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadtestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--assert-flat"}, 2, "--assert-flat needs --sample"},
		{[]string{"--metrics-url", "127.0.0.1:6060/metrics"}, 2, "--metrics-url 127.0.0.1:6060/metrics: want a URL"},
		{[]string{"--light", "--video"}, 2, "--light carries no video"},
		// The camera files are read before anything is asked of a server.
		{[]string{"--video", "--video-dir", t.TempDir()}, 1, "camera-q.ivf"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"loadtest"}, tc.args...), strings.NewReader(""), &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("loadtest %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// A sampled run reads the server's state from --metrics-url into samples
// (stdout and --json-file); --assert-flat on a run too short to judge
// fails it, saying why, with the verdict in the JSON.
func TestLoadtestSampling(t *testing.T) {
	url := startTestServerWith(t, func(f *serveFlags) { f.loadTest = true })
	file := filepath.Join(t.TempDir(), "soak.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"loadtest", "--server", url, "--metrics-url", url + "/metrics",
		"--rooms", "1", "--listeners", "2", "--speakers", "1", "--turn", "1s", "--duration", "3s", "--join-rate", "50",
		"--sample", "1s", "--assert-flat", "--json", "--json-file", file}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "samples after the warm-up") {
		t.Errorf("exit %d, stderr %q; want 1 and too few samples", code, stderr.String())
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(saved), bytes.TrimSpace(stdout.Bytes())) {
		t.Errorf("--json-file holds\n%s\nstdout\n%s", saved, stdout.String())
	}
	var res struct {
		SampleEveryS float64 `json:"sample_every_s"`
		Samples      []map[string]any
		Flat         *struct{ Violations []string }
	}
	if err := json.Unmarshal(saved, &res); err != nil {
		t.Fatal(err)
	}
	if res.SampleEveryS != 1 || len(res.Samples) < 3 || len(res.Samples) > 5 {
		t.Fatalf("%d samples every %g s, want 3 to 5 every 1 s:\n%s", len(res.Samples), res.SampleEveryS, saved)
	}
	for _, k := range []string{"rss_bytes", "heap_inuse_bytes", "heap_goal_bytes", "goroutines", "open_fds", "cpu_pct", "participants", "sessions", "packets_received", "loss_pct", "latency_p99_ms"} {
		if _, ok := res.Samples[len(res.Samples)-1][k]; !ok {
			t.Errorf("the last sample lacks %q: %v", k, res.Samples[len(res.Samples)-1])
		}
	}
	if p := res.Samples[1]["participants"]; p != 3.0 {
		t.Errorf("participants %v in the second sample, want 3", p)
	}
	if res.Flat == nil || len(res.Flat.Violations) == 0 {
		t.Errorf("no verdict in the JSON: %s", saved)
	}
}

// --light reaches the load tester: its participants join, hear audio
// and lose nothing, and the JSON result has the usual shape.
func TestLoadtestLight(t *testing.T) {
	url := startTestServerWith(t, func(f *serveFlags) { f.loadTest = true })
	var stdout, stderr bytes.Buffer
	code := run([]string{"loadtest", "--server", url, "--rooms", "1", "--listeners", "3", "--speakers", "1",
		"--turn", "1s", "--duration", "2s", "--join-rate", "50", "--light", "--json"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var res struct {
		Participants   int     `json:"participants"`
		ListenersHeard int     `json:"listeners_heard"`
		LossPct        float64 `json:"loss_pct"`
		LatencyMS      struct {
			P50 float64 `json:"p50"`
		} `json:"latency_ms"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Participants != 4 || res.ListenersHeard != 3 || res.LossPct >= 1 || res.LatencyMS.P50 <= 0 {
		t.Errorf("light run: %s", stdout.String())
	}
}

// --video reaches the load tester: the JSON result has the listeners'
// video.
func TestLoadtestVideo(t *testing.T) {
	url := startTestServerWith(t, func(f *serveFlags) { f.loadTest = true })
	var stdout, stderr bytes.Buffer
	code := run([]string{"loadtest", "--server", url, "--rooms", "1", "--listeners", "1", "--speakers", "1",
		"--turn", "1s", "--duration", "2s", "--join-rate", "50", "--video", "--video-dir", "../../client/testdata", "--video-warmup", "0s", "--json"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var res struct {
		Video *struct {
			BytesReceived uint64 `json:"bytes_received"`
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Video == nil || res.Video.BytesReceived == 0 {
		t.Errorf("no video received: %s", stdout.String())
	}
}
