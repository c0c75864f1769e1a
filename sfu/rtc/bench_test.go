package rtc

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"golang.org/x/sys/unix"
)

// The send benchmarks fan one audio packet out to N receivers that live in
// another process (the test binary run again as a sink, RTC_SINK=N), each
// on its own loopback socket, drained as a peer would. Pin the benchmark
// and the sink to different CPUs for figures that are the sender's alone:
//
//	flock /tmp/palabre-bench.lock taskset -c 0 go test -run '^$' -bench 'Send|Floor' -benchmem ./sfu/rtc/
//
// (RTC_SINK_CPU, default 1, is the sink's CPU.) cpu-ns/pkt is the
// benchmark process's CPU time per packet out (the sink's is not in it):
// on a machine shared with other work it moves less than ns/pkt.

func init() {
	if n, err := strconv.Atoi(os.Getenv("RTC_SINK")); err == nil && n > 0 {
		runSink(n)
		os.Exit(0)
	}
}

// runSink opens n sockets, prints their ports, drains them until stdin
// closes.
func runSink(n int) {
	cpu := 1
	if s := os.Getenv("RTC_SINK_CPU"); s != "" {
		cpu, _ = strconv.Atoi(s)
	}
	if cpu >= 0 && cpu < runtime.NumCPU() {
		var set unix.CPUSet
		set.Set(cpu)
		_ = unix.SchedSetaffinity(0, &set)
	}
	runtime.GOMAXPROCS(1)
	out := bufio.NewWriter(os.Stdout)
	for range n {
		s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			panic(err)
		}
		_ = s.SetReadBuffer(1 << 20)
		fmt.Fprintln(out, s.LocalAddr().(*net.UDPAddr).Port)
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := s.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
			}
		}()
	}
	out.Flush()
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the benchmark ends
}

// startSink starts the sink process and returns its n addresses.
func startSink(b *testing.B, n int) []netip.AddrPort {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "RTC_SINK="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	addrs := make([]netip.AddrPort, 0, n)
	for len(addrs) < n && sc.Scan() {
		port, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			b.Fatal(err)
		}
		addrs = append(addrs, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	}
	if len(addrs) != n {
		b.Fatalf("sink gave %d addresses", len(addrs))
	}
	return addrs
}

type nopHandler struct{}

func (nopHandler) HandleRTP(*Conn, *rtp.Packet, []byte) {}
func (nopHandler) HandleRTCP(*Conn, []byte)             {}
func (nopHandler) StateChanged(*Conn, State)            {}

// benchProfile is the profile browsers pick (and the engine prefers).
const benchProfile = srtp.ProtectionProfileAeadAes128Gcm

func randomKeys(profile srtp.ProtectionProfile) srtp.SessionKeys {
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	k := srtp.SessionKeys{LocalMasterKey: make([]byte, kl), LocalMasterSalt: make([]byte, sl),
		RemoteMasterKey: make([]byte, kl), RemoteMasterSalt: make([]byte, sl)}
	for _, b := range [][]byte{k.LocalMasterKey, k.LocalMasterSalt, k.RemoteMasterKey, k.RemoteMasterSalt} {
		_, _ = rand.Read(b)
	}
	return k
}

// connectedConn is a server connection to to with SRTP keys set, as after
// a handshake, without one (the send path is what is measured).
func connectedConn(tb testing.TB, e *Engine, to netip.AddrPort) *Conn {
	tb.Helper()
	c := e.newConn(nopHandler{}, false)
	if err := e.add(c); err != nil {
		tb.Fatal(err)
	}
	k, err := newKeys(benchProfile, randomKeys(benchProfile))
	if err != nil {
		tb.Fatal(err)
	}
	c.keys.Store(k)
	c.path.Store(&path{ap: to, udp: udpAddr(to)})
	c.state.Store(int32(StateConnected))
	return c
}

// audioPacket is what the forwarder writes: an 80-byte Opus frame with one
// CSRC (the speaker) and the audio level.
func audioPacket() (*rtp.Header, []byte) {
	h := &rtp.Header{Version: 2, PayloadType: opusPT, SSRC: 0x5105, CSRC: []uint32{7}}
	if err := h.SetExtension(levelExt, []byte{0x80 | 30}); err != nil {
		panic(err)
	}
	return h, make([]byte, 80)
}

// BenchmarkFloor is the unavoidable cost of forwarding one audio packet:
// SRTP-encrypt it and send it in one UDP datagram. receivers=1 is the
// floor of the issue (the same sink, the same context, hot in every
// cache); receivers=N sends round-robin to N sinks with a context each,
// what a fan-out to N listeners cannot avoid either: on loopback the
// kernel's delivery to N sockets (and their readers' wake-ups) is charged
// to the sender's system calls, and costs more per datagram than to one.
// The send benchmarks' cost per packet is to be compared with it, in the
// same run.
func BenchmarkFloor(b *testing.B) {
	for _, n := range []int{1, 2000} {
		b.Run(fmt.Sprintf("receivers=%d", n), func(b *testing.B) { benchFloor(b, n) })
	}
}

func benchFloor(b *testing.B, n int) {
	to := startSink(b, n)
	kl, _ := benchProfile.KeyLen()
	sl, _ := benchProfile.SaltLen()
	ctxs := make([]*srtp.Context, n)
	for i := range ctxs {
		key := make([]byte, kl)
		key[0], key[1] = byte(i), byte(i>>8)
		ctx, err := srtp.CreateContext(key, make([]byte, sl), benchProfile)
		if err != nil {
			b.Fatal(err)
		}
		ctxs[i] = ctx
	}
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	hdr, payload := audioPacket()
	plain := make([]byte, 0, 1500)
	out := make([]byte, 1500)
	var scratch rtp.Header
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		k := i % n
		hdr.SequenceNumber = uint16(i / n)
		m, _ := hdr.MarshalTo(plain[:cap(plain)])
		plain = append(plain[:m], payload...)
		enc, err := ctxs[k].EncryptRTP(out[:0], plain, &scratch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WriteToUDPAddrPort(enc, to[k]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/pkt")
}

// cpuTime is the process's CPU time (user and system), in nanoseconds:
// on a machine shared with other work, wall time per packet measures the
// scheduler as much as the code, CPU time much less.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSend fans one packet out to N receivers through the engine's
// connections: one sendto per packet (Conn.WriteRTP) against sendmmsg
// batches (Batch, flushed at the end of each fan-out). One operation is
// one fan-out; ns/pkt is per packet out. 0 allocations per fan-out.
func BenchmarkSend(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 2000} {
		addrs := startSink(b, n)
		e := newTestEngine(b, Config{})
		conns := make([]*Conn, n)
		for i, a := range addrs {
			conns[i] = connectedConn(b, e, a)
		}
		hdr, payload := audioPacket()
		for _, mode := range []string{"sendto", "sendmmsg"} {
			b.Run(fmt.Sprintf("%s/receivers=%d", mode, n), func(b *testing.B) {
				batch := e.NewBatch()
				before := e.Stats()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := range b.N {
					hdr.SequenceNumber = uint16(i)
					hdr.Timestamp = uint32(i) * 960
					for _, c := range conns {
						var err error
						if mode == "sendto" {
							err = c.WriteRTP(hdr, payload)
						} else {
							err = batch.WriteRTP(c, hdr, payload)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					if err := batch.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				after := e.Stats()
				if out := after.PacketsOut - before.PacketsOut; out != uint64(b.N*n) || after.SendErrors != before.SendErrors {
					b.Fatalf("%d packets out, %d send errors, want %d", out, after.SendErrors-before.SendErrors, b.N*n)
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/pkt")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
			})
		}
		_ = e.Close()
	}
}

// BenchmarkReceive is the reader's work for one incoming audio packet:
// demultiplex by address, check the SSRC, decrypt in place, hand over.
func BenchmarkReceive(b *testing.B) {
	e := newTestEngine(b, Config{})
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	c := connectedConn(b, e, from)
	e.mu.Lock()
	c.addrs[0] = addrEntry{ap: from}
	c.naddrs = 1
	e.byAddr[from] = c
	e.mu.Unlock()
	// The peer's sender has our keys swapped; our in-context replays
	// nothing (the benchmark decrypts the same packets again and again).
	keys := randomKeys(benchProfile)
	in, err := srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, benchProfile)
	if err != nil {
		b.Fatal(err)
	}
	sender, err := srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, benchProfile)
	if err != nil {
		b.Fatal(err)
	}
	c.keys.Store(&srtpKeys{profile: benchProfile, in: in, out: c.keys.Load().out})
	// The reader's work, not the flood budget's: a rate no peer reaches.
	c.SetRates(Rates{RTP: 1e9, RTPBurst: 1e9, Control: 1e9, ControlBurst: 1e9})
	hdr, payload := audioPacket()
	hdr.SSRC = 0xA11CE
	pkts := make([][]byte, 1<<12)
	for i := range pkts {
		hdr.SequenceNumber = uint16(i)
		plain, _ := (&rtp.Packet{Header: *hdr, Payload: payload}).Marshal()
		enc, err := sender.EncryptRTP(nil, plain, nil)
		if err != nil {
			b.Fatal(err)
		}
		pkts[i] = enc
	}
	s := &socket{e: e}
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		n := copy(buf, pkts[i%len(pkts)])
		s.handle(buf[:n], from)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if e.Stats().PacketsIn != uint64(b.N) {
		b.Fatalf("%d packets in, want %d: %+v", e.Stats().PacketsIn, b.N, e.Stats())
	}
}

// BenchmarkCheck is the reader's work for one valid ICE check: parse,
// ufrag lookup, FINGERPRINT and MESSAGE-INTEGRITY, the answer (sent).
func BenchmarkCheck(b *testing.B) {
	e := newTestEngine(b, Config{})
	c, err := e.NewConn(nopHandler{})
	if err != nil {
		b.Fatal(err)
	}
	sink := startSink(b, 1)[0]
	req := buildCheck(b, c.ufrag+":peer", c.pwd, true)
	s := &socket{e: e, conn: e.sock.conn}
	buf := make([]byte, len(req), len(req)+64)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		copy(buf, req)
		s.handle(buf, sink)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if e.Stats().Checks != uint64(b.N) {
		b.Fatalf("%d checks answered, want %d", e.Stats().Checks, b.N)
	}
}
