package cluster

import "time"

// liveMsg announces that a room is live on a node with that many
// participants, or no longer live there (Participants 0). Seq orders one
// node's announcements.
type liveMsg struct {
	Node         string `json:"n"`
	Seq          uint64 `json:"s"`
	Room         string `json:"r"`
	Participants int    `json:"p,omitempty"`
	Since        int64  `json:"t,omitempty"`
}

// valid checks an announcement from a peer: ids and names of sane length,
// counts in range.
func (m liveMsg) valid() bool {
	return m.Node != "" && len(m.Node) <= 64 && m.Room != "" && len(m.Room) <= 64 &&
		m.Participants >= 0 && m.Participants <= 1_000_000
}

type liveEntry struct {
	seq          uint64
	participants int // 0: a removal, kept so an older announcement cannot revive it
	since        int64
	removedAt    time.Time // when a removal was recorded (purge)
}

// liveTable is every node's live rooms as last announced. Callers lock.
type liveTable map[string]map[string]liveEntry // node → room → entry

// apply records m unless an announcement at least as recent was seen.
func (t liveTable) apply(m liveMsg) bool {
	rooms := t[m.Node]
	if rooms == nil {
		rooms = make(map[string]liveEntry)
		t[m.Node] = rooms
	}
	if cur, ok := rooms[m.Room]; ok && cur.seq >= m.Seq {
		return false
	}
	e := liveEntry{seq: m.Seq, participants: m.Participants, since: m.Since}
	if e.participants == 0 {
		e.removedAt = time.Now()
	}
	rooms[m.Room] = e
	return true
}

// purge forgets removals recorded before t: announcements reach every node
// within seconds, so an older one can no longer be in flight.
func (t liveTable) purge(before time.Time) {
	for _, rooms := range t {
		for room, e := range rooms {
			if e.participants == 0 && e.removedAt.Before(before) {
				delete(rooms, room)
			}
		}
	}
}

// replace takes a node's full list of live rooms as of seq: rooms it no
// longer lists, announced before seq, are gone.
func (t liveTable) replace(node string, seq uint64, live []liveMsg) {
	for _, m := range live {
		if m.Node == node && m.Seq <= seq {
			t.apply(m)
		}
	}
	listed := make(map[string]bool, len(live))
	for _, m := range live {
		listed[m.Room] = true
	}
	for room, e := range t[node] {
		if !listed[room] && e.seq < seq {
			delete(t[node], room)
		}
	}
}

// holders returns the nodes that announce room as live.
func (t liveTable) holders(room string) []holding {
	var out []holding
	for node, rooms := range t {
		if e, ok := rooms[room]; ok && e.participants > 0 {
			out = append(out, holding{node: node, participants: e.participants, since: e.since})
		}
	}
	return out
}

// forget drops what a node announced (it died or left).
func (t liveTable) forget(node string) { delete(t, node) }
