package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"palabre/internal/testkit"
)

func TestMain(m *testing.M) {
	// memberlist's Shutdown does not wait for a probe in flight; it ends
	// within ProbeInterval on its own.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// mapRegistry is a last-writer-wins map, the contract package rooms
// implements on disk.
type mapRegistry struct {
	mu sync.Mutex
	m  map[string]Entry
}

func newMapRegistry() *mapRegistry { return &mapRegistry{m: map[string]Entry{}} }

func (r *mapRegistry) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, 0, len(r.m))
	for _, e := range r.m {
		out = append(out, e)
	}
	return out
}

func (r *mapRegistry) Apply(es []Entry) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var changed []string
	for _, e := range es {
		if r.applyLocked(e) {
			changed = append(changed, e.Name)
		}
	}
	return changed, nil
}

func (r *mapRegistry) applyLocked(e Entry) bool {
	cur, ok := r.m[e.Name]
	if ok && (cur.Clock > e.Clock || cur.Clock == e.Clock && cur.Node >= e.Node) {
		return false
	}
	r.m[e.Name] = e
	return true
}

func (r *mapRegistry) get(name string) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[name]
	return e, ok
}

type testNode struct {
	*Node
	reg *mapRegistry
}

// write makes a local registry write, as the rooms store does.
func (tn testNode) write(name, value string) {
	clock, node := tn.Stamp()
	e := Entry{Name: name, Clock: clock, Node: node, Data: []byte(value)}
	tn.reg.Apply([]Entry{e})
	tn.Publish(e)
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startNode(t testing.TB, id string, key []byte, join ...string) testNode {
	t.Helper()
	return startNodeLogging(t, id, key, quietLogger(), join...)
}

func startNodeLogging(t testing.TB, id string, key []byte, log *slog.Logger, join ...string) testNode {
	t.Helper()
	n, err := New(Config{
		NodeID: id, PublicURL: "http://" + id + ".test", BindAddr: "127.0.0.1:0",
		Key: key, Insecure: key == nil, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := newMapRegistry()
	n.SetRegistry(reg)
	n.Join(join)
	t.Cleanup(func() { n.Shutdown() })
	return testNode{n, reg}
}

// startCluster starts n nodes that join the first.
func startCluster(t *testing.T, count int) []testNode {
	t.Helper()
	nodes := []testNode{startNode(t, "n1", testKey)}
	for i := 2; i <= count; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), testKey, nodes[0].GossipAddr()))
	}
	for _, n := range nodes {
		testkit.EventuallyNil(t, 10*time.Second, func() error { return wantAlive(n, count) })
	}
	return nodes
}

func wantAlive(n testNode, count int) error {
	alive := 0
	for _, m := range n.Members() {
		if m.State == "alive" {
			alive++
		}
	}
	if alive != count {
		return fmt.Errorf("%s sees %d alive nodes, want %d: %+v", n.ID(), alive, count, n.Members())
	}
	return nil
}

func TestClusterFormsAndReplicates(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, m := range nodes[1].Members() {
		if m.URL != "http://"+m.ID+".test" || m.Capacity != 1 || m.Protocol != ProtocolVersion {
			t.Errorf("member %+v: metadata not carried", m)
		}
	}

	start := time.Now()
	for i := 0; i < 60; i++ {
		nodes[0].write(fmt.Sprintf("room-%d", i), "v1")
	}
	for _, n := range nodes[1:] {
		testkit.EventuallyNil(t, 2*time.Second, func() error {
			for i := 0; i < 60; i++ {
				if _, ok := n.reg.get(fmt.Sprintf("room-%d", i)); !ok {
					return fmt.Errorf("%s misses room-%d", n.ID(), i)
				}
			}
			return nil
		})
	}
	t.Logf("60 entries on every node after %v", time.Since(start))

	// A node that joins later gets everything in the full-state exchange.
	late := startNode(t, "n4", testKey, nodes[2].GossipAddr())
	testkit.EventuallyNil(t, 5*time.Second, func() error {
		if len(late.reg.Entries()) != 60 {
			return fmt.Errorf("late node has %d entries", len(late.reg.Entries()))
		}
		return nil
	})
}

// Without the direct sends, writes and announcements still spread by
// gossip alone.
func TestGossipCarriesWrites(t *testing.T) {
	nodes := startCluster(t, 3)
	nodes[0].noDirect.Store(true)
	for i := 0; i < 10; i++ {
		nodes[0].write(fmt.Sprintf("gossiped-%d", i), "v")
	}
	nodes[0].SetLive("by-gossip", 2)
	start := time.Now()
	for _, n := range nodes[1:] {
		testkit.EventuallyNil(t, 5*time.Second, func() error {
			for i := 0; i < 10; i++ {
				if _, ok := n.reg.get(fmt.Sprintf("gossiped-%d", i)); !ok {
					return fmt.Errorf("%s misses gossiped-%d", n.ID(), i)
				}
			}
			if p := n.Owner("by-gossip"); p.ID != "n1" || !p.Live {
				return fmt.Errorf("%s does not know by-gossip is live on n1", n.ID())
			}
			return nil
		})
	}
	t.Logf("10 entries and one announcement spread by gossip alone in %v", time.Since(start))
}

// Two nodes write the same entry at once: every node ends with the same
// value, and the clock moved past what it saw.
func TestConcurrentWritesConverge(t *testing.T) {
	nodes := startCluster(t, 3)
	var wg sync.WaitGroup
	for i, n := range nodes[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				n.write("shared", fmt.Sprintf("from %d #%d", i, j))
			}
		}()
	}
	wg.Wait()
	testkit.EventuallyNil(t, 3*time.Second, func() error {
		first, _ := nodes[0].reg.get("shared")
		for _, n := range nodes[1:] {
			if e, _ := n.reg.get("shared"); string(e.Data) != string(first.Data) || e.Clock != first.Clock {
				return fmt.Errorf("%s has %q, n1 has %q", n.ID(), e.Data, first.Data)
			}
		}
		return nil
	})
	last, _ := nodes[2].reg.get("shared")
	if c, _ := nodes[2].Stamp(); c <= last.Clock {
		t.Errorf("clock %d not past observed %d", c, last.Clock)
	}
}

func TestWrongKeyDoesNotJoin(t *testing.T) {
	nodes := startCluster(t, 2)
	other := []byte("another key, 32 bytes long......")
	var intruderLog, plainLog testkit.SyncBuffer
	intruder := startNodeLogging(t, "intruder", other, slog.New(slog.NewTextHandler(&intruderLog, nil)), nodes[0].GossipAddr())
	plain := startNodeLogging(t, "plain", nil, slog.New(slog.NewTextHandler(&plainLog, nil)), nodes[0].GossipAddr())
	// Wait until both were refused, waited and were refused again (or got
	// in, which the checks below report).
	testkit.Eventually(t, 10*time.Second, "both outsiders were refused twice", func() bool {
		const refused = "could not join the cluster"
		for _, out := range []struct {
			n   testNode
			log *testkit.SyncBuffer
		}{{intruder, &intruderLog}, {plain, &plainLog}} {
			if strings.Count(out.log.String(), refused) < 2 && wantAlive(out.n, 1) == nil {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		if err := wantAlive(n, 2); err != nil {
			t.Error(err)
		}
	}
	if err := wantAlive(intruder, 1); err != nil {
		t.Error(err)
	}
	if err := wantAlive(plain, 1); err != nil {
		t.Error(err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no key", Config{NodeID: "a", PublicURL: "http://a"}},
		{"short key", Config{NodeID: "a", PublicURL: "http://a", Key: []byte("short")}},
		{"no id", Config{PublicURL: "http://a", Insecure: true}},
		{"id with space", Config{NodeID: "a b", PublicURL: "http://a", Insecure: true}},
		{"no url", Config{NodeID: "a", Insecure: true}},
		{"bad url", Config{NodeID: "a", PublicURL: "ftp://a", Insecure: true}},
		{"negative capacity", Config{NodeID: "a", PublicURL: "http://a", Insecure: true, Capacity: -1}},
		{"region too long", Config{NodeID: "a", PublicURL: "http://a", Insecure: true, Region: strings.Repeat("r", 65)}},
		{"URL too long", Config{NodeID: "a", PublicURL: "http://a/" + strings.Repeat("p", 300), Insecure: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.BindAddr = "127.0.0.1:0"
			if n, err := New(tc.cfg); err == nil {
				n.Shutdown()
				t.Error("accepted")
			}
		})
	}
}

func TestOwnerAgreementStickinessAndConflicts(t *testing.T) {
	nodes := startCluster(t, 3)
	owners := func(room string) []Placement {
		out := make([]Placement, len(nodes))
		for i, n := range nodes {
			out[i] = n.Owner(room)
		}
		return out
	}
	agree := func(room, want string, live bool) func() error {
		return func() error {
			for i, p := range owners(room) {
				if p.ID != want || p.Live != live {
					return fmt.Errorf("%s: n%d says owner %s (live %v), want %s (live %v)", room, i+1, p.ID, p.Live, want, live)
				}
			}
			return nil
		}
	}
	// Placement alone: all nodes agree.
	spread := map[string]int{}
	for i := 0; i < 60; i++ {
		room := fmt.Sprintf("room-%d", i)
		o := nodes[0].Owner(room).ID
		spread[o]++
		if err := agree(room, o, false)(); err != nil {
			t.Fatal(err)
		}
	}
	for id, c := range spread {
		if c > 30 {
			t.Errorf("%s would host %d of 60 rooms", id, c)
		}
	}

	// A room live on a node that is not its hash owner stays there.
	room := "sticky"
	hashed := nodes[0].Owner(room).ID
	var holder testNode
	for _, n := range nodes {
		if n.ID() != hashed {
			holder = n
		}
	}
	holder.SetLive(room, 2)
	testkit.EventuallyNil(t, 2*time.Second, agree(room, holder.ID(), true))

	// Another node also holds it (a race): the bigger side keeps it.
	var other testNode
	for _, n := range nodes {
		if n.ID() != holder.ID() {
			other = n
			break
		}
	}
	other.SetLive(room, 1)
	other.SetLive(room, 5)
	testkit.EventuallyNil(t, 3*time.Second, agree(room, other.ID(), true))

	// Both empty: back to hashing.
	other.SetLive(room, 0)
	holder.SetLive(room, 0)
	testkit.EventuallyNil(t, 2*time.Second, agree(room, hashed, false))

	// A draining node keeps nothing and gets nothing.
	nodes[1].SetLive("busy", 3)
	testkit.EventuallyNil(t, 2*time.Second, agree("busy", nodes[1].ID(), true))
	nodes[1].SetDraining(true)
	testkit.EventuallyNil(t, 3*time.Second, func() error {
		for i := 0; i < 60; i++ {
			for _, n := range nodes {
				if p := n.Owner(fmt.Sprintf("room-%d", i)); p.ID == nodes[1].ID() {
					return fmt.Errorf("%s still places room-%d on the draining node", n.ID(), i)
				}
			}
		}
		if p := nodes[0].Owner("busy"); p.ID == nodes[1].ID() {
			return fmt.Errorf("busy still owned by the draining node")
		}
		return nil
	})
	for _, m := range nodes[2].Members() {
		if m.ID == nodes[1].ID() && m.State != "draining" {
			t.Errorf("draining node shown as %q", m.State)
		}
	}
}

func TestLoadInMetadata(t *testing.T) {
	nodes := startCluster(t, 2)
	nodes[0].SetLive("a", 3)
	nodes[0].SetLive("b", 4)
	testkit.EventuallyNil(t, 5*time.Second, func() error {
		for _, m := range nodes[1].Members() {
			if m.ID == "n1" && (m.Participants != 7 || m.Rooms != 2) {
				return fmt.Errorf("n1 load seen as %d participants in %d rooms", m.Participants, m.Rooms)
			}
		}
		return nil
	})
}

// A node that dies (no goodbye) is dropped, and its live rooms go to the
// survivors.
func TestDeadNodeRoomsReplaced(t *testing.T) {
	nodes := startCluster(t, 3)
	nodes[2].SetLive("orphan", 4)
	testkit.EventuallyNil(t, 2*time.Second, func() error {
		if p := nodes[0].Owner("orphan"); p.ID != "n3" || !p.Live {
			return fmt.Errorf("owner %+v", p)
		}
		return nil
	})
	start := time.Now()
	nodes[2].Shutdown()
	sawSuspect := false
	testkit.EventuallyNil(t, 20*time.Second, func() error {
		for _, m := range nodes[0].Members() {
			sawSuspect = sawSuspect || m.ID == "n3" && m.State == "suspect"
		}
		for _, n := range nodes[:2] {
			if p := n.Owner("orphan"); p.ID == "n3" {
				return fmt.Errorf("%s still sends orphan to the dead node", n.ID())
			}
		}
		return nil
	})
	t.Logf("dead node's room re-placed after %v", time.Since(start))
	if !sawSuspect {
		t.Error("the dead node was never shown as suspect before it was dropped")
	}
	if urls := nodes[0].KnownURLs(); !slices.Contains(urls, "http://n3.test") || len(urls) != 3 {
		t.Errorf("known URLs after n3 died: %v, want n3's kept", urls)
	}
	if a, b := nodes[0].Owner("orphan"), nodes[1].Owner("orphan"); a.ID != b.ID {
		t.Errorf("survivors disagree: %s vs %s", a.ID, b.ID)
	}
}

// A peer (with the key) that sends garbage is ignored, and the node keeps
// replicating.
func TestMalformedPeerMessagesDropped(t *testing.T) {
	nodes := startCluster(t, 2)
	n1 := nodes[0]
	n1.mu.Lock()
	peer := n1.members["n2"].node
	n1.mu.Unlock()
	long := string(make([]byte, 100))
	for _, msg := range []string{
		"not json",
		`{"l":[{"n":"n1","s":1,"r":"x","p":1}]}`, // well formed: recorded
		`{"l":[{"n":"","s":1,"r":"x","p":1}]}`,
		`{"l":[{"n":"n1","s":1,"r":"` + long + `","p":1}]}`,
		`{"l":[{"n":"n1","s":1,"r":"y","p":-5}]}`,
	} {
		if err := n1.ml.SendReliable(&peer, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	n1.write("after", "ok")
	testkit.EventuallyNil(t, 2*time.Second, func() error {
		if _, ok := nodes[1].reg.get("after"); !ok {
			return fmt.Errorf("n2 stopped replicating")
		}
		return nil
	})
	nodes[1].mu.Lock()
	defer nodes[1].mu.Unlock()
	for room, e := range nodes[1].live["n1"] {
		if room != "x" || e.participants != 1 {
			t.Errorf("n2 recorded a malformed announcement: %q %+v", room, e)
		}
	}
}

// --cluster-wan takes memberlist's WAN timings; the default probes twice as
// often as memberlist's LAN default.
func TestTimings(t *testing.T) {
	for _, tc := range []struct {
		wan  bool
		want time.Duration
	}{{false, 500 * time.Millisecond}, {true, 5 * time.Second}} {
		n, err := New(Config{NodeID: "t", PublicURL: "http://t", BindAddr: "127.0.0.1:0", Insecure: true, WAN: tc.wan, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if n.probeInterval != tc.want {
			t.Errorf("WAN %v: probe interval %v, want %v", tc.wan, n.probeInterval, tc.want)
		}
		n.Shutdown()
	}
}

// The largest configuration a node accepts still fits memberlist's
// metadata limit, and peers accept it.
func TestLargestMetadataFits(t *testing.T) {
	m := meta{
		URL: "https://" + strings.Repeat("h", 240) + ".org", Region: strings.Repeat("r", maxRegionLen),
		Capacity: 999.999, Participants: 1 << 30, Rooms: 1 << 30, Draining: true, Protocol: ProtocolVersion,
	}
	b, err := m.encode()
	if err != nil || len(b) > MaxMetaBytes {
		t.Fatalf("largest metadata: %d bytes, %v", len(b), err)
	}
	if err := m.check(); err != nil {
		t.Errorf("peers would refuse it: %v", err)
	}
}
