package cluster

import (
	"encoding/json"
	"testing"
)

// FuzzPeerMessages feeds arbitrary bytes to the callbacks that take a
// peer's messages (direct sends and gossip: NotifyMsg; full state:
// MergeRemoteState) on a real node. They must never panic, and what they
// keep stays bounded: live rooms of members only, valid entries only.
func FuzzPeerMessages(f *testing.F) {
	seeds := []any{
		batch{Entries: []Entry{{Name: "choir", Clock: 1, Node: "n2", Data: []byte(`{"v":1}`)}}},
		batch{Live: []liveMsg{{Node: "n2", Seq: 3, Room: "choir", Participants: 4, Since: 1}}},
		batch{Entries: []Entry{{Name: "gone", Clock: 9, Node: "n2", Deleted: true}}},
		state{Node: "n2", Seq: 7, Live: []liveMsg{{Node: "n2", Seq: 7, Room: "a", Participants: 1}}},
		state{Node: "fuzz", Seq: 1, Entries: []Entry{{Name: "x", Clock: 1 << 62, Node: "fuzz"}}},
	}
	for _, s := range seeds {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Add([]byte(`{"e":[{"name":""}]}`))
	f.Add([]byte(`not json`))
	node := startNode(f, "fuzz", nil)
	d := &delegate{n: node.Node}
	f.Fuzz(func(t *testing.T, data []byte) {
		d.NotifyMsg(data)
		d.MergeRemoteState(data, false)
		node.mu.Lock()
		defer node.mu.Unlock()
		for n := range node.live {
			if _, ok := node.members[n]; !ok && n != node.cfg.NodeID {
				t.Fatalf("live rooms kept for %q, not a member", n)
			}
		}
	})
}

// FuzzNodeMeta: a peer's node metadata is decoded and checked without
// panicking, and what passes the check encodes within memberlist's limit.
func FuzzNodeMeta(f *testing.F) {
	good, _ := meta{URL: "https://a.example.org", Region: "eu", Capacity: 1, Protocol: 1}.encode()
	f.Add(good)
	f.Add([]byte(`{"u":"ftp://x","c":0}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMeta(data)
		if err != nil || m.check() != nil {
			return
		}
		if _, err := m.encode(); err != nil && len(data) <= MaxMetaBytes {
			t.Fatalf("accepted metadata %q does not encode: %v", data, err)
		}
	})
}
