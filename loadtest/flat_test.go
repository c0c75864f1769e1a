package loadtest

import (
	"math"
	"strings"
	"testing"
)

// soakSamples makes the 13 samples of a 2-minute run sampled every 10 s
// with steady figures (60 participants, 50 MiB RSS, a 20 MiB heap goal,
// 1500 goroutines, 200 FDs, 30 % CPU, 2500 packets a window), then lets
// edit change sample i.
func soakSamples(edit func(i int, s *Sample)) []Sample {
	const mib = 1 << 20
	out := make([]Sample, 13)
	for i := range out {
		f := func(v float64) *float64 { return &v }
		out[i] = Sample{
			T:        float64(10 * i),
			RSSBytes: f(50 * mib), HeapInuseBytes: f(float64(20+i%2*15) * mib), HeapGoalBytes: f(20 * mib),
			Goroutines: f(1500), FDs: f(200), CPUPct: f(30),
			Participants: f(60), Sessions: f(60),
			PacketsReceived: 2500, LatencyP99MS: 4,
		}
		if i == 0 {
			out[i].PacketsReceived, out[i].LatencyP99MS, out[i].CPUPct = 0, 0, nil
		}
		if edit != nil {
			edit(i, &out[i])
		}
	}
	return out
}

// noise is a deterministic wobble in [-1, 1].
func noise(i int) float64 { return math.Sin(float64(i) * 2.3) }

func TestCheckFlat(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		edit func(i int, s *Sample)
		want string // a violation's words; "" passes
	}{
		{"flat", nil, ""},
		{"noise", func(i int, s *Sample) {
			*s.RSSBytes += 2 * mib * noise(i)
			*s.HeapGoalBytes += 1.5 * mib * noise(i+1)
			*s.Goroutines += math.Round(8 * noise(i+2))
			*s.FDs += math.Round(2 * noise(i+3))
			if s.CPUPct != nil {
				*s.CPUPct += 4 * noise(i+4)
			}
			s.LatencyP99MS += 3 * noise(i+5)
			s.PacketsLost = uint64(2 + 2*noise(i))
		}, ""},
		{"heap in use saws, its goal does not", func(i int, s *Sample) { *s.HeapInuseBytes = float64(20+i%3*20) * mib }, ""},
		{"growth during the warm-up", func(i int, s *Sample) { *s.RSSBytes = float64(20+min(i, 3)*10) * mib }, ""},
		{"one more FD, once", func(i int, s *Sample) { *s.FDs += float64(min(1, i/7)) }, ""},
		{"idle run: no audio", func(i int, s *Sample) { s.PacketsReceived = 0 }, ""},
		{"RSS leak", func(i int, s *Sample) { *s.RSSBytes += float64(i) * 3 * mib }, "RSS grew"},
		{"RSS creeping while it settles", func(i int, s *Sample) { *s.RSSBytes += float64(i) * 0.5 * mib }, ""},
		{"slow heap leak", func(i int, s *Sample) { *s.HeapGoalBytes += float64(i) * 0.3 * mib }, "heap goal climbed steadily"},
		{"heap leak", func(i int, s *Sample) { *s.HeapGoalBytes += float64(i) * 2 * mib }, "heap goal grew"},
		{"goroutine leak under noise", func(i int, s *Sample) { *s.Goroutines += float64(10*i) + math.Round(8*noise(i)) }, "goroutines grew"},
		{"one goroutine a window", func(i int, s *Sample) { *s.Goroutines += float64(i) }, "goroutines climbed steadily"},
		{"FD leak", func(i int, s *Sample) { *s.FDs += float64(i) }, "FDs climbed steadily"},
		{"CPU growth", func(i int, s *Sample) {
			if s.CPUPct != nil {
				*s.CPUPct = 20 + 3*float64(i)
			}
		}, "CPU grew"},
		{"latency growth", func(i int, s *Sample) { s.LatencyP99MS = 4 + 15*float64(i) }, "latency p99 grew"},
		{"loss", func(i int, s *Sample) { s.PacketsLost = 50 }, "loss 1.961 %"},
		{"forwarding stops", func(i int, s *Sample) {
			if i == 9 {
				s.PacketsReceived = 0
			}
		}, "no audio reached the listeners in the window ending at 90 s"},
		{"participants drop", func(i int, s *Sample) { *s.Participants -= float64(min(i/8, 1) * 5) }, "participants fell from 60 to 55 at 80 s"},
		{"no memory reported", func(i int, s *Sample) { s.RSSBytes, s.HeapGoalBytes = nil, nil }, "memory was not reported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &Result{Speakers: 1, Listeners: 10, Samples: soakSamples(tc.edit)}
			if tc.name == "idle run: no audio" {
				res.Speakers = 0
			}
			f := res.CheckFlat(DefaultFlatLimits())
			if f.Judged != 10 || f.FromS != 30 {
				t.Errorf("judged %d samples from %g s, want 10 from 30 s", f.Judged, f.FromS)
			}
			err := f.Err()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want flat, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want a violation with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestCheckFlatTooFewSamples(t *testing.T) {
	res := &Result{Samples: soakSamples(nil)[:8]} // 70 s: 4 samples after the warm-up
	if err := res.CheckFlat(DefaultFlatLimits()).Err(); err == nil || !strings.Contains(err.Error(), "5 samples after the warm-up, 6 needed") {
		t.Errorf("got %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %g, want %g", tc.in, got, tc.want)
		}
	}
}
