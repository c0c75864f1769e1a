package loadtest

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]float64
	}{
		{"the server's kind", "# HELP x y\n# TYPE palabre_dropped_packets_total counter\n" +
			"palabre_dropped_packets_total{reason=\"muted\"} 3\npalabre_dropped_packets_total{reason=\"no_floor\"} 4\n" +
			"process_cpu_seconds_total 1.5\nprocess_resident_memory_bytes 2.5e+07\nbroken_line\n",
			map[string]float64{"palabre_dropped_packets_total": 7, "process_cpu_seconds_total": 1.5, "process_resident_memory_bytes": 2.5e7}},
		{"plain", "go_goroutines 12\nprocess_open_fds 13\n", map[string]float64{"go_goroutines": 12, "process_open_fds": 13}},
		{"comments and blanks", "# HELP go_goroutines Number.\n# TYPE go_goroutines gauge\n\ngo_goroutines 7\n", map[string]float64{"go_goroutines": 7}},
		{"exponent", "process_resident_memory_bytes 1.8194432e+07\n", map[string]float64{"process_resident_memory_bytes": 18194432}},
		{"summed over labels", "x{code=\"a\"} 1\nx{code=\"b\"} 2.5\n", map[string]float64{"x": 3.5}},
		{"label with braces, spaces and quotes", `x{v="a} b\"}{"} 4` + "\n", map[string]float64{"x": 4}},
		{"timestamp", "x 5 1700000000000\n", map[string]float64{"x": 5}},
		{"infinity", "x{le=\"+Inf\"} +Inf\n", map[string]float64{"x": posInf(), `x{le="+Inf"}`: posInf()}},
		{"histogram buckets kept apart", "h_bucket{le=\"0.001\"} 2\nh_bucket{le=\"+Inf\"} 3\n", map[string]float64{"h_bucket": 5, `h_bucket{le="0.001"}`: 2, `h_bucket{le="+Inf"}`: 3}},
		{"NaN skipped", "x NaN\nx 1\n", map[string]float64{"x": 1}},
		{"garbage skipped", "x\nx{a=\"1\" 2\ny 1 2 3\nz two\nok 1\n", map[string]float64{"ok": 1}},
		{"tabs", "x\t3\n", map[string]float64{"x": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseMetrics(strings.NewReader(tc.in))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %g, want %g", k, got[k], v)
				}
			}
		})
	}
}

func posInf() float64 { var z float64; return 1 / z }

// /proc of this very process: some CPU, some memory, stdin/out/err.
func TestReadProc(t *testing.T) {
	p, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.rss < 1<<20 || p.fds < 3 || p.cpu < 0 {
		t.Errorf("readProc: %+v", p)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestWindowQuantile(t *testing.T) {
	var h histogram
	for range 99 {
		h.record(time.Millisecond)
	}
	h.record(500 * time.Millisecond)
	first := h.snapshot()
	if got := windowQuantile(nil, first, 0.99); got != 1.05 {
		t.Errorf("p99 of the first window = %g ms, want 1.05", got)
	}
	if got := windowQuantile(nil, first, 1); got != 500.05 {
		t.Errorf("max of the first window = %g ms, want 500.05", got)
	}
	// The second window has only fast packets: the slow one is gone.
	for range 50 {
		h.record(2 * time.Millisecond)
	}
	second := h.snapshot()
	if got := windowQuantile(first, second, 1); got != 2.05 {
		t.Errorf("max of the second window = %g ms, want 2.05", got)
	}
	if got := windowQuantile(second, h.snapshot(), 0.99); got != 0 {
		t.Errorf("empty window = %g ms, want 0", got)
	}
}

func TestPromHistogram(t *testing.T) {
	m := parseMetrics(strings.NewReader("f_bucket{le=\"0.005\"} 90\nf_bucket{le=\"0.001\"} 50\nf_bucket{le=\"+Inf\"} 100\nf_sum 1\nf_count 100\n"))
	bounds, cum := promHistogram(m, "f")
	if len(bounds) != 3 || bounds[0] != 0.001 || bounds[1] != 0.005 || !math.IsInf(bounds[2], 1) || cum[0] != 50 || cum[1] != 90 || cum[2] != 100 {
		t.Fatalf("bounds %v, counts %v", bounds, cum)
	}
	for _, tc := range []struct {
		name  string
		start []float64
		q     float64
		want  float64
	}{
		{"median since start", nil, 0.5, 0.001},
		{"p90", nil, 0.9, 0.005},
		{"p99 past the last bound: twice it", nil, 0.99, 0.01},
		{"between two reads", []float64{50, 50, 50}, 0.5, 0.005},
		{"nothing between two reads", []float64{50, 90, 100}, 0.5, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := histogramQuantile(bounds, tc.start, cum, tc.q); got != tc.want {
				t.Errorf("got %g, want %g", got, tc.want)
			}
		})
	}
}
