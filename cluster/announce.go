package cluster

import "time"

// SetLive records how many participants a room has on this node (0: it
// emptied) and announces it: at once when the room goes live or empties,
// with the next tick for a changed count.
func (n *Node) SetLive(room string, participants int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	self := n.cfg.NodeID
	cur := n.live[self][room]
	if cur.participants == participants {
		return
	}
	if (cur.participants > 0) == (participants > 0) {
		// Same state, new count: sent with the next tick.
		n.live[self][room] = liveEntry{seq: cur.seq, participants: participants, since: cur.since}
		n.dirty[room] = true
		return
	}
	since := cur.since
	if participants > 0 {
		since = time.Now().UnixNano()
	}
	n.announceLocked(room, participants, since)
	n.wake()
}

// announceLocked records and queues one announcement of this node's.
func (n *Node) announceLocked(room string, participants int, since int64) {
	n.seq++
	m := liveMsg{Node: n.cfg.NodeID, Seq: n.seq, Room: room, Participants: participants, Since: since}
	n.live.apply(m)
	n.outbox.Live = append(n.outbox.Live, m)
	delete(n.dirty, room)
	n.gossipCopy("l:"+room, batch{Live: []liveMsg{m}})
}

// tickLoop sends changed participant counts and refreshes the load in
// this node's metadata.
func (n *Node) tickLoop() {
	defer n.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.mu.Lock()
		self := n.live[n.cfg.NodeID]
		for room := range n.dirty {
			e := self[room]
			n.announceLocked(room, e.participants, e.since)
		}
		n.live.purge(time.Now().Add(-time.Minute))
		participants, rooms := 0, 0
		for _, e := range self {
			if e.participants > 0 {
				participants += e.participants
				rooms++
			}
		}
		n.meta.Participants, n.meta.Rooms = participants, rooms
		changed := n.meta != n.metaSent
		n.metaSent = n.meta
		pending := len(n.outbox.Live) > 0
		n.mu.Unlock()
		if pending {
			n.wake()
		}
		if changed {
			if err := n.ml.UpdateNode(tick); err != nil {
				n.log.Debug("metadata update", "err", err)
			}
		}
	}
}
