package cluster

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// When a network partition heals, each side has declared the other dead.
// memberlist never probes a dead node again, and gossips to it only for
// GossipToTheDeadTime after its death and only while it has something to
// broadcast: left alone, the two sides of a healed partition stay apart,
// each with its own copy of the rooms and the same room live on both,
// until a node restarts. So a node keeps calling the nodes it saw fail,
// as Serf does: every reconnectEvery it pings each of them (one UDP
// packet), and joins the ones that answer. A join is a full-state
// exchange: the definitions written on the other side meanwhile, and the
// rooms live there.
//
// A failed node that is a member again gets one more full-state exchange,
// whatever brought it back (this node's join, its own, or gossip): a
// node's live-room announcements count only while it is a member, and the
// exchange of the join that brought it back may have come before that.
const (
	reconnectEvery = 2 * time.Second
	// reconnectSettle is how long a node that answered a join is left to
	// become a member again (memberlist settles that by gossip, within a
	// second) before it is joined again.
	reconnectSettle = 10 * time.Second
	// reconnectFor is how long a failed node is called (Serf's default).
	// A node that left on purpose (drained) is not called at all.
	reconnectFor = 24 * time.Hour
	// maxFailed bounds the failed nodes called at once; the oldest is
	// forgotten first.
	maxFailed = 128
)

// failedPeer is a node that failed and is being called.
type failedPeer struct {
	addr   string // gossip address, "host:port"
	since  time.Time
	back   bool      // it has been a member again since it failed
	joined time.Time // when it last answered a join while not back
}

// peerFailedLocked starts calling a member that failed. Callers hold n.mu.
func (n *Node) peerFailedLocked(name, addr string) {
	if len(n.failed) >= maxFailed {
		if _, ok := n.failed[name]; !ok {
			var oldest string
			for id, p := range n.failed {
				if oldest == "" || p.since.Before(n.failed[oldest].since) {
					oldest = id
				}
			}
			delete(n.failed, oldest)
		}
	}
	n.failed[name] = &failedPeer{addr: addr, since: time.Now()}
}

// peerBackLocked notes that a failed node is a member again, and has it
// joined at once for a full-state exchange. Callers hold n.mu.
func (n *Node) peerBackLocked(name, addr string) {
	p, ok := n.failed[name]
	if !ok {
		return
	}
	p.addr, p.back = addr, true
	select {
	case n.reconnectKick <- struct{}{}:
	default:
	}
}

// peerLeftLocked stops calling a node that left on purpose. Callers hold
// n.mu.
func (n *Node) peerLeftLocked(name string) { delete(n.failed, name) }

// reconnectLoop calls the failed nodes every reconnectEvery, and at once
// when one is back.
func (n *Node) reconnectLoop() {
	defer n.wg.Done()
	t := time.NewTicker(reconnectEvery)
	defer t.Stop()
	type call struct {
		name string
		p    *failedPeer
		addr string
		back bool
	}
	for {
		select {
		case <-n.stop:
			return
		case <-n.reconnectKick:
		case <-t.C:
		}
		var calls []call
		now := time.Now()
		n.mu.Lock()
		for name, p := range n.failed {
			switch {
			case now.Sub(p.since) > reconnectFor:
				delete(n.failed, name)
				n.log.Warn("giving up calling a failed node", "node", name, "addr", p.addr, "after", reconnectFor)
			case p.back || now.Sub(p.joined) >= reconnectSettle:
				calls = append(calls, call{name, p, p.addr, p.back})
			}
		}
		n.mu.Unlock()
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.callFailed(c.name, c.p, c.addr, c.back)
			}()
		}
		wg.Wait()
	}
}

// callFailed pings a failed node and joins it if it answers. back says
// whether it was a member again before the call: then the join's
// exchange is the one that counts, and the node is no longer called.
func (n *Node) callFailed(name string, p *failedPeer, addr string, back bool) {
	if !back {
		// A ping waits at most memberlist's probe timeout, where a join
		// to an unreachable node waits for its TCP timeout.
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return
		}
		if _, err := n.ml.Ping(name, net.UDPAddrFromAddrPort(ap)); err != nil {
			return
		}
	}
	count, err := n.ml.Join([]string{addr})
	if count == 0 {
		n.log.Debug("a failed node answers pings but not joins", "node", name, "addr", addr, "err", err)
		return
	}
	n.mu.Lock()
	done := back && n.failed[name] == p && p.back
	if done {
		delete(n.failed, name)
	} else if n.failed[name] == p {
		p.joined = time.Now()
	}
	n.mu.Unlock()
	if done {
		n.log.Info("exchanged state with a node that had failed", "node", name, "addr", addr,
			"failed_for", time.Since(p.since).Round(time.Millisecond))
	} else {
		n.log.Info("reached a node that had failed", "node", name, "addr", addr)
	}
}
