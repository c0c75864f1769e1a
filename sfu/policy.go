package sfu

import (
	"net"
	"net/netip"
	"slices"

	"palabre/internal/netrange"
)

// addrPolicy decides which remote addresses the server's ICE agents may
// send to: the candidates a client trickles or puts in its answer, and the
// source addresses of its checks (which ICE learns as peer-reflexive
// candidates and answers). Without it a client can make the server send
// STUN to any host and port it names, its own host and the operator's
// networks included. The ranges are the TURN relay policy's
// (internal/netrange).
type addrPolicy struct {
	// public: the server announces a public address, so its clients are
	// on the internet and only public addresses are accepted. A server on
	// a private network (a LAN, a VPN) accepts private addresses too, but
	// never host-local ones (loopback, link-local and the metadata
	// service, multicast).
	public bool
	// loopback: the media socket is on loopback, so are its clients (tests,
	// a laptop). Checked after public.
	loopback bool
	allow    []netip.Prefix // operator exceptions (Config.AllowRemote)
	own      []netip.Addr   // the server's own addresses (its bundled TURN relay)
}

func newAddrPolicy(cfg Config, local *net.UDPAddr) *addrPolicy {
	p := &addrPolicy{loopback: local.IP.IsLoopback()}
	for _, pfx := range cfg.AllowRemote {
		a := pfx.Addr().WithZone("")
		if a.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		p.allow = append(p.allow, pfx.Masked())
	}
	var announced []netip.Addr // what host candidates carry
	for _, s := range cfg.PublicIPs {
		if a, err := netip.ParseAddr(s); err == nil {
			announced = append(announced, a.Unmap())
		}
	}
	bind, _ := netip.AddrFromSlice(local.IP)
	bind = bind.Unmap()
	if !bind.IsUnspecified() {
		p.own = append(p.own, bind)
		if len(cfg.PublicIPs) == 0 {
			announced = append(announced, bind)
		}
	} else if len(cfg.PublicIPs) == 0 {
		announced = append(announced, interfaceAddrs()...)
	}
	p.own = append(p.own, announced...)
	p.public = cfg.forcePublic || slices.ContainsFunc(announced, netrange.Public)
	return p
}

func interfaceAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// allowed reports whether the server may send to a.
func (p *addrPolicy) allowed(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if !a.IsValid() {
		return false
	}
	if slices.Contains(p.own, a) {
		return true
	}
	for _, pfx := range p.allow {
		if pfx.Contains(a) {
			return true
		}
	}
	switch {
	case p.public:
		return netrange.Public(a)
	case p.loopback:
		return a.IsLoopback()
	}
	return !netrange.HostLocal(a)
}
