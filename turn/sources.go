package turn

import (
	"net/netip"
	"strconv"
)

// maxSources bounds a sourceSet: past it, a set only remembers that there
// were more. 1,024 addresses are enough to tell one misconfigured client
// from a distributed flood, and cost at most a few tens of kilobytes.
const maxSources = 1024

// sourceSet counts the distinct client sources of repeated events (IPv6
// sources by /64, the block one subscriber usually holds), in bounded
// memory. It is only ever used for reporting: nothing is refused because a
// source is in it. Not safe for concurrent use.
type sourceSet struct {
	m    map[netip.Addr]struct{}
	more bool // sources past maxSources were seen and not remembered
}

func sourceKey(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// add records ip; the zero Addr is ignored.
func (s *sourceSet) add(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	k := sourceKey(ip)
	if _, ok := s.m[k]; ok {
		return
	}
	if len(s.m) >= maxSources {
		s.more = true
		return
	}
	if s.m == nil {
		s.m = make(map[netip.Addr]struct{})
	}
	s.m[k] = struct{}{}
}

// len is the number of sources remembered (at most maxSources).
func (s *sourceSet) len() int { return len(s.m) }

// take describes the set ("17", "1024+") and empties it.
func (s *sourceSet) take() string {
	d := strconv.Itoa(len(s.m))
	if s.more {
		d += "+"
	}
	clear(s.m)
	s.more = false
	return d
}
