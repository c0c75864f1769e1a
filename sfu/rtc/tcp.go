package rtc

import (
	"encoding/binary"
	"errors"
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
//
// A TCP stream costs a reader goroutine and a socket, so streams are
// bounded (Config.MaxTCP in all, maxTCPPerIP from one address) and a
// stream must show a valid check (right ufrag, MESSAGE-INTEGRITY,
// FINGERPRINT) within 5 s or it is closed; anything else first
// closes it too. Its first valid check binds the stream to that
// connection for its life: every later frame is that connection's (no
// address lookup; TCP addresses are never in byAddr, which is the UDP
// socket's). A check on the stream that selects it (USE-CANDIDATE, or no
// path selected yet, or the selected one silent for switchAfter) makes it
// the connection's path: media and DTLS then go over it, framed, one
// write at a time. A write that fails or times out closes the stream (a
// half-written frame cannot be resumed); a closed stream that was the
// path leaves the connection without one until a check selects another,
// so consent expires as for a silent UDP path.

const (
	defaultMaxTCP  = 1024
	maxTCPPerIP    = 8
	tcpWriteBudget = 2 * time.Second
	maxTCPFrame    = 2048 // larger than any datagram the engine takes
)

// defaultTCPFirstCheck is how long a new stream may take to send a valid
// check.
const defaultTCPFirstCheck = 5 * time.Second

// tcpStream is one accepted ICE-TCP connection.
type tcpStream struct {
	e      *Engine
	conn   net.Conn
	remote netip.AddrPort
	sock   socket               // the reader's scratch and demultiplexing (sock.tcp = this)
	owner  atomic.Pointer[Conn] // set by the first valid check
	closed atomic.Bool

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
	perIP   map[netip.Addr]int
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
			_ = conn.Close()
			continue
		}
		_ = conn.SetNoDelay(true)
		if !e.spawn(st.read) {
			l.forget(st)
			_ = conn.Close()
			return
		}
	}
}

func (l *tcpListener) admit(st *tcpStream) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ip := st.remote.Addr()
	if l.closing || len(l.streams) >= l.max || l.perIP[ip] >= maxTCPPerIP {
		return false
	}
	l.streams[st] = struct{}{}
	l.perIP[ip]++
	return true
}

func (l *tcpListener) forget(st *tcpStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.streams[st]; !ok {
		return
	}
	delete(l.streams, st)
	ip := st.remote.Addr()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
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
	if e.tcp != nil {
		e.tcp.closeIf(func(st *tcpStream) bool { return st.owner.Load() == c }, false)
	}
}

// read is the stream's goroutine: frames until the stream ends.
func (st *tcpStream) read() {
	defer st.close()
	_ = st.conn.SetReadDeadline(time.Now().Add(st.e.timing.tcpFirst))
	var hdr [2]byte
	buf := make([]byte, maxTCPFrame)
	for {
		if _, err := io.ReadFull(st.conn, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n == 0 || n > maxTCPFrame {
			st.e.stats.malformed.Add(1)
			return
		}
		if _, err := io.ReadFull(st.conn, buf[:n]); err != nil {
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

// handle demultiplexes one frame; false closes the stream (nothing but a
// valid check before the stream is bound).
func (st *tcpStream) handle(p []byte) bool {
	c := st.owner.Load()
	if c == nil {
		if p[0] >= 4 || !plausibleSTUN(p) {
			st.e.stats.malformed.Add(1)
			return false
		}
		st.sock.handleSTUN(p, st.remote)
		return true // a wrong check is dropped; the deadline ends the stream
	}
	switch b := p[0]; {
	case b < 4:
		st.sock.handleSTUN(p, st.remote)
	case b >= 20 && b <= 63:
		c.rx.Lock()
		c.handleDTLS(p, st.remote)
		c.rx.Unlock()
	case b >= 128 && b <= 191:
		c.rx.Lock()
		if len(p) >= 8 && p[1] >= 192 && p[1] <= 223 {
			c.handleSRTCP(&st.sock, p, st.remote)
		} else {
			c.handleSRTP(&st.sock, p, st.remote)
		}
		c.rx.Unlock()
	default:
		st.e.stats.malformed.Add(1)
	}
	return true
}

// bind binds the stream to c, the connection its first valid check was
// for; false if it is another's.
func (st *tcpStream) bind(c *Conn) bool {
	if st.owner.CompareAndSwap(nil, c) {
		return true
	}
	return st.owner.Load() == c
}

// write sends one packet, framed; an error closes the stream.
func (st *tcpStream) write(p []byte) error {
	if len(p) > maxTCPFrame {
		return ErrTooLarge
	}
	if st.closed.Load() {
		return net.ErrClosed
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	binary.BigEndian.PutUint16(st.wbuf[:2], uint16(len(p)))
	n := copy(st.wbuf[2:], p)
	_ = st.conn.SetWriteDeadline(time.Now().Add(tcpWriteBudget))
	if _, err := st.conn.Write(st.wbuf[:2+n]); err != nil {
		st.e.stats.sendErrors.Add(1)
		go st.close() // not under wmu
		return err
	}
	return nil
}

// close ends the stream (idempotent): its connection loses it as a path.
func (st *tcpStream) close() {
	if !st.closed.CompareAndSwap(false, true) {
		return
	}
	_ = st.conn.Close()
	st.e.tcp.forget(st)
	if c := st.owner.Load(); c != nil {
		if pa := c.path.Load(); pa != nil && pa.tcp == st {
			c.path.CompareAndSwap(pa, nil)
		}
	}
}

// admitTCP binds stream st to c on its first valid check, and selects it
// as c's path when the check says so (the rules of admit; the stream is
// the address).
func (c *Conn) admitTCP(st *tcpStream, use bool, now int64) bool {
	if st.owner.Load() != c {
		// A new stream is a new remote address: judged by the policy and
		// paid from the same budget as a UDP one.
		if f := c.e.allow; f != nil && !f(st.remote.Addr()) {
			return false
		}
		if st.owner.Load() != nil || !c.takeAddrToken(now) || !st.bind(c) {
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
