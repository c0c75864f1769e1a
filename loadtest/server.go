package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// serverSample is what the server reports about itself at one moment.
type serverSample struct {
	known     bool    // CPU and RSS were read
	cpu       float64 // seconds of CPU used since the process started
	rss       float64 // bytes
	forwarded float64 // packets forwarded since start (from /metrics), -1 unknown
	// participants in the server's rooms (palabre_participants), -1
	// unknown: more than this run's when other load generators share
	// the server (scripts/soak.sh with SOAK_IDLE).
	participants float64
	gcs          float64 // collections since start (go_gc_duration_seconds_count), -1 unknown
	gcPause      float64 // their stop-the-world pauses, seconds (go_gc_duration_seconds_sum)
	gcPauseMax   float64 // the largest pause of the last 256 collections, seconds; -1 unknown
	// The fan-out time histogram (palabre_media_fanout_seconds):
	// bucket bounds in seconds and cumulative counts, nil if unknown.
	fanoutBounds, fanout []float64
}

// serverSample reads the server's CPU and memory from /proc when its pid
// is known (same machine), else from its /metrics endpoint.
func (r *run) serverSample(ctx context.Context) (serverSample, error) {
	s := serverSample{forwarded: -1, participants: -1, gcs: -1, gcPauseMax: -1}
	metrics, err := scrape(ctx, r.cfg.MetricsURL)
	if err == nil {
		if v, ok := metrics["palabre_forwarded_packets_total"]; ok {
			s.forwarded = v
		}
		if v, ok := metrics["palabre_participants"]; ok {
			s.participants = v
		}
		if v, ok := metrics["go_gc_duration_seconds_count"]; ok {
			s.gcs, s.gcPause = v, metrics["go_gc_duration_seconds_sum"]
		}
		if v, ok := metrics[`go_gc_duration_seconds{quantile="1"}`]; ok {
			s.gcPauseMax = v
		}
		s.fanoutBounds, s.fanout = promHistogram(metrics, "palabre_media_fanout_seconds")
		cpu, okc := metrics["process_cpu_seconds_total"]
		rss, okr := metrics["process_resident_memory_bytes"]
		if okc && okr {
			s.known, s.cpu, s.rss = true, cpu, rss
		}
	}
	if r.cfg.ServerPID > 0 {
		p, err := readProc(r.cfg.ServerPID)
		if err != nil {
			return s, fmt.Errorf("--server-pid %d: %w", r.cfg.ServerPID, err)
		}
		s.known, s.cpu, s.rss = true, p.cpu, p.rss
	}
	return s, nil
}

// createRoom makes a push-to-talk room for the test, with a random name so
// parallel runs and real rooms are never touched.
func (r *run) createRoom(ctx context.Context, i int) (*room, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("loadtest-%s-%d", hex.EncodeToString(b[:]), i)
	body, _ := json.Marshal(map[string]any{"name": name, "mode": "ptt"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(r.cfg.Server, "/")+"/api/v1/rooms", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("creating room: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("creating room: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var out struct {
		Secret string `json:"organizer_secret"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("creating room: %w", err)
	}
	return &room{name: name, secret: out.Secret}, nil
}

func (r *run) deleteRoom(rm *room) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimRight(r.cfg.Server, "/")+"/api/v1/rooms/"+rm.name, nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+rm.secret)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}
