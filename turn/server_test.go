package turn

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
	"go.uber.org/goleak"

	"palabre/internal/testkit"
)

// An allocation with valid credentials succeeds over UDP, TCP and TLS, the
// client may create a permission for the server's own address, and data
// goes through the relay to an echo socket there and back.
func TestAllocateAndRelay(t *testing.T) {
	cfg := testConfig()
	cfg.TLSPort = -1
	cfg.TLSConfig = testTLSConfig()
	s := startServer(t, cfg)
	echo := udpEcho(t, net.JoinHostPort(testIP, "0"))

	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		t.Run(string(tr), func(t *testing.T) {
			user, pass := s.Credentials("alice-"+string(tr), time.Hour)
			c := dialClient(t, s, tr, user, pass)
			relay, err := allocate(t, c)
			if err != nil {
				t.Fatalf("Allocate: %v", err)
			}
			ra := relay.LocalAddr().(*net.UDPAddr)
			if ra.IP.String() != testIP || ra.Port < DefaultRelayPortMin {
				t.Errorf("relayed address %v, want %s in the default range", ra, testIP)
			}
			if err := c.CreatePermission(echo); err != nil {
				t.Fatalf("CreatePermission(%v): %v", echo, err)
			}
			if err := roundTrip(relay, echo, "hello "+string(tr), 2*time.Second); err != nil {
				t.Fatalf("relay round trip: %v", err)
			}
		})
	}
	st := s.Stats()
	if st.AllocationsTotal != 3 || st.AuthFailures != 0 || st.PermissionsRefused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// With PublicIPs, XOR-RELAYED-ADDRESS carries the public address while the
// relay binds RelayIP, within the relay port range. (Nothing is sent to the
// announced address.)
func TestPublicIPAndPortRange(t *testing.T) {
	cfg := testConfig()
	cfg.PublicIPs = []string{"2001:db8::7", "203.0.113.7"}
	cfg.RelayPortMin, cfg.RelayPortMax = 61000, 61099
	s := startServer(t, cfg)
	user, pass := s.Credentials("bob", time.Hour)
	relay, err := allocate(t, dialClient(t, s, overUDP, user, pass))
	if err != nil {
		t.Fatal(err)
	}
	ra := relay.LocalAddr().(*net.UDPAddr)
	if ra.IP.String() != "203.0.113.7" || ra.Port < 61000 || ra.Port > 61099 {
		t.Fatalf("relayed address %v, want 203.0.113.7:61000-61099", ra)
	}
	// The relay really is bound on RelayIP.
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(testIP, itoa(ra.Port)))
	if err == nil {
		_ = pc.Close()
		t.Fatalf("port %d is free on %s: the relay is not bound there", ra.Port, testIP)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestURLs(t *testing.T) {
	plain := startServer(t, testConfig())
	cfg := testConfig()
	cfg.TLSPort = -1
	cfg.TLSConfig = testTLSConfig()
	withTLS := startServer(t, cfg)
	p, tp := itoa(plain.UDPAddr().Port), itoa(withTLS.UDPAddr().Port)
	ts := itoa(withTLS.TLSAddr().Port)
	if plain.UDPAddr().Port != plain.TCPAddr().Port {
		t.Logf("UDP and TCP ports differ: %v %v", plain.UDPAddr(), plain.TCPAddr())
	}
	pt := itoa(plain.TCPAddr().Port)
	tt := itoa(withTLS.TCPAddr().Port)
	cases := []struct {
		s    *Server
		host string
		want []string
	}{
		{plain, "example.com", []string{"turn:example.com:" + p + "?transport=udp", "turn:example.com:" + pt + "?transport=tcp"}},
		{plain, "example.com:8443", []string{"turn:example.com:" + p + "?transport=udp", "turn:example.com:" + pt + "?transport=tcp"}},
		{plain, "192.0.2.1", []string{"turn:192.0.2.1:" + p + "?transport=udp", "turn:192.0.2.1:" + pt + "?transport=tcp"}},
		{plain, "::1", []string{"turn:[::1]:" + p + "?transport=udp", "turn:[::1]:" + pt + "?transport=tcp"}},
		{plain, "[::1]", []string{"turn:[::1]:" + p + "?transport=udp", "turn:[::1]:" + pt + "?transport=tcp"}},
		{plain, "[2001:db8::1]:443", []string{"turn:[2001:db8::1]:" + p + "?transport=udp", "turn:[2001:db8::1]:" + pt + "?transport=tcp"}},
		{withTLS, "turn.example.org", []string{
			"turn:turn.example.org:" + tp + "?transport=udp",
			"turn:turn.example.org:" + tt + "?transport=tcp",
			"turns:turn.example.org:" + ts + "?transport=tcp",
		}},
	}
	for _, c := range cases {
		if got := c.s.URLs(c.host); !slices.Equal(got, c.want) {
			t.Errorf("URLs(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}

func TestSamePortForUDPAndTCP(t *testing.T) {
	s := startServer(t, testConfig())
	if s.UDPAddr().Port != s.TCPAddr().Port {
		t.Errorf("UDP %v and TCP %v on different ports", s.UDPAddr(), s.TCPAddr())
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secret", func(c *Config) { c.Secret = nil }, "Secret"},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "Secret"},
		{"bad listen ip", func(c *Config) { c.ListenIP = "localhost" }, "ListenIP"},
		{"unspecified relay ip", func(c *Config) { c.ListenIP = "0.0.0.0" }, "RelayIP"},
		{"bad relay ip", func(c *Config) { c.RelayIP = "300.1.1.1" }, "RelayIP"},
		{"two public ipv4", func(c *Config) { c.PublicIPs = []string{"192.0.2.1", "192.0.2.2"} }, "more than one"},
		{"public ip of other family", func(c *Config) { c.PublicIPs = []string{"2001:db8::1"} }, "none of RelayIP's family"},
		{"bad public ip", func(c *Config) { c.PublicIPs = []string{"x"} }, "PublicIPs"},
		{"tls without config", func(c *Config) { c.TLSPort = 5349 }, "TLSConfig"},
		{"port range reversed", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 60000, 50000 }, "relay port range"},
		{"port out of range", func(c *Config) { c.Port = 70000 }, "port out of range"},
		{"own port", func(c *Config) { c.OwnPorts = []int{0} }, "OwnPorts"},
		{"invalid prefix", func(c *Config) { c.AllowPeers = []netip.Prefix{{}} }, "prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			c.edit(&cfg)
			s, err := New(cfg)
			if err == nil {
				_ = s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// Wildcard listening is fine when the relay address is specific.
func TestWildcardListen(t *testing.T) {
	cfg := testConfig()
	cfg.ListenIP = "0.0.0.0"
	cfg.RelayIP = testIP
	s := startServer(t, cfg)
	if !s.UDPAddr().IP.IsUnspecified() {
		t.Errorf("UDP listener on %v", s.UDPAddr())
	}
}

// A dual-stack listener with an IPv4 relay gives IPv4 relays to IPv6
// clients that name no address family, as browsers do. (One that asks for
// IPv6 explicitly is refused: the relay has no IPv6 address.)
func TestDualStackListenerIPv4Relay(t *testing.T) {
	if pc, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		_ = pc.Close()
	}
	cfg := testConfig()
	cfg.ListenIP = "::"
	cfg.RelayIP = testIP
	s := startServer(t, cfg)
	echo := udpEcho(t, net.JoinHostPort(testIP, "0"))
	for _, tr := range []transport{overUDP, overTCP} {
		user, pass := s.Credentials("v6client", time.Hour)
		c, conn := dialClientConn(t, s, tr, user, pass, func(cc *pturn.ClientConfig) {
			cc.RequestedAddressFamily = pturn.RequestedAddressFamilyIPv4 // i.e. none: IPv4 is the default
		})
		if ip := addrIP(conn.LocalAddr()); !ip.Is6() {
			t.Fatalf("client on %v, want IPv6", ip)
		}
		relay, err := allocate(t, c)
		if err != nil {
			t.Fatalf("%s: Allocate: %v", tr, err)
		}
		if ra := relay.LocalAddr().(*net.UDPAddr); ra.IP.String() != testIP {
			t.Errorf("%s: relayed address %v", tr, ra)
		}
		if err := roundTrip(relay, echo, "hello", 2*time.Second); err != nil {
			t.Errorf("%s: round trip: %v", tr, err)
		}
	}
	user, pass := s.Credentials("v6only", time.Hour)
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err == nil {
		t.Error("an IPv6 relay was allocated")
	}
}

// Close closes the TCP connections pion accepted, the handshakes in
// progress and the relays, and leaves no goroutine behind.
func TestCloseLeavesNothing(t *testing.T) {
	before := goleak.IgnoreCurrent()
	rec := &logRecorder{}
	cfg := testConfig()
	cfg.TLSPort = -1
	cfg.TLSConfig = testTLSConfig()
	cfg.TCPRelays = true
	cfg.Logger = slog.New(rec)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// Live allocations over every transport, a TCP relay, an idle TCP
	// connection and a TLS connection that never handshakes.
	var cleanup []func()
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		user, pass := s.Credentials("carol", time.Hour)
		c, conn := dialClientConn(t, s, tr, user, pass)
		relay, err := c.Allocate()
		if err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
		cleanup = append(cleanup, func() { _ = relay.Close(); c.Close(); _ = conn.Close() })
	}
	user, pass := s.Credentials("dave", time.Hour)
	tc, tconn := dialClientConn(t, s, overTCP, user, pass)
	alloc, err := tc.AllocateTCP()
	if err != nil {
		t.Fatalf("AllocateTCP: %v", err)
	}
	cleanup = append(cleanup, func() { _ = alloc.Close(); tc.Close(); _ = tconn.Close() })
	idle, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	handshaking, err := net.Dial("tcp", s.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer handshaking.Close()
	testkit.Eventually(t, 5*time.Second, "4 allocations", func() bool { return s.Stats().Allocations == 4 })

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, m := range rec.messages() {
		if strings.Contains(m, "timed out") {
			t.Errorf("log: %s", m)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The server closed its side of the raw connections.
	for _, c := range []net.Conn{idle, handshaking} {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
			t.Errorf("read on %v after Close: %v, want EOF", c.RemoteAddr(), err)
		}
	}
	// The clients' own goroutines go away with the clients; what is left
	// would be the server's.
	for _, f := range cleanup {
		f()
	}
	// pion reports the deletion of an allocation from the goroutine that
	// read its relay, which may run just after the socket was let go and
	// Close returned: the count reaches 0 shortly after (like goleak, which
	// retries too).
	testkit.Eventually(t, 5*time.Second, "no allocation live after Close", func() bool { return s.Stats().Allocations == 0 })
	goleak.VerifyNone(t, before)
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "closed"))
}

// The TCP and TLS connections of one IP are capped.
func TestConnsPerIP(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 2
	s := startServer(t, cfg)
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	_ = conns[2].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conns[2].Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("third connection: read %v, want EOF", err)
	}
	if got := s.Stats().ConnsRefused; got != 1 {
		t.Errorf("ConnsRefused = %d, want 1", got)
	}
	// Closing one makes room.
	_ = conns[0].Close()
	testkit.Eventually(t, 5*time.Second, "a free slot", func() bool {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		return err != io.EOF && !isReset(err) // a timeout: the server kept it
	})
}

// A TLS handshake that never completes does not hold a connection forever
// and does not keep the listener from serving others.
func TestTLSStalledHandshake(t *testing.T) {
	cfg := testConfig()
	cfg.TLSPort = -1
	cfg.TLSConfig = testTLSConfig()
	s := startServer(t, cfg)
	stalled, err := net.Dial("tcp", s.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	user, pass := s.Credentials("erin", time.Hour)
	if _, err := allocate(t, dialClient(t, s, overTLS, user, pass)); err != nil {
		t.Fatalf("Allocate over TLS next to a stalled handshake: %v", err)
	}
	// A client that is not TLS at all is dropped.
	c, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{ServerName: "wrong.test", RootCAs: testCA.pool})
	if err == nil {
		_ = c.Close()
		t.Fatal("handshake with the wrong name succeeded")
	}
}
