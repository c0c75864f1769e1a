package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scrape reads Prometheus text metrics from url into name → value (summed
// over labels).
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 8<<20)), nil
}

// parseMetrics reads the Prometheus text exposition format (version
// 0.0.4): one sample a line, `name{label="value",…} value [timestamp]`,
// comments and blank lines skipped. Samples of one name are summed over
// their labels; NaN samples and lines that do not parse are skipped. A
// label value may hold spaces, braces and escaped quotes. A summary's
// quantile is kept apart as well, under its name and label as written:
// `go_gc_duration_seconds{quantile="1"}`; so is a histogram's bucket,
// `palabre_media_fanout_seconds_bucket{le="0.005"}`.
func parseMetrics(rd io.Reader) map[string]float64 {
	out := make(map[string]float64)
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, labels, value, ok := parseSampleLine(sc.Text())
		if ok {
			out[name] += value
			if (strings.HasPrefix(labels, `{quantile="`) || strings.HasPrefix(labels, `{le="`)) && strings.Count(labels, `"`) == 2 {
				out[name+labels] = value
			}
		}
	}
	return out
}

func parseSampleLine(line string) (name, labels string, value float64, ok bool) {
	line = strings.TrimLeft(line, " \t")
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", "", 0, false
	}
	name, rest := line[:end], line[end:]
	if rest[0] == '{' {
		close := labelsEnd(rest)
		if close < 0 {
			return "", "", 0, false
		}
		labels, rest = rest[:close+1], rest[close+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || math.IsNaN(v) {
		return "", "", 0, false
	}
	return name, labels, v, true
}

// promHistogram reads the cumulative buckets of histogram name from m: their
// upper bounds in increasing order (+Inf last) and counts.
func promHistogram(m map[string]float64, name string) (bounds, cum []float64) {
	prefix := name + `_bucket{le="`
	for k, v := range m {
		le, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		b, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
		if err != nil {
			continue
		}
		i, _ := slices.BinarySearch(bounds, b)
		bounds = slices.Insert(bounds, i, b)
		cum = slices.Insert(cum, i, v)
	}
	return bounds, cum
}

// histogramQuantile is the upper bound of the bucket holding the
// q-quantile of the samples between two reads of one histogram (start
// may be empty: since the server started); -1 without samples, twice
// the last finite bound past it.
func histogramQuantile(bounds, start, end []float64, q float64) float64 {
	if len(bounds) == 0 || len(end) != len(bounds) {
		return -1
	}
	at := func(i int) float64 {
		if len(start) == len(end) {
			return end[i] - start[i]
		}
		return end[i]
	}
	total := at(len(bounds) - 1)
	if total <= 0 {
		return -1
	}
	want := math.Max(1, math.Round(q*total))
	for i := range bounds {
		if at(i) >= want {
			if math.IsInf(bounds[i], 1) && i > 0 {
				return 2 * bounds[i-1] // past the last bound: twice it (JSON has no +Inf)
			}
			return bounds[i]
		}
	}
	return bounds[len(bounds)-1]
}

// labelsEnd returns the index of the '}' closing the label set that s
// starts with, or -1.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++ // the escaped character
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i
		}
	}
	return -1
}

// procStats is what /proc says about a local process.
type procStats struct {
	cpu float64 // seconds of CPU (user + system) since it started
	rss float64 // resident memory, bytes
	fds float64 // open file descriptors
}

// readProc reads CPU time, resident memory and open file descriptors of a
// local process (Linux).
func readProc(pid int) (procStats, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStats{}, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 22 {
		return procStats{}, fmt.Errorf("unexpected /proc stat format")
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ := strconv.ParseFloat(f[21], 64)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return procStats{}, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return procStats{
		cpu: (utime + stime) / clockTicks,
		rss: rssPages * float64(os.Getpagesize()),
		fds: float64(len(fds)),
	}, nil
}
