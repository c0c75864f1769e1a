package loadtest

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is a load test's outcome. Its JSON form is what
// `palabre loadtest --json` prints.
type Result struct {
	Rooms        int     `json:"rooms"`
	Listeners    int     `json:"listeners_per_room"`
	Speakers     int     `json:"speakers_per_room"`
	Participants int     `json:"participants"`                // connected at the end of the ramp, idle ones included
	Idle         int     `json:"idle_participants,omitempty"` // of which idle (Config.Idle), in rooms of their own
	DurationS    float64 `json:"duration_s"`

	JoinMS       Quantiles `json:"join_ms"`
	JoinFailures uint64    `json:"join_failures"`
	LatencyMS    Quantiles `json:"latency_ms"`

	LossPct         float64 `json:"loss_pct"`
	PacketsSent     uint64  `json:"packets_sent"`     // frames sent by speakers
	PacketsReceived uint64  `json:"packets_received"` // frames received by all listeners
	PacketsExpected uint64  `json:"packets_expected"` // sent × listeners per room
	ListenersHeard  int     `json:"listeners_heard"`  // listeners that received audio

	// Server figures over the measurement, when /metrics or --server-pid
	// gave them (omitted otherwise).
	ServerCPUSeconds      *float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPct          *float64 `json:"server_cpu_pct,omitempty"`
	ServerRSSBytes        *float64 `json:"server_rss_bytes,omitempty"`
	ServerRSSPerPartBytes *float64 `json:"server_rss_per_participant_bytes,omitempty"` // per the server's participants when it reports them
	ServerParticipants    *float64 `json:"server_participants,omitempty"`              // palabre_participants at the end: this run's and any other generator's
	ServerPacketsOut      *float64 `json:"server_packets_forwarded,omitempty"`         // audio and video
	ServerCPUUsPerPacket  *float64 `json:"server_cpu_us_per_packet,omitempty"`
	// The server's garbage collections over the measurement and their
	// stop-the-world pauses summed (go_gc_duration_seconds), and the
	// largest pause of its last 256 collections at the end.
	ServerGCs          *float64 `json:"server_gcs,omitempty"`
	ServerGCPauseMS    *float64 `json:"server_gc_pause_total_ms,omitempty"`
	ServerGCPauseMaxMS *float64 `json:"server_gc_pause_max_ms,omitempty"`
	// ServerFanoutMS is how long the server held each forwarded audio
	// packet, from its decryption to its last copy sent
	// (palabre_media_fanout_seconds over the measurement; the bound of
	// the histogram bucket holding each quantile): what the server adds
	// for the last listener of a fan-out. Omitted without /metrics.
	ServerFanoutMS *Quantiles `json:"server_fanout_ms,omitempty"`
	// GC is the latency through the server's collections (Config.GCWatch).
	GC *GCResult `json:"gc,omitempty"`

	// The load generator's own figures (this process) over the
	// measurement: whether it kept up, and what a participant costs it
	// (Config.Light is about that). Heap and goroutines after a GC at
	// the end; CPU and RSS from /proc (omitted elsewhere). With the
	// server in the same process (tests), they are both's.
	GeneratorCPUPct        *float64 `json:"generator_cpu_pct,omitempty"`
	GeneratorRSSBytes      *float64 `json:"generator_rss_bytes,omitempty"`
	GeneratorHeapBytes     float64  `json:"generator_heap_inuse_bytes"`
	GeneratorStackBytes    float64  `json:"generator_stack_inuse_bytes"`
	GeneratorGoroutines    int      `json:"generator_goroutines"`
	GeneratorRSSPerPart    *float64 `json:"generator_rss_per_participant_bytes,omitempty"`
	GeneratorHeapPerPart   float64  `json:"generator_heap_per_participant_bytes,omitempty"`
	GeneratorStackPerPart  float64  `json:"generator_stack_per_participant_bytes,omitempty"`
	GeneratorGoroutinesPer float64  `json:"generator_goroutines_per_participant,omitempty"`

	// Video is what the listeners received on their camera slots, with
	// Config.Video (omitted otherwise).
	Video *VideoResult `json:"video,omitempty"`

	// Samples taken every SampleEveryS seconds (Config.Sample), and the
	// verdict on them when the caller asked for one (CheckFlat).
	SampleEveryS float64     `json:"sample_every_s,omitempty"`
	Samples      []Sample    `json:"samples,omitempty"`
	Flat         *FlatReport `json:"flat,omitempty"`
}

// Quantiles of a distribution, in milliseconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func (r *run) result(start, end serverSample, video *VideoResult) *Result {
	res := &Result{
		Rooms:        r.cfg.Rooms,
		Listeners:    r.cfg.Listeners,
		Speakers:     r.cfg.Speakers,
		Participants: r.participants(),
		Idle:         r.idleJoined(),
		DurationS:    r.cfg.Duration.Seconds(),
		JoinMS:       Quantiles{P50: r.joinMS.quantile(0.5), P99: r.joinMS.quantile(0.99), Max: r.joinMS.maxMS()},
		JoinFailures: r.joinFailures.Load(),
		LatencyMS:    Quantiles{P50: r.latency.quantile(0.5), P99: r.latency.quantile(0.99), Max: r.latency.maxMS()},
		PacketsSent:  r.sent.Load(),
		Video:        video,
	}
	// Loss is what the listeners' sequence numbers say is missing: the
	// server's slots carry no holes of their own, so a hole is a lost packet.
	var received, gaps uint64
	r.mu.Lock()
	for _, c := range r.listeners {
		var got uint64
		for _, s := range r.slotStats(c) {
			got += s.Packets
			gaps += s.Gaps
		}
		received += got
		if got > 0 {
			res.ListenersHeard++
		}
	}
	r.mu.Unlock()
	res.PacketsReceived = received
	res.PacketsExpected = res.PacketsSent * uint64(r.cfg.Listeners)
	if received+gaps > 0 {
		res.LossPct = round(100*float64(gaps)/float64(received+gaps), 3)
	}
	if start.known && end.known {
		cpu := round(end.cpu-start.cpu, 3)
		pct := round(100*cpu/r.cfg.Duration.Seconds(), 1)
		rss := end.rss
		res.ServerCPUSeconds, res.ServerCPUPct, res.ServerRSSBytes = &cpu, &pct, &rss
		n := float64(res.Participants)
		if end.participants >= 0 {
			p := end.participants
			res.ServerParticipants = &p
			n = max(n, p)
		}
		if n > 0 {
			per := math.Round(rss / n)
			res.ServerRSSPerPartBytes = &per
		}
		// Without the server's count, what the listeners received.
		packets := float64(received)
		if video != nil {
			packets += float64(video.PacketsReceived)
		}
		if start.forwarded >= 0 && end.forwarded >= 0 {
			packets = end.forwarded - start.forwarded
			res.ServerPacketsOut = &packets
		}
		if packets > 0 {
			us := round(cpu*1e6/packets, 2)
			res.ServerCPUUsPerPacket = &us
		}
	}
	res.gcFigures(start, end)
	if p50 := histogramQuantile(end.fanoutBounds, start.fanout, end.fanout, 0.5); p50 >= 0 && slices.Equal(start.fanoutBounds, end.fanoutBounds) {
		res.ServerFanoutMS = &Quantiles{
			P50: 1000 * p50,
			P99: 1000 * histogramQuantile(end.fanoutBounds, start.fanout, end.fanout, 0.99),
			Max: 1000 * histogramQuantile(end.fanoutBounds, start.fanout, end.fanout, 1),
		}
	}
	return res
}

// WriteTable prints the result for people.
func (res *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "participants\t%d (%d rooms × (%d speakers + %d listeners)", res.Participants, res.Rooms, res.Speakers, res.Listeners)
	if res.Idle > 0 {
		fmt.Fprintf(tw, " + %d idle", res.Idle)
	}
	fmt.Fprintln(tw, ")")
	fmt.Fprintf(tw, "join failures\t%d\n", res.JoinFailures)
	fmt.Fprintf(tw, "join time\tp50 %.1f ms, p99 %.1f ms, max %.1f ms\n", res.JoinMS.P50, res.JoinMS.P99, res.JoinMS.Max)
	fmt.Fprintf(tw, "latency\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\n", res.LatencyMS.P50, res.LatencyMS.P99, res.LatencyMS.Max)
	fmt.Fprintf(tw, "loss\t%.3f %%\n", res.LossPct)
	fmt.Fprintf(tw, "packets\t%d sent, %d received (%d expected)\n", res.PacketsSent, res.PacketsReceived, res.PacketsExpected)
	fmt.Fprintf(tw, "listeners heard\t%d of %d\n", res.ListenersHeard, res.Rooms*res.Listeners)
	if res.ServerCPUSeconds != nil {
		fmt.Fprintf(tw, "server CPU\t%.2f s over %.0f s (%.1f %% of one core)\n", *res.ServerCPUSeconds, res.DurationS, *res.ServerCPUPct)
		fmt.Fprintf(tw, "server RSS\t%.1f MiB", *res.ServerRSSBytes/(1<<20))
		if res.ServerRSSPerPartBytes != nil {
			fmt.Fprintf(tw, " (%.0f KiB per participant)", *res.ServerRSSPerPartBytes/1024)
		}
		fmt.Fprintln(tw)
		if res.ServerCPUUsPerPacket != nil {
			what := ""
			if res.Video != nil {
				what = " (audio and video)"
			}
			fmt.Fprintf(tw, "server CPU per packet\t%.2f µs%s\n", *res.ServerCPUUsPerPacket, what)
		}
		if res.ServerParticipants != nil && int(*res.ServerParticipants) != res.Participants {
			fmt.Fprintf(tw, "server participants\t%.0f (this run's and others')\n", *res.ServerParticipants)
		}
	} else {
		fmt.Fprintln(tw, "server figures\tunknown (no /metrics; pass --metrics-url, or --server-pid on the same machine)")
	}
	if f := res.ServerFanoutMS; f != nil {
		fmt.Fprintf(tw, "server fan-out time\tp50 ≤ %g ms, p99 ≤ %g ms, max ≤ %g ms (from the packet's decryption to its last copy sent)\n", f.P50, f.P99, f.Max)
	}
	if res.ServerGCs != nil {
		fmt.Fprintf(tw, "server GCs\t%.0f, pauses %.3f ms in all", *res.ServerGCs, *res.ServerGCPauseMS)
		if res.ServerGCPauseMaxMS != nil {
			fmt.Fprintf(tw, " (largest of the last 256: %.3f ms)", *res.ServerGCPauseMaxMS)
		}
		fmt.Fprintln(tw)
	}
	if g := res.GC; g != nil {
		fmt.Fprintf(tw, "latency through GCs\tp50 %.2f ms, p99 %.2f ms, max %.2f ms (%d packets in the %d windows of %g s with a collection and those before)\n",
			g.LatencyMS.P50, g.LatencyMS.P99, g.LatencyMS.Max, g.Packets, len(g.Windows), g.WatchEveryS)
		fmt.Fprintf(tw, "latency between GCs\tp50 %.2f ms, p99 %.2f ms, max %.2f ms (%d packets)\n",
			g.OtherLatencyMS.P50, g.OtherLatencyMS.P99, g.OtherLatencyMS.Max, g.OtherPackets)
	}
	fmt.Fprintf(tw, "load generator\t")
	if res.GeneratorCPUPct != nil {
		fmt.Fprintf(tw, "CPU %.1f %% of one core, RSS %.1f MiB, ", *res.GeneratorCPUPct, *res.GeneratorRSSBytes/(1<<20))
	}
	fmt.Fprintf(tw, "heap %.1f MiB, %d goroutines", res.GeneratorHeapBytes/(1<<20), res.GeneratorGoroutines)
	if res.Participants > 0 {
		fmt.Fprintf(tw, "; per participant: ")
		if res.GeneratorRSSPerPart != nil {
			fmt.Fprintf(tw, "RSS %.1f KiB, ", *res.GeneratorRSSPerPart/1024)
		}
		fmt.Fprintf(tw, "heap %.1f KiB, stacks %.1f KiB, %.1f goroutines", res.GeneratorHeapPerPart/1024, res.GeneratorStackPerPart/1024, res.GeneratorGoroutinesPer)
	}
	fmt.Fprintln(tw)
	if v := res.Video; v != nil {
		fmt.Fprintf(tw, "video\t%d cameras, seen by %d of %d listeners\n", v.Cameras, v.ListenersSaw, res.Rooms*res.Listeners)
		fmt.Fprintf(tw, "video received\t%d packets, %.1f MiB (%.1f kbit/s per listener)\n", v.PacketsReceived, float64(v.BytesReceived)/(1<<20), v.KbpsPerListener)
		fmt.Fprintf(tw, "video frames\t%d (%d keyframes), %d picture-ID gaps\n", v.Frames, v.Keyframes, v.PictureGaps)
		fmt.Fprintf(tw, "video loss\t%.3f %%\n", v.LossPct)
		fmt.Fprintf(tw, "video layers\t%s\n", v.layers())
	}
	tw.Flush()
	if len(res.Samples) > 0 {
		fmt.Fprintf(w, "\nsamples every %g s:\n\n", res.SampleEveryS)
		WriteSamples(w, res.Samples)
	}
	if res.Flat != nil {
		fmt.Fprintln(w)
		res.Flat.Write(w)
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// generatorSample is this process's state at one moment.
type generatorSample struct {
	at           time.Time
	proc         *procStats // nil: no /proc
	heap, stacks float64
	goroutines   int
}

// readGenerator reads this process's figures; gc first collects, so that
// the heap is what is live.
func readGenerator(gc bool) generatorSample {
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g := generatorSample{at: time.Now(), heap: float64(ms.HeapInuse), stacks: float64(ms.StackInuse), goroutines: runtime.NumGoroutine()}
	if p, err := readProc(os.Getpid()); err == nil {
		g.proc = &p
	}
	return g
}

func (res *Result) generator(start, end generatorSample, participants int) {
	res.GeneratorHeapBytes, res.GeneratorStackBytes, res.GeneratorGoroutines = end.heap, end.stacks, end.goroutines
	if start.proc != nil && end.proc != nil {
		pct := round(100*(end.proc.cpu-start.proc.cpu)/end.at.Sub(start.at).Seconds(), 1)
		rss := end.proc.rss
		res.GeneratorCPUPct, res.GeneratorRSSBytes = &pct, &rss
		if participants > 0 {
			per := math.Round(rss / float64(participants))
			res.GeneratorRSSPerPart = &per
		}
	}
	if participants > 0 {
		n := float64(participants)
		res.GeneratorHeapPerPart = math.Round(end.heap / n)
		res.GeneratorStackPerPart = math.Round(end.stacks / n)
		res.GeneratorGoroutinesPer = round(float64(end.goroutines)/n, 2)
	}
}
