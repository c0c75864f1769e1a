package turn

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

// fuzzAddr makes an address of 4 or 16 bytes (anything else: the invalid
// Addr), with zone if it is IPv6.
func fuzzAddr(b []byte, zone string) netip.Addr {
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return netip.Addr{}
	}
	if a.Is6() && zone != "" {
		a = a.WithZone(zone)
	}
	return a
}

// fuzzPrefix makes a prefix from an address and bits (the invalid Prefix
// when they do not fit).
func fuzzPrefix(b []byte, bits uint8) netip.Prefix {
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, int(bits))
}

// FuzzPeerAllowed judges arbitrary peer addresses (XOR-PEER-ADDRESS of
// CreatePermission, ChannelBind, Connect) under arbitrary operator lists.
// Beyond not panicking, the verdict must agree with the standard library's
// classification, be blind to zones and to the IPv4-mapped form, let the
// server's own address through, and follow the longest operator prefix.
func FuzzPeerAllowed(f *testing.F) {
	seeds := []struct {
		addr  string
		allow string
		deny  string
	}{
		{"8.8.8.8", "", ""},
		{"127.0.0.1", "", ""},
		{"10.1.2.3", "10.1.0.0/16", ""},
		{"10.1.2.3", "10.0.0.0/8", "10.1.0.0/16"},
		{"169.254.169.254", "169.254.0.0/16", "169.254.169.254/32"},
		{"::ffff:10.0.0.1", "", ""},
		{"64:ff9b::a00:1", "", ""},
		{"64:ff9b::808:808", "", ""},
		{"2002:a00:1::", "", ""},
		{"2001::1", "", ""},
		{"fe80::1", "", ""},
		{"2606:4700::1111", "", "2606:4700::/32"},
		{"1.2.3.4", "::ffff:1.2.3.0/120", ""},
	}
	for _, s := range seeds {
		a := netip.MustParseAddr(s.addr).AsSlice()
		var allow, deny []byte
		var allowBits, denyBits uint8
		if s.allow != "" {
			p := netip.MustParsePrefix(s.allow)
			allow, allowBits = p.Addr().AsSlice(), uint8(p.Bits())
		}
		if s.deny != "" {
			p := netip.MustParsePrefix(s.deny)
			deny, denyBits = p.Addr().AsSlice(), uint8(p.Bits())
		}
		f.Add(a, "", allow, allowBits, deny, denyBits)
	}
	f.Fuzz(func(t *testing.T, addrBytes []byte, zone string, allowBytes []byte, allowBits uint8, denyBytes []byte, denyBits uint8) {
		addr := fuzzAddr(addrBytes, zone)
		var p Policy
		if a := fuzzPrefix(allowBytes, allowBits); a.IsValid() {
			p.Allow = []netip.Prefix{a}
		}
		if d := fuzzPrefix(denyBytes, denyBits); d.IsValid() {
			p.Deny = []netip.Prefix{d}
		}
		got := p.PeerAllowed(addr)
		if !addr.IsValid() {
			if got {
				t.Fatal("invalid address allowed")
			}
			return
		}
		plain := addr.WithZone("").Unmap()
		if p.PeerAllowed(plain) != got {
			t.Fatalf("%v and %v judged differently", addr, plain)
		}
		if plain.Is4() && p.PeerAllowed(netip.AddrFrom16(plain.As16())) != got {
			t.Fatalf("%v and its IPv4-mapped form judged differently", plain)
		}
		// The server's own address is always allowed.
		own := p
		own.Own = []netip.Addr{plain}
		if !own.PeerAllowed(addr) {
			t.Fatalf("own address %v refused", addr)
		}

		// Without operator lists: whatever the standard library calls
		// special is refused, in any of the IPv6 forms that carry an IPv4
		// address.
		var none Policy
		bare := none.PeerAllowed(addr)
		ip := net.IP(plain.AsSlice())
		if bare && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() ||
			ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast()) {
			t.Fatalf("%v allowed by the built-in ranges", addr)
		}
		if plain.Is4() {
			v4 := plain.As4()
			nat64 := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 12: v4[0], v4[1], v4[2], v4[3]})
			if none.PeerAllowed(nat64) != bare {
				t.Fatalf("%v and its NAT64 form %v judged differently", plain, nat64)
			}
			sixToFour := netip.AddrFrom16([16]byte{0x20, 0x02, v4[0], v4[1], v4[2], v4[3], 15: 1})
			if none.PeerAllowed(sixToFour) {
				t.Fatalf("6to4 %v allowed", sixToFour)
			}
		}

		// The operator lists: the longest prefix containing the address
		// decides, deny on a tie.
		a, d := longestMatch(p.Allow, plain), longestMatch(p.Deny, plain)
		switch {
		case d >= 0 && d >= a:
			if got {
				t.Fatalf("%v allowed despite deny %v (allow %v)", addr, p.Deny, p.Allow)
			}
		case a >= 0:
			if !got {
				t.Fatalf("%v refused despite allow %v (deny %v)", addr, p.Allow, p.Deny)
			}
		}
	})
}

// fakeAddr is a net.Addr of neither UDP nor TCP type: addrPort parses its
// string.
type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

// FuzzCheckRelayPort applies the own-address port rules to arbitrary relay
// destinations, in the address types pion hands over and as strings.
func FuzzCheckRelayPort(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2}, uint16(3478), "")
	f.Add([]byte{127, 0, 0, 2}, uint16(8080), "")
	f.Add([]byte{127, 0, 0, 2}, uint16(9), "")
	f.Add(netip.MustParseAddr("::ffff:127.0.0.2").AsSlice(), uint16(3478), "")
	f.Add([]byte{8, 8, 8, 8}, uint16(3478), "")
	f.Add([]byte{}, uint16(0), "127.0.0.2:3478")
	f.Add([]byte{}, uint16(0), "[::ffff:127.0.0.2]:3478")
	f.Add([]byte{}, uint16(0), "garbage")
	own := netip.MustParseAddr("127.0.0.2")
	s := &Server{policy: Policy{Own: []netip.Addr{own}}, listenPorts: []int{3478, 5349}, ownPorts: []int{8080, 8081}}
	f.Fuzz(func(t *testing.T, ipBytes []byte, port uint16, str string) {
		addrs := []net.Addr{fakeAddr(str)}
		if ip, ok := netip.AddrFromSlice(ipBytes); ok {
			ap := netip.AddrPortFrom(ip, port)
			addrs = append(addrs, net.UDPAddrFromAddrPort(ap), net.TCPAddrFromAddrPort(ap), fakeAddr(ap.String()))
		}
		for _, a := range addrs {
			err := s.checkRelayPort(a)
			ap := addrPort(a)
			refused := ap.IsValid() && ap.Addr().Unmap() == own &&
				(slices.Contains(s.listenPorts, int(ap.Port())) || !slices.Contains(s.ownPorts, int(ap.Port())))
			if (err != nil) != refused {
				t.Fatalf("checkRelayPort(%v) = %v, want refused %v", a, err, refused)
			}
		}
	})
}
