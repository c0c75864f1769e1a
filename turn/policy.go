package turn

import (
	"net/netip"
	"slices"
)

// Policy decides which peers a TURN allocation may talk to. The zero Policy
// refuses every built-in range (see PeerAllowed) and allows the rest.
type Policy struct {
	// Allow lists operator exceptions: peers in these prefixes are allowed
	// even inside a built-in refused range (--turn-allow-peer).
	Allow []netip.Prefix
	// Deny lists extra refusals (--turn-deny-peer).
	Deny []netip.Prefix
	// Own are the server's own media addresses (the SFU shares the host):
	// always allowed, whatever the lists say.
	Own []netip.Addr
}

// refusedRanges are never relayed to unless allowed by Policy.Own or
// Policy.Allow: everything that is not a unicast address of the public
// internet, so that the TURN server cannot be used to reach the operator's
// own networks, the host itself, or the cloud metadata service.
var refusedRanges = mustPrefixes(
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
	"2001::/32",      // Teredo: tunnels to an IPv4 address hidden in the IPv6 one, the relay would bypass the IPv4 checks
	"2001:2::/48",    // benchmarking, RFC 5180
	"2001:20::/28",   // ORCHIDv2, not routable
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4: embeds an IPv4 address (2002:AABB:CCDD::/48 ↔ A.B.C.D) that a 6to4 relay would reach, so 2002:0a00:0001:: is 10.0.0.1 in disguise; deprecated by RFC 7526 anyway
	"3fff::/20",      // documentation, RFC 9637
	"64:ff9b:1::/48", // local-use NAT64, RFC 8215: the embedded IPv4 is site-specific
	"fc00::/7",       // unique local addresses (the IPv6 RFC 1918)
	"fe80::/10",      // link-local
	"fec0::/10",      // deprecated site-local
	"ff00::/8",       // multicast
)

// nat64 is the well-known NAT64 prefix (RFC 6052): 64:ff9b::A.B.C.D is A.B.C.D
// seen through the site's NAT64 gateway, so the embedded IPv4 address is what
// the policy judges.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// BuiltinRefused returns the ranges refused unless an operator allows them,
// for documentation and `palabre check`.
func BuiltinRefused() []netip.Prefix { return slices.Clone(refusedRanges) }

// PeerAllowed reports whether a TURN client may relay to addr.
//
// Order: an invalid address is refused; IPv4-mapped IPv6 (::ffff:a.b.c.d) is
// judged as the IPv4 address it stands for; the server's own addresses are
// allowed; then the operator lists decide, the longest matching prefix of
// Allow and Deny winning (Deny on a tie); then NAT64 addresses
// (64:ff9b::/96) are judged as their embedded IPv4 address; then the built-in
// ranges are refused; everything else is allowed.
func (p Policy) PeerAllowed(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.WithZone("").Unmap()
	for _, own := range p.Own {
		if own.WithZone("").Unmap() == addr {
			return true
		}
	}
	allowBits, denyBits := longestMatch(p.Allow, addr), longestMatch(p.Deny, addr)
	switch {
	case denyBits >= 0 && denyBits >= allowBits:
		return false
	case allowBits >= 0:
		return true
	}
	if nat64.Contains(addr) {
		b := addr.As16()
		return p.PeerAllowed(netip.AddrFrom4([4]byte(b[12:])))
	}
	for _, r := range refusedRanges {
		if r.Contains(addr) {
			return false
		}
	}
	return true
}

// longestMatch returns the length of the longest prefix in list that
// contains addr, or -1. IPv4-mapped prefixes (::ffff:10.0.0.0/104) count as
// the IPv4 prefix they stand for.
func longestMatch(list []netip.Prefix, addr netip.Addr) int {
	best := -1
	for _, p := range list {
		p = normalizePrefix(p)
		if p.IsValid() && p.Contains(addr) && p.Bits() > best {
			best = p.Bits()
		}
	}
	return best
}

func normalizePrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}
