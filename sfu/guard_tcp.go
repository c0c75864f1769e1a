package sfu

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/stun/v4"
)

// ICE-TCP (RFC 6544) under the guard: every TCP connection is one source
// address. Its first frame (RFC 4571: a 2-byte length, then the packet) must
// be a check the guard admits, or the connection is refused before pion's
// TCP mux sees anything; later frames are judged like UDP datagrams.

const (
	// tcpMaxFrame is the largest frame passed on: pion's TCP mux reads
	// into 8 KiB buffers and drops the connection on anything longer.
	tcpMaxFrame = 8192
	// maxPendingTCP bounds the connections waiting for their first frame
	// (pion gives them FirstStunBindTimeout, tcpFirstCheckTimeout here).
	maxPendingTCP = 64
)

var (
	errTCPRefused  = errors.New("sfu: ICE-TCP connection refused by the guard")
	errTCPTooLarge = errors.New("sfu: ICE-TCP frame too large")
)

// guardedListener hands pion's TCP mux connections that read through the
// guard.
type guardedListener struct {
	net.Listener
	g       *guard
	pending atomic.Int32 // connections whose first frame is not judged yet
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tcp, ok := c.RemoteAddr().(*net.TCPAddr)
		if !ok || l.pending.Load() >= maxPendingTCP {
			l.g.stats.iceCheck.Add(1)
			_ = c.Close()
			continue
		}
		l.pending.Add(1)
		src := tcp.AddrPort()
		return &guardedTCPConn{Conn: c, l: l, src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port())}, nil
	}
}

// guardedTCPConn reads only the frames the guard admits. One reader (pion's
// goroutine for the connection).
type guardedTCPConn struct {
	net.Conn
	l       *guardedListener
	src     netip.AddrPort
	pg      *peerGuard // the participant, once the first check is admitted
	judged  atomic.Bool
	buf     [2 + tcpMaxFrame]byte
	out     []byte // what is left of the current admitted frame
	msg     stun.Message
	refused bool
}

func (c *guardedTCPConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// next reads one frame and keeps it in c.out if the guard admits it.
func (c *guardedTCPConn) next() error {
	if c.refused {
		return errTCPRefused
	}
	if _, err := io.ReadFull(c.Conn, c.buf[:2]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(c.buf[:2]))
	if n > tcpMaxFrame {
		return errTCPTooLarge
	}
	if _, err := io.ReadFull(c.Conn, c.buf[2:2+n]); err != nil {
		return err
	}
	frame := c.buf[2 : 2+n]
	switch {
	case c.pg == nil:
		var pg *peerGuard
		if isSTUN(frame) && binary.BigEndian.Uint16(frame[0:2]) == uint16(stun.MethodBinding) {
			pg, _ = c.l.g.admitSTUN(frame, c.src, &c.msg, false)
		} else {
			c.l.g.stats.iceCheck.Add(1)
		}
		c.doneJudging()
		if pg == nil {
			c.refused = true
			return errTCPRefused
		}
		c.pg = pg
	case isSTUN(frame):
		// The connection's address is admitted: pion judges its checks.
	case !c.l.g.admitMedia(c.pg, frame):
		return nil
	}
	c.out = c.buf[:2+n]
	return nil
}

func (c *guardedTCPConn) doneJudging() {
	if c.judged.CompareAndSwap(false, true) {
		c.l.pending.Add(-1)
	}
}

func (c *guardedTCPConn) Close() error {
	c.doneJudging()
	return c.Conn.Close()
}
