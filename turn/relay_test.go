package turn

import (
	"io"
	"net"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// RFC 6062 TCP relays are refused unless enabled.
func TestTCPRelaysOffByDefault(t *testing.T) {
	s := startServer(t, testConfig())
	user, pass := s.Credentials("alice", time.Hour)
	c := dialClient(t, s, overTCP, user, pass)
	if _, err := c.AllocateTCP(); err == nil {
		t.Fatal("TCP relay allocated")
	}
	if st := s.Stats(); st.Allocations != 0 {
		t.Errorf("stats %+v", st)
	}
	// The connection still serves UDP relays.
	if _, err := allocate(t, c); err != nil {
		t.Fatalf("UDP relay on the same connection: %v", err)
	}
}

// With TCP relays on, the relay policy applies to them too, and a client
// reaches a TCP echo on the server's own address through one.
func TestTCPRelay(t *testing.T) {
	cfg := testConfig()
	cfg.TCPRelays = true
	s := startServer(t, cfg)
	echo := tcpEcho(t, testIP+":0")
	user, pass := s.Credentials("alice", time.Hour)
	c := dialClient(t, s, overTCP, user, pass)
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatalf("AllocateTCP: %v", err)
	}
	defer alloc.Close()
	for _, a := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1"} {
		err := c.CreatePermission(&net.TCPAddr{IP: net.ParseIP(a), Port: 80})
		if code := turnCode(err); code != 403 {
			t.Errorf("CreatePermission(%s) on a TCP relay: %v (code %d), want 403", a, err, code)
		}
	}
	conn, err := alloc.Dial("tcp", echo.String())
	if err != nil {
		t.Fatalf("Dial through the relay: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the TCP relay: %q, %v", buf, err)
	}
}

// Relayed traffic to the server's own address never reaches the TURN ports
// and, with OwnPorts, only those ports. (All peers here are echo sockets on
// 127.0.0.2.)
func TestOwnPorts(t *testing.T) {
	media := udpEcho(t, testIP+":0")
	other := udpEcho(t, testIP+":0")
	cases := []struct {
		name     string
		ownPorts []int
		peer     func(s *Server) *net.UDPAddr
		relayed  bool
	}{
		{"any port without OwnPorts", nil, func(*Server) *net.UDPAddr { return other }, true},
		{"media port", []int{media.Port}, func(*Server) *net.UDPAddr { return media }, true},
		{"other port", []int{media.Port}, func(*Server) *net.UDPAddr { return other }, false},
		{"TURN port", nil, func(s *Server) *net.UDPAddr { return s.UDPAddr() }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.OwnPorts = c.ownPorts
			s := startServer(t, cfg)
			user, pass := s.Credentials("alice", time.Hour)
			relay, err := allocate(t, dialClient(t, s, overUDP, user, pass))
			if err != nil {
				t.Fatal(err)
			}
			err = roundTrip(relay, c.peer(s), "hello", 300*time.Millisecond)
			if c.relayed && err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if !c.relayed {
				if err == nil {
					t.Fatal("relayed to a refused port")
				}
				testkit.Eventually(t, 5*time.Second, "the refusal count", func() bool { return s.Stats().RelayPortRefused > 0 })
			}
		})
	}
}

// tcpEcho starts a TCP echo server on addr.
func tcpEcho(t *testing.T, addr string) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 16)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr)
}
