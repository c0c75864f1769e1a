package sfu

import (
	"net"
	"net/netip"
	"testing"
)

// Which remote addresses a server sends to, by what it announces.
func TestAddrPolicy(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.8.0.0/16"), netip.MustParsePrefix("::ffff:192.168.7.0/120")}
	public := newAddrPolicy(Config{PublicIPs: []string{"1.2.3.4"}, AllowRemote: allow}, &net.UDPAddr{IP: net.ParseIP("10.0.0.5")})
	lan := newAddrPolicy(Config{}, &net.UDPAddr{IP: net.ParseIP("192.168.1.10")})
	loop := newAddrPolicy(Config{}, &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if !public.public || lan.public || loop.public || !loop.loopback {
		t.Fatalf("modes: public %v, lan %v, loopback %v/%v", public.public, lan.public, loop.public, loop.loopback)
	}
	for _, c := range []struct {
		addr              string
		public, lan, loop bool
	}{
		{"8.8.8.8", true, true, false},
		{"1.2.3.4", true, true, false},     // the server's announced address
		{"10.0.0.5", true, true, false},    // its own bound address (a relay on the same host)
		{"10.8.1.1", true, true, false},    // allowed by the operator
		{"192.168.7.9", true, true, false}, // allowed, as an IPv4-mapped prefix
		{"192.168.1.20", false, true, false},
		{"100.64.0.1", false, true, false},
		{"fd12::1", false, true, false},
		{"127.0.0.1", false, false, true},
		{"127.0.0.2", false, false, true},
		{"::1", false, false, true},
		{"169.254.169.254", false, false, false},
		{"fe80::1", false, false, false},
		{"224.0.0.1", false, false, false},
		{"0.0.0.0", false, false, false},
		{"::ffff:169.254.169.254", false, false, false},
		{"64:ff9b::a9fe:a9fe", false, false, false},
	} {
		a := netip.MustParseAddr(c.addr)
		if got := public.allowed(a); got != c.public {
			t.Errorf("public server, %s: %v", c.addr, got)
		}
		if got := lan.allowed(a); got != c.lan {
			t.Errorf("LAN server, %s: %v", c.addr, got)
		}
		if got := loop.allowed(a); got != c.loop {
			t.Errorf("loopback server, %s: %v", c.addr, got)
		}
	}
}
