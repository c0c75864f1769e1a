package loadtest

import (
	"context"
	"sync"
	"time"
)

// Sample is one reading taken during the measurement (Config.Sample): the
// server's state at that moment, and what the listeners received in the
// window since the previous sample. Server figures are nil when neither
// /metrics nor /proc gave them.
type Sample struct {
	T float64 `json:"t_s"` // seconds since the measurement started

	RSSBytes       *float64 `json:"rss_bytes,omitempty"`
	HeapInuseBytes *float64 `json:"heap_inuse_bytes,omitempty"` // go_memstats_heap_inuse_bytes (else heap_alloc)
	// HeapGoalBytes is the heap size at which the next GC starts
	// (go_memstats_next_gc_bytes): proportional to the live heap after
	// the last collection, so free of the sawtooth between collections
	// that heap in use shows; the flatness check judges the heap by it.
	HeapGoalBytes *float64 `json:"heap_goal_bytes,omitempty"`
	Goroutines    *float64 `json:"goroutines,omitempty"`
	FDs           *float64 `json:"open_fds,omitempty"`
	CPUSeconds    *float64 `json:"cpu_seconds,omitempty"` // since the server started
	CPUPct        *float64 `json:"cpu_pct,omitempty"`     // of one core, over the window
	Participants  *float64 `json:"participants,omitempty"`
	Sessions      *float64 `json:"sessions,omitempty"`
	// GCCount is the server's collections since it started
	// (go_gc_duration_seconds_count); GCs those of the window.
	GCCount *float64 `json:"gc_count,omitempty"`
	GCs     *float64 `json:"gcs,omitempty"`
	Error   string   `json:"error,omitempty"` // why server figures are missing

	// The listeners, over the window.
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     uint64  `json:"packets_lost"` // holes in the slots' sequence numbers
	LossPct         float64 `json:"loss_pct"`
	LatencyP99MS    float64 `json:"latency_p99_ms"`
	// VideoKbps is the listeners' video over the window, per listener
	// (Config.Video; omitted otherwise).
	VideoKbps *float64 `json:"video_kbit_s_per_listener,omitempty"`
}

// sampler takes the samples of one run.
type sampler struct {
	r     *run
	start time.Time

	mu       sync.Mutex
	samples  []Sample
	last     time.Time
	prevCPU  *float64
	prevGC   *float64
	prevHist []uint64
	prevRecv uint64
	prevLost uint64
	prevVid  uint64 // video bytes

	stop chan struct{}
	done chan struct{}
}

// startSampling takes the first sample now and one every interval until
// finish.
func (r *run) startSampling(ctx context.Context, interval time.Duration) *sampler {
	sm := &sampler{r: r, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	sm.take(ctx)
	go func() {
		defer close(sm.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-sm.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				sm.take(ctx)
			}
		}
	}()
	return sm
}

// finish stops the ticker and takes a last sample unless one was taken
// less than half an interval ago, so the samples cover the whole
// measurement.
func (sm *sampler) finish(ctx context.Context, interval time.Duration) []Sample {
	close(sm.stop)
	<-sm.done
	sm.mu.Lock()
	last := sm.last
	sm.mu.Unlock()
	if time.Since(last) >= interval/2 && ctx.Err() == nil {
		sm.take(ctx)
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.samples
}

func (sm *sampler) take(ctx context.Context) {
	now := time.Now()
	s := Sample{T: round(now.Sub(sm.start).Seconds(), 1)}
	sm.r.readServer(ctx, &s)
	recv, lost := sm.r.listenerTotals()
	var vid uint64
	video := sm.r.videoSnapshot()
	for _, v := range video {
		vid += v.bytes
	}
	hist := sm.r.latency.snapshot()

	sm.mu.Lock()
	defer sm.mu.Unlock()
	if len(sm.samples) > 0 {
		s.PacketsReceived = recv - min(recv, sm.prevRecv)
		s.PacketsLost = lost - min(lost, sm.prevLost) // a late packet may fill a hole
		if n := s.PacketsReceived + s.PacketsLost; n > 0 {
			s.LossPct = round(100*float64(s.PacketsLost)/float64(n), 3)
		}
		s.LatencyP99MS = windowQuantile(sm.prevHist, hist, 0.99)
		dt := now.Sub(sm.last).Seconds()
		if s.CPUSeconds != nil && sm.prevCPU != nil && dt > 0 {
			pct := round(100*(*s.CPUSeconds-*sm.prevCPU)/dt, 1)
			s.CPUPct = &pct
		}
		if s.GCCount != nil && sm.prevGC != nil {
			n := *s.GCCount - *sm.prevGC
			s.GCs = &n
		}
		if len(video) > 0 && dt > 0 {
			kbps := round(float64(vid-min(vid, sm.prevVid))*8/1000/dt/float64(len(video)), 1)
			s.VideoKbps = &kbps
		}
	}
	sm.prevRecv, sm.prevLost, sm.prevHist, sm.prevCPU, sm.last = recv, lost, hist, s.CPUSeconds, now
	sm.prevGC = s.GCCount
	sm.prevVid = vid
	sm.samples = append(sm.samples, s)
}

// readServer fills the server figures of s from /metrics, and from /proc
// when the server's pid is known (RSS, CPU and FDs: /proc wins).
func (r *run) readServer(ctx context.Context, s *Sample) {
	m, err := scrape(ctx, r.cfg.MetricsURL)
	if err != nil {
		s.Error = err.Error()
	}
	get := func(names ...string) *float64 {
		for _, n := range names {
			if v, ok := m[n]; ok {
				return &v
			}
		}
		return nil
	}
	s.RSSBytes = get("process_resident_memory_bytes")
	s.HeapInuseBytes = get("go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes")
	s.HeapGoalBytes = get("go_memstats_next_gc_bytes")
	s.Goroutines = get("go_goroutines")
	s.FDs = get("process_open_fds")
	s.CPUSeconds = get("process_cpu_seconds_total")
	s.Participants = get("palabre_participants")
	s.Sessions = get("palabre_sessions")
	s.GCCount = get("go_gc_duration_seconds_count")
	if r.cfg.ServerPID > 0 {
		p, err := readProc(r.cfg.ServerPID)
		if err != nil {
			s.Error = err.Error()
			return
		}
		s.RSSBytes, s.CPUSeconds, s.FDs = &p.rss, &p.cpu, &p.fds
	}
}

// listenerTotals sums what every listener received and lost so far.
func (r *run) listenerTotals() (received, lost uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.listeners {
		for _, s := range r.slotStats(c) {
			received += s.Packets
			lost += s.Gaps
		}
	}
	return received, lost
}
