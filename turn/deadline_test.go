package turn

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/stun/v4"
)

// closedAfter reads c until the server closes it and returns how long that
// took, failing the test if c is still open after limit.
func closedAfter(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 1500)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open after %v", limit)
		}
		return time.Since(start)
	}
}

// Issue 12: TCP and TLS connections that never allocate, or whose
// allocation ended, stayed open forever (before: all of these were still
// open after 12 s). Each closes on its deadline, and is counted.
func TestConnDeadlines(t *testing.T) {
	const auth, idle, lifetime = 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond
	cases := []struct {
		name      string
		lifetime  time.Duration // AllocationLifetime, 0: default
		dial      func(t *testing.T, s *Server) net.Conn
		min       time.Duration // the connection must live at least this long
		noAlloc   uint64        // expected ConnsClosedNoAllocation
		idleCount uint64        // expected ConnsClosedIdle
	}{
		{"tcp, silent", 0, func(t *testing.T, s *Server) net.Conn {
			return dialRaw(t, "tcp", s.TCPAddr())
		}, auth, 1, 0},
		{"tcp, chatty without allocating", 0, func(t *testing.T, s *Server) net.Conn {
			c := dialRaw(t, "tcp", s.TCPAddr())
			go func() { // Binding requests: traffic, but no allocation
				for {
					if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			return c
		}, auth, 1, 0},
		{"tls, no handshake", 0, func(t *testing.T, s *Server) net.Conn {
			return dialRaw(t, "tcp", s.TLSAddr())
		}, auth, 1, 0},
		{"tls, handshake then silent", 0, func(t *testing.T, s *Server) net.Conn {
			c, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{RootCAs: testCA.pool, ServerName: "turn.test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		}, auth, 1, 0},
		{"tcp, allocation then silent", 0, func(t *testing.T, s *Server) net.Conn {
			user, pass := s.Credentials("alice", time.Hour)
			return tcpAllocate(t, s, user, pass)
		}, idle, 0, 1},
		{"tcp, allocation expired", lifetime, func(t *testing.T, s *Server) net.Conn {
			user, pass := s.Credentials("alice", time.Hour)
			return tcpAllocate(t, s, user, pass)
		}, lifetime + auth, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TLSPort = -1
			cfg.TLSConfig = testTLSConfig()
			cfg.ConnAuthTimeout, cfg.AllocationLifetime = auth, c.lifetime
			if c.lifetime == 0 {
				cfg.ConnIdleTimeout = idle
			}
			s := startServer(t, cfg)
			start := time.Now()
			conn := c.dial(t, s)
			closedAfter(t, conn, 5*time.Second)
			if d := time.Since(start); d < c.min-50*time.Millisecond {
				t.Errorf("closed after %v, before its deadline (%v)", d, c.min)
			} else {
				t.Logf("closed after %v (deadline %v)", d, c.min)
			}
			testkit.Eventually(t, 5*time.Second, "the close counted", func() bool {
				st := s.Stats()
				return st.ConnsClosedNoAllocation == c.noAlloc && st.ConnsClosedIdle == c.idleCount
			})
			testkit.Eventually(t, 5*time.Second, "no allocation and no connection left", func() bool {
				st := s.Stats()
				return st.Allocations == 0 && s.tracker.open.Load() == 0
			})
		})
	}
}

func dialRaw(t *testing.T, network string, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A TCP client that uses its allocation keeps its connection well past
// both deadlines; once it stops, the idle deadline closes it.
func TestConnDeadlinesSpareActiveClients(t *testing.T) {
	const auth, idle = 200 * time.Millisecond, time.Second
	cfg := testConfig()
	cfg.ConnAuthTimeout, cfg.ConnIdleTimeout = auth, idle
	s := startServer(t, cfg)
	echo := udpEcho(t, net.JoinHostPort(testIP, "0"))
	user, pass := s.Credentials("alice", time.Hour)
	c := dialClient(t, s, overTCP, user, pass)
	relay, err := allocate(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePermission(echo); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(3 * idle)
	for time.Now().Before(until) {
		if err := roundTrip(relay, echo, "hello", time.Second); err != nil { // over 4 bytes: pion holds back ChannelData frames of 8 bytes or fewer on TCP until more data comes
			t.Fatalf("round trip while active: %v", err)
		}
		time.Sleep(idle / 10)
	}
	if st := s.Stats(); st.Allocations != 1 || st.ConnsClosedIdle+st.ConnsClosedNoAllocation != 0 {
		t.Fatalf("after %v of activity: %+v", 3*idle, st)
	}
	testkit.Eventually(t, 5*time.Second, "the idle connection closed", func() bool { return s.Stats().ConnsClosedIdle == 1 })
	testkit.Eventually(t, 5*time.Second, "its allocation deleted", func() bool { return s.Stats().Allocations == 0 })
}

// An RFC 6062 data connection carries no allocation of its own: it lives
// under the idle deadline, not the allocation one.
func TestConnDeadlinesTCPRelayDataConnection(t *testing.T) {
	const auth = 200 * time.Millisecond
	cfg := testConfig()
	cfg.TCPRelays = true
	cfg.ConnAuthTimeout = auth
	s := startServer(t, cfg)
	echo := tcpEcho(t, testIP+":0")
	user, pass := s.Credentials("alice", time.Hour)
	c := dialClient(t, s, overTCP, user, pass)
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatalf("AllocateTCP: %v", err)
	}
	defer alloc.Close()
	conn, err := alloc.Dial("tcp", echo.String())
	if err != nil {
		t.Fatalf("Dial through the relay: %v", err)
	}
	defer conn.Close()
	time.Sleep(3 * auth)
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the TCP relay after %v: %q, %v", 3*auth, buf, err)
	}
	if st := s.Stats(); st.ConnsClosedNoAllocation != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestConnClock(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	const auth, idle = 10 * time.Second, time.Minute
	steps := []struct {
		name string
		do   func(k *connClock, c *deadlineConn)
		at   time.Duration // the read times out at t0+at
		want timeout
	}{
		{"accepted, no allocation", nil, auth - time.Millisecond, readAgain},
		{"no allocation, due", nil, auth, noAllocDue},
		{"reported once", nil, auth + time.Second, alreadyDue},
	}
	k := newConnClock(auth, idle, t0)
	for _, st := range steps {
		if got := k.fired(t0.Add(st.at)); got != st.want {
			t.Errorf("%s: fired = %v, want %v", st.name, got, st.want)
		}
	}

	// With an allocation, traffic moves the deadline; the socket's
	// deadline follows lazily; losing the allocation brings the
	// allocation deadline back, counted from then.
	c := &deadlineConn{}
	k = newConnClock(auth, idle, t0)
	k.arm(c)
	if !c.deadline.Equal(t0.Add(auth)) {
		t.Fatalf("deadline %v, want accept+auth", c.deadline)
	}
	k.allocated(c, t0.Add(time.Second))
	if !c.deadline.Equal(t0.Add(time.Second + idle)) {
		t.Fatalf("allocated: deadline %v, want +1s+idle", c.deadline)
	}
	sets := c.sets
	k.touch(t0.Add(2 * time.Second)) // less than idle/16 later: not worth moving
	k.arm(c)
	if c.sets != sets {
		t.Error("deadline moved for less than the slack")
	}
	if got := k.fired(t0.Add(time.Second + idle)); got != readAgain {
		t.Errorf("fired early: %v, want readAgain", got)
	}
	k.arm(c)
	if !c.deadline.Equal(t0.Add(2*time.Second + idle)) {
		t.Errorf("rearmed deadline %v, want +2s+idle", c.deadline)
	}
	k.released(c, t0.Add(30*time.Second))
	if !c.deadline.Equal(t0.Add(30*time.Second + auth)) {
		t.Errorf("released: deadline %v, want +30s+auth", c.deadline)
	}
	if got := k.fired(t0.Add(30*time.Second + auth)); got != noAllocDue {
		t.Errorf("fired = %v, want noAllocDue", got)
	}

	k = newConnClock(auth, idle, t0)
	k.allocated(c, t0)
	if got := k.fired(t0.Add(idle)); got != idleDue {
		t.Errorf("idle: fired = %v, want idleDue", got)
	}

	// An RFC 6062 data connection lives under the idle deadline for good.
	k = newConnClock(auth, idle, t0)
	k.bound(c, t0)
	k.released(c, t0) // no allocation to release: nothing changes
	if !c.deadline.Equal(t0.Add(idle)) {
		t.Errorf("data connection: deadline %v, want +idle", c.deadline)
	}
	if got := k.fired(t0.Add(idle)); got != idleDue {
		t.Errorf("data connection: fired = %v, want idleDue", got)
	}

	// Disabled deadlines never fire.
	c = &deadlineConn{}
	k = newConnClock(-1, -1, t0)
	k.arm(c)
	if got := k.fired(t0.Add(24 * time.Hour)); got != readAgain || !c.deadline.IsZero() {
		t.Errorf("disabled: fired = %v, deadline %v", got, c.deadline)
	}
}

// deadlineConn records the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	deadline time.Time
	sets     int
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.deadline = t
	c.sets++
	return nil
}
