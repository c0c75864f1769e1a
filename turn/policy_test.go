package turn

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// briefRanges are the ranges the relay must refuse, written out here
// independently of refusedRanges so that dropping one there fails.
var briefRanges = []string{
	"127.0.0.0/8", "::1/128", // loopback
	"0.0.0.0/8", "::/128", // unspecified
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
	"100.64.0.0/10",               // CGNAT
	"169.254.0.0/16", "fe80::/10", // link-local
	"224.0.0.0/4", "ff00::/8", // multicast
	"255.255.255.255/32",                                                 // broadcast
	"198.18.0.0/15",                                                      // benchmarking
	"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", // documentation
	"240.0.0.0/4", "192.0.0.0/24", // reserved
	"fc00::/7", "fec0::/10", // ULA, site-local
	"2002::/16", "2001::/32", // 6to4, Teredo
	"100::/64", // discard
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestPolicyRefusesEveryRange(t *testing.T) {
	var p Policy
	check := func(ranges []string) {
		for _, r := range ranges {
			pfx := netip.MustParsePrefix(r)
			first, last := pfx.Masked().Addr(), lastAddr(pfx)
			for _, a := range []netip.Addr{first, first.Next(), last.Prev(), last} {
				if !a.IsValid() || !pfx.Contains(a) {
					continue
				}
				if p.PeerAllowed(a) {
					t.Errorf("%v (in %v) allowed", a, pfx)
				}
				if a.Is4() {
					mapped := netip.AddrFrom16(a.As16())
					if p.PeerAllowed(mapped) {
						t.Errorf("%v (IPv4-mapped, in %v) allowed", mapped, pfx)
					}
					b := netip.MustParseAddr("64:ff9b::").As16()
					v4 := a.As4()
					copy(b[12:], v4[:])
					if nat := netip.AddrFrom16(b); p.PeerAllowed(nat) {
						t.Errorf("%v (NAT64, in %v) allowed", nat, pfx)
					}
				}
			}
		}
	}
	check(briefRanges)
	var all []string
	for _, r := range BuiltinRefused() {
		all = append(all, r.String())
	}
	check(all)
}

func TestPolicyPeerAllowed(t *testing.T) {
	own := Policy{Own: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("fd00::2")}}
	ops := Policy{
		Allow: []netip.Prefix{
			netip.MustParsePrefix("10.1.0.0/16"),
			netip.MustParsePrefix("::ffff:192.168.7.0/120"), // IPv4-mapped form of 192.168.7.0/24
			netip.MustParsePrefix("8.8.0.0/16"),
		},
		Deny: []netip.Prefix{
			netip.MustParsePrefix("10.1.2.0/24"),
			netip.MustParsePrefix("8.8.8.0/24"),
			netip.MustParsePrefix("192.168.7.7/32"),
			netip.MustParsePrefix("203.0.0.0/8"),
		},
	}
	cases := []struct {
		p    Policy
		addr string
		want bool
	}{
		// The brief's list, with own address 127.0.0.2.
		{own, "127.0.0.1", false},
		{own, "10.0.0.1", false},
		{own, "172.16.0.1", false},
		{own, "192.168.1.1", false},
		{own, "100.64.0.1", false},
		{own, "169.254.169.254", false},
		{own, "0.0.0.0", false},
		{own, "224.0.0.1", false},
		{own, "::1", false},
		{own, "::ffff:127.0.0.1", false},
		{own, "::ffff:10.0.0.1", false},
		{own, "fe80::1", false},
		{own, "fe80::1%eth0", false},
		{own, "::", false},
		{own, "255.255.255.255", false},
		{own, "127.0.0.2", true},
		{own, "::ffff:127.0.0.2", true},     // the own address, IPv4-mapped
		{own, "64:ff9b::7f00:2", true},      // the own address through NAT64
		{own, "fd00::2", true},              // own addresses win over the built-in ranges
		{own, "fd00::3", false},             // …only themselves
		{own, "64:ff9b::a00:1", false},      // NAT64 of 10.0.0.1
		{own, "64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
		{own, "64:ff9b::808:808", true},     // NAT64 of 8.8.8.8
		{own, "64:ff9b:1::808:808", false},  // local-use NAT64
		{own, "2002:a00:1::1", false},       // 6to4 of 10.0.0.1
		{own, "2001:0:4136:e378::1", false}, // Teredo
		{own, "::a00:1", false},             // IPv4-compatible (deprecated)
		{own, "100::1", false},              // discard
		{own, "8.8.8.8", true},              // public unicast
		{own, "1.1.1.1", true},              // public unicast
		{own, "2606:4700:4700::1111", true}, // public unicast
		{own, "2001:4860:4860::8888", true}, // public unicast (2001:4860::/32 is not Teredo)
		{Policy{}, "127.0.0.2", false},      // not own without OwnAddrs
		{Policy{}, "", false},               // invalid

		// Operator lists: the longest match wins, Deny on a tie.
		{ops, "10.1.3.4", true},    // allowed exception inside RFC 1918
		{ops, "10.1.2.3", false},   // denied inside the exception
		{ops, "10.2.0.1", false},   // outside the exception: built-in refusal
		{ops, "192.168.7.1", true}, // IPv4-mapped Allow prefix applies to IPv4
		{ops, "::ffff:192.168.7.1", true},
		{ops, "192.168.7.7", false},       // /32 Deny beats /24 Allow
		{ops, "8.8.4.4", true},            // public, allowed anyway
		{ops, "8.8.8.8", false},           // /24 Deny beats /16 Allow
		{ops, "203.1.1.1", false},         // extra refusal of a public range
		{ops, "64:ff9b::cb01:101", false}, // NAT64 of 203.1.1.1
		{ops, "64:ff9b::a01:304", true},   // NAT64 of 10.1.3.4
		{Policy{Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Deny: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, "8.8.8.8", false},
		{Policy{Own: []netip.Addr{netip.MustParseAddr("10.0.0.5")}, Deny: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "10.0.0.5", true}, // own beats Deny
	}
	for _, c := range cases {
		addr, _ := netip.ParseAddr(c.addr)
		if got := c.p.PeerAllowed(addr); got != c.want {
			t.Errorf("PeerAllowed(%q) = %v, want %v (policy %+v)", c.addr, got, c.want, c.p)
		}
	}
}

// The permission handler pion calls is the policy, whatever form pion gives
// the peer address in (4 or 16 bytes), and it counts refusals.
func TestPermissionHandler(t *testing.T) {
	s := startServer(t, testConfig())
	client := &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}
	cases := []struct {
		ip   net.IP
		want bool
	}{
		{net.ParseIP("127.0.0.2"), true},
		{net.ParseIP("127.0.0.2").To4(), true},
		{net.ParseIP("10.0.0.1"), false},
		{net.ParseIP("10.0.0.1").To4(), false},
		{net.ParseIP("::1"), false},
		{net.ParseIP("fe80::1"), false},
		{net.ParseIP("fd12::1"), false},
		{net.ParseIP("64:ff9b::a00:1"), false},
		{net.ParseIP("2002:a00:1::"), false},
		{net.IP{1, 2, 3}, false}, // garbage
		{nil, false},
	}
	refused := 0
	for _, c := range cases {
		if got := s.permissionHandler(client, c.ip); got != c.want {
			t.Errorf("permissionHandler(%v) = %v, want %v", c.ip, got, c.want)
		}
		if !c.want {
			refused++
		}
	}
	if got := s.Stats().PermissionsRefused; got != uint64(refused) {
		t.Errorf("PermissionsRefused = %d, want %d", got, refused)
	}
}

// Over the wire, on an IPv4 allocation (UDP and TCP transports): every
// refused peer gets an error and 127.0.0.2 (own) is granted. Only
// permissions are asked for: nothing is sent to these peers.
func TestRelayPolicyOverTheWire(t *testing.T) {
	s := startServer(t, testConfig())
	refused := []string{
		"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
		"169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1",
		"192.0.2.1", "240.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
	}
	ipv6 := []string{"::1", "fe80::1", "fc00::1", "2002:a00:1::1"} // address family mismatch on IPv4
	for _, tr := range []transport{overUDP, overTCP} {
		t.Run(string(tr), func(t *testing.T) {
			user, pass := s.Credentials("mallory-"+string(tr), time.Hour)
			c := dialClient(t, s, tr, user, pass)
			if _, err := allocate(t, c); err != nil {
				t.Fatal(err)
			}
			before := s.Stats().PermissionsRefused
			for _, a := range refused {
				err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(a), Port: 9})
				if code := turnCode(err); code != 403 {
					t.Errorf("CreatePermission(%s): %v (code %d), want 403 Forbidden", a, err, code)
				}
			}
			for _, a := range ipv6 {
				if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(a), Port: 9}); err == nil {
					t.Errorf("CreatePermission(%s) on an IPv4 allocation succeeded", a)
				}
			}
			if got := s.Stats().PermissionsRefused - before; got != uint64(len(refused)) {
				t.Errorf("PermissionsRefused grew by %d, want %d", got, len(refused))
			}
			if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(testIP), Port: 9}); err != nil {
				t.Errorf("CreatePermission(%s) (own address): %v", testIP, err)
			}
			if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP("1.1.1.1"), Port: 9}); err != nil {
				t.Errorf("CreatePermission(1.1.1.1) (public): %v", err)
			}
		})
	}
}

// Over the wire on an IPv6 allocation (server on ::1), when the host has
// IPv6 loopback.
func TestRelayPolicyOverTheWireIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = pc.Close()
	cfg := testConfig()
	cfg.ListenIP = "::1"
	cfg.OwnAddrs = nil
	s := startServer(t, cfg)
	user, pass := s.Credentials("mallory6", time.Hour)
	c := dialClient(t, s, overUDP, user, pass)
	relay, err := allocate(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if ra := relay.LocalAddr().(*net.UDPAddr); !ra.IP.Equal(net.IPv6loopback) {
		t.Fatalf("relayed address %v", ra)
	}
	for _, a := range []string{
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
		"2002:a00:1::1", "2001:0:4136:e378::1", "100::1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "::a00:1",
	} {
		err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(a), Port: 9})
		if code := turnCode(err); code != 403 {
			t.Errorf("CreatePermission(%s): %v (code %d), want 403 Forbidden", a, err, code)
		}
	}
	if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP("2606:4700:4700::1111"), Port: 9}); err != nil {
		t.Errorf("CreatePermission(public IPv6): %v", err)
	}
}
