package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// startTestCluster starts n in-process nodes (n1…) that form a cluster.
func startTestCluster(t *testing.T, n int, opts ...serverOption) []*testServer {
	t.Helper()
	first := startServer(t, append(opts, withCluster("n1"))...)
	nodes := []*testServer{first}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, startServer(t, append(opts, withCluster(fmt.Sprintf("n%d", i), first))...))
	}
	testkit.Eventually(t, 10*time.Second, "every node sees the others", func() bool {
		for _, ts := range nodes {
			alive := 0
			for _, m := range ts.Cluster.Members() {
				if m.State == "alive" {
					alive++
				}
			}
			if alive != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// nodeByID returns the test server whose cluster id is id.
func nodeByID(t *testing.T, nodes []*testServer, id string) *testServer {
	for _, ts := range nodes {
		if ts.NodeID == id {
			return ts
		}
	}
	t.Fatalf("no node %q", id)
	return nil
}

// listener is a Member that counts the audio it receives.
type listener struct {
	*client.Member
	packets atomic.Uint64
}

func (l *listener) heard() uint64 { return l.packets.Load() }

// waitHearing waits until l's packet count grows.
func (l *listener) waitHearing(t *testing.T, d time.Duration, what string) {
	t.Helper()
	before := l.heard()
	testkit.Eventually(t, d, what, func() bool { return l.heard() > before+10 })
}

func joinMember(t *testing.T, url, room, name string, speak bool) *listener {
	t.Helper()
	l := &listener{}
	opts := client.MemberOptions{
		OnRTP:      func(int, *rtp.Packet) { l.packets.Add(1) },
		MaxBackoff: 500 * time.Millisecond,
	}
	if speak {
		opts.OnConnect = func(ctx context.Context, c *client.Client) error {
			return c.Publish(client.NewToneSource([]byte(name), 30))
		}
	}
	m, err := client.JoinMember(testCtx(t, 20*time.Second), url, client.JoinRequest{Room: room, Name: name}, opts)
	if err != nil {
		t.Fatalf("%s joins %s through %s: %v", name, room, url, err)
	}
	l.Member = m
	t.Cleanup(func() { m.Close() })
	return l
}

// A room created on one node is known to all; a participant who comes in
// through the wrong node is sent to the room's node and hears the speaker.
func TestClusterRedirectsToTheRoomsNode(t *testing.T) {
	nodes := startTestCluster(t, 3)
	nodes[0].createRoom(signaling.CreateRoomRequest{Name: "assembly"})
	var owner string
	testkit.Eventually(t, 2*time.Second, "the room is known on every node", func() bool {
		for _, ts := range nodes {
			st, ok := roomStatus(ts, "assembly")
			if !ok {
				return false
			}
			owner = st.Node
		}
		return true
	})
	home := nodeByID(t, nodes, owner)
	var wrong *testServer
	for _, ts := range nodes {
		if ts != home {
			wrong = ts
		}
	}
	joinMember(t, home.URL, "assembly", "Ana", true)
	l := joinMember(t, wrong.URL, "assembly", "Ben", false)
	if l.URL() != home.URL {
		t.Fatalf("listener connected to %s, the room lives on %s", l.URL(), home.URL)
	}
	l.waitHearing(t, 10*time.Second, "the redirected listener hears the speaker")
	j := l.Client().Joined()
	if len(j.Nodes) != 3 || j.Nodes[0] != home.URL {
		t.Errorf("joined nodes = %v, want the 3 nodes, %s first", j.Nodes, home.URL)
	}
	resp, err := http.Get(wrong.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"palabre_join_redirects_total 1\n", "palabre_cluster_nodes 3\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics of the redirecting node lacks %q", want)
		}
	}
}

func roomStatus(ts *testServer, name string) (signaling.RoomStatus, bool) {
	resp, err := http.Get(ts.URL + "/api/v1/rooms/" + name)
	if err != nil {
		return signaling.RoomStatus{}, false
	}
	defer resp.Body.Close()
	var st signaling.RoomStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return signaling.RoomStatus{}, false
	}
	return st, true
}

// Draining a node moves its live room to another node; the participants
// follow and hear each other again.
func TestClusterDrainMovesRooms(t *testing.T) {
	nodes := startTestCluster(t, 2)
	home := nodes[0]
	// Ad-hoc room, entered on node 1 with the redirect limit reached, so
	// that it lives on node 1 whatever the hash says.
	anchorRoom(t, home.URL, "moving")
	speaker := joinMember(t, home.URL, "moving", "Ana", true)
	l := joinMember(t, home.URL, "moving", "Ben", false)
	l.waitHearing(t, 10*time.Second, "the listener hears the speaker before the drain")
	if l.URL() != home.URL {
		t.Fatalf("listener on %s, want %s", l.URL(), home.URL)
	}

	start := time.Now()
	left := home.Signaling.Drain(testCtx(t, 15*time.Second))
	if left != 0 {
		t.Fatalf("%d rooms still live after the drain deadline", left)
	}
	t.Logf("drained in %v", time.Since(start))
	resp, err := http.Get(home.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "draining\n" {
		t.Errorf("/readyz of a draining node: %s %q", resp.Status, body)
	}
	testkit.Eventually(t, 10*time.Second, "both participants on node 2", func() bool {
		return l.URL() == nodes[1].URL && speaker.URL() == nodes[1].URL
	})
	l.waitHearing(t, 10*time.Second, "the listener hears the speaker on node 2")
	if got := metric(t, nodes[1].URL, "palabre_rejoins_total"); got != "2" {
		t.Errorf("node 2 counts %s rejoins, want the 2 moved participants", got)
	}

	// The drained node sends newcomers away.
	late := joinMember(t, home.URL, "moving", "Cleo", false)
	if late.URL() != nodes[1].URL {
		t.Errorf("a newcomer through the draining node landed on %s", late.URL())
	}
}

// A node alone in its cluster has nowhere to move its rooms: Drain
// returns at once instead of waiting for the deadline.
func TestClusterDrainAloneReturnsAtOnce(t *testing.T) {
	nodes := startTestCluster(t, 1)
	joinMember(t, nodes[0].URL, "island", "Ana", false)
	start := time.Now()
	if left := nodes[0].Signaling.Drain(testCtx(t, 20*time.Second)); left != 1 {
		t.Errorf("Drain = %d rooms left, want 1", left)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Drain took %v with no other node", d)
	}
}

// anchorRoom makes room live on the node at url, whatever the hash says:
// its join claims the redirect limit was reached, so the node admits it.
func anchorRoom(t *testing.T, url, room string) *client.Client {
	t.Helper()
	raw, err := client.Dial(testCtx(t, 10*time.Second), url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: room, Name: "anchor", Hops: proto.MaxHops}); err != nil {
		t.Fatal(err)
	}
	return raw
}

// Two nodes holding one room (a race): the side with fewer participants
// moves them to the other.
func TestClusterConflictSmallerSideMoves(t *testing.T) {
	nodes := startTestCluster(t, 2)
	// Three participants on node 2, forced there.
	anchorRoom(t, nodes[1].URL, "split")
	a := joinMember(t, nodes[1].URL, "split", "Ana", true)
	b := joinMember(t, nodes[1].URL, "split", "Ben", false)
	// One on node 1, forced too: a second copy of the room.
	raw := anchorRoom(t, nodes[0].URL, "split")
	select {
	case <-raw.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the smaller side's participant was not moved")
	}
	var ce *client.ClosedError
	if err := raw.Err(); !errors.As(err, &ce) || ce.Redirect == nil || ce.Redirect.URL != nodes[1].URL {
		t.Fatalf("closed with %v, want a redirect to %s", err, nodes[1].URL)
	}
	if a.URL() != nodes[1].URL || b.URL() != nodes[1].URL || a.Reconnects()+b.Reconnects() != 0 {
		t.Error("the bigger side was disturbed")
	}
	resp, err := http.Get(nodes[0].URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "palabre_rooms_moved_total 1\n") {
		t.Error("/metrics of the smaller side does not count the move")
	}
}

// A room edited on one node changes on the node where it is live.
func TestClusterEditReachesLiveRoom(t *testing.T) {
	nodes := startTestCluster(t, 2)
	created := nodes[0].createRoom(signaling.CreateRoomRequest{Name: "edited"})
	testkit.Eventually(t, 2*time.Second, "replicated", func() bool { _, ok := roomStatus(nodes[1], "edited"); return ok })
	st, _ := roomStatus(nodes[0], "edited")
	home := nodeByID(t, nodes, st.Node)
	other := nodes[0]
	if other == home {
		other = nodes[1]
	}
	l := joinMember(t, home.URL, "edited", "Ana", false)
	req, _ := http.NewRequest(http.MethodPatch, other.URL+"/api/v1/rooms/edited", strings.NewReader(`{"locked":true}`))
	req.Header.Set("Authorization", "Bearer "+created.OrganizerSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH on the other node: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	waitEvent(t, l.Client(), "the room event", func(m proto.Message) bool {
		return m.Type == proto.TypeRoom && m.RoomInfo != nil && m.RoomInfo.Locked
	})
}

// metric returns the value of the metric line named name at url/metrics.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
