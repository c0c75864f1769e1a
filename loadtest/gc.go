package loadtest

import (
	"context"
	"math"
	"sync"
	"time"
)

// The GC watch (Config.GCWatch): whether forwarding slows down while the
// server collects garbage. Every interval it reads the server's count of
// collections and their stop-the-world pauses (go_gc_duration_seconds in
// /metrics: the count and the sum) and takes the listeners' latency over
// the window since the last reading. A window in which a collection
// ended, and the window before it (where its concurrent mark began, for
// a mark shorter than the interval), are the collection's: their packets
// make GCResult.LatencyMS, every other window's make OtherLatencyMS.

// GCResult is what the GC watch saw over the measurement.
type GCResult struct {
	WatchEveryS float64 `json:"watch_every_s"`
	// Collections the server ran during the measurement, their
	// stop-the-world pauses summed, and the largest pause of a window
	// with one collection (the mean of a window's pauses when it had
	// more); from go_gc_duration_seconds.
	Collections  int     `json:"collections"`
	PauseTotalMS float64 `json:"pause_total_ms"`
	PauseMaxMS   float64 `json:"pause_max_ms"`
	// Latency of the packets received in the collections' windows (the
	// one each ended in and the one before), and in all the others.
	LatencyMS      Quantiles  `json:"latency_ms"`
	Packets        uint64     `json:"packets"`
	OtherLatencyMS Quantiles  `json:"other_latency_ms"`
	OtherPackets   uint64     `json:"other_packets"`
	Windows        []GCWindow `json:"windows,omitempty"`
	Errors         int        `json:"scrape_errors,omitempty"` // readings that failed (their windows count as others)
}

// GCWindow is one window in which collections ended, with the window
// before it.
type GCWindow struct {
	T            float64 `json:"t_s"` // the window's end, since the measurement started
	Collections  int     `json:"collections"`
	PauseMS      float64 `json:"pause_ms"` // their stop-the-world pauses, summed
	Packets      uint64  `json:"packets"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	LatencyMaxMS float64 `json:"latency_max_ms"` // the upper edge of the highest bucket
}

type gcWatch struct {
	r     *run
	start time.Time
	every time.Duration

	mu        sync.Mutex
	known     bool // prevCount and prevPause were read
	prevCount float64
	prevPause float64
	prevHist  []uint64 // latency buckets at the previous reading
	held      []uint64 // the previous window's latency, not yet attributed
	gc, other []uint64
	res       GCResult

	stop, done chan struct{}
}

func (r *run) startGCWatch(ctx context.Context, every time.Duration) *gcWatch {
	w := &gcWatch{
		r: r, start: time.Now(), every: every,
		gc: make([]uint64, histBuckets), other: make([]uint64, histBuckets),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	w.res.WatchEveryS = every.Seconds()
	w.read(ctx)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				w.read(ctx)
			}
		}
	}()
	return w
}

// read takes one reading and attributes the window since the last one.
func (w *gcWatch) read(ctx context.Context) {
	m, err := scrape(ctx, w.r.cfg.MetricsURL)
	hist := w.r.latency.snapshot()
	count, okc := m["go_gc_duration_seconds_count"]
	pause := m["go_gc_duration_seconds_sum"]
	t := round(time.Since(w.start).Seconds(), 1)

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.prevHist == nil { // the first reading: nothing before it
		w.prevHist, w.known, w.prevCount, w.prevPause = hist, err == nil && okc, count, pause
		return
	}
	delta := make([]uint64, len(hist))
	for i := range hist {
		delta[i] = hist[i] - min(hist[i], w.prevHist[i])
	}
	w.prevHist = hist
	if err != nil || !okc {
		w.res.Errors++
		w.release()
		addCounts(w.other, delta)
		w.known = false
		return
	}
	if w.known && count > w.prevCount {
		n := int(count - w.prevCount)
		p := (pause - w.prevPause) * 1000
		if w.held != nil {
			addCounts(delta, w.held)
			w.held = nil
		}
		addCounts(w.gc, delta)
		w.res.Collections += n
		w.res.PauseTotalMS += p
		w.res.PauseMaxMS = max(w.res.PauseMaxMS, p/float64(n))
		w.res.Windows = append(w.res.Windows, GCWindow{
			T: t, Collections: n, PauseMS: round(p, 3), Packets: total(delta),
			LatencyP99MS: windowQuantile(nil, delta, 0.99), LatencyMaxMS: topMS(delta),
		})
	} else {
		w.release()
		w.held = delta
	}
	w.known, w.prevCount, w.prevPause = true, count, pause
}

// release counts the held window as another window.
func (w *gcWatch) release() {
	if w.held != nil {
		addCounts(w.other, w.held)
		w.held = nil
	}
}

// finish takes a last reading and returns the result.
func (w *gcWatch) finish(ctx context.Context) *GCResult {
	close(w.stop)
	<-w.done
	if ctx.Err() == nil {
		w.read(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.release()
	res := w.res
	res.PauseTotalMS, res.PauseMaxMS = round(res.PauseTotalMS, 3), round(res.PauseMaxMS, 3)
	res.Packets, res.OtherPackets = total(w.gc), total(w.other)
	res.LatencyMS = countsQuantiles(w.gc)
	res.OtherLatencyMS = countsQuantiles(w.other)
	return &res
}

func addCounts(dst, src []uint64) {
	for i, v := range src {
		dst[i] += v
	}
}

func total(c []uint64) uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// topMS is the upper edge of the highest non-empty bucket, in ms.
func topMS(c []uint64) float64 {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i] > 0 {
			return ms(time.Duration(i+1) * histStep)
		}
	}
	return 0
}

func countsQuantiles(c []uint64) Quantiles {
	if total(c) == 0 {
		return Quantiles{}
	}
	return Quantiles{P50: windowQuantile(nil, c, 0.5), P99: windowQuantile(nil, c, 0.99), Max: topMS(c)}
}

// gcFigures fills the result's collections over the measurement from the
// first and last server readings.
func (res *Result) gcFigures(start, end serverSample) {
	if start.gcs < 0 || end.gcs < 0 {
		return
	}
	n := end.gcs - start.gcs
	p := round((end.gcPause-start.gcPause)*1000, 3)
	res.ServerGCs, res.ServerGCPauseMS = &n, &p
	if !math.IsNaN(end.gcPauseMax) && end.gcPauseMax >= 0 {
		mx := round(end.gcPauseMax*1000, 3)
		res.ServerGCPauseMaxMS = &mx
	}
}
