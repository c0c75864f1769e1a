package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/loadtest"
)

// BenchmarkIdleParticipants measures what an idle participant costs the
// whole server (issue 16: ≤ 40 KiB): a real server process (this test
// binary as "palabre serve --load-test", see TestMain) and the load
// tester's light participants in this process, each with its real
// WebSocket, ICE, DTLS and SRTP over loopback, in rooms of up to 1,000.
// One iteration is one fresh server filled with the participants and
// measured, so run it once:
//
//	flock /tmp/palabre-bench.lock go test -run '^$' -bench IdleParticipants -benchtime 1x ./cmd/palabre/
//	PALABRE_BENCH_PARTICIPANTS=3000 (the same; default 1,000)
//
// It reports per participant:
//   - rss-B/participant: the server's RSS at the end of 10 s of
//     measurement over the participants, as loadtest and
//     docs/performance.md give it (the empty server's ~20 MiB included);
//   - rss-growth-B/participant: the same, less the empty server's RSS;
//   - heap-B/participant, stack-B/participant, goroutines/participant:
//     the growth of the server's heap in use, goroutine stacks and
//     goroutines (its /metrics) from empty to full.
func BenchmarkIdleParticipants(b *testing.B) {
	n := 1000
	if v := os.Getenv("PALABRE_BENCH_PARTICIPANTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PALABRE_BENCH_PARTICIPANTS=%q", v)
		}
	}
	rooms := (n + 999) / 1000
	per := n / rooms
	n = rooms * per
	var m idleFigures
	for b.Loop() {
		m = measureIdle(b, rooms, per)
	}
	b.ReportMetric(m.rss/float64(n), "rss-B/participant")
	b.ReportMetric((m.rss-m.baseRSS)/float64(n), "rss-growth-B/participant")
	b.ReportMetric((m.full["go_memstats_heap_inuse_bytes"]-m.empty["go_memstats_heap_inuse_bytes"])/float64(n), "heap-B/participant")
	b.ReportMetric((m.full["go_memstats_stack_inuse_bytes"]-m.empty["go_memstats_stack_inuse_bytes"])/float64(n), "stack-B/participant")
	b.ReportMetric((m.full["go_goroutines"]-m.empty["go_goroutines"])/float64(n), "goroutines/participant")
}

type idleFigures struct {
	baseRSS, rss float64
	empty, full  map[string]float64 // the server's /metrics
}

// measureIdle starts a server, joins rooms × per idle light participants
// and measures it.
func measureIdle(b *testing.B, rooms, per int) idleFigures {
	b.Helper()
	port := freePort(b)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port),
		"--media-port", "0", "--media-tcp-port", "0", "--turn=false", "--load-test",
		"--join-rate", "1000", "--data", b.TempDir(), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PALABRE_TEST_MAIN=1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the server did not come up:\n%s", logs.String())
		}
	}
	var f idleFigures
	f.baseRSS = vmRSS(b, cmd.Process.Pid)
	f.empty = scrapeMetrics(b, url)

	// The full server's /metrics, read while the participants are there:
	// once the load tester says they all joined, and it measures.
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		scraping := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "all ") && !scraping {
				scraping = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(5 * time.Second)
					f.full = scrapeMetrics(b, url)
				}()
			}
		}
	}()
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: url, ServerPID: cmd.Process.Pid, Rooms: rooms, Listeners: per, Speakers: 0,
		Duration: 10 * time.Second, JoinRate: 300, Light: true, LightIP: "127.0.0.1", Progress: pw,
	})
	pw.Close()
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if res.JoinFailures != 0 || res.Participants != rooms*per || res.ServerRSSBytes == nil || f.full == nil {
		b.Fatalf("%d of %d participants, %d join failures, server RSS known: %v, metrics read: %v",
			res.Participants, rooms*per, res.JoinFailures, res.ServerRSSBytes != nil, f.full != nil)
	}
	f.rss = *res.ServerRSSBytes
	return f
}

// vmRSS is a process's resident set, in bytes.
func vmRSS(b *testing.B, pid int) float64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib float64
			if _, err := fmt.Sscan(rest, &kib); err != nil {
				b.Fatal(err)
			}
			return kib * 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}

// scrapeMetrics reads the server's gauges of interest from its /metrics.
func scrapeMetrics(b *testing.B, url string) map[string]float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines":
			v, err := strconv.ParseFloat(value, 64)
			if err == nil {
				m[name] = v
			}
		}
	}
	return m
}
