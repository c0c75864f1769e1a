package turn

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	pturn "github.com/pion/turn/v5"
)

var (
	errRelayFamily      = errors.New("turn: relay address family not served")
	errTCPRelayDisabled = errors.New("turn: TCP relay allocations (RFC 6062) are disabled")
	errRelayPortRefused = errors.New("turn: peer port refused on the server's own address")
	errClosing          = errors.New("turn: server closing")
)

// relayGenerator wraps pion's RelayAddressGeneratorPortRange: relays bind on
// RelayIP inside the port range and announce RelayIP, or the public address
// when behind 1:1 NAT. The wrapper adds what pion's generator does not do:
// it refuses the address family it cannot bind, keeps RFC 6062 TCP relays
// off unless enabled, binds outgoing TCP relay connections to the local
// address rather than the announced one, filters relayed traffic to the
// server's own addresses by port, and tracks every socket for Close.
type relayGenerator struct {
	inner     *pturn.RelayAddressGeneratorPortRange
	bind      netip.Addr // RelayIP, what relays bind to (may be unspecified)
	announce  netip.Addr // what XOR-RELAYED-ADDRESS says
	tcpRelays bool
	s         *Server
}

var _ pturn.RelayAddressGenerator = (*relayGenerator)(nil)

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

// familyOK reports whether a relay of network ("udp4", "tcp6"…) can be
// bound on g.bind.
func (g *relayGenerator) familyOK(network string) bool {
	if strings.HasSuffix(network, "6") {
		return g.bind.Is6()
	}
	return g.bind.Is4()
}

func (g *relayGenerator) AllocatePacketConn(conf pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if !g.familyOK(conf.Network) {
		return nil, nil, errRelayFamily
	}
	pc, addr, err := g.inner.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	rc := &relayPacketConn{trackedPacketConn: newTrackedPacketConn(pc, g.s.tracker), s: g.s}
	if !g.s.tracker.add(rc.trackedPacketConn) {
		_ = pc.Close()
		return nil, nil, errClosing
	}
	if ap := addrPort(pc.LocalAddr()); ap.IsValid() {
		rc.local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		g.s.relays.Store(rc.local, struct{}{})
	}
	return rc, addr, nil
}

func (g *relayGenerator) AllocateListener(conf pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	if !g.tcpRelays {
		return nil, nil, errTCPRelayDisabled
	}
	if !g.familyOK(conf.Network) {
		return nil, nil, errRelayFamily
	}
	ln, addr, err := g.inner.AllocateListener(conf)
	if err != nil {
		return nil, nil, err
	}
	tl := newTrackedListener(ln, g.s.tracker, false)
	tl.relayed = &g.s.stats
	if !g.s.tracker.add(tl) {
		_ = ln.Close()
		return nil, nil, errClosing
	}
	return tl, addr, nil
}

func (g *relayGenerator) AllocateConn(conf pturn.AllocateConnConfig) (net.Conn, error) {
	if !g.tcpRelays {
		return nil, errTCPRelayDisabled
	}
	if err := g.s.checkRelayPort(conf.RemoteAddr); err != nil {
		return nil, err
	}
	// pion binds the outgoing connection to the allocation's relay address,
	// which is the announced one: behind NAT that address is not local.
	if la, ok := conf.LocalAddr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(la.IP); ok && ip.Unmap() == g.announce && g.announce != g.bind {
			conf.LocalAddr = &net.TCPAddr{IP: g.bind.AsSlice(), Port: la.Port}
		}
	}
	c, err := g.inner.AllocateConn(conf)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: g.s.tracker, relayed: &g.s.stats}
	if !g.s.tracker.add(tc) {
		_ = c.Close()
		return nil, errClosing
	}
	return tc, nil
}

// relayPacketConn is a UDP relay socket: it drops what the port policy
// refuses on the way out, and counts the bytes relayed.
type relayPacketConn struct {
	*trackedPacketConn
	s     *Server
	local netip.AddrPort // the socket's, as IsRelay knows it
}

func (c *relayPacketConn) Close() error {
	c.s.relays.Delete(c.local)
	return c.trackedPacketConn.Close()
}

// IsRelay reports whether ap is the address of one of the server's live
// UDP relays, as a socket on this host sees its packets come from: the
// media plane counts the participants it carries as relayed. A relay
// bound to an unspecified address matches any IP on its port.
func (s *Server) IsRelay(ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if _, ok := s.relays.Load(ap); ok {
		return true
	}
	for _, any := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		if _, ok := s.relays.Load(netip.AddrPortFrom(any, ap.Port())); ok {
			return true
		}
	}
	return false
}

func (c *relayPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if err := c.s.checkRelayPort(addr); err != nil {
		return 0, err
	}
	n, err := c.trackedPacketConn.WriteTo(p, addr)
	c.s.stats.addRelayed(n, true)
	return n, err
}

func (c *relayPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.trackedPacketConn.ReadFrom(p)
	c.s.stats.addRelayed(n, false)
	return n, addr, err
}

// checkRelayPort applies the port rules for the server's own addresses:
// the TURN listener ports are never reachable through a relay (no TURN
// loops), and when OwnPorts is set only those ports are. The address rules
// were applied when the permission was granted.
func (s *Server) checkRelayPort(addr net.Addr) error {
	if len(s.policy.Own) == 0 {
		return nil
	}
	ap := addrPort(addr)
	if !ap.IsValid() {
		return nil
	}
	ip := ap.Addr().Unmap()
	own := false
	for _, o := range s.policy.Own {
		if o.Unmap() == ip {
			own = true
			break
		}
	}
	if !own {
		return nil
	}
	port := int(ap.Port())
	refused := false
	for _, p := range s.listenPorts {
		if p == port {
			refused = true
		}
	}
	if !refused && len(s.ownPorts) > 0 {
		refused = true
		for _, p := range s.ownPorts {
			if p == port {
				refused = false
			}
		}
	}
	if refused {
		s.stats.relayPortRefused.Add(1)
		return errRelayPortRefused
	}
	return nil
}

// addrIP returns the IP of a UDP or TCP address, unmapped, or the zero Addr.
func addrIP(a net.Addr) netip.Addr {
	return addrPort(a).Addr().Unmap()
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
