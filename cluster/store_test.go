package cluster

// Tests of the registry path with package rooms' bbolt store behind the
// node, as in production (signaling/cluster.go adapts it the same way).

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/rooms"
)

// storeRegistry adapts a rooms.Store to Registry, as signaling's registry
// type does.
type storeRegistry struct{ s *rooms.Store }

func (r storeRegistry) Entries() []Entry {
	reps := r.s.Replicas()
	out := make([]Entry, len(reps))
	for i, rep := range reps {
		out[i] = Entry(rep)
	}
	return out
}

func (r storeRegistry) Apply(es []Entry) ([]string, error) {
	reps := make([]rooms.Replica, len(es))
	for i, e := range es {
		reps[i] = rooms.Replica(e)
	}
	return r.s.ApplyReplicas(reps)
}

var cheapHash = rooms.HashParams{Memory: 1024, Time: 1, Threads: 1}

func openStore(t *testing.T, dir string) *rooms.Store {
	t.Helper()
	s, err := rooms.Open(dir, rooms.Options{Hash: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storeNode is a node whose registry is a rooms store in dir.
type storeNode struct {
	*Node
	store *rooms.Store
	dir   string
}

// startStoreNode starts a node with a store; the store is closed after
// the node at the end of the test (or by the test, then stop first).
func startStoreNode(t *testing.T, id string, join ...string) *storeNode {
	t.Helper()
	n, err := New(Config{
		NodeID: id, PublicURL: "http://" + id + ".test", BindAddr: "127.0.0.1:0",
		Key: testKey, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sn := &storeNode{Node: n, dir: t.TempDir()}
	sn.store = openStore(t, sn.dir)
	n.SetRegistry(storeRegistry{sn.store})
	n.Join(join)
	t.Cleanup(sn.stop)
	return sn
}

// stop shuts the node down, then closes its store (Close twice is fine).
func (sn *storeNode) stop() {
	sn.Shutdown()
	sn.store.Close()
}

// roomEntries makes count registry entries of rooms named room-0… as a
// peer's store would send them: real records, with a password hash and an
// organizer hash (about 400 bytes each).
func roomEntries(t *testing.T, count int) []Entry {
	t.Helper()
	src := openStore(t, t.TempDir())
	defer src.Close()
	if _, _, err := src.Create(rooms.Spec{Name: "template", Mode: rooms.ModePTT, Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	tmpl := src.Replicas()[0]
	var rec map[string]any
	if err := json.Unmarshal(tmpl.Data, &rec); err != nil {
		t.Fatal(err)
	}
	out := make([]Entry, count)
	for i := range out {
		name := fmt.Sprintf("room-%d", i)
		clock := tmpl.Clock + uint64(i)
		rec["name"], rec["clock"], rec["node"] = name, clock, "peer"
		data, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = Entry{Name: name, Clock: clock, Node: "peer", Data: data}
	}
	return out
}

// wantRooms checks that s holds room-0 … room-(count-1).
func wantRooms(s *rooms.Store, count int) error {
	if got := len(s.List()); got != count {
		return fmt.Errorf("store holds %d rooms, want %d", got, count)
	}
	for _, i := range []int{0, count / 2, count - 1} {
		if _, err := s.Get(fmt.Sprintf("room-%d", i)); err != nil {
			return err
		}
	}
	return nil
}

// heldRegistry is a storeRegistry whose writes wait until release is
// closed: a store that is slow to write, as one fsync per room was.
type heldRegistry struct {
	storeRegistry
	release chan struct{}
}

func (r heldRegistry) Apply(es []Entry) ([]string, error) {
	<-r.release
	return r.storeRegistry.Apply(es)
}

// A push/pull of 5,000 rooms returns from memberlist's callback without
// waiting for the store (it only decodes and queues): it returns while the
// store's writes are held, and the rooms are then written in a few
// transactions, and are on disk.
func TestPushPullOf5000RoomsReturnsAtOnce(t *testing.T) {
	const count = 5000
	n := startStoreNode(t, "n1")
	release := make(chan struct{})
	n.SetRegistry(heldRegistry{storeRegistry{n.store}, release})
	buf, err := json.Marshal(state{Node: "peer", Entries: roomEntries(t, count)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	returned := make(chan time.Duration, 1)
	go func() {
		(&delegate{n.Node}).MergeRemoteState(buf, false)
		returned <- time.Since(start)
	}()
	// memberlist gives a whole push/pull 10 s (TCPTimeout): a callback
	// that waited for the store would still be waiting then.
	var took time.Duration
	select {
	case took = <-returned:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("MergeRemoteState waits for the store's writes")
	}
	if err := wantRooms(n.store, count); err == nil {
		t.Fatal("the rooms are in the store while its writes are held: not the store the node writes to")
	}
	close(release)
	testkit.EventuallyNil(t, 10*raceSlowdown*time.Second, func() error { return wantRooms(n.store, count) })
	st := n.InboxStats()
	t.Logf("MergeRemoteState of %d rooms (%d KiB) returned in %v; in the store after %v, %d batch(es)",
		count, len(buf)>>10, took, time.Since(start), st.Batches)
	if st.Batches > 3 || st.Applied != count || st.Dropped != 0 || st.Pending != 0 {
		t.Errorf("inbox stats %+v, want %d applied in at most 3 batches", st, count)
	}

	n.stop()
	reopened := openStore(t, n.dir)
	defer reopened.Close()
	if err := wantRooms(reopened, count); err != nil {
		t.Errorf("after reopening the store: %v", err)
	}
}

// The same through memberlist: a node that joins a node holding 5,000
// rooms gets them all in the join's push/pull, on its disk.
func TestJoinBrings5000Rooms(t *testing.T) {
	const count = 5000
	n1 := startStoreNode(t, "n1")
	if _, err := (storeRegistry{n1.store}).Apply(roomEntries(t, count)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n2 := startStoreNode(t, "n2", n1.GossipAddr())
	testkit.EventuallyNil(t, 10*raceSlowdown*time.Second, func() error { return wantRooms(n2.store, count) })
	st := n2.InboxStats()
	t.Logf("%d rooms on the joining node %v after it started, %d batch(es)", count, time.Since(start), st.Batches)
	if st.Batches > 3 {
		t.Errorf("%d batches for one push/pull, want at most 3", st.Batches)
	}
	n2.stop()
	reopened := openStore(t, n2.dir)
	defer reopened.Close()
	if err := wantRooms(reopened, count); err != nil {
		t.Errorf("after reopening the joining node's store: %v", err)
	}
}

// A burst of messages, one room each, as memberlist hands them to
// NotifyMsg from its handlers, lands in a few write transactions (one per
// Registry.Apply; rooms' TestApplyReplicasOneTransaction checks that in
// bbolt), where it took one each.
func TestNotifyMsgBurstFewTransactions(t *testing.T) {
	const count = 1000
	nodes := []*storeNode{startStoreNode(t, "n1")}
	nodes = append(nodes, startStoreNode(t, "n2", nodes[0].GossipAddr()))
	n := nodes[1]
	msgs := make([][]byte, count)
	for i, e := range roomEntries(t, count) {
		var err error
		if msgs[i], err = json.Marshal(batch{Entries: []Entry{e}}); err != nil {
			t.Fatal(err)
		}
	}
	d := &delegate{n.Node}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
	)
	start := time.Now()
	for g := range 4 { // memberlist's packet and stream handlers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < count; i += 4 {
				t0 := time.Now()
				d.NotifyMsg(msgs[i])
				took := time.Since(t0)
				mu.Lock()
				slowest = max(slowest, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	burst := time.Since(start)
	testkit.EventuallyNil(t, 10*raceSlowdown*time.Second, func() error { return wantRooms(n.store, count) })
	st := n.InboxStats()
	t.Logf("%d messages delivered in %v (slowest call %v); in the store after %v, in %d transactions",
		count, burst, slowest, time.Since(start), st.Batches)
	if st.Batches > 20 || st.Applied != count {
		t.Errorf("inbox stats %+v: want %d rooms in at most 20 transactions (one each before)", st, count)
	}
}

// gatedRegistry holds every Apply until open is closed: a slow disk.
type gatedRegistry struct {
	Registry
	entered chan struct{} // receives once per Apply call
	open    chan struct{}
}

func (g gatedRegistry) Apply(es []Entry) ([]string, error) {
	g.entered <- struct{}{}
	<-g.open
	return g.Registry.Apply(es)
}

// While the store is slow, the callbacks still return at once. An inbox
// that fills meanwhile drops new entries and counts them (never an entry
// newer than a queued one of its name); once the backlog is written, the
// next full-state exchange brings what was dropped. (In production the
// inbox holds a peer's largest state, so only a backlog can fill it.)
func TestFullInboxDropsAndPushPullRepairs(t *testing.T) {
	const count, limit = 50, 60
	n := startStoreNode(t, "n1")
	gate := gatedRegistry{Registry: storeRegistry{n.store}, entered: make(chan struct{}, 10), open: make(chan struct{})}
	n.SetRegistry(gate)
	n.inbox.mu.Lock()
	n.inbox.maxEntries = limit
	n.inbox.mu.Unlock()
	d := &delegate{n.Node}
	send := func(es ...Entry) {
		msg, err := json.Marshal(batch{Entries: es})
		if err != nil {
			t.Fatal(err)
		}
		d.NotifyMsg(msg)
	}
	entries := roomEntries(t, count+41)
	rooms, others := entries[:count], entries[count:]
	for i := range others {
		others[i].Node = "other" // still valid records: the envelope's version wins
	}
	send(others[0])
	<-gate.entered // the applier is stuck writing others[0]
	send(others[1:]...)
	buf, err := json.Marshal(state{Node: "peer", Entries: rooms})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.MergeRemoteState(buf, false)
	// With the store stuck, a callback that waited would wait past
	// memberlist's 10 s for a whole push/pull (TCPTimeout).
	if took, bound := time.Since(start), 10*time.Second; took > bound {
		t.Errorf("MergeRemoteState took %v with the store stuck, want < %v", took, bound)
	}
	// A newer version of a queued room still replaces it in a full inbox.
	newer := others[1]
	newer.Clock += 1000
	send(newer)
	st := n.InboxStats()
	if want := uint64(count + 40 - limit); st.Dropped != want || st.Pending != limit {
		t.Fatalf("inbox of %d with 40 waiting, then a state of %d: %+v, want %d dropped, %d pending", limit, count, st, want, limit)
	}
	close(gate.open)
	testkit.EventuallyNil(t, 10*time.Second, func() error {
		if st := n.InboxStats(); st.Pending > 0 || st.Batches < 2 {
			return fmt.Errorf("backlog not written: %+v", st)
		}
		return nil
	})
	if got := len(n.store.List()); got != limit+1 {
		t.Errorf("%d rooms after the backlog, want %d", got, limit+1)
	}
	if e := (storeRegistry{n.store}).entry(t, newer.Name); e.Clock != newer.Clock {
		t.Errorf("%s at clock %d, want the newer %d", newer.Name, e.Clock, newer.Clock)
	}
	d.MergeRemoteState(buf, false) // the next push/pull
	testkit.EventuallyNil(t, 10*raceSlowdown*time.Second, func() error { return wantRooms(n.store, count+41) })
}

func (r storeRegistry) entry(t *testing.T, name string) Entry {
	t.Helper()
	for _, e := range r.Entries() {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %q", name)
	return Entry{}
}
