package loadtest

import (
	"bytes"
	"strings"
	"testing"
)

// The samples table is Markdown: a header, a separator with numbers
// right-aligned, a row a sample; unknown figures show as —, and samples
// that could not read /metrics are counted below it.
func TestWriteSamples(t *testing.T) {
	samples := soakSamples(nil)[:3]
	samples[2] = Sample{T: 20, PacketsReceived: 7, Error: "http://127.0.0.1:1/metrics: connection refused"}
	var b bytes.Buffer
	WriteSamples(&b, samples)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"| t    | RSS MiB |", "| ---- | ------: |", "| 0 s  |    50.0 |", "| 10 s |    50.0 |", "| 20 s |       — |"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d: %q, want it to start with %q", i, lines[i], want)
		}
	}
	if !strings.HasSuffix(lines[3], "|             2500 |  0.000 |           4.00 |") {
		t.Errorf("the listeners' columns: %q", lines[3])
	}
	if lines[6] != "1 of 3 samples lack server figures; first error: http://127.0.0.1:1/metrics: connection refused" {
		t.Errorf("last line %q", lines[6])
	}
}

func TestFlatReportWrite(t *testing.T) {
	res := &Result{Speakers: 1, Listeners: 10, Samples: soakSamples(func(i int, s *Sample) { *s.FDs += float64(i) })}
	var b bytes.Buffer
	res.CheckFlat(DefaultFlatLimits()).Write(&b)
	for _, want := range []string{"NOT FLAT: 10 samples judged from 30 s; loss 0.000 %\n", "  FDs          204 → 211 (allowed +8.08)\n", "  ✗ FDs climbed steadily from 203 to 212\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("verdict lacks %q:\n%s", want, b.String())
		}
	}
}
