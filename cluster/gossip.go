package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// batch is what one node sends another: registry writes and live-room
// announcements. It travels as one memberlist user message over TCP.
type batch struct {
	Entries []Entry   `json:"e,omitempty"`
	Live    []liveMsg `json:"l,omitempty"`
}

// state is a node's full state for memberlist's push/pull exchange: the
// whole registry, and the rooms live on the sending node as of Seq.
type state struct {
	Node    string    `json:"node"`
	Seq     uint64    `json:"seq"`
	Live    []liveMsg `json:"live,omitempty"`
	Entries []Entry   `json:"entries,omitempty"`
}

// Limits on what a peer may send; past them the message is dropped.
const (
	maxBatchEntries = 100000
	maxLiveRooms    = 100000
)

// sendLoop sends queued writes and announcements to every other node.
// Each wake-up sends one batch with everything queued so far.
func (n *Node) sendLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case <-n.kick:
		}
		n.mu.Lock()
		b := n.outbox
		n.outbox = batch{}
		n.mu.Unlock()
		if len(b.Entries) == 0 && len(b.Live) == 0 || n.noDirect.Load() {
			continue
		}
		msg, err := json.Marshal(b)
		if err != nil {
			n.log.Error("encode batch", "err", err)
			continue
		}
		n.mu.Lock()
		peers := make([]*memberlist.Node, 0, len(n.members))
		for id, r := range n.members {
			if id != n.cfg.NodeID {
				nd := r.node
				peers = append(peers, &nd)
			}
		}
		n.mu.Unlock()
		var wg sync.WaitGroup
		for _, nd := range peers {
			wg.Add(1)
			go func(nd *memberlist.Node) {
				defer wg.Done()
				// Missed sends are repaired by the next push/pull.
				if err := n.ml.SendReliable(nd, msg); err != nil {
					n.log.Debug("send to node failed", "node", nd.Name, "err", err)
				}
			}(nd)
		}
		wg.Wait()
	}
}

// receive takes a batch or a state from a peer, inside memberlist's
// callbacks: live-room announcements are recorded at once (memory only);
// registry entries are checked and queued for the applier (inbox.go),
// never written here.
func (n *Node) receive(entries []Entry, live []liveMsg) {
	n.mu.Lock()
	reg := n.registry
	for _, m := range live {
		if m.Node == n.cfg.NodeID {
			continue // only this node speaks for itself
		}
		if !m.valid() {
			n.log.Warn("dropped a malformed live-room announcement from a peer", "node", truncate(m.Node, 64))
			continue
		}
		if _, member := n.members[m.Node]; !member {
			// Only members' rooms are kept (what a node announced goes
			// when it leaves): the table cannot grow with made-up names.
			continue
		}
		n.live.apply(m)
	}
	n.mu.Unlock()
	if reg == nil || len(entries) == 0 {
		return
	}
	ok := entries[:0] // entries is this call's own decoded slice
	for _, e := range entries {
		if !e.valid() {
			n.log.Warn("dropped a malformed room definition from a peer", "room", truncate(e.Name, 64), "from", truncate(e.Node, 64))
			continue
		}
		n.clock.observe(e.Clock)
		ok = append(ok, e)
	}
	n.inbox.add(ok)
}

// delegate is memberlist's view of a Node.
type delegate struct{ n *Node }

func (d *delegate) NodeMeta(limit int) []byte {
	d.n.mu.Lock()
	m := d.n.meta
	d.n.mu.Unlock()
	b, err := m.encode()
	if err != nil || len(b) > limit {
		d.n.log.Error("node metadata too large", "bytes", len(b), "limit", limit)
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg(msg []byte) {
	var b batch
	if err := json.Unmarshal(msg, &b); err != nil || len(b.Entries) > maxBatchEntries || len(b.Live) > maxLiveRooms {
		d.n.log.Warn("dropped a malformed message from a peer", "bytes", len(msg), "err", err)
		return
	}
	d.n.receive(b.Entries, b.Live)
}

// GetBroadcasts hands memberlist the queued gossip copies of writes and
// announcements (see gossipCopy).
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	if q := d.n.gossipQueue.Load(); q != nil {
		return q.GetBroadcasts(overhead, limit)
	}
	return nil
}

// maxGossipBytes bounds a gossiped message: memberlist packs broadcasts
// into UDP packets of about 1,400 bytes.
const maxGossipBytes = 1000

// gossipCopy queues one write or announcement for memberlist's gossip as
// well, besides the direct sends: a node that a direct send missed (a
// dropped connection) gets it from its neighbours within a second or so
// instead of at the next push/pull. A newer message for the same key
// replaces a queued one.
func (n *Node) gossipCopy(key string, b batch) {
	q := n.gossipQueue.Load()
	if q == nil {
		return
	}
	msg, err := json.Marshal(b)
	if err != nil || len(msg) > maxGossipBytes {
		return // the direct sends and push/pull carry it
	}
	q.QueueBroadcast(&gossipMsg{key: key, msg: msg})
}

// gossipMsg is one queued gossip message (memberlist.NamedBroadcast).
type gossipMsg struct {
	key string
	msg []byte
}

func (g *gossipMsg) Invalidates(b memberlist.Broadcast) bool {
	o, ok := b.(*gossipMsg)
	return ok && o.key == g.key
}
func (g *gossipMsg) Name() string    { return g.key }
func (g *gossipMsg) Message() []byte { return g.msg }
func (g *gossipMsg) Finished()       {}

func (d *delegate) LocalState(join bool) []byte {
	n := d.n
	n.mu.Lock()
	st := state{Node: n.cfg.NodeID, Seq: n.seq}
	for room, e := range n.live[n.cfg.NodeID] {
		if e.participants > 0 {
			st.Live = append(st.Live, liveMsg{Node: st.Node, Seq: e.seq, Room: room, Participants: e.participants, Since: e.since})
		}
	}
	reg := n.registry
	n.mu.Unlock()
	if reg != nil {
		st.Entries = reg.Entries()
	}
	b, err := json.Marshal(st)
	if err != nil {
		n.log.Error("encode state", "err", err)
		return nil
	}
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	n := d.n
	var st state
	if err := json.Unmarshal(buf, &st); err != nil || len(st.Entries) > maxBatchEntries || len(st.Live) > maxLiveRooms {
		n.log.Warn("dropped a malformed state from a peer", "bytes", len(buf), "err", err)
		return
	}
	if st.Node != "" && st.Node != n.cfg.NodeID {
		n.mu.Lock()
		if _, member := n.members[st.Node]; member {
			n.live.replace(st.Node, st.Seq, st.Live)
		}
		n.mu.Unlock()
	}
	n.receive(st.Entries, nil)
}

// memberRecord is what this node knows of a member.
type memberRecord struct {
	addr     string
	node     memberlist.Node // Name, Addr and Port: where to send
	meta     meta
	lastSeen time.Time // joined, or last answered a probe of this node's
}

// record copies nd into the member table. memberlist calls its event
// callbacks with its node lock held, the only time nd may be read.
func (d *delegate) record(nd *memberlist.Node) {
	m, err := decodeMeta(nd.Meta)
	if err == nil {
		err = m.check()
	}
	if err != nil {
		d.n.log.Warn("ignoring a node with bad metadata", "node", nd.Name, "err", err)
		return
	}
	d.n.mu.Lock()
	r := d.n.members[nd.Name]
	r.addr, r.meta = nd.Address(), m
	r.node = memberlist.Node{Name: nd.Name, Addr: slices.Clone(nd.Addr), Port: nd.Port}
	if r.lastSeen.IsZero() {
		r.lastSeen = time.Now()
	}
	d.n.members[nd.Name] = r
	if _, ok := d.n.everURL[nd.Name]; ok || len(d.n.everURL) < maxKnownURLs {
		d.n.everURL[nd.Name] = m.URL
	}
	d.n.mu.Unlock()
}

func (d *delegate) NotifyJoin(nd *memberlist.Node) {
	d.record(nd)
	if nd.Name != d.n.cfg.NodeID {
		d.n.mu.Lock()
		d.n.peerBackLocked(nd.Name, nd.Address())
		d.n.mu.Unlock()
		d.n.log.Info("node joined", "node", nd.Name, "addr", nd.Address())
	}
}

func (d *delegate) NotifyUpdate(nd *memberlist.Node) { d.record(nd) }

func (d *delegate) NotifyLeave(nd *memberlist.Node) {
	d.n.mu.Lock()
	r, known := d.n.members[nd.Name]
	delete(d.n.members, nd.Name)
	d.n.live.forget(nd.Name)
	if known && nd.Name != d.n.cfg.NodeID {
		// memberlist does not say whether a node left or failed; a
		// node leaves only after draining (server.Node.Drain).
		if r.meta.Draining {
			d.n.peerLeftLocked(nd.Name)
		} else {
			d.n.peerFailedLocked(nd.Name, nd.Address())
		}
	}
	d.n.mu.Unlock()
	d.n.log.Warn("node left or failed; its rooms go to the others", "node", nd.Name, "addr", nd.Address())
}

// AckPayload and NotifyPingComplete (memberlist.PingDelegate) tell which
// nodes answer this node's probes, for the suspect state.
func (d *delegate) AckPayload() []byte { return nil }

func (d *delegate) NotifyPingComplete(nd *memberlist.Node, rtt time.Duration, payload []byte) {
	d.n.mu.Lock()
	if r, ok := d.n.members[nd.Name]; ok {
		r.lastSeen = time.Now()
		d.n.members[nd.Name] = r
	}
	d.n.mu.Unlock()
}

// newMemberlistLogger sends memberlist's log lines ("[DEBUG] memberlist:
// …") to slog at their level.
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(&levelWriter{log: l.With("from", "memberlist")}, "", 0)
}

type levelWriter struct{ log *slog.Logger }

var logPrefixes = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug}, {"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn}, {"[ERR] ", slog.LevelError}, {"[ERROR] ", slog.LevelError},
}

func (w *levelWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		line := sc.Text()
		level := slog.LevelInfo
		for _, p := range logPrefixes {
			if rest, ok := strings.CutPrefix(line, p.prefix); ok {
				line, level = rest, p.level
				break
			}
		}
		if level == slog.LevelInfo {
			level = slog.LevelDebug // memberlist's info lines are routine
		}
		w.log.Log(context.Background(), level, line)
	}
	return len(p), nil
}
