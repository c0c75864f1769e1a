package cluster

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"palabre/internal/testkit"
)

// splitNet is a loopback network that can be split: each node's
// memberlist transport drops what it sends across the split (packets are
// lost, connections refused), so neither side hears the other.
type splitNet struct {
	mu  sync.Mutex
	cut map[string]bool // gossip addresses on the far side
}

func (s *splitNet) blocked(from, to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut[from] != s.cut[to]
}

func (s *splitNet) set(addr string, cut bool) {
	s.mu.Lock()
	s.cut[addr] = cut
	s.mu.Unlock()
}

// splitTransport is memberlist's own transport, filtered by a splitNet.
type splitTransport struct {
	*memberlist.NetTransport
	net  *splitNet
	self string
}

var errSplit = errors.New("unreachable: the test network is split")

func (t *splitTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.net.blocked(t.self, addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *splitTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *splitTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.net.blocked(t.self, addr) {
		return nil, errSplit
	}
	return t.NetTransport.DialTimeout(addr, timeout)
}

func (t *splitTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// startSplittable starts a node on sn that joins join.
func startSplittable(t *testing.T, sn *splitNet, id string, join ...string) testNode {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &splitTransport{NetTransport: nt, net: sn, self: net.JoinHostPort("127.0.0.1", strconv.Itoa(nt.GetAutoBindPort()))}
	n, err := New(Config{
		NodeID: id, PublicURL: "http://" + id + ".test", BindAddr: "127.0.0.1:0",
		Key: testKey, Logger: quietLogger(), transport: tr,
	})
	if err != nil {
		nt.Shutdown()
		t.Fatal(err)
	}
	reg := newMapRegistry()
	n.SetRegistry(reg)
	n.Join(join)
	t.Cleanup(func() { n.Shutdown() })
	return testNode{n, reg}
}

// wantMembers checks that n lists exactly count members, all alive.
func wantMembers(n testNode, count int) error {
	if ms := n.Members(); len(ms) != count {
		return fmt.Errorf("%s lists %d members, want %d: %+v", n.ID(), len(ms), count, ms)
	}
	return wantAlive(n, count)
}

// A partition heals: before, the two sides of a split stayed apart after
// the network came back (memberlist never calls a dead node again), each
// with its own rooms, the same room live on both, until a node restarted.
func TestPartitionHeals(t *testing.T) {
	sn := &splitNet{cut: map[string]bool{}}
	n1 := startSplittable(t, sn, "n1")
	n2 := startSplittable(t, sn, "n2", n1.GossipAddr())
	n3 := startSplittable(t, sn, "n3", n1.GossipAddr())
	nodes := []testNode{n1, n2, n3}
	for _, n := range nodes {
		testkit.EventuallyNil(t, 10*time.Second, func() error { return wantMembers(n, 3) })
	}
	n1.write("before", "v1")
	testkit.EventuallyNil(t, 2*time.Second, func() error {
		for _, n := range nodes {
			if _, ok := n.reg.get("before"); !ok {
				return fmt.Errorf("%s lacks it", n.ID())
			}
		}
		return nil
	})

	sn.set(n3.GossipAddr(), true)
	for _, n := range nodes {
		want := 2
		if n == n3 {
			want = 1
		}
		testkit.EventuallyNil(t, 20*time.Second, func() error { return wantMembers(n, want) })
	}
	n1.write("side-a", "a")
	n3.write("side-b", "b")
	n3.write("before", "v3")
	n1.SetLive("both", 2)
	n3.SetLive("both", 1)
	if p := n3.Owner("both"); p.ID != "n3" {
		t.Fatalf("n3 places the room live on both sides on %s", p.ID)
	}

	healed := time.Now()
	sn.set(n3.GossipAddr(), false)
	for _, n := range nodes {
		testkit.EventuallyNil(t, 10*raceSlowdown*time.Second, func() error {
			if err := wantMembers(n, 3); err != nil {
				return err
			}
			for name, value := range map[string]string{"before": "v3", "side-a": "a", "side-b": "b"} {
				if e, ok := n.reg.get(name); !ok || string(e.Data) != value {
					return fmt.Errorf("%s has %s = %q, want %q", n.ID(), name, e.Data, value)
				}
			}
			if p := n.Owner("both"); p.ID != "n1" || !p.Live {
				return fmt.Errorf("%s places the room live on both sides on %s (live %v)", n.ID(), p.ID, p.Live)
			}
			return nil
		})
	}
	t.Logf("healed %v after the network", time.Since(healed).Round(time.Millisecond))
	// Each node has exchanged its state with the others once they were
	// members again, and calls nobody any more.
	for _, n := range nodes {
		testkit.EventuallyNil(t, 5*raceSlowdown*time.Second, func() error {
			n.mu.Lock()
			defer n.mu.Unlock()
			if len(n.failed) != 0 {
				return fmt.Errorf("%s still calls %d nodes", n.ID(), len(n.failed))
			}
			return nil
		})
	}
}

// A node that fails is called back; one that drained and left is not.
func TestFailedNodesCalledLeftNodesNot(t *testing.T) {
	nodes := startCluster(t, 3)
	calls := func(n testNode) map[string]bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		out := map[string]bool{}
		for id := range n.failed {
			out[id] = true
		}
		return out
	}
	nodes[1].SetDraining(true)
	if err := nodes[1].Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	nodes[2].Shutdown()
	testkit.EventuallyNil(t, 20*time.Second, func() error { return wantMembers(nodes[0], 1) })
	if c := calls(nodes[0]); !c["n3"] || c["n2"] {
		t.Errorf("n1 calls %v, want the failed n3 only", c)
	}
}
