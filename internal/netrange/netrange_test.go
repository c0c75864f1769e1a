package netrange_test

import (
	"net/netip"
	"testing"

	"palabre/internal/netrange"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		addr              string
		public, hostLocal bool
	}{
		{"8.8.8.8", true, false},
		{"2a00:1450:4007:80e::200e", true, false},
		{"10.1.2.3", false, false},
		{"192.168.1.1", false, false},
		{"100.100.1.1", false, false},
		{"fd00::1", false, false},
		{"127.0.0.5", false, true},
		{"::1", false, true},
		{"169.254.169.254", false, true},
		{"fe80::1%eth0", false, true},
		{"0.0.0.0", false, true},
		{"224.0.0.251", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:8.8.8.8", true, false},
		{"64:ff9b::a9fe:a9fe", false, true}, // NAT64 169.254.169.254
		{"64:ff9b::808:808", true, false},   // NAT64 8.8.8.8
		{"2002:a00:1::", false, false},      // 6to4 of 10.0.0.1
	} {
		a := netip.MustParseAddr(c.addr)
		if got := netrange.Public(a); got != c.public {
			t.Errorf("Public(%s) = %v", c.addr, got)
		}
		if got := netrange.HostLocal(a); got != c.hostLocal {
			t.Errorf("HostLocal(%s) = %v", c.addr, got)
		}
	}
	if netrange.Public(netip.Addr{}) || !netrange.HostLocal(netip.Addr{}) {
		t.Error("the invalid address is public or not host-local")
	}
}
