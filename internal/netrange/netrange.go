// Package netrange classifies IP addresses: which ones are the public
// internet, and which ones a server must not be made to send to by a
// remote party (its own host, the operator's networks, the cloud metadata
// service).
//
// The table is shared by the TURN relay policy (turn/policy.go) and the
// media plane, which applies it to the ICE candidates clients name.
package netrange

import (
	"net/netip"
	"slices"
)

// refused are the ranges that are not unicast addresses of the public
// internet.
var refused = mustPrefixes(
	// IPv4
	"0.0.0.0/8",          // "this network", includes the unspecified 0.0.0.0
	"10.0.0.0/8",         // RFC 1918
	"100.64.0.0/10",      // CGNAT shared space, RFC 6598
	"127.0.0.0/8",        // loopback
	"169.254.0.0/16",     // link-local, includes the 169.254.169.254 metadata service
	"172.16.0.0/12",      // RFC 1918
	"192.0.0.0/24",       // IETF protocol assignments (DS-Lite, NAT64 discovery…)
	"192.0.2.0/24",       // documentation TEST-NET-1
	"192.88.99.0/24",     // deprecated 6to4 relay anycast, RFC 7526
	"192.168.0.0/16",     // RFC 1918
	"198.18.0.0/15",      // benchmarking, RFC 2544
	"198.51.100.0/24",    // documentation TEST-NET-2
	"203.0.113.0/24",     // documentation TEST-NET-3
	"224.0.0.0/4",        // multicast
	"240.0.0.0/4",        // reserved
	"255.255.255.255/32", // limited broadcast (inside 240/4, listed for clarity)

	// IPv6
	"::/128",         // unspecified
	"::1/128",        // loopback
	"::/96",          // deprecated IPv4-compatible addresses, RFC 4291
	"100::/64",       // discard-only, RFC 6666
	"2001::/32",      // Teredo: tunnels to an IPv4 address hidden in the IPv6 one
	"2001:2::/48",    // benchmarking, RFC 5180
	"2001:20::/28",   // ORCHIDv2, not routable
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4: embeds an IPv4 address (2002:0a00:0001:: is 10.0.0.1 in disguise)
	"3fff::/20",      // documentation, RFC 9637
	"64:ff9b:1::/48", // local-use NAT64, RFC 8215: the embedded IPv4 is site-specific
	"fc00::/7",       // unique local addresses (the IPv6 RFC 1918)
	"fe80::/10",      // link-local
	"fec0::/10",      // deprecated site-local
	"ff00::/8",       // multicast
)

// hostLocal are the ranges that never name another host on any network:
// refused even by a server on a private network.
var hostLocal = mustPrefixes(
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "::/96", "fe80::/10", "ff00::/8",
)

// nat64 is the well-known NAT64 prefix (RFC 6052): 64:ff9b::A.B.C.D is
// A.B.C.D seen through the site's NAT64 gateway, judged as A.B.C.D.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Refused returns the ranges that are not the public internet.
func Refused() []netip.Prefix { return slices.Clone(refused) }

// normalize drops the zone, unmaps IPv4-mapped IPv6 and extracts the IPv4
// address of a NAT64 one.
func normalize(a netip.Addr) netip.Addr {
	a = a.WithZone("").Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

func inAny(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Public reports whether a is a unicast address of the public internet.
func Public(a netip.Addr) bool {
	return a.IsValid() && !inAny(refused, normalize(a))
}

// HostLocal reports whether a can only mean the host itself or its link:
// unspecified, loopback, link-local (the metadata service among them),
// multicast or broadcast. Invalid addresses are host-local.
func HostLocal(a netip.Addr) bool {
	return !a.IsValid() || inAny(hostLocal, normalize(a))
}
