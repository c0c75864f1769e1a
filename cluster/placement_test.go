package cluster

import (
	"fmt"
	"testing"
)

func members(ids ...string) []Member {
	out := make([]Member, len(ids))
	for i, id := range ids {
		out[i] = Member{ID: id, Capacity: 1}
	}
	return out
}

func placeAll(rooms int, ms []Member) map[string]int {
	count := map[string]int{}
	for i := 0; i < rooms; i++ {
		count[ms[rendezvous(fmt.Sprintf("room-%d", i), ms)].ID]++
	}
	return count
}

func TestRendezvousSpreadsByCapacity(t *testing.T) {
	cases := []struct {
		name     string
		members  []Member
		want     map[string]float64 // expected share
		tolerate float64
	}{
		{"equal", members("a", "b", "c"), map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}, 0.03},
		{"double capacity", []Member{{ID: "a", Capacity: 2}, {ID: "b", Capacity: 1}, {ID: "c", Capacity: 1}},
			map[string]float64{"a": 0.5, "b": 0.25, "c": 0.25}, 0.03},
		{"loaded node gets less", []Member{{ID: "a", Capacity: 1, Participants: 1000}, {ID: "b", Capacity: 1}},
			map[string]float64{"a": 1. / 3, "b": 2. / 3}, 0.03},
	}
	const n = 20000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := placeAll(n, tc.members)
			for id, share := range tc.want {
				if f := float64(got[id]) / n; f < share-tc.tolerate || f > share+tc.tolerate {
					t.Errorf("%s got %.3f of the rooms, want %.3f", id, f, share)
				}
			}
		})
	}
}

// Adding a node moves only the rooms that go to it; removing one moves
// only its own.
func TestRendezvousMinimalMovement(t *testing.T) {
	three := members("a", "b", "c")
	four := members("a", "b", "c", "d")
	for i := 0; i < 5000; i++ {
		room := fmt.Sprintf("r%d", i)
		before := three[rendezvous(room, three)].ID
		after := four[rendezvous(room, four)].ID
		if after != before && after != "d" {
			t.Fatalf("%s moved from %s to %s when d joined", room, before, after)
		}
	}
}

func TestRendezvousDeterministic(t *testing.T) {
	ms := members("n1", "n2", "n3")
	rev := []Member{ms[2], ms[1], ms[0]}
	for i := 0; i < 1000; i++ {
		room := fmt.Sprintf("r%d", i)
		if ms[rendezvous(room, ms)].ID != rev[rendezvous(room, rev)].ID {
			t.Fatalf("%s: placement depends on the order of the member list", room)
		}
	}
	if rendezvous("x", nil) != -1 {
		t.Error("no candidates must give -1")
	}
}

func TestKeeps(t *testing.T) {
	cases := []struct {
		name string
		a, b holding
		want bool
	}{
		{"more participants", holding{"b", 5, 2}, holding{"a", 3, 1}, true},
		{"fewer participants", holding{"a", 3, 1}, holding{"b", 5, 2}, false},
		{"same count, earlier", holding{"b", 3, 1}, holding{"a", 3, 2}, true},
		{"same count and time, smaller id", holding{"a", 3, 1}, holding{"b", 3, 1}, true},
		{"same count and time, greater id", holding{"b", 3, 1}, holding{"a", 3, 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := keeps(tc.a, tc.b); got != tc.want {
				t.Errorf("keeps = %v, want %v", got, tc.want)
			}
			if keeps(tc.a, tc.b) == keeps(tc.b, tc.a) {
				t.Error("keeps is not antisymmetric")
			}
		})
	}
}
