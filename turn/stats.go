package turn

import "sync/atomic"

// Stats are the server's counters and gauges, for metrics. Reading them
// costs a few atomic loads. Totals count from the server's start and
// never decrease.
type Stats struct {
	Allocations      int64  // gauge: live allocations
	AllocationsTotal uint64 // allocations created
	Conns            int64  // gauge: open client TCP and TLS connections

	// AuthFailures counts requests refused for their credentials:
	// malformed or expired username, wrong password, wrong realm.
	AuthFailures uint64
	QuotaRefused uint64 // allocations refused by a quota (per credential id or per client IP)
	// PermissionsRefused counts the peers refused by the relay policy:
	// CreatePermission, ChannelBind and Connect requests.
	PermissionsRefused uint64
	// RelayPortRefused counts the relayed packets and TCP connects to the
	// server's own addresses refused for their port.
	RelayPortRefused uint64
	ConnsRefused     uint64 // TCP and TLS connections refused by the per-IP cap

	// TCP and TLS connections closed by their deadline: no allocation
	// within Config.ConnAuthTimeout, or idle for Config.ConnIdleTimeout
	// with one.
	ConnsClosedNoAllocation uint64
	ConnsClosedIdle         uint64

	// Payload bytes relayed, UDP and TCP relays together: sent from the
	// relays to peers, and received by the relays from peers (pion then
	// drops what comes from a peer without a permission; those bytes are
	// counted too, they reached the server).
	RelayBytesToPeers   uint64
	RelayBytesFromPeers uint64
}

type counters struct {
	allocations             atomic.Int64
	allocationsTotal        atomic.Uint64
	authFailures            atomic.Uint64
	quotaRefused            atomic.Uint64
	permissionsRefused      atomic.Uint64
	relayPortRefused        atomic.Uint64
	connsRefused            atomic.Uint64
	connsClosedNoAllocation atomic.Uint64
	connsClosedIdle         atomic.Uint64
	relayBytesToPeers       atomic.Uint64
	relayBytesFromPeers     atomic.Uint64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Allocations:             s.stats.allocations.Load(),
		AllocationsTotal:        s.stats.allocationsTotal.Load(),
		Conns:                   s.tracker.open.Load(),
		AuthFailures:            s.stats.authFailures.Load(),
		QuotaRefused:            s.stats.quotaRefused.Load(),
		PermissionsRefused:      s.stats.permissionsRefused.Load(),
		RelayPortRefused:        s.stats.relayPortRefused.Load(),
		ConnsRefused:            s.stats.connsRefused.Load(),
		ConnsClosedNoAllocation: s.stats.connsClosedNoAllocation.Load(),
		ConnsClosedIdle:         s.stats.connsClosedIdle.Load(),
		RelayBytesToPeers:       s.stats.relayBytesToPeers.Load(),
		RelayBytesFromPeers:     s.stats.relayBytesFromPeers.Load(),
	}
}

// addRelayed counts n bytes relayed to peers (out) or from them.
func (c *counters) addRelayed(n int, out bool) {
	if n <= 0 {
		return
	}
	if out {
		c.relayBytesToPeers.Add(uint64(n))
	} else {
		c.relayBytesFromPeers.Add(uint64(n))
	}
}
