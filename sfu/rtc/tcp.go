package rtc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ICE-TCP, passive (RFC 6544), for participants whose networks let only
// TCP out: one listening port for every connection, framed as RFC 4571
// says (a 2-byte length before each STUN, DTLS, SRTP or SRTCP packet).
// Browsers gather tcptype active candidates only, so they connect to our
// passive one, and send on each stream the checks of its pair.
//
// A stream costs a reader goroutine, a socket and a read buffer, and
// anyone may open one, so streams are bounded: Config.MaxTCP in all,
// maxTCPPerIP from one IPv4 address or IPv6 /64, maxTCPPerConn bound to
// one connection. A stream's first frame must be an authentic check (a
// known ufrag, FINGERPRINT, MESSAGE-INTEGRITY) and come within
// tcpFirstCheck; anything else first, or a frame longer than maxTCPFrame
// at any time, closes it. An authentic check that is not admitted (the
// address policy, the new-address budget) leaves it open until the
// deadline: the browser sends it again.
//
// The first admitted check binds the stream to its connection for the
// stream's life: every later frame is that connection's (no address
// lookup; TCP addresses are never in byAddr, which is the UDP socket's).
// A check on the stream that selects it (USE-CANDIDATE, or no path
// selected yet, or the selected one silent for switchAfter: admit's rules)
// makes it the connection's path: media and DTLS then go over it.
//
// Writes are framed and written at once (a Batch does not hold them),
// one at a time under the stream's lock, within tcpWriteBudget. A write
// that fails or times out closes the stream: a half-written frame cannot
// be resumed. A closed stream that was the path leaves the connection
// without one until a check selects another, so consent then expires as
// for a silent UDP path.

const (
	defaultMaxTCP = 1024
	maxTCPPerIP   = 8
	// maxTCPPerConn: a browser opens a stream per pair, one per local
	// interface and passive candidate of ours.
	maxTCPPerConn = 4
	// maxTCPFrame is the largest frame taken or sent: a datagram that
	// fits the path's MTU (maxPacket bounds what we send).
	maxTCPFrame = maxPacket
	// tcpWriteBudget is how long a write may wait for room in the
	// stream's kernel buffer. A sender may be the UDP reader in a
	// fan-out, so a stuck peer must not hold it long; and a buffer that
	// stays full this long holds seconds of media already: the peer is
	// too far behind to catch up.
	tcpWriteBudget = 100 * time.Millisecond
	// tcpReadBuffer is a stream's read buffer: a frame's length and its
	// packet in one read, mostly.
	tcpReadBuffer = 4096
)

// defaultTCPFirstCheck is how long a new stream may take to send an
// admitted check.
const defaultTCPFirstCheck = 5 * time.Second

// tcpStream is one accepted ICE-TCP connection.
type tcpStream struct {
	e      *Engine
	conn   net.Conn
	remote netip.AddrPort
	sock   socket               // the reader's scratch and demultiplexing (sock.tcp = this)
	owner  atomic.Pointer[Conn] // set by the first admitted check, under mu
	closed atomic.Bool          // set under mu

	mu sync.Mutex // bind and close

	wmu  sync.Mutex
	wbuf [2 + maxTCPFrame]byte
}

// tcpListener is the engine's ICE-TCP port.
type tcpListener struct {
	ln    *net.TCPListener
	local netip.AddrPort
	max   int

	mu      sync.Mutex
	closing bool
	streams map[*tcpStream]struct{}
	perIP   map[netip.Addr]int // by tcpSource
}

// tcpSource is what maxTCPPerIP counts by: an IPv4 address, an IPv6 /64
// (one host usually has a whole /64).
func tcpSource(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func (e *Engine) listenTCP(addr string, max int) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return err
	}
	local := ln.Addr().(*net.TCPAddr).AddrPort()
	if max <= 0 {
		max = defaultMaxTCP
	}
	e.tcp = &tcpListener{
		ln: ln, local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), max: max,
		streams: map[*tcpStream]struct{}{}, perIP: map[netip.Addr]int{},
	}
	return nil
}

// TCPAddr is the ICE-TCP listener's address, invalid without ICE-TCP.
func (e *Engine) TCPAddr() netip.AddrPort {
	if e.tcp == nil {
		return netip.AddrPort{}
	}
	return e.tcp.local
}

// accept is the listener's goroutine: it ends when the listener closes.
func (e *Engine) accept() {
	l := e.tcp
	for {
		conn, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		ra := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
		st := &tcpStream{e: e, conn: conn, remote: netip.AddrPortFrom(ra.Addr().Unmap(), ra.Port())}
		st.sock = socket{e: e, local: l.local, tcp: st}
		if !l.admit(st) {
			e.stats.tcpRefused.Add(1)
			_ = conn.SetLinger(0) // a reset: nothing of it stays in TIME_WAIT
			_ = conn.Close()
			continue
		}
		_ = conn.SetNoDelay(true)
		if !e.spawn(st.read) {
			st.close()
			return
		}
	}
}

func (l *tcpListener) admit(st *tcpStream) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	src := tcpSource(st.remote.Addr())
	if l.closing || len(l.streams) >= l.max || l.perIP[src] >= maxTCPPerIP {
		return false
	}
	l.streams[st] = struct{}{}
	l.perIP[src]++
	return true
}

func (l *tcpListener) forget(st *tcpStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.streams[st]; !ok {
		return
	}
	delete(l.streams, st)
	src := tcpSource(st.remote.Addr())
	if l.perIP[src]--; l.perIP[src] <= 0 {
		delete(l.perIP, src)
	}
}

func (l *tcpListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.streams)
}

// closeAll closes the listener and every stream (Engine.Close).
func (l *tcpListener) closeAll() {
	_ = l.ln.Close()
	l.closeIf(func(*tcpStream) bool { return true }, true)
}

// closeIf closes the streams f picks (closing: and refuses new ones).
func (l *tcpListener) closeIf(f func(*tcpStream) bool, closing bool) {
	l.mu.Lock()
	l.closing = l.closing || closing
	var streams []*tcpStream
	for st := range l.streams {
		if f(st) {
			streams = append(streams, st)
		}
	}
	l.mu.Unlock()
	for _, st := range streams {
		st.close()
	}
}

// closeStreams closes c's streams (c is gone).
func (e *Engine) closeStreams(c *Conn) {
	if e.tcp != nil && c.tcpStreams.Load() > 0 {
		e.tcp.closeIf(func(st *tcpStream) bool { return st.owner.Load() == c }, false)
	}
}

// read is the stream's goroutine: frames until the stream ends.
func (st *tcpStream) read() {
	defer st.close()
	_ = st.conn.SetReadDeadline(time.Now().Add(st.e.timing.tcpFirst))
	r := bufio.NewReaderSize(st.conn, tcpReadBuffer)
	var hdr [2]byte
	buf := make([]byte, maxTCPFrame)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n == 0 || n > maxTCPFrame {
			st.e.stats.malformed.Add(1)
			return
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return
		}
		bound := st.owner.Load() != nil
		if !st.handle(buf[:n]) {
			return
		}
		if !bound && st.owner.Load() != nil {
			_ = st.conn.SetReadDeadline(time.Time{}) // consent judges it now
		}
	}
}

// handle demultiplexes one frame; false closes the stream.
func (st *tcpStream) handle(p []byte) bool {
	if st.owner.Load() != nil {
		st.sock.handle(p, st.remote)
		return true
	}
	// Nothing but an authentic check before the stream is bound.
	if p[0] >= 4 {
		st.e.stats.malformed.Add(1)
		return false
	}
	// An authentic check not admitted leaves the stream to its deadline.
	return st.sock.handleSTUN(p, st.remote) != stunDropped
}

// bind binds the stream to c (under c.rx); false if it is closed or
// another's.
func (st *tcpStream) bind(c *Conn) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed.Load() || st.owner.Load() != nil {
		return st.owner.Load() == c && !st.closed.Load()
	}
	st.owner.Store(c)
	c.tcpStreams.Add(1)
	return true
}

// write sends one packet, framed; an error closes the stream.
func (st *tcpStream) write(p []byte) error {
	if len(p) > maxTCPFrame {
		return ErrTooLarge
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed.Load() {
		return net.ErrClosed
	}
	binary.BigEndian.PutUint16(st.wbuf[:2], uint16(len(p)))
	n := copy(st.wbuf[2:], p)
	_ = st.conn.SetWriteDeadline(time.Now().Add(tcpWriteBudget))
	if _, err := st.conn.Write(st.wbuf[:2+n]); err != nil {
		st.e.stats.sendErrors.Add(1)
		st.close()
		return err
	}
	return nil
}

// close ends the stream (idempotent): its connection loses it as a path.
func (st *tcpStream) close() {
	st.mu.Lock()
	if st.closed.Load() {
		st.mu.Unlock()
		return
	}
	st.closed.Store(true)
	c := st.owner.Load()
	st.mu.Unlock()
	// Forgotten first: a peer that sees the close and connects again
	// finds its place free.
	if l := st.e.tcp; l != nil { // (nil: a test's stream)
		l.forget(st)
	}
	_ = st.conn.Close()
	if c != nil {
		c.tcpStreams.Add(-1)
		c.unselect(st)
	}
}

// unselect clears c's path if it is stream st.
func (c *Conn) unselect(st *tcpStream) {
	if pa := c.path.Load(); pa != nil && pa.tcp == st && c.path.CompareAndSwap(pa, nil) {
		c.e.stats.addrChanges.Add(1)
	}
}

// admitTCP binds stream st to c on its first authentic check, and selects
// it as c's path by admit's rules (the stream is the address). Under c.rx.
func (c *Conn) admitTCP(st *tcpStream, use bool, now int64) bool {
	if st.owner.Load() != c {
		// A new stream is a new remote address: judged by the policy and
		// paid from the same budget as a UDP one.
		if st.owner.Load() != nil || c.tcpStreams.Load() >= maxTCPPerConn {
			return false
		}
		if f := c.e.allow; f != nil && !f(st.remote.Addr()) {
			return false
		}
		if !c.takeAddrToken(now) || !st.bind(c) {
			return false
		}
		if c.State() >= StateFailed {
			// c was torn down meanwhile, after its streams were closed.
			st.close()
			return false
		}
	}
	sel := c.path.Load()
	switch {
	case sel != nil && sel.tcp == st:
		c.selSeen = now
	case sel == nil || use || now-c.selSeen >= int64(c.e.timing.switchAfter):
		if sel != nil {
			c.e.stats.addrChanges.Add(1)
		}
		c.path.Store(&path{ap: st.remote, udp: net.UDPAddrFromAddrPort(st.remote), tcp: st})
		c.selSeen = now
		if st.closed.Load() {
			c.unselect(st) // it closed meanwhile (close did not see this path)
		}
	}
	return true
}

// PathKind is how a connection's selected path reaches the engine.
type PathKind uint8

const (
	PathNone PathKind = iota // no path selected (yet, or any more)
	PathUDP
	PathTCP
)

func (k PathKind) String() string {
	switch k {
	case PathNone:
		return "none"
	case PathUDP:
		return "udp"
	case PathTCP:
		return "tcp"
	}
	return fmt.Sprintf("PathKind(%d)", uint8(k))
}

// PathKind is the kind of c's selected path.
func (c *Conn) PathKind() PathKind {
	switch p := c.path.Load(); {
	case p == nil:
		return PathNone
	case p.tcp != nil:
		return PathTCP
	}
	return PathUDP
}
