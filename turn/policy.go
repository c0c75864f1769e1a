package turn

import (
	"net/netip"
	"slices"

	"palabre/internal/netrange"
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
// own networks, the host itself, or the cloud metadata service. The table
// (with the why of each range) is package netrange's, which the media plane
// applies to clients' ICE candidates too.
var refusedRanges = netrange.Refused()

// nat64 is the well-known NAT64 prefix (RFC 6052): 64:ff9b::A.B.C.D is A.B.C.D
// seen through the site's NAT64 gateway, so the embedded IPv4 address is what
// the policy judges.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

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
