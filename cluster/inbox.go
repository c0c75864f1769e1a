package cluster

import (
	"bytes"
	"sync"
	"time"
)

// Registry entries from peers do not touch the disk inside memberlist's
// callbacks (NotifyMsg, MergeRemoteState): memberlist runs them on its
// packet and stream handlers, which must not block, and a push/pull of
// thousands of rooms written one transaction (one fsync) each would take
// seconds, past memberlist's TCP timeout. The callbacks decode, check and
// queue the entries in the inbox; one goroutine (applyLoop) hands what
// gathered to the Registry as one batch, that is one write transaction.

// Bounds on the inbox. The entries are coalesced by name, so the inbox
// holds at most one entry per room (plus rare ties) whatever the number
// of messages: a full registry (maxBatchEntries) always fits. Past a
// bound, a new entry is dropped and counted; the callback never waits.
const (
	maxPendingEntries = maxBatchEntries
	maxPendingBytes   = 64 << 20
	maxEntryBytes     = 64 << 10 // a room record is about 400 bytes
	maxEntryName      = 64
	maxEntryNode      = 64
)

// applyLinger is how long the applier lets a burst gather after the first
// entry before it writes: messages that arrive meanwhile share one
// transaction. It bounds the write rate at one transaction per linger.
const applyLinger = 10 * time.Millisecond

// valid checks an entry from a peer for what this package can tell (the
// Registry checks the rest): a name and ids of sane length, data of a sane
// size, none on a tombstone.
func (e Entry) valid() bool {
	return e.Name != "" && len(e.Name) <= maxEntryName && len(e.Node) <= maxEntryNode &&
		len(e.Data) <= maxEntryBytes && !(e.Deleted && len(e.Data) > 0)
}

func (e Entry) size() int { return len(e.Name) + len(e.Node) + len(e.Data) + 32 }

// newer reports whether e has a greater version than o.
func (e Entry) newer(o Entry) bool {
	if e.Clock != o.Clock {
		return e.Clock > o.Clock
	}
	return e.Node > o.Node
}

func (e Entry) same(o Entry) bool {
	return e.Clock == o.Clock && e.Node == o.Node && e.Deleted == o.Deleted && bytes.Equal(e.Data, o.Data)
}

// inbox is the queue of entries from peers waiting for the applier.
type inbox struct {
	mu sync.Mutex
	// newest holds, per name, the entry of greatest version received
	// since the last batch. An older entry for that name is dropped: it
	// cannot win over the newest under last-writer-wins.
	newest map[string]Entry
	// ties are entries with the very version of newest[name] but other
	// content (servers that ran alone before joining one cluster): the
	// Registry's rule picks between them, so both are kept.
	ties  []Entry
	bytes int
	ready chan struct{} // signalled when the inbox goes from empty to not

	maxEntries, maxBytes int // maxPendingEntries, maxPendingBytes (tests lower them)

	batches, applied, dropped, refused uint64 // InboxStats
	droppedSinceLog                    uint64
}

func newInbox() *inbox {
	return &inbox{
		newest: make(map[string]Entry), ready: make(chan struct{}, 1),
		maxEntries: maxPendingEntries, maxBytes: maxPendingBytes,
	}
}

// add queues entries without blocking. It returns how many were dropped
// because the inbox is full.
func (q *inbox) add(entries []Entry) (dropped int) {
	if len(entries) == 0 {
		return 0
	}
	q.mu.Lock()
	wasEmpty := len(q.newest) == 0
	for _, e := range entries {
		cur, ok := q.newest[e.Name]
		switch {
		case ok && e.newer(cur):
			// Replacing keeps one entry per name: allowed even when full.
			q.bytes += e.size() - cur.size()
			q.newest[e.Name] = e
		case ok && cur.newer(e), ok && cur.same(e):
			// Older, or a copy (the direct send and its gossip copy).
		case len(q.newest)+len(q.ties) >= q.maxEntries || q.bytes+e.size() > q.maxBytes:
			dropped++
		case ok:
			q.ties = append(q.ties, e)
			q.bytes += e.size()
		default:
			q.newest[e.Name] = e
			q.bytes += e.size()
		}
	}
	q.dropped += uint64(dropped)
	q.droppedSinceLog += uint64(dropped)
	q.mu.Unlock()
	if wasEmpty {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return dropped
}

// take empties the inbox and returns what it held, and how many entries
// were dropped since the last take.
func (q *inbox) take() (entries []Entry, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	entries = make([]Entry, 0, len(q.newest)+len(q.ties))
	for _, e := range q.newest {
		entries = append(entries, e)
	}
	entries = append(entries, q.ties...)
	clear(q.newest)
	q.ties, q.bytes = nil, 0
	dropped, q.droppedSinceLog = q.droppedSinceLog, 0
	return entries, dropped
}

// InboxStats counts what happened to the registry entries received from
// peers since the node started.
type InboxStats struct {
	Pending int    // waiting to be applied
	Batches uint64 // Registry.Apply calls (one write transaction each)
	Applied uint64 // entries that changed the registry
	// Dropped entries arrived when the inbox was full. The next full-state
	// exchange with any node (every 15 s on a LAN) brings them again.
	Dropped uint64
	Refused uint64 // Apply calls that returned an error (bad entries, disk)
}

// InboxStats reports on the entries received from peers.
func (n *Node) InboxStats() InboxStats {
	q := n.inbox
	q.mu.Lock()
	defer q.mu.Unlock()
	return InboxStats{Pending: len(q.newest) + len(q.ties), Batches: q.batches, Applied: q.applied, Dropped: q.dropped, Refused: q.refused}
}

// applyLoop hands the queued entries to the Registry, one batch at a time.
// Entries still queued at Shutdown are not applied: their writers still
// hold them, and the next full-state exchange brings them.
func (n *Node) applyLoop() {
	defer n.wg.Done()
	q := n.inbox
	for {
		select {
		case <-n.stop:
			return
		case <-q.ready:
		}
		select {
		case <-n.stop:
			return
		case <-time.After(applyLinger):
		}
		entries, dropped := q.take()
		if dropped > 0 {
			n.log.Warn("dropped room definitions from peers: too many waiting to be written; the next full-state exchange brings them again",
				"dropped", dropped, "total_dropped", n.InboxStats().Dropped)
		}
		n.mu.Lock()
		reg := n.registry
		n.mu.Unlock()
		if reg == nil || len(entries) == 0 {
			continue
		}
		changed, err := reg.Apply(entries)
		q.mu.Lock()
		q.batches++
		q.applied += uint64(len(changed))
		if err != nil {
			q.refused++
		}
		q.mu.Unlock()
		if err != nil {
			n.log.Warn("refused room definitions from peers", "entries", len(entries), "changed", len(changed), "err", err)
		}
	}
}
