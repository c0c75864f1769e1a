package sfu

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/ice/v4"
)

// maxRemoteCandidates is the number of remote candidates a participant may
// name, in its answer and trickled together: a browser gathers a few per
// network interface. Peer-reflexive ones, learned from checks, are bounded
// by the guard (maxRemoteAddrs), so a participant has at most
// (maxRemoteCandidates + maxRemoteAddrs) × (local candidates) pairs.
const maxRemoteCandidates = 20

// Errors of AddCandidate.
var (
	ErrCandidateRefused  = errors.New("sfu: candidate refused")
	ErrTooManyCandidates = fmt.Errorf("sfu: more than %d remote candidates", maxRemoteCandidates)
)

// checkCandidate judges a trickled candidate line ("candidate:…", as in
// RTCIceCandidateInit): use says whether to hand it to ICE; err is for
// the client.
func (e *Engine) checkCandidate(line string) (use bool, err error) {
	v := strings.TrimSpace(strings.TrimPrefix(line, "candidate:"))
	if v == "" {
		return false, nil // end of candidates: ICE needs nothing
	}
	c, err := ice.UnmarshalCandidate(v)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrCandidateRefused, err)
	}
	if c.NetworkType().IsTCP() {
		// The server's ICE-TCP is passive: it accepts the connections of
		// the client's active candidates, and never dials.
		return false, nil
	}
	if strings.HasSuffix(c.Address(), ".local") {
		return false, nil // mDNS is off: the name would not resolve
	}
	addr, err := netip.ParseAddr(c.Address())
	if err != nil {
		return false, fmt.Errorf("%w: address %q is not an IP address", ErrCandidateRefused, c.Address())
	}
	if c.Port() == 0 {
		return false, fmt.Errorf("%w: port 0", ErrCandidateRefused)
	}
	if !e.policy.allowed(addr) {
		if e.policy.loopback && !e.policy.public {
			// A browser on the server's machine names its LAN addresses
			// too: nothing wrong, just unreachable from loopback.
			return false, nil
		}
		return false, fmt.Errorf("%w: %s is in a range this server does not send to", ErrCandidateRefused, addr)
	}
	return true, nil
}
