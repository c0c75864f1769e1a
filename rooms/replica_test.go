package rooms

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// replicatingStore is a Store whose local writes are collected, with a
// settable clock, as a cluster node's would be.
type replicatingStore struct {
	*Store
	mu    sync.Mutex
	clock uint64
	node  string
	out   []Replica
}

func openReplicating(t *testing.T, dir, node string) *replicatingStore {
	rs := &replicatingStore{Store: openTest(t, dir), node: node, clock: 100}
	rs.SetReplication(func() Version {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		rs.clock++
		return Version{Clock: rs.clock, Node: rs.node}
	}, func(r Replica) {
		rs.mu.Lock()
		rs.out = append(rs.out, r)
		rs.mu.Unlock()
	})
	return rs
}

// take returns and forgets the replicas published so far.
func (rs *replicatingStore) take() []Replica {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := rs.out
	rs.out = nil
	return out
}

func applyAll(t *testing.T, dst *Store, reps []Replica) {
	t.Helper()
	for _, r := range reps {
		if _, err := dst.ApplyReplica(r); err != nil {
			t.Fatalf("apply %+v: %v", r, err)
		}
	}
}

func TestReplicaRoundTrip(t *testing.T) {
	a := openReplicating(t, t.TempDir(), "a")
	b := openReplicating(t, t.TempDir(), "b")
	r, secret, err := a.Create(Spec{Name: "choir", Mode: ModePTT, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	reps := a.take()
	if len(reps) != 1 || reps[0].Name != "choir" || reps[0].Deleted || reps[0].Version() != r.Version {
		t.Fatalf("published %+v", reps)
	}
	applyAll(t, b.Store, reps)
	got, err := b.Get("choir")
	if err != nil || got != r || !b.CheckPassword(got, "pw") || !b.CheckOrganizer(got, secret) {
		t.Fatalf("replicated room = %+v, %v; want %+v", got, err, r)
	}
	if len(b.take()) != 0 {
		t.Error("applying a replica published it again")
	}
	if changed, err := b.ApplyReplica(reps[0]); changed || err != nil {
		t.Errorf("applying the same replica twice: changed=%v err=%v", changed, err)
	}
}

func TestReplicaLastWriterWins(t *testing.T) {
	base := func(t *testing.T) (*replicatingStore, Replica) {
		a := openReplicating(t, t.TempDir(), "a")
		if _, _, err := a.Create(Spec{Name: "r"}); err != nil {
			t.Fatal(err)
		}
		return a, a.take()[0]
	}
	cases := []struct {
		name        string
		incoming    func(orig Replica) Replica
		wantChanged bool
		wantExists  bool
	}{
		{"older version ignored", func(o Replica) Replica { o.Clock--; return o }, false, true},
		{"same version ignored", func(o Replica) Replica { return o }, false, true},
		{"same clock, greater node wins", func(o Replica) Replica { o.Node = "b"; return o }, true, true},
		{"same clock, smaller node loses", func(o Replica) Replica { o.Node = "0"; return o }, false, true},
		{"newer deletion wins", func(o Replica) Replica {
			return Replica{Name: o.Name, Clock: o.Clock + 1, Node: "b", Deleted: true}
		}, true, false},
		{"older deletion ignored", func(o Replica) Replica {
			return Replica{Name: o.Name, Clock: o.Clock - 1, Node: "b", Deleted: true}
		}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, orig := base(t)
			changed, err := a.ApplyReplica(tc.incoming(orig))
			if err != nil || changed != tc.wantChanged {
				t.Fatalf("changed=%v err=%v, want changed=%v", changed, err, tc.wantChanged)
			}
			if _, err := a.Get("r"); (err == nil) != tc.wantExists {
				t.Errorf("Get after apply: %v, want exists=%v", err, tc.wantExists)
			}
		})
	}
}

func TestReplicaRefusesInvalid(t *testing.T) {
	a := openReplicating(t, t.TempDir(), "a")
	if _, _, err := a.Create(Spec{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	good := a.take()[0]
	b := openTest(t, t.TempDir())
	cases := []struct {
		name string
		rep  Replica
	}{
		{"bad name", Replica{Name: "no/slash", Clock: 1, Data: good.Data}},
		{"name does not match data", Replica{Name: "other", Clock: 1, Data: good.Data}},
		{"not JSON", Replica{Name: "r", Clock: 1, Data: []byte("{")}},
		{"bad mode", Replica{Name: "r", Clock: 1, Data: []byte(`{"v":1,"name":"r","mode":"loud","max_speakers":1}`)}},
		{"tombstone with data", Replica{Name: "r", Clock: 1, Deleted: true, Data: good.Data}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if changed, err := b.ApplyReplica(tc.rep); changed || !errors.Is(err, ErrInvalid) {
				t.Errorf("changed=%v err=%v, want ErrInvalid", changed, err)
			}
		})
	}
	if len(b.List()) != 0 {
		t.Errorf("invalid replicas left rooms: %+v", b.List())
	}
}

// Two nodes edit one room at once, then exchange their writes in either
// order: both end with the same room.
func TestReplicaConcurrentEditsConverge(t *testing.T) {
	a := openReplicating(t, t.TempDir(), "a")
	b := openReplicating(t, t.TempDir(), "b")
	if _, _, err := a.Create(Spec{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	applyAll(t, b.Store, a.take())
	b.clock = a.clock // same clock reading on both: the node id decides
	if _, err := a.Update("r", func(r *Definition) error { r.MaxParticipants = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update("r", func(r *Definition) error { r.MaxParticipants = 20; r.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	fromA, fromB := a.take(), b.take()
	applyAll(t, a.Store, fromB)
	applyAll(t, b.Store, fromA)
	ra, _ := a.Get("r")
	rb, _ := b.Get("r")
	if ra != rb {
		t.Fatalf("diverged:\n a: %+v\n b: %+v", ra, rb)
	}
	if ra.MaxParticipants != 20 || !ra.Locked {
		t.Errorf("winner = %+v, want b's write (same clock, greater node id)", ra)
	}
}

// Two servers that ran alone before versions existed hold different rooms
// of one name with the same (zero) version: once they exchange them, both
// keep the same one.
func TestEqualVersionsConverge(t *testing.T) {
	a := openTest(t, t.TempDir())
	b := openTest(t, t.TempDir())
	for _, s := range []*Store{a, b} {
		if _, _, err := s.Create(Spec{Name: "shared"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Update("shared", func(r *Definition) error { r.MaxParticipants = 7; return nil }); err != nil {
		t.Fatal(err)
	}
	// Make both versions equal, as records written before versions were.
	for _, s := range []*Store{a, b} {
		s.wmu.Lock()
		r := s.persistent["shared"]
		r.Version = Version{}
		if err := s.put(r); err != nil {
			t.Fatal(err)
		}
		s.persistent["shared"] = r
		s.wmu.Unlock()
	}
	fromA, fromB := a.Replicas(), b.Replicas()
	applyAll(t, a, fromB)
	applyAll(t, b, fromA)
	ra, _ := a.Get("shared")
	rb, _ := b.Get("shared")
	if ra != rb {
		t.Fatalf("diverged:\n a: %+v\n b: %+v", ra, rb)
	}
	// And a tombstone of the same version beats the room.
	tomb := Replica{Name: "shared", Deleted: true}
	if changed, _ := a.ApplyReplica(tomb); !changed {
		t.Error("a tombstone of the same version did not win over the room")
	}
	if changed, _ := a.ApplyReplica(fromB[0]); changed {
		t.Error("a room of the same version came back over its tombstone")
	}
}

func TestTombstonesPersistAndExpire(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := openTestOpts(t, dir, Options{Now: func() time.Time { return now }})
	if _, _, err := a.Create(Spec{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	created := a.Replicas()[0]
	if err := a.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	a.Close()

	b := openTestOpts(t, dir, Options{Now: func() time.Time { return now }})
	if changed, _ := b.ApplyReplica(created); changed {
		t.Error("an old copy of a deleted room came back after a restart")
	}
	reps := b.Replicas()
	if len(reps) != 1 || !reps[0].Deleted || reps[0].Name != "gone" {
		t.Errorf("replicas after reopen = %+v, want one tombstone", reps)
	}
	b.Close()

	later := now.Add(TombstoneTTL + time.Hour)
	c := openTestOpts(t, dir, Options{Now: func() time.Time { return later }})
	if reps := c.Replicas(); len(reps) != 0 {
		t.Errorf("tombstone older than TombstoneTTL kept: %+v", reps)
	}
}

// A room re-created after its deletion wins over the tombstone, even when
// this node's clock is behind the deleting node's.
func TestCreateAfterRemoteDeletion(t *testing.T) {
	a := openReplicating(t, t.TempDir(), "a")
	future := Replica{Name: "r", Clock: a.clock + 1e6, Node: "b", Deleted: true}
	if _, err := a.ApplyReplica(future); err != nil {
		t.Fatal(err)
	}
	r, _, err := a.Create(Spec{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if !future.Version().Less(r.Version) {
		t.Errorf("re-created room version %+v is not newer than the tombstone %+v", r.Version, future.Version())
	}
}

// replicaOf makes the replica of a valid room, as a peer would send it.
func replicaOf(t testing.TB, name string, v Version, maxParticipants int) Replica {
	t.Helper()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := Definition{Name: name, Mode: ModeOpen, MaxSpeakers: 3, MaxParticipants: maxParticipants, Created: now, Updated: now, Version: v}
	data, err := json.Marshal(toRecord(r))
	if err != nil {
		t.Fatal(err)
	}
	return Replica{Name: name, Clock: v.Clock, Node: v.Node, Data: data}
}

// lastTxID is the id of the store's last committed bbolt write
// transaction: every write transaction adds one.
func lastTxID(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// A batch of replicas is one bbolt transaction, applies the same rule as
// one by one, skips the invalid ones, and is on disk when it returns.
func TestApplyReplicasOneTransaction(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	// Real clocks: a tombstone older than TombstoneTTL is dropped at Open.
	base := uint64(time.Now().UnixNano())
	at := func(c uint64, node string) Version { return Version{Clock: base + c, Node: node} }
	if _, err := s.ApplyReplica(replicaOf(t, "kept", at(50, "a"), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyReplica(replicaOf(t, "deleted", at(50, "a"), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Adhoc("adhoc"); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var batch []Replica
	for i := range n {
		batch = append(batch, replicaOf(t, fmt.Sprintf("room-%d", i), at(uint64(100+i), "a"), 0))
	}
	batch = append(batch,
		replicaOf(t, "room-7", at(1, "a"), 99),                                  // older than the room-7 above
		replicaOf(t, "room-8", at(1e6, "b"), 42),                                // newer than the room-8 above
		Replica{Name: "bad/name", Clock: 1},                                     // refused
		replicaOf(t, "kept", at(49, "z"), 5),                                    // older than the store's
		Replica{Name: "deleted", Clock: base + 51, Node: "b", Deleted: true},    // newer than the store's
		replicaOf(t, "adhoc", at(1, "b"), 3),                                    // replaces the ad-hoc room
		Replica{Name: "never-seen", Clock: base + 60, Node: "b", Deleted: true}, // a new tombstone
	)
	before := lastTxID(t, s)
	changed, err := s.ApplyReplicas(batch)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v, want the refused replica's ErrInvalid", err)
	}
	if txs := lastTxID(t, s) - before; txs != 1 {
		t.Errorf("%d write transactions for one batch, want 1", txs)
	}
	slices.Sort(changed)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("room-%d", i))
	}
	want = append(want, "adhoc", "deleted", "never-seen")
	slices.Sort(want)
	if !slices.Equal(changed, want) {
		t.Errorf("changed = %d names, want %d (%v…)", len(changed), len(want), want[:3])
	}

	check := func(s *Store, when string) {
		t.Helper()
		if r, err := s.Get("room-7"); err != nil || r.MaxParticipants != 0 {
			t.Errorf("%s: room-7 = %+v, %v; want the newer copy", when, r, err)
		}
		if r, err := s.Get("room-8"); err != nil || r.MaxParticipants != 42 || r.Version != at(1e6, "b") {
			t.Errorf("%s: room-8 = %+v, %v; want the newer copy", when, r, err)
		}
		if r, err := s.Get("kept"); err != nil || r.MaxParticipants != 1 {
			t.Errorf("%s: kept = %+v, %v; an older replica replaced it", when, r, err)
		}
		if _, err := s.Get("deleted"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: deleted room still there: %v", when, err)
		}
		if r, err := s.Get("adhoc"); err != nil || r.Ephemeral || r.MaxParticipants != 3 {
			t.Errorf("%s: adhoc = %+v, %v; want the replica", when, r, err)
		}
		if got := len(s.List()); got != n+2 {
			t.Errorf("%s: %d rooms, want %d", when, got, n+2)
		}
		tombs := 0
		for _, r := range s.Replicas() {
			if r.Deleted {
				tombs++
			}
		}
		if tombs != 2 {
			t.Errorf("%s: %d tombstones, want 2 (deleted, never-seen)", when, tombs)
		}
	}
	check(s, "after the batch")
	s.Close()
	check(openTest(t, dir), "after reopening")
}

// Applying replicas in one batch, in any order, ends with the same store
// as applying them one by one: the merge rule is one rule. The replicas
// often share a version with different contents, the rare case.
func TestApplyReplicasMatchesOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	random := func() Replica {
		name := names[rng.IntN(len(names))]
		v := Version{Clock: uint64(1 + rng.IntN(4)), Node: []string{"a", "b"}[rng.IntN(2)]}
		if rng.IntN(4) == 0 {
			return Replica{Name: name, Clock: v.Clock, Node: v.Node, Deleted: true}
		}
		return replicaOf(t, name, v, rng.IntN(3))
	}
	for round := range 20 {
		var initial, incoming []Replica
		for range 4 {
			initial = append(initial, random())
		}
		for range 40 {
			incoming = append(incoming, random())
		}
		one, batch := openTest(t, t.TempDir()), openTest(t, t.TempDir())
		for _, s := range []*Store{one, batch} {
			applyAll(t, s, initial)
		}
		start := batch.Replicas()
		applyAll(t, one, incoming)
		shuffled := slices.Clone(incoming)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		changed, err := batch.ApplyReplicas(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		got, want := batch.Replicas(), one.Replicas()
		if show(got) != show(want) {
			t.Fatalf("round %d: batch gave\n%sone by one gave\n%s", round, show(got), show(want))
		}
		// changed names exactly the rooms whose entry differs from before.
		var differ []string
		for _, name := range names {
			i := slices.IndexFunc(start, func(r Replica) bool { return r.Name == name })
			j := slices.IndexFunc(got, func(r Replica) bool { return r.Name == name })
			if (i < 0) != (j < 0) || i >= 0 && show(start[i:i+1]) != show(got[j:j+1]) {
				differ = append(differ, name)
			}
		}
		slices.Sort(changed)
		if !slices.Equal(changed, differ) {
			t.Fatalf("round %d: changed = %v, want %v", round, changed, differ)
		}
	}
}

// show prints replicas one a line, records as text.
func show(reps []Replica) string {
	var b strings.Builder
	for _, r := range reps {
		fmt.Fprintf(&b, "  %s %d/%s deleted=%v %s\n", r.Name, r.Clock, r.Node, r.Deleted, r.Data)
	}
	return b.String()
}

// A batch whose write fails changes nothing in memory either.
func TestApplyReplicasWriteFails(t *testing.T) {
	s := openTest(t, t.TempDir())
	s.db.Close() // every write now fails
	changed, err := s.ApplyReplicas([]Replica{replicaOf(t, "r", Version{Clock: 1, Node: "a"}, 0)})
	if err == nil || changed != nil {
		t.Fatalf("changed=%v err=%v, want an error and nothing changed", changed, err)
	}
	if _, err := s.Get("r"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the room is in memory although it is not on disk: %v", err)
	}
}
