package turn

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// pion's Server.Close closes the listeners and returns: it neither closes
// the TCP connections it accepted nor waits for its goroutines. Every socket
// handed to pion (listeners, accepted connections, relays) therefore goes
// through a tracker, so that Server.Close can close them all and wait until
// pion has let go of each of them.

// closer is a tracked socket.
type closer interface {
	// forceClose closes the socket under pion's feet; pion notices and
	// cleans up, and the socket reports itself done when pion lets go.
	forceClose()
}

type tracker struct {
	mu      sync.Mutex
	items   map[closer]struct{}
	closing bool
	idle    chan struct{} // closed once closing and no item is left

	limits  connLimits
	conns   map[netip.Addr]int // accepted client connections per IP
	clients map[connKey]*trackedConn
	open    atomic.Int64 // accepted client connections
}

// connLimits are the rules for the clients' TCP and TLS connections.
type connLimits struct {
	maxPerIP    int           // per client IP; <= 0: unlimited
	authTimeout time.Duration // see connClock; <= 0: none
	idleTimeout time.Duration
	onRefused   func(remote net.Addr)              // over maxPerIP
	onExpired   func(remote net.Addr, why timeout) // closed by its clock
}

// connKey names a client connection as pion's events do: its remote and
// local addresses.
type connKey struct{ remote, local netip.AddrPort }

func keyOf(remote, local net.Addr) connKey {
	unmap := func(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }
	return connKey{unmap(addrPort(remote)), unmap(addrPort(local))}
}

func newTracker(limits connLimits) *tracker {
	return &tracker{
		items:   map[closer]struct{}{},
		idle:    make(chan struct{}),
		limits:  limits,
		conns:   map[netip.Addr]int{},
		clients: map[connKey]*trackedConn{},
	}
}

// add tracks c; it returns false when the server is closing (the caller
// then closes c itself).
func (t *tracker) add(c closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.items[c] = struct{}{}
	return true
}

// done forgets c: pion has let go of it.
func (t *tracker) done(c closer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.items[c]; !ok {
		return
	}
	delete(t.items, c)
	if t.closing && len(t.items) == 0 {
		close(t.idle)
	}
}

// shutdown closes every tracked socket and waits, at most timeout, until
// pion has let go of all of them.
func (t *tracker) shutdown(timeout time.Duration) bool {
	t.mu.Lock()
	if !t.closing {
		t.closing = true
		if len(t.items) == 0 {
			close(t.idle)
		}
	}
	items := make([]closer, 0, len(t.items))
	for c := range t.items {
		items = append(items, c)
	}
	t.mu.Unlock()
	for _, c := range items {
		c.forceClose()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.idle:
		return true
	case <-timer.C:
		return false
	}
}

// admitConn counts an accepted connection from ip against the per-IP cap.
func (t *tracker) admitConn(ip netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.limits.maxPerIP > 0 && t.conns[ip] >= t.limits.maxPerIP {
		return false
	}
	t.conns[ip]++
	t.open.Add(1)
	return true
}

func (t *tracker) leaveConn(ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open.Add(-1)
	if t.conns[ip] <= 1 {
		delete(t.conns, ip)
	} else {
		t.conns[ip]--
	}
}

// client returns the client connection from remote to local, if it is a
// TCP or TLS one still open.
func (t *tracker) client(remote, local net.Addr) *trackedConn {
	if _, ok := remote.(*net.TCPAddr); !ok {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clients[keyOf(remote, local)]
}

func (t *tracker) addClient(c *trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients[c.key] = c
}

func (t *tracker) removeClient(c *trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clients[c.key] == c {
		delete(t.clients, c.key)
	}
}

// ioState tells when a socket is let go: closed, and nobody blocked in a
// read (ReadFrom, Accept) on it any more.
type ioState struct {
	mu       sync.Mutex
	readers  int
	closed   bool
	released bool
}

func (s *ioState) enter() {
	s.mu.Lock()
	s.readers++
	s.mu.Unlock()
}

// leave ends a read; it returns true when the socket is let go.
func (s *ioState) leave() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers--
	return s.releaseLocked()
}

// close marks the socket closed; it returns true when the socket is let go.
func (s *ioState) close() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.releaseLocked()
}

func (s *ioState) releaseLocked() bool {
	if s.closed && s.readers == 0 && !s.released {
		s.released = true
		return true
	}
	return false
}

// trackedPacketConn is a UDP socket read by a pion goroutine: the TURN
// listener or a relay.
type trackedPacketConn struct {
	net.PacketConn
	t     *tracker
	state ioState
}

func newTrackedPacketConn(pc net.PacketConn, t *tracker) *trackedPacketConn {
	return &trackedPacketConn{PacketConn: pc, t: t}
}

func (c *trackedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.state.enter()
	n, addr, err := c.PacketConn.ReadFrom(p)
	if c.state.leave() {
		c.t.done(c)
	}
	return n, addr, err
}

func (c *trackedPacketConn) Close() error {
	err := c.PacketConn.Close()
	if c.state.close() {
		c.t.done(c)
	}
	return err
}

func (c *trackedPacketConn) forceClose() { _ = c.Close() }

// trackedListener is a TCP listener whose Accept loop belongs to pion (the
// TURN listener, a TCP relay) or to a tlsListener. When countConns is set,
// the connections it accepts are capped per client IP.
type trackedListener struct {
	net.Listener
	t          *tracker
	countConns bool
	relayed    *counters // a TCP relay's listener: its connections count relayed bytes
	state      ioState
}

func newTrackedListener(ln net.Listener, t *tracker, countConns bool) *trackedListener {
	return &trackedListener{Listener: ln, t: t, countConns: countConns}
}

// Accept accepts the next connection. Unlike net.Listener it retries
// temporary errors (out of file descriptors…), because pion's accept loop
// gives up on the first error and would leave the port dead.
func (l *trackedListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		l.state.enter()
		c, err := l.Listener.Accept()
		if l.state.leave() {
			l.t.done(l)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.state.mu.Lock()
			closed := l.state.closed
			l.state.mu.Unlock()
			if closed {
				return nil, net.ErrClosed
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		tc := &trackedConn{Conn: c, t: l.t, relayed: l.relayed}
		if l.countConns {
			ip := addrIP(c.RemoteAddr())
			if !l.t.admitConn(ip) {
				_ = c.Close()
				if l.t.limits.onRefused != nil {
					l.t.limits.onRefused(c.RemoteAddr())
				}
				continue
			}
			tc.counted, tc.ip = true, ip
			tc.clock = newConnClock(l.t.limits.authTimeout, l.t.limits.idleTimeout, time.Now())
			tc.key = keyOf(c.RemoteAddr(), c.LocalAddr())
			tc.clock.arm(c)
			l.t.addClient(tc)
		}
		if !l.t.add(tc) {
			tc.release()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		return tc, nil
	}
}

func (l *trackedListener) Close() error {
	err := l.Listener.Close()
	if l.state.close() {
		l.t.done(l)
	}
	return err
}

func (l *trackedListener) forceClose() { _ = l.Close() }

// trackedConn is a TCP connection owned by pion: a client's connection to
// the TURN port (counted, with a clock), or an outgoing TCP relay
// connection. pion closes it when it is done with it.
type trackedConn struct {
	net.Conn
	t       *tracker
	counted bool // against the per-IP cap, as ip
	ip      netip.Addr
	clock   *connClock // client connections only
	key     connKey    // client connections only
	relayed *counters  // TCP relay connections only: bytes relayed
	once    sync.Once
}

// Read reads under the connection's clock: a read that times out because
// the deadline moved on is retried, one that times out because the
// connection is due fails, and pion then closes the connection.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.clock == nil {
		n, err := c.Conn.Read(p)
		if c.relayed != nil {
			c.relayed.addRelayed(n, false)
		}
		return n, err
	}
	for {
		c.clock.arm(c.Conn)
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.clock.touch(time.Now())
		}
		if err == nil || n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		switch why := c.clock.fired(time.Now()); why {
		case readAgain:
			continue
		case noAllocDue, idleDue:
			if c.t.limits.onExpired != nil {
				c.t.limits.onExpired(c.RemoteAddr(), why)
			}
		}
		return n, err
	}
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.clock != nil && n > 0 {
		c.clock.touch(time.Now())
	}
	if c.relayed != nil {
		c.relayed.addRelayed(n, true)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.release()
		c.t.done(c)
	})
	return err
}

func (c *trackedConn) release() {
	if c.counted {
		c.t.leaveConn(c.ip)
	}
	if c.clock != nil {
		c.t.removeClient(c)
	}
}

// forceClose closes the socket but leaves the wrapper to pion, which sees
// its reads fail and then calls Close.
func (c *trackedConn) forceClose() { _ = c.Conn.Close() }
