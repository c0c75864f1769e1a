package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteSamples prints the samples as a Markdown table (it reads as a
// table on a terminal too, and pastes into docs/performance.md). Server
// figures are at the sample's time, the listeners' over the window since
// the previous sample; — is unknown.
func WriteSamples(w io.Writer, samples []Sample) {
	rows := [][]string{{"t", "RSS MiB", "heap in use MiB", "heap goal MiB", "goroutines", "FDs", "CPU %", "participants", "sessions", "packets received", "loss %", "latency p99 ms"}}
	// A video run's samples (all but the first) have the video column.
	video := slices.ContainsFunc(samples, func(s Sample) bool { return s.VideoKbps != nil })
	if video {
		rows[0] = append(rows[0], "video kbit/s per listener")
	}
	gcs := slices.ContainsFunc(samples, func(s Sample) bool { return s.GCs != nil })
	if gcs {
		rows[0] = append(rows[0], "GCs")
	}
	for _, s := range samples {
		row := []string{
			fmt.Sprintf("%.0f s", s.T),
			opt(s.RSSBytes, 1<<20, 1), opt(s.HeapInuseBytes, 1<<20, 1), opt(s.HeapGoalBytes, 1<<20, 1),
			opt(s.Goroutines, 1, 0), opt(s.FDs, 1, 0), opt(s.CPUPct, 1, 1),
			opt(s.Participants, 1, 0), opt(s.Sessions, 1, 0),
			fmt.Sprint(s.PacketsReceived), fmt.Sprintf("%.3f", s.LossPct), fmt.Sprintf("%.2f", s.LatencyP99MS),
		}
		if video {
			row = append(row, opt(s.VideoKbps, 1, 1))
		}
		if gcs {
			row = append(row, opt(s.GCs, 1, 0))
		}
		rows = append(rows, row)
	}
	writeMarkdown(w, rows)
	failed, first := 0, ""
	for _, s := range samples {
		if s.Error != "" {
			failed++
			first = cmp.Or(first, s.Error)
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d samples lack server figures; first error: %s\n", failed, len(samples), first)
	}
}

// Write prints the verdict: one line per series, then the violations.
func (f *FlatReport) Write(w io.Writer) {
	verdict := "flat"
	if !f.OK() {
		verdict = "NOT FLAT"
	}
	fmt.Fprintf(w, "%s: %d samples judged from %.0f s; loss %.3f %%\n", verdict, f.Judged, f.FromS, f.LossPct)
	for _, g := range f.Series {
		unit := g.Unit
		if unit != "" {
			unit = " " + unit
		}
		fmt.Fprintf(w, "  %-12s %g → %g%s (allowed +%g)\n", g.Name, g.First, g.Last, unit, g.Allowed)
	}
	for _, v := range f.Violations {
		fmt.Fprintf(w, "  ✗ %s\n", v)
	}
}

func opt(v *float64, scale float64, digits int) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.*f", digits, *v/scale)
}

// writeMarkdown prints rows (the first one the header) as a Markdown
// table with aligned columns, numbers right-aligned.
func writeMarkdown(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string, right bool) {
		var b strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right && i > 0 {
				c = pad + c
			} else {
				c += pad
			}
			b.WriteString("| " + c + " ")
		}
		fmt.Fprintln(w, b.String()+"|")
	}
	line(rows[0], false)
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
		if i > 0 {
			sep[i] = sep[i][:n-1] + ":"
		}
	}
	line(sep, false)
	for _, r := range rows[1:] {
		line(r, true)
	}
}
