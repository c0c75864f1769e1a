package rtc

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtp"
)

// TestIdleScale holds N idle participants in one engine and measures what
// they cost it. The engine runs alone in a child process (the test binary
// again, RTC_SCALE_SERVER=1, driven by JSON lines on stdin); the test
// process plays the participants with the client mode: each connects
// (ICE, DTLS, SRTP, one receiver report) and then only checks every 2.5 s,
// as Chromium does on a stable pair. Figures: memory (heap, stacks, RSS)
// per participant, the engine's goroutines at 0, N/2 and N participants
// (they must not grow), and its CPU over an idle window, per 1,000.
//
//	RTC_SCALE=10000 go test -run TestIdleScale -v -timeout 30m ./sfu/rtc/
//
// RTC_SCALE_WINDOW (default 30s) is the idle window. Without RTC_SCALE
// the test runs with 200 participants and a 3 s window, and checks the
// goroutines only.
func TestIdleScale(t *testing.T) {
	n, window, full := 200, 3*time.Second, false
	if s := os.Getenv("RTC_SCALE"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("RTC_SCALE=%q", s)
		}
		n, window, full = v, 30*time.Second, true
	}
	if s := os.Getenv("RTC_SCALE_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		window = d
	}
	if testing.Short() && !full {
		t.Skip("short")
	}
	srv := startScaleServer(t)
	base := srv.stats(t, true)
	ce := newTestEngine(t, Config{})
	var clients []*Conn
	connect := func(total int) {
		start, before := time.Now(), len(clients)
		for len(clients) < total {
			batch := min(100, total-len(clients))
			rep := srv.call(t, scaleRequest{Op: "open", N: batch})
			var remotes []scaleRemote
			for _, sc := range rep.Conns {
				c, err := ce.Dial(rep.Addr, Remote{Ufrag: sc.Ufrag, Pwd: sc.Pwd, Fingerprint: rep.Fingerprint, Setup: SetupActPass}, nopHandler{})
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
				ufrag, pwd := c.Credentials()
				remotes = append(remotes, scaleRemote{Server: sc.Ufrag, Ufrag: ufrag, Pwd: pwd, Fingerprint: ce.Fingerprint()})
			}
			srv.call(t, scaleRequest{Op: "answer", Remotes: remotes})
			// At most a few hundred handshakes at once.
			want := len(clients) - 200
			testkit.Eventually(t, 2*time.Minute, "connections", func() bool { return srv.stats(t, false).Connected >= want })
		}
		deadline := time.Now().Add(2 * time.Minute)
		for srv.stats(t, false).Connected != total {
			if time.Now().After(deadline) {
				states := map[State]int{}
				for _, c := range clients {
					states[c.State()]++
				}
				st := srv.stats(t, false)
				t.Fatalf("%d of %d connected; server %+v; clients by state %v; client engine %+v", st.Connected, total, st, states, ce.Stats())
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The DTLS sessions end with the clients' first RTCP (or the grace).
		testkit.Eventually(t, time.Minute, "DTLS sessions over", func() bool { return srv.stats(t, false).Sessions == 0 })
		el := time.Since(start)
		t.Logf("%d connected in %v (%.0f joins/s, both sides' handshakes on this machine)", total, el.Round(time.Millisecond), float64(total-before)/el.Seconds())
	}
	connect(n / 2)
	half := srv.stats(t, true)
	connect(n)
	time.Sleep(3 * time.Second) // a full round of checks
	full1 := srv.stats(t, true)
	time.Sleep(window)
	full2 := srv.stats(t, true)

	for _, c := range clients {
		if c.State() != StateConnected {
			t.Fatalf("a client is %v", c.State())
		}
	}
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) / 1024 }
	cpu := float64(full2.CPU-full1.CPU) / float64(window.Nanoseconds()) * 100
	checks := float64(full2.Checks-full1.Checks) / window.Seconds()
	t.Logf("engine with 0 / %d / %d participants: goroutines %d / %d / %d, heap in use %.1f / %.1f / %.1f MiB, RSS %.1f / %.1f / %.1f MiB",
		n/2, n, base.Goroutines, half.Goroutines, full2.Goroutines,
		mib(base.HeapInuse), mib(half.HeapInuse), mib(full2.HeapInuse), mib(base.RSS), mib(half.RSS), mib(full2.RSS))
	t.Logf("per participant: heap %.1f KiB, stacks %.2f KiB, RSS %.1f KiB", per(base.HeapInuse, full2.HeapInuse), per(base.StackInuse, full2.StackInuse), per(base.RSS, full2.RSS))
	t.Logf("idle: %.2f %% of a core for %d participants over %v (%.3f %% per 1,000), %.0f checks/s answered", cpu, n, window, cpu*1000/float64(n), checks)
	if full2.Goroutines > base.Goroutines+2 || half.Goroutines > base.Goroutines+2 {
		t.Fatalf("the engine's goroutines grow with participants: %d, %d, %d", base.Goroutines, half.Goroutines, full2.Goroutines)
	}
	if full2.Connected != n || full2.Failed != 0 {
		t.Fatalf("%d connected, %d failed at the end", full2.Connected, full2.Failed)
	}
	// Media still flows after all that idling: one packet each way on
	// a few connections.
	for i := range min(10, n) {
		hdr := &rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: 1, SSRC: 0xABC}
		if err := clients[i].WriteRTP(hdr, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 5*time.Second, "media at the engine", func() bool { return srv.stats(t, false).PacketsIn >= full2.PacketsIn+uint64(min(10, n)) })
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

type scaleRequest struct {
	Op      string        `json:"op"`
	N       int           `json:"n,omitempty"`
	Remotes []scaleRemote `json:"remotes,omitempty"`
	GC      bool          `json:"gc,omitempty"`
}

type scaleRemote struct {
	Server      string      `json:"server"` // the server connection's ufrag
	Ufrag       string      `json:"ufrag"`
	Pwd         string      `json:"pwd"`
	Fingerprint Fingerprint `json:"fp"`
}

type scaleConn struct{ Ufrag, Pwd string }

type scaleReply struct {
	Err         string         `json:"err,omitempty"`
	Addr        netip.AddrPort `json:"addr"`
	Fingerprint Fingerprint    `json:"fp"`
	Conns       []scaleConn    `json:"conns,omitempty"`
	scaleStats
}

type scaleStats struct {
	Goroutines                 int
	HeapInuse, StackInuse, RSS uint64
	CPU                        int64 // user+system nanoseconds
	Conns, Connected, Failed   int
	Sessions                   int
	Checks, PacketsIn          uint64
	Engine                     Stats
}

// scaleServer is the child process.
type scaleServer struct {
	cmd *exec.Cmd
	in  *json.Encoder
	out *bufio.Scanner
}

func startScaleServer(t *testing.T) *scaleServer {
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "RTC_SCALE_SERVER=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	s := &scaleServer{cmd: cmd, in: json.NewEncoder(stdin), out: bufio.NewScanner(stdout)}
	s.out.Buffer(make([]byte, 1<<20), 64<<20)
	return s
}

func (s *scaleServer) call(t *testing.T, req scaleRequest) scaleReply {
	t.Helper()
	if err := s.in.Encode(req); err != nil {
		t.Fatal(err)
	}
	if !s.out.Scan() {
		t.Fatalf("scale server: %v", s.out.Err())
	}
	var rep scaleReply
	if err := json.Unmarshal(s.out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Err != "" {
		t.Fatal(rep.Err)
	}
	return rep
}

func (s *scaleServer) stats(t *testing.T, gc bool) scaleStats {
	t.Helper()
	return s.call(t, scaleRequest{Op: "stats", GC: gc}).scaleStats
}

func init() {
	if os.Getenv("RTC_SCALE_SERVER") == "1" {
		runScaleServer()
		os.Exit(0)
	}
}

// scaleHandler counts the states of the server's connections.
type scaleHandler struct{ connected, failed atomic.Int64 }

func (h *scaleHandler) HandleRTP(*Conn, *rtp.Packet, []byte) {}
func (h *scaleHandler) HandleRTCP(*Conn, []byte)             {}
func (h *scaleHandler) StateChanged(_ *Conn, s State) {
	switch s {
	case StateConnected:
		h.connected.Add(1)
	case StateDisconnected:
		h.connected.Add(-1)
	case StateFailed:
		h.failed.Add(1)
	}
}

func runScaleServer() {
	e, err := NewEngine(Config{Addr: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	h := &scaleHandler{}
	conns := map[string]*Conn{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req scaleRequest
		var rep scaleReply
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		switch req.Op {
		case "open":
			rep.Addr, rep.Fingerprint = e.Addr(), e.Fingerprint()
			for range req.N {
				c, err := e.NewConn(h)
				if err != nil {
					rep.Err = err.Error()
					break
				}
				u, p := c.Credentials()
				conns[u] = c
				rep.Conns = append(rep.Conns, scaleConn{u, p})
			}
		case "answer":
			for _, r := range req.Remotes {
				c := conns[r.Server]
				if c == nil {
					rep.Err = "unknown ufrag " + r.Server
					break
				}
				if err := c.SetRemote(Remote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint, Setup: SetupActive}); err != nil {
					rep.Err = err.Error()
				}
			}
		case "stats":
			if req.GC {
				runtime.GC()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			st := e.Stats()
			sessions := 0
			for _, c := range conns {
				if c.hasSession() {
					sessions++
				}
			}
			rep.scaleStats = scaleStats{
				Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rss(),
				CPU:   ru.Utime.Nano() + ru.Stime.Nano(),
				Conns: st.Conns, Connected: int(h.connected.Load()), Failed: int(h.failed.Load()),
				Sessions: sessions, Checks: st.Checks, PacketsIn: st.PacketsIn, Engine: st,
			}
		default:
			rep.Err = "unknown op " + req.Op
		}
		if err := out.Encode(rep); err != nil {
			panic(err)
		}
	}
}

// rss is the process's resident set, from /proc/self/statm.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
