package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// udpTargets opens n UDP sockets on ip that count the datagrams they get.
func udpTargets(t *testing.T, ip net.IP, n int) (ports []int, got *atomic.Int32) {
	t.Helper()
	got = new(atomic.Int32)
	for range n {
		s, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ports = append(ports, s.LocalAddr().(*net.UDPAddr).Port)
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.ReadFrom(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	return ports, got
}

// tcpTargets opens n TCP listeners on ip that count the connections made.
func tcpTargets(t *testing.T, ip string, n int) (ports []int, got *atomic.Int32) {
	t.Helper()
	got = new(atomic.Int32)
	for range n {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				got.Add(1)
				conn.Close()
			}
		}()
	}
	return ports, got
}

// A client's candidates must not make the server contact whatever they
// name. The Engine judges remote addresses as a public server does (its
// own address, 127.0.0.1, stays allowed: the honest clients use it) and
// allows 127.0.0.3 as an operator exception. The attacker names, before
// its answer so that ICE is still checking: 30 TCP passive candidates (the
// server must not dial), 30 UDP candidates on another "host" (127.0.0.2,
// refused: loopback is not public), the metadata service, private and
// non-IP addresses, then 30 UDP candidates on the allowed 127.0.0.3, of
// which only maxRemoteCandidates may be accepted.
func TestAttackCandidatesNameTargets(t *testing.T) {
	e, err := NewEngine(Config{
		MediaAddr: "127.0.0.1:0", MediaTCPAddr: "127.0.0.1:0", Slots: 3, Logger: testLogger(),
		AllowRemote: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}, forcePublic: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	h := newHonest(t, room)
	c := newClient(t, room, "attacker")

	tcpPorts, dials := tcpTargets(t, "127.0.0.2", 30)
	refusedPorts, refusedGot := udpTargets(t, net.IPv4(127, 0, 0, 2), 30)
	allowedPorts, allowedGot := udpTargets(t, net.IPv4(127, 0, 0, 3), 30)

	add := func(cand string) error {
		return c.part.AddCandidate(webrtc.ICECandidateInit{Candidate: cand})
	}
	for i, port := range tcpPorts {
		if err := add(fmt.Sprintf("candidate:%d 1 tcp 1518280447 127.0.0.2 %d typ host tcptype passive", 100+i, port)); err != nil {
			t.Errorf("TCP candidate: %v (ignored without an error: the server never dials)", err)
		}
	}
	refused := 0
	for i, port := range refusedPorts {
		if err := add(fmt.Sprintf("candidate:%d 1 udp 2122260223 127.0.0.2 %d typ host", 200+i, port)); errors.Is(err, ErrCandidateRefused) {
			refused++
		}
	}
	for _, bad := range []string{
		"candidate:1 1 udp 2122260223 169.254.169.254 80 typ host",
		"candidate:2 1 udp 2122260223 10.0.0.1 5000 typ host",
		"candidate:3 1 udp 2122260223 ::1 5000 typ host",
		"candidate:4 1 udp 2122260223 evil.example 5000 typ host",
		"candidate:5 1 udp 2122260223 127.0.0.3 0 typ host",
	} {
		if err := add(bad); !errors.Is(err, ErrCandidateRefused) {
			t.Errorf("%s: %v, want ErrCandidateRefused", bad, err)
		}
	}
	accepted, tooMany := 0, 0
	for i, port := range allowedPorts {
		switch err := add(fmt.Sprintf("candidate:%d 1 udp 2122260223 127.0.0.3 %d typ host", 300+i, port)); {
		case err == nil:
			accepted++
		case errors.Is(err, ErrTooManyCandidates):
			tooMany++
		default:
			t.Errorf("allowed candidate: %v", err)
		}
	}
	if err := c.part.SetAnswer(c.answer()); err != nil {
		t.Fatal(err)
	}
	c.waitConnected()
	time.Sleep(8 * time.Second) // pion checks a pair up to 7 times, backing off
	t.Logf("%d TCP passive candidates: %d connections; %d refused UDP candidates: %d datagrams to them; %d allowed UDP candidates accepted (%d too many): %d datagrams to them",
		len(tcpPorts), dials.Load(), refused, refusedGot.Load(), accepted, tooMany, allowedGot.Load())
	if dials.Load() != 0 {
		t.Errorf("the server dialled %d TCP candidates", dials.Load())
	}
	if refused != len(refusedPorts) || refusedGot.Load() != 0 {
		t.Errorf("%d of %d candidates on 127.0.0.2 refused, %d datagrams sent to them", refused, len(refusedPorts), refusedGot.Load())
	}
	if accepted > maxRemoteCandidates || accepted+tooMany != len(allowedPorts) {
		t.Errorf("%d candidates accepted, %d refused as too many", accepted, tooMany)
	}
	if n := allowedGot.Load(); n > int32(accepted)*8 {
		t.Errorf("%d datagrams to %d accepted candidates", n, accepted)
	}
	// (The attacker's own trickled candidates come on top, too many.)
	if st := e.Stats(); st.DropCandidate < uint64(refused+5+tooMany) {
		t.Errorf("DropCandidate = %d, want at least %d", st.DropCandidate, refused+5+tooMany)
	}
	h.check()
}
