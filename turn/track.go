package turn

import (
	"errors"
	"net"
	"net/netip"
	"sync"
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

	maxConnsPerIP int // accepted TCP/TLS connections per client IP; <= 0: unlimited
	conns         map[netip.Addr]int
	onConnRefused func(remote net.Addr)
}

func newTracker(maxConnsPerIP int, onConnRefused func(net.Addr)) *tracker {
	return &tracker{
		items:         map[closer]struct{}{},
		idle:          make(chan struct{}),
		maxConnsPerIP: maxConnsPerIP,
		conns:         map[netip.Addr]int{},
		onConnRefused: onConnRefused,
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
	if t.maxConnsPerIP > 0 && t.conns[ip] >= t.maxConnsPerIP {
		return false
	}
	t.conns[ip]++
	return true
}

func (t *tracker) leaveConn(ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns[ip] <= 1 {
		delete(t.conns, ip)
	} else {
		t.conns[ip]--
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
		tc := &trackedConn{Conn: c, t: l.t}
		if l.countConns {
			ip := addrIP(c.RemoteAddr())
			if !l.t.admitConn(ip) {
				_ = c.Close()
				if l.t.onConnRefused != nil {
					l.t.onConnRefused(c.RemoteAddr())
				}
				continue
			}
			tc.counted, tc.ip = true, ip
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
// the TURN port, or an outgoing TCP relay connection. pion closes it when
// it is done with it.
type trackedConn struct {
	net.Conn
	t       *tracker
	counted bool // against the per-IP cap, as ip
	ip      netip.Addr
	once    sync.Once
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
}

// forceClose closes the socket but leaves the wrapper to pion, which sees
// its reads fail and then calls Close.
func (c *trackedConn) forceClose() { _ = c.Conn.Close() }
