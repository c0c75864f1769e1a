package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit"
)

func entryAt(name string, clock uint64, node, data string) Entry {
	return Entry{Name: name, Clock: clock, Node: node, Data: []byte(data)}
}

// The inbox keeps one entry per name, the newest; an entry of the same
// version but other content is kept too, for the Registry's rule.
func TestInboxCoalesces(t *testing.T) {
	q := newInbox()
	q.add([]Entry{entryAt("r", 1, "a", "v1"), entryAt("r", 3, "a", "v3"), entryAt("s", 5, "a", "s")})
	q.add([]Entry{
		entryAt("r", 2, "b", "v2"),  // older than v3: cannot win
		entryAt("r", 3, "a", "v3"),  // the gossip copy of a direct send
		entryAt("r", 3, "a", "v3'"), // same version, other content
		entryAt("s", 5, "b", "s-b"), // same clock, greater node: newer
		{Name: "t", Clock: 9, Node: "a", Deleted: true},
	})
	got, dropped := q.take()
	slices.SortFunc(got, func(a, b Entry) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	want := []Entry{entryAt("r", 3, "a", "v3"), entryAt("r", 3, "a", "v3'"), entryAt("s", 5, "b", "s-b"), {Name: "t", Clock: 9, Node: "a", Deleted: true}}
	slices.SortFunc(want, func(a, b Entry) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	if fmt.Sprint(got) != fmt.Sprint(want) || dropped != 0 {
		t.Errorf("take = %v (%d dropped), want %v", got, dropped, want)
	}
	if got, _ := q.take(); len(got) != 0 || q.bytes != 0 {
		t.Errorf("second take = %v, bytes %d; want empty", got, q.bytes)
	}
}

// A full inbox drops new names (counted), never a newer version of a
// queued name; the byte bound counts too.
func TestInboxBounds(t *testing.T) {
	q := newInbox()
	q.maxEntries = 2
	if d := q.add([]Entry{entryAt("a", 1, "n", "x"), entryAt("b", 1, "n", "x"), entryAt("c", 1, "n", "x")}); d != 1 {
		t.Errorf("dropped %d of 3 into an inbox of 2, want 1", d)
	}
	if d := q.add([]Entry{entryAt("a", 2, "n", "newer"), entryAt("b", 1, "n", "tie")}); d != 1 {
		t.Errorf("dropped %d, want 1 (the tie needs a slot; the newer a does not)", d)
	}
	got, dropped := q.take()
	if len(got) != 2 || dropped != 2 || q.dropped != 2 {
		t.Errorf("take = %v, dropped %d (total %d); want a@2 and b@1, 2 dropped", got, dropped, q.dropped)
	}
	for _, e := range got {
		if e.Name == "a" && string(e.Data) != "newer" {
			t.Errorf("a = %q, want the newer version", e.Data)
		}
	}
	if _, dropped := q.take(); dropped != 0 {
		t.Errorf("drops reported twice")
	}

	q = newInbox()
	q.maxBytes = 3 * entryAt("a", 1, "n", "0123456789").size()
	q.add([]Entry{entryAt("a", 1, "n", "0123456789"), entryAt("b", 1, "n", "0123456789"), entryAt("c", 1, "n", "0123456789")})
	if d := q.add([]Entry{entryAt("d", 1, "n", "0123456789")}); d != 1 {
		t.Errorf("byte bound: dropped %d, want 1", d)
	}
}

// Entries that this package can tell are malformed are dropped in the
// callback; the others of the same message are applied.
func TestMalformedEntriesDropped(t *testing.T) {
	n := startNode(t, "n1", testKey)
	n.receive([]Entry{
		{Clock: 1, Node: "p", Data: []byte("no name")},
		{Name: strings.Repeat("x", maxEntryName+1), Clock: 1, Node: "p"},
		{Name: "long-node", Clock: 1, Node: strings.Repeat("p", maxEntryNode+1)},
		{Name: "tomb-with-data", Clock: 1, Node: "p", Deleted: true, Data: []byte("x")},
		{Name: "huge", Clock: 1, Node: "p", Data: make([]byte, maxEntryBytes+1)},
		{Name: "good", Clock: 1, Node: "p", Data: []byte("ok")},
	}, nil)
	testkit.Eventually(t, 2*time.Second, "the good entry is applied", func() bool { _, ok := n.reg.get("good"); return ok })
	if got := n.reg.Entries(); len(got) != 1 {
		t.Errorf("registry holds %d entries, want only the good one: %v", len(got), got)
	}
}
