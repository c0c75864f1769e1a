package loadtest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Tolerance bounds the growth of one sampled series.
type Tolerance struct {
	// Rel and Abs: the median of the last third of the judged samples may
	// exceed the median of the first third by Rel × that median + Abs
	// (in the series' unit), no more.
	Rel, Abs float64
	// Climb: a series that never falls, rises in at least half of the
	// steps and by more than Climb in all is a slow leak, however small
	// each step. Negative: no climb rule.
	Climb float64
}

// FlatLimits are the rules of Result.CheckFlat.
type FlatLimits struct {
	// Samples taken before Warmup, and the first WarmupFrac of them, are
	// not judged (ramp-up effects: pools filling, the heap growing to its
	// working size).
	Warmup     time.Duration
	WarmupFrac float64
	MinSamples int // judged samples needed; fewer fails the check

	RSS, Heap, Goroutines, FDs, CPU, LatencyP99 Tolerance
	MaxLossPct                                  float64 // over all judged windows
}

// DefaultFlatLimits are the rules of a soak: after 30 s or the first 20 %
// of the samples, memory may grow 10 % (plus 4 MiB RSS, 2 MiB heap),
// goroutines and FDs 2 % (plus 10 and 4), and the heap goal, goroutines
// and FDs may not climb steadily; CPU may grow 25 % plus 5 points of a
// core and the windows' p99 latency double plus 20 ms; loss stays under
// 0.5 %. RSS has no climb rule: it follows the high-water mark of the
// heap's sawtooth and rises in small steps for minutes before it settles
// (the heap goal is the leak signal).
func DefaultFlatLimits() FlatLimits {
	const mib = 1 << 20
	return FlatLimits{
		Warmup: 30 * time.Second, WarmupFrac: 0.2, MinSamples: 6,
		RSS:        Tolerance{Rel: 0.10, Abs: 4 * mib, Climb: -1},
		Heap:       Tolerance{Rel: 0.10, Abs: 2 * mib, Climb: 2 * mib},
		Goroutines: Tolerance{Rel: 0.02, Abs: 10, Climb: 0},
		FDs:        Tolerance{Rel: 0.02, Abs: 4, Climb: 0},
		CPU:        Tolerance{Rel: 0.25, Abs: 5, Climb: -1},
		LatencyP99: Tolerance{Rel: 1, Abs: 20, Climb: -1},
		MaxLossPct: 0.5,
	}
}

// FlatReport is the verdict of Result.CheckFlat.
type FlatReport struct {
	Judged     int            `json:"samples_judged"`
	FromS      float64        `json:"judged_from_s"` // the first judged sample's time
	Series     []SeriesGrowth `json:"series"`
	LossPct    float64        `json:"loss_pct"` // over the judged windows
	Violations []string       `json:"violations,omitempty"`
}

// SeriesGrowth is how one series moved over the judged samples.
type SeriesGrowth struct {
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	First    float64 `json:"first_third_median"`
	Last     float64 `json:"last_third_median"`
	Allowed  float64 `json:"allowed_growth"`
	Climbing bool    `json:"climbing"`
}

// OK tells whether the run was flat.
func (f *FlatReport) OK() bool { return len(f.Violations) == 0 }

// Err is nil for a flat run, else an error listing every violation.
func (f *FlatReport) Err() error {
	if f.OK() {
		return nil
	}
	return errors.New("not flat: " + strings.Join(f.Violations, "; "))
}

// series are the judged figures of a sample, with the unit they are
// shown in (bytes are shown in MiB).
var series = []struct {
	name, unit string
	scale      float64
	memory     bool
	get        func(*Sample) *float64
	tol        func(*FlatLimits) Tolerance
}{
	{"RSS", "MiB", 1 << 20, true, func(s *Sample) *float64 { return s.RSSBytes }, func(l *FlatLimits) Tolerance { return l.RSS }},
	{"heap goal", "MiB", 1 << 20, true, func(s *Sample) *float64 { return s.HeapGoalBytes }, func(l *FlatLimits) Tolerance { return l.Heap }},
	{"goroutines", "", 1, false, func(s *Sample) *float64 { return s.Goroutines }, func(l *FlatLimits) Tolerance { return l.Goroutines }},
	{"FDs", "", 1, false, func(s *Sample) *float64 { return s.FDs }, func(l *FlatLimits) Tolerance { return l.FDs }},
	{"CPU", "% of a core", 1, false, func(s *Sample) *float64 { return s.CPUPct }, func(l *FlatLimits) Tolerance { return l.CPU }},
	{"latency p99", "ms", 1, false, func(s *Sample) *float64 {
		if s.PacketsReceived == 0 {
			return nil
		}
		return &s.LatencyP99MS
	}, func(l *FlatLimits) Tolerance { return l.LatencyP99 }},
}

// CheckFlat judges the samples of a run (Config.Sample): after the
// warm-up, memory (RSS and heap goal), goroutines, FDs, CPU and the
// windows' latency must not grow beyond lim, participants must not drop,
// every window must carry audio when the run has speakers, and loss must
// stay under lim.MaxLossPct. Series the server did not report are not
// judged, but memory must be reported.
func (res *Result) CheckFlat(lim FlatLimits) *FlatReport {
	f := &FlatReport{}
	samples := res.Samples
	skip := int(math.Ceil(lim.WarmupFrac * float64(len(samples))))
	for skip < len(samples) && samples[skip].T < lim.Warmup.Seconds() {
		skip++
	}
	judged := samples[min(skip, len(samples)):]
	f.Judged = len(judged)
	if len(judged) < max(lim.MinSamples, 3) {
		f.Violations = append(f.Violations, fmt.Sprintf("%d samples after the warm-up, %d needed: run longer or sample more often", len(judged), max(lim.MinSamples, 3)))
		return f
	}
	f.FromS = judged[0].T

	memory := false
	for _, sr := range series {
		var v []float64
		for i := range judged {
			if p := sr.get(&judged[i]); p != nil {
				v = append(v, *p/sr.scale)
			}
		}
		if len(v) < max(lim.MinSamples, 3) {
			continue // not reported
		}
		memory = memory || sr.memory
		g, violation := growth(sr.name, sr.unit, v, sr.tol(&lim), sr.scale)
		f.Series = append(f.Series, g)
		if violation != "" {
			f.Violations = append(f.Violations, violation)
		}
	}
	if !memory {
		f.Violations = append(f.Violations, "the server's memory was not reported (no /metrics at the metrics URL and no server pid)")
	}

	if first := samples[0].Participants; first != nil {
		for _, s := range judged {
			if s.Participants != nil && *s.Participants < *first {
				f.Violations = append(f.Violations, fmt.Sprintf("participants fell from %.0f to %.0f at %.0f s", *first, *s.Participants, s.T))
				break
			}
		}
	}
	var received, lost uint64
	for _, s := range judged {
		received += s.PacketsReceived
		lost += s.PacketsLost
		if s.PacketsReceived == 0 && res.Speakers > 0 && res.Listeners > 0 {
			f.Violations = append(f.Violations, fmt.Sprintf("no audio reached the listeners in the window ending at %.0f s", s.T))
		}
	}
	if received+lost > 0 {
		f.LossPct = round(100*float64(lost)/float64(received+lost), 3)
	}
	if f.LossPct > lim.MaxLossPct {
		f.Violations = append(f.Violations, fmt.Sprintf("loss %.3f %% after the warm-up, more than %.3f %%", f.LossPct, lim.MaxLossPct))
	}
	return f
}

// growth compares the medians of the first and last thirds of v and looks
// for a steady climb; scale converts the tolerance's absolute figures to
// v's unit.
func growth(name, unit string, v []float64, tol Tolerance, scale float64) (SeriesGrowth, string) {
	k := len(v) / 3
	g := SeriesGrowth{Name: name, Unit: unit, First: median(v[:k]), Last: median(v[len(v)-k:])}
	g.Allowed = tol.Rel*math.Abs(g.First) + tol.Abs/scale
	g.First, g.Last, g.Allowed = round(g.First, 2), round(g.Last, 2), round(g.Allowed, 2)
	u := unit
	if u != "" && !strings.HasPrefix(u, "%") {
		u = " " + u
	}
	if g.Last-g.First > g.Allowed {
		return g, fmt.Sprintf("%s grew from %g%s to %g%s (medians of the first and last thirds; %g allowed)", name, g.First, u, g.Last, u, g.Allowed)
	}
	if tol.Climb >= 0 {
		ups, falls := 0, false
		for i := 1; i < len(v); i++ {
			ups += btoi(v[i] > v[i-1])
			falls = falls || v[i] < v[i-1]
		}
		if !falls && 2*ups >= len(v)-1 && v[len(v)-1]-v[0] > tol.Climb/scale {
			g.Climbing = true
			return g, fmt.Sprintf("%s climbed steadily from %g%s to %g%s", name, round(v[0], 2), u, round(v[len(v)-1], 2), u)
		}
	}
	return g, ""
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
