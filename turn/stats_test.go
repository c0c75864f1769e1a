package turn

import (
	"io"
	"net"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// Each counter of Stats counts what it says, UDP and TCP relays together.
func TestStats(t *testing.T) {
	cfg := testConfig()
	cfg.TCPRelays = true
	cfg.MaxAllocationsPerUser = 2
	s := startServer(t, cfg)
	echo := udpEcho(t, net.JoinHostPort(testIP, "0"))
	tcpEchoAddr := tcpEcho(t, testIP+":0")
	if st := s.Stats(); st != (Stats{}) {
		t.Fatalf("a new server's stats: %+v", st)
	}

	// A UDP relay: 11 bytes out, 11 back.
	user, pass := s.Credentials("alice", time.Hour)
	c := dialClient(t, s, overUDP, user, pass)
	relay, err := allocate(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePermission(echo); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(relay, echo, "hello relay", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	// A TCP relay over a TCP connection: 4 bytes out, 4 back.
	tc := dialClient(t, s, overTCP, user, pass)
	alloc, err := tc.AllocateTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer alloc.Close()
	conn, err := alloc.Dial("tcp", tcpEchoAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	// Refusals: a wrong password, a quota, a peer, a port.
	if _, err := allocate(t, dialClient(t, s, overUDP, user, "wrong")); turnCode(err) != 401 {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); turnCode(err) != 486 {
		t.Fatalf("third allocation of alice: %v, want 486", err)
	}
	if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}); turnCode(err) != 403 {
		t.Fatalf("permission to 10.0.0.1: %v, want 403", err)
	}
	if _, err := relay.WriteTo([]byte("loop"), s.UDPAddr()); err != nil {
		t.Fatal(err)
	}

	want := Stats{
		Allocations: 2, AllocationsTotal: 2,
		Conns:        2, // the TCP client's control connection and its RFC 6062 data connection
		AuthFailures: 1, QuotaRefused: 1, PermissionsRefused: 1, RelayPortRefused: 1,
		RelayBytesToPeers: 11 + 4, RelayBytesFromPeers: 11 + 4,
	}
	testkit.Eventually(t, 5*time.Second, "the stats", func() bool { return s.Stats() == want })

	alloc.Close()
	_ = conn.Close()
	tc.Close()
	_ = relay.Close()
	testkit.Eventually(t, 5*time.Second, "the allocations gone", func() bool {
		st := s.Stats()
		return st.Allocations == 0 && st.AllocationsTotal == 2
	})
}
