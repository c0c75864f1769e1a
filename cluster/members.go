package cluster

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Members returns the nodes that are alive or suspect, this one included,
// sorted by id.
func (n *Node) Members() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	suspectAfter := n.suspectAfterLocked()
	now := time.Now()
	out := make([]Member, 0, len(n.members))
	for id, r := range n.members {
		m := r.meta
		local := id == n.cfg.NodeID
		if local {
			m = n.meta
		}
		state := "alive"
		switch {
		case !local && now.Sub(r.lastSeen) > suspectAfter:
			state = "suspect"
		case m.Draining:
			state = "draining"
		}
		out = append(out, Member{
			ID: id, URL: m.URL, Region: m.Region, Capacity: m.Capacity,
			Participants: m.Participants, Rooms: m.Rooms, Draining: m.Draining,
			State: state, Protocol: m.Protocol, Addr: r.addr, Local: local,
		})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// suspectAfterLocked is how long a node may go without answering this
// node's probes before it is shown as suspect: memberlist probes one peer
// per interval in turn, so each peer about every (peers × interval).
func (n *Node) suspectAfterLocked() time.Duration {
	peers := max(len(n.members)-1, 1)
	return time.Duration(peers+2) * n.probeInterval
}

// maxKnownURLs bounds KnownURLs.
const maxKnownURLs = 1024

// KnownURLs returns the public URLs of every node seen since this one
// started, including nodes that have since left or failed, sorted.
func (n *Node) KnownURLs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append(slices.Collect(maps.Values(n.everURL)), n.meta.URL)
	slices.Sort(out)
	return slices.Compact(out)
}

// Local returns this node as the others see it.
func (n *Node) Local() Member {
	for _, m := range n.Members() {
		if m.Local {
			return m
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return Member{ID: n.cfg.NodeID, URL: n.meta.URL, Capacity: n.meta.Capacity, State: "alive", Local: true, Protocol: ProtocolVersion}
}

// Owner says which node should host room: the node where it is live if
// any (the one that keeps it, if several), else the rendezvous choice
// among the members that are not draining. Draining nodes hold on to no
// room. With no candidate at all, this node.
func (n *Node) Owner(room string) Placement {
	ms := n.Members()
	byID := make(map[string]Member, len(ms))
	for _, m := range ms {
		byID[m.ID] = m
	}
	n.mu.Lock()
	hs := n.live.holders(room)
	n.mu.Unlock()
	var best *holding
	for i, h := range hs {
		m, ok := byID[h.node]
		if !ok || m.Draining || m.Protocol != ProtocolVersion {
			continue
		}
		if best == nil || keeps(h, *best) {
			best = &hs[i]
		}
	}
	if best != nil {
		return Placement{Member: byID[best.node], Live: true}
	}
	candidates := ms[:0:0]
	for _, m := range ms {
		// Suspect nodes stay candidates: suspicion is this node's own
		// guess, and placement must be the same on every node.
		if !m.Draining && m.Protocol == ProtocolVersion {
			candidates = append(candidates, m)
		}
	}
	if i := rendezvous(room, candidates); i >= 0 {
		return Placement{Member: candidates[i]}
	}
	return Placement{Member: n.Local()}
}
