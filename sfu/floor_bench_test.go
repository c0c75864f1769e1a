package sfu

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// BenchmarkFloor is the unavoidable cost of forwarding one audio packet:
// SRTP-encrypt a ~100-byte RTP packet and send it in one UDP datagram to a
// loopback socket (drained by another goroutine, as a real peer would).
// BenchmarkForward's cost per packet out is reported as a ratio of this,
// measured in the same run on the same machine.
//
// pion peers negotiate AEAD_AES_256_GCM first; browsers pick between the
// GCM profiles and AES128_CM_HMAC_SHA1_80, so all three are measured.
func BenchmarkFloor(b *testing.B) {
	profiles := []struct {
		name    string
		profile srtp.ProtectionProfile
	}{
		{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
		{"AES128_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	}
	for _, p := range profiles {
		b.Run(p.name, func(b *testing.B) { benchFloor(b, p.profile) })
	}
}

func benchFloor(b *testing.B, profile srtp.ProtectionProfile) {
	keyLen, err := profile.KeyLen()
	if err != nil {
		b.Fatal(err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, err := srtp.CreateContext(make([]byte, keyLen), make([]byte, saltLen), profile)
	if err != nil {
		b.Fatal(err)
	}

	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	defer func() { recv.Close(); <-drained; send.Close() }()
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())

	// An Opus frame with the audio-level extension and one CSRC, as the
	// forwarder writes it.
	hdr := rtp.Header{Version: 2, PayloadType: 111, SSRC: 0x1234, CSRC: []uint32{7}, Timestamp: 960}
	if err := hdr.SetExtension(1, []byte{0x1e}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 80)
	plain := make([]byte, 0, 1500)
	out := make([]byte, 0, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		hdr.SequenceNumber++
		hdr.Timestamp += 960
		n, err := hdr.MarshalTo(plain[:cap(plain)])
		if err != nil {
			b.Fatal(err)
		}
		pkt := append(plain[:n], payload...)
		enc, err := ctx.EncryptRTP(out[:0], pkt, &hdr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := send.WriteToUDPAddrPort(enc, to); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorFanout is the floor under the conditions of a real fan-out:
// one burst of N encrypted packets, one per receiver socket, every 20 ms
// (a speaker's packet rate), to N sockets drained by another process, as
// the load generator's clients are. On loopback the sender's system call
// also pays for delivering the datagram and waking the receiver, so this
// floor is much higher than BenchmarkFloor's; it is the one to compare with
// `palabre loadtest`'s server_cpu_us_per_packet. It reports the sender's
// CPU time per packet (getrusage), not wall time. Pin it like the load
// test: taskset -c 0 go test -bench FloorFanout (the sink goes to CPU 1).
func BenchmarkFloorFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("receivers=%d", n), func(b *testing.B) { benchFloorFanout(b, n) })
	}
}

func benchFloorFanout(b *testing.B, n int) {
	sink, ports := startSink(b, n)
	defer sink()
	ctx, err := srtp.CreateContext(make([]byte, 32), make([]byte, 12), srtp.ProtectionProfileAeadAes256Gcm)
	if err != nil {
		b.Fatal(err)
	}
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer send.Close()
	dests := make([]netip.AddrPort, n)
	for i, p := range ports {
		dests[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), p)
	}
	hdrs := make([]rtp.Header, n)
	for i := range hdrs {
		hdrs[i] = rtp.Header{Version: 2, PayloadType: 111, SSRC: uint32(i + 1), CSRC: []uint32{7}}
		if err := hdrs[i].SetExtension(1, []byte{0x1e}); err != nil {
			b.Fatal(err)
		}
	}
	payload := make([]byte, 80)
	plain := make([]byte, 1500)
	out := make([]byte, 0, 1500)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		<-tick.C
		for i := range hdrs {
			h := &hdrs[i]
			h.SequenceNumber++
			h.Timestamp += 960
			m, err := h.MarshalTo(plain)
			if err != nil {
				b.Fatal(err)
			}
			pkt := append(plain[:m], payload...)
			enc, err := ctx.EncryptRTP(out[:0], pkt, h)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := send.WriteToUDPAddrPort(enc, dests[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/pkt")
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startSink re-executes the test binary as a sink process (pinned to CPU 1
// when taskset is there) that drains n UDP sockets; it returns a stop
// function and the sockets' ports.
func startSink(b *testing.B, n int) (stop func(), ports []uint16) {
	b.Helper()
	name, args := os.Args[0], []string{"-test.run=^$"}
	if path, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() > 1 {
		name, args = path, append([]string{"-c", "1", os.Args[0]}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SFU_SINK="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() { stdin.Close(); cmd.Wait() }
	if err := json.NewDecoder(stdout).Decode(&ports); err != nil || len(ports) != n {
		stop()
		b.Fatalf("sink: %v (%d ports)", err, len(ports))
	}
	return stop, ports
}

// runSink is the sink process: n sockets, each drained by a goroutine,
// until standard input closes.
func runSink(arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		panic(err)
	}
	ports := make([]uint16, n)
	for i := range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			panic(err)
		}
		ports[i] = uint16(c.LocalAddr().(*net.UDPAddr).Port)
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
			}
		}()
	}
	json.NewEncoder(os.Stdout).Encode(ports)
	io.Copy(io.Discard, os.Stdin)
}
