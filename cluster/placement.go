package cluster

import (
	"hash/fnv"
	"math"
	"strings"
)

// loadHalf is the number of participants per unit of capacity at which a
// node's placement weight is halved: busy nodes get fewer new rooms.
const loadHalf = 1000

// weight is a node's share of new rooms: its capacity, lowered as its
// load grows.
func weight(m Member) float64 {
	c := m.Capacity
	if c <= 0 {
		c = 1
	}
	return c / (1 + float64(m.Participants)/(c*loadHalf))
}

// score is the weighted rendezvous (highest random weight) score of a room
// on a node: -w / ln(u), u uniform in (0,1) from a hash of both names. The
// node with the highest score gets the room; adding or removing a node
// moves only the rooms that go to or come from it.
func score(room, node string, w float64) float64 {
	h := fnv.New64a()
	h.Write([]byte(room))
	h.Write([]byte{0})
	h.Write([]byte(node))
	x := mix64(h.Sum64())
	u := (float64(x>>11) + 0.5) / (1 << 53)
	return -w / math.Log(u)
}

// mix64 is splitmix64's finalizer: FNV's output bits are not uniform
// enough on their own for the u above.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rendezvous returns the index in candidates of the node that gets room,
// or -1 when there is none. Ties go to the smaller id, so every node
// computes the same answer from the same view.
func rendezvous(room string, candidates []Member) int {
	best, bestScore := -1, 0.0
	for i, m := range candidates {
		s := score(room, m.ID, weight(m))
		if best < 0 || s > bestScore || (s == bestScore && m.ID < candidates[best].ID) {
			best, bestScore = i, s
		}
	}
	return best
}

// holding is one node's announcement that a room is live on it.
type holding struct {
	node         string
	participants int
	since        int64 // Unix nanoseconds when the room went live there
}

// keeps reports whether a's claim on a room beats b's: more participants,
// then the earlier start, then the smaller node id. Every node applies the
// same rule, so exactly one holder keeps the room.
func keeps(a, b holding) bool {
	if a.participants != b.participants {
		return a.participants > b.participants
	}
	if a.since != b.since {
		return a.since < b.since
	}
	return strings.Compare(a.node, b.node) < 0
}
