package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit/testserver"
	"palabre/signaling"
)

// wsURL is the WebSocket endpoint of a server, as window.palabre.socketURL()
// reports it.
func wsURL(s *testserver.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

func nodeURLs(nodes []*testserver.Server) []string {
	var out []string
	for _, s := range nodes {
		out = append(out, s.URL)
	}
	return out
}

// roomHome waits until every node knows room and names the same node for
// it, and returns that node and another one.
func roomHome(t *testing.T, nodes []*testserver.Server, room string) (home, other *testserver.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		owner, agreed := "", true
		for _, s := range nodes {
			st, ok := s.RoomStatus(room)
			if !ok || st.Node == "" || (owner != "" && st.Node != owner) {
				agreed = false
				break
			}
			owner = st.Node
		}
		if agreed {
			home = testserver.ByID(nodes, owner)
			if home == nil {
				t.Fatalf("room %s on unknown node %q", room, owner)
			}
			for _, s := range nodes {
				if s != home {
					return home, s
				}
			}
			t.Fatal("no other node")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes do not agree on the node of room %s", room)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// speaker is a Go participant that publishes a tone after every (re)join,
// and follows redirects and failures the way the browser app does.
type speaker struct {
	*client.Member
	connects atomic.Int64
}

func joinSpeaker(t *testing.T, url, room, name string) *speaker {
	t.Helper()
	sp := &speaker{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := client.JoinMember(ctx, url, client.JoinRequest{Room: room, Name: name}, client.MemberOptions{
		OnConnect: func(ctx context.Context, c *client.Client) error {
			sp.connects.Add(1)
			return c.Publish(client.NewToneSource([]byte(name), 30))
		},
		MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("%s joins %s through %s: %v", name, room, url, err)
	}
	sp.Member = m
	t.Cleanup(func() { m.Close() })
	return sp
}

// pageState is what the failover test polls: where the page's WebSocket
// goes, its state, its media and the audio received on the current
// PeerConnection. Errors read as zero: the PeerConnection may close under
// getStats while the page reconnects; a getStats that does not answer
// within 500 ms reads as zero bytes.
type pageState struct {
	Socket    string  `json:"socket"`
	State     string  `json:"state"`
	Connected bool    `json:"connected"`
	Bytes     float64 `json:"bytes"`
}

const pageStateJS = `(async () => {
	const out = {socket: '', state: '', connected: false, bytes: 0};
	try {
		out.socket = window.palabre.socketURL();
		out.state = window.palabre.state;
		const pc = window.palabre.pc;
		out.connected = !!pc && pc.connectionState === 'connected';
		// A PeerConnection whose node died can keep getStats waiting
		// (Firefox, under load): the poll must not wait with it.
		const stats = pc && await Promise.race([pc.getStats(), new Promise(r => setTimeout(() => r(null), 500))]);
		if (stats) stats.forEach(r => {
			if (r.type === 'inbound-rtp' && r.kind === 'audio') out.bytes += r.bytesReceived || 0;
		});
	} catch (e) {}
	return out;
})()`

// A participant who opens the room's link on the wrong node of a cluster
// is sent to the room's node by the server; the page (still served by the
// first node) talks to the room's node and hears a speaker there.
func followsRedirect(t *testing.T, b *bench) {
	nodes := testserver.StartCluster(t, 2)
	nodes[0].CreateRoom(t, signaling.CreateRoomRequest{Name: "agora"})
	home, other := roomHome(t, nodes, "agora")
	t.Logf("room agora lives on %s (%s); the page is opened on %s (%s)", home.NodeID, home.URL, other.NodeID, other.URL)
	joinSpeaker(t, home.URL, "agora", "Go speaker")

	p := b.person("redirected")
	p.joinRoom(other.URL+"/r/agora", "Redirected", "")
	if got := eval[string](p, `window.palabre.socketURL()`); got != wsURL(home) {
		t.Fatalf("socketURL() = %q, want the room's node %q", got, wsURL(home))
	}
	if got := eval[string](p, `location.origin`); got != other.URL {
		t.Errorf("the page moved to %s; it stays on the node that served it, %s", got, other.URL)
	}
	p.waitAudio("the redirected page receives the speaker's audio", false)

	// The join went to the page's own node first, which redirected it.
	asked := false
	for _, u := range p.requests() {
		// Firefox names a WebSocket by its http: form.
		if u == wsURL(other) || u == other.URL+"/ws" {
			asked = true
		}
	}
	if !asked {
		t.Errorf("the page never opened %s: no redirect happened (requests %q)", wsURL(other), p.requests())
	}
	if n, _ := other.Signaling.LiveRooms(); n != 0 {
		t.Errorf("the redirecting node holds %d live rooms", n)
	}
	checkOnlyServers(t, nodeURLs(nodes), p)
}

// failoverLimit is how long a page may take to be back in the room, with
// audio, after its node dies.
const failoverLimit = 15 * time.Second

// The node of a room dies (no goodbye: connections cut, gossip silent).
// Without anyone touching it, the page rejoins through the other node and
// hears the speaker again, who came back through the other node too.
func failover(t *testing.T, b *bench) {
	nodes := testserver.StartCluster(t, 2)
	nodes[0].CreateRoom(t, signaling.CreateRoomRequest{Name: "lifeboat"})
	home, other := roomHome(t, nodes, "lifeboat")
	t.Logf("room lifeboat lives on %s (%s); the survivor is %s (%s)", home.NodeID, home.URL, other.NodeID, other.URL)
	sp := joinSpeaker(t, home.URL, "lifeboat", "Go speaker")

	p := b.person("survivor")
	p.joinRoom(home.URL+"/r/lifeboat", "Survivor", "")
	if got := eval[string](p, `window.palabre.socketURL()`); got != wsURL(home) {
		t.Fatalf("socketURL() = %q before the crash, want %q", got, wsURL(home))
	}
	p.waitAudio("the page receives the speaker before the crash", false)

	crash := time.Now()
	home.Crash()
	t.Logf("%s crashed", home.NodeID)

	// Poll past the limit, so that a slow failover is measured too.
	var (
		st                    pageState
		lastSocket, lastState string
		reconnected, heard    time.Duration
	)
	for heard == 0 {
		elapsed := time.Since(crash)
		if elapsed > failoverLimit+15*time.Second {
			break
		}
		st = pageState{}
		if err := p.evalErr(pageStateJS, &st); err != nil {
			t.Logf("%6.2fs page: %v", elapsed.Seconds(), err)
		}
		if st.Socket != lastSocket || st.State != lastState {
			t.Logf("%6.2fs page: state %q, socket %q, media connected %v", elapsed.Seconds(), st.State, st.Socket, st.Connected)
			lastSocket, lastState = st.Socket, st.State
		}
		onOther := st.Socket == wsURL(other) && st.State == "room" && st.Connected
		if onOther && reconnected == 0 {
			reconnected = elapsed
		}
		if onOther && st.Bytes > 2000 {
			heard = elapsed
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("speaker now on %s after %d connections", sp.URL(), sp.connects.Load())
	if heard == 0 {
		t.Fatalf("the page did not get back to %s with audio within %v of the crash (last: %+v; speaker on %s; %s sees %+v)",
			other.NodeID, failoverLimit+15*time.Second, st, sp.URL(), other.NodeID, other.Cluster.Members())
	}
	t.Logf("browser failover: media connected on %s %.2f s after the crash, audio received after %.2f s", other.NodeID, reconnected.Seconds(), heard.Seconds())
	if heard > failoverLimit {
		t.Errorf("the page took %.2f s to be back with audio, more than %v", heard.Seconds(), failoverLimit)
	}
	if got := eval[string](p, `location.origin`); got != home.URL {
		t.Errorf("the page moved to %s", got)
	}
	checkOnlyServers(t, nodeURLs(nodes), p)
}

// A node drains (maintenance): the page is told the room moves, says so,
// rejoins on the other node at once and hears the speaker there.
func followsDrain(t *testing.T, b *bench) {
	nodes := testserver.StartCluster(t, 2)
	nodes[0].CreateRoom(t, signaling.CreateRoomRequest{Name: "ferry"})
	home, other := roomHome(t, nodes, "ferry")
	joinSpeaker(t, home.URL, "ferry", "Go speaker")

	p := b.person("drained")
	p.joinRoom(home.URL+"/r/ferry", "Passenger", "")
	p.waitAudio("the page receives the speaker before the drain", false)
	// Record the banners the page shows from now on.
	eval[bool](p, `(() => {
		window.bannerTexts = [];
		const b = document.getElementById('reconnecting');
		new MutationObserver(() => { if (!b.hidden) window.bannerTexts.push(b.textContent.trim()); })
			.observe(b, {attributes: true, childList: true, subtree: true, characterData: true});
		return true;
	})()`)

	start := time.Now()
	drained := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		drained <- home.Signaling.Drain(ctx)
	}()
	p.waitFor("the page is on the other node", fmt.Sprintf(`window.palabre.socketURL() === %q && window.palabre.state === 'room'`, wsURL(other)))
	p.waitAudio("the page hears the speaker on the other node", false)
	t.Logf("browser drain: audio back on %s %.2f s after the drain started", other.NodeID, time.Since(start).Seconds())
	if left := <-drained; left != 0 {
		t.Errorf("%d rooms left on the drained node", left)
	}
	banners := eval[[]string](p, `window.bannerTexts`)
	moving := false
	for _, b := range banners {
		moving = moving || strings.Contains(b, "moving to another server")
	}
	if !moving {
		t.Errorf("the page never said the room was moving; banners shown: %q", banners)
	}
	checkOnlyServers(t, nodeURLs(nodes), p)
}
