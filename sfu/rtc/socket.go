package rtc

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Read buffer sizes: the shared socket's reader has one large buffer; each
// client socket (one per client connection) a small one.
const (
	serverBuffer = 64 << 10
	clientBuffer = 2 << 10
)

// batchConn is ipv4.PacketConn or ipv6.PacketConn: sendmmsg(2) on Linux.
type batchConn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// socket is one UDP socket and what its reader goroutine owns. The shared
// socket demultiplexes by ufrag then address; a client socket belongs to
// one connection (owner).
type socket struct {
	e     *Engine
	conn  *net.UDPConn
	batch batchConn
	local netip.AddrPort
	owner *Conn      // client sockets only
	tcp   *tcpStream // an ICE-TCP stream's reader (conn is nil)
	size  int        // read buffer

	// The reader's scratch: nothing below is touched by anyone else.
	stunIn, stunOut stun.Message
	ip              [16]byte
	hdr, hdr2       rtp.Header
	rtcpHdr         rtcp.Header
	pkt             rtp.Packet
}

func (e *Engine) listen(ap netip.AddrPort, size int) (*socket, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	s := &socket{e: e, conn: conn, local: local, size: size}
	if local.Addr().Is4() {
		s.batch = ipv4.NewPacketConn(conn)
	} else {
		s.batch = ipv6BatchConn{ipv6.NewPacketConn(conn)}
	}
	return s, nil
}

type ipv6BatchConn struct{ *ipv6.PacketConn }

func (c ipv6BatchConn) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.WriteBatch(ms, flags)
}

func (e *Engine) startReader(s *socket) bool {
	return e.spawn(func() { s.read() })
}

// read is the socket's reader goroutine: it ends when the socket closes.
func (s *socket) read() {
	buf := make([]byte, s.size)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		if n == 0 {
			continue
		}
		s.handle(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// handle demultiplexes one datagram (RFC 7983: the first byte tells STUN,
// DTLS and SRTP/SRTCP apart).
func (s *socket) handle(p []byte, from netip.AddrPort) {
	e := s.e
	switch b := p[0]; {
	case b < 4:
		s.handleSTUN(p, from)
	case b >= 20 && b <= 63:
		c := s.lookup(from)
		if c == nil {
			e.stats.unknownAddr.Add(1)
			return
		}
		c.rx.Lock()
		c.handleDTLS(p, from)
		c.rx.Unlock()
	case b >= 128 && b <= 191:
		c := s.lookup(from)
		if c == nil {
			e.stats.unknownAddr.Add(1)
			return
		}
		c.rx.Lock()
		if len(p) >= 8 && p[1] >= 192 && p[1] <= 223 { // RTCP packet types (RFC 5761)
			c.handleSRTCP(s, p, from)
		} else {
			c.handleSRTP(s, p, from)
		}
		c.rx.Unlock()
	default:
		e.stats.malformed.Add(1)
	}
}

// lookup finds the connection media and DTLS from this address belong to.
func (s *socket) lookup(from netip.AddrPort) *Conn {
	if c := s.owner; c != nil {
		if p := c.path.Load(); p == nil || p.ap != from {
			s.e.stats.wrongSocket.Add(1)
			return nil
		}
		return c
	}
	s.e.mu.RLock()
	c := s.e.byAddr[from]
	s.e.mu.RUnlock()
	return c
}

// write sends one datagram now (on an ICE-TCP stream, one frame).
func (s *socket) write(p []byte, to netip.AddrPort) error {
	if s.tcp != nil {
		return s.tcp.write(p)
	}
	_, err := s.conn.WriteToUDPAddrPort(p, to)
	if err != nil {
		s.e.stats.sendErrors.Add(1)
	}
	return err
}
