package rooms

import (
	"errors"
	"sync"
	"testing"
	"time"
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
