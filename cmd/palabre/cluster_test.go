package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	pturn "github.com/pion/turn/v5"

	"palabre/client"
	"palabre/internal/pionlog"
	"palabre/signaling"
)

// member is a client.Member that counts the audio it receives.
type member struct {
	*client.Member
	packets atomic.Uint64
}

// hearsAgain waits until m receives audio again and returns when.
func (m *member) hearsAgain(t *testing.T, d time.Duration, what string) time.Time {
	t.Helper()
	before := m.packets.Load()
	within(t, d, what, func() error {
		if got := m.packets.Load(); got < before+10 {
			return fmt.Errorf("%d packets since", got-before)
		}
		return nil
	})
	return time.Now()
}

// joinAt joins; the member lives until owner ends (the whole test when
// called from a subtest).
func joinAt(t, owner *testing.T, url, room, name string, speak bool) *member {
	t.Helper()
	m := &member{}
	opts := client.MemberOptions{
		OnRTP:          func(int, *rtp.Packet) { m.packets.Add(1) },
		MaxBackoff:     500 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("member", name)
	}
	if speak {
		opts.OnConnect = func(ctx context.Context, c *client.Client) error {
			return c.Publish(client.NewToneSource([]byte(name), 30))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cm, err := client.JoinMember(ctx, url, client.JoinRequest{Room: room, Name: name}, opts)
	if err != nil {
		t.Fatalf("%s joins %s at %s: %v", name, room, url, err)
	}
	m.Member = cm
	owner.Cleanup(func() { cm.Close() })
	return m
}

// adminRequest makes an admin API call on n.
func adminRequest(n *node, method, path, body string) (*http.Response, error) {
	token, err := os.ReadFile(filepath.Join(n.data, "token"))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, n.url()+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+string(token))
	return http.DefaultClient.Do(req)
}

// TestClusterOfProcesses runs three palabre processes as a cluster on
// loopback and walks through what issue 6 asks of it: membership,
// replication and placement, redirects, TURN credentials shared, edits
// converging, a wrong key refused, failover after kill -9, recovery from
// disk, and a drain.
func TestClusterOfProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several server processes")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "cluster.key")
	if code := run([]string{"cluster", "keygen", "--out", key}, nil, new(strings.Builder), new(strings.Builder)); code != 0 {
		t.Fatal("cluster keygen failed")
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	var tokenOut strings.Builder
	if code := run([]string{"admin", "token", "--data", dir}, nil, &tokenOut, new(strings.Builder)); code != 0 {
		t.Fatal("admin token failed")
	}
	hashes, err := os.ReadFile(filepath.Join(dir, signaling.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}

	n1 := newNode(t, "n1", key, 41000)
	n2 := newNode(t, "n2", key, 41100)
	n3 := newNode(t, "n3", key, 41200)
	n2.join = []string{n1.gossipAddr()}
	n3.join = []string{n1.gossipAddr()}
	all := []*node{n1, n2, n3}
	byID := map[string]*node{}
	for _, n := range all {
		n.giveAdminToken(t, hashes, strings.TrimSpace(tokenOut.String()))
		n.start()
		byID[n.id] = n
	}

	t.Run("three nodes form a cluster", func(t *testing.T) {
		for _, n := range all {
			within(t, 10*time.Second, "cluster nodes on "+n.id, func() error { return n.wantMembers("alive", "n1", "n2", "n3") })
		}
		out, err := n2.palabre("cluster", "nodes")
		if err != nil || !strings.Contains(out, "n2 *") || !strings.Contains(out, n3.url()) {
			t.Errorf("cluster nodes table: %v\n%s", err, out)
		}
	})

	t.Run("60 rooms created on one node are everywhere and spread", func(t *testing.T) {
		start := time.Now()
		for i := 0; i < 60; i++ {
			resp, err := adminRequest(n1, http.MethodPost, "/api/v1/rooms", fmt.Sprintf(`{"name":"class-%02d"}`, i))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("create class-%02d: %v %v", i, err, resp.Status)
			}
			resp.Body.Close()
		}
		spread := map[string]int{}
		within(t, 2*time.Second, "60 rooms on nodes 2 and 3", func() error {
			clear(spread)
			for _, n := range []*node{n2, n3} {
				for i := 0; i < 60; i++ {
					st, ok := n.roomStatus(fmt.Sprintf("class-%02d", i))
					if !ok {
						return fmt.Errorf("%s lacks class-%02d", n.id, i)
					}
					if n == n3 {
						spread[st.Node]++
					}
				}
			}
			return nil
		})
		t.Logf("60 rooms replicated within %v; placement %v", time.Since(start), spread)
		for _, n := range all {
			if spread[n.id] == 0 || spread[n.id] > 30 {
				t.Errorf("%s would host %d of the 60 rooms", n.id, spread[n.id])
			}
		}
	})

	resp, err := adminRequest(n1, http.MethodPost, "/api/v1/rooms", `{"name":"plenary"}`)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create plenary: %v", err)
	}
	resp.Body.Close()
	var home *node
	within(t, 2*time.Second, "plenary known on n3", func() error {
		st, ok := n3.roomStatus("plenary")
		if !ok {
			return fmt.Errorf("not yet")
		}
		home = byID[st.Node]
		return nil
	})
	var speaker, listener *member
	outer := t

	t.Run("a participant on the wrong node is redirected and hears", func(t *testing.T) {
		wrong := n1
		if home == n1 {
			wrong = n2
		}
		speaker = joinAt(t, outer, home.url(), "plenary", "Ana", true)
		listener = joinAt(t, outer, wrong.url(), "plenary", "Ben", false)
		if listener.URL() != home.url() {
			t.Fatalf("listener on %s, the room lives on %s", listener.URL(), home.url())
		}
		listener.hearsAgain(t, 10*time.Second, "the redirected listener hears the speaker")
	})
	if t.Failed() {
		return
	}

	t.Run("TURN credentials from one node work on every node", func(t *testing.T) {
		ice := listener.Client().Joined().ICEServers
		if len(ice) != 1 {
			t.Fatalf("ice servers %+v", ice)
		}
		for _, n := range all {
			if err := allocate(n.turn, ice[0].Username, ice[0].Credential); err != nil {
				t.Errorf("allocation on %s with %s's credentials: %v", n.id, home.id, err)
			}
		}
	})

	t.Run("palabre check tests the node it is pointed at", func(t *testing.T) {
		// Its throw-away room may hash to another node: the check is
		// admitted where it is pointed anyway, so every path tested is
		// this node's.
		var out strings.Builder
		if code := run([]string{"check", "--server", n2.url(), "--timeout", "5s"}, nil, &out, new(strings.Builder)); code != 0 {
			t.Errorf("check of n2 failed:\n%s", out.String())
		}
	})

	t.Run("concurrent edits on two nodes converge", func(t *testing.T) {
		var wg sync.WaitGroup
		for i, n := range []*node{n1, n2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 10; j++ {
					body := fmt.Sprintf(`{"max_participants":%d}`, 100*(i+1)+j)
					if resp, err := adminRequest(n, http.MethodPatch, "/api/v1/rooms/class-00", body); err == nil {
						resp.Body.Close()
					}
				}
			}()
		}
		wg.Wait()
		within(t, 3*time.Second, "the same value on every node", func() error {
			var values []int
			for _, n := range all {
				st, _ := n.roomStatus("class-00")
				values = append(values, st.Room.MaxParticipants)
			}
			if values[0] != values[1] || values[1] != values[2] || values[0] < 100 {
				return fmt.Errorf("max_participants per node: %v", values)
			}
			return nil
		})
	})

	t.Run("a node with the wrong key does not join", func(t *testing.T) {
		otherKey := filepath.Join(dir, "other.key")
		if code := run([]string{"cluster", "keygen", "--out", otherKey}, nil, new(strings.Builder), new(strings.Builder)); code != 0 {
			t.Fatal("keygen")
		}
		intruder := newNode(t, "intruder", otherKey, 41300)
		intruder.join = []string{n1.gossipAddr()}
		intruder.giveAdminToken(t, hashes, strings.TrimSpace(tokenOut.String()))
		intruder.start()
		// Its first attempt fails (and it says so); by then the others
		// would have heard of it.
		within(t, 10*time.Second, "the intruder logs that it could not join", func() error {
			if !strings.Contains(intruder.logs.String(), "could not join the cluster") {
				return errors.New("not yet")
			}
			return nil
		})
		if err := n1.wantMembers("alive", "n1", "n2", "n3"); err != nil {
			t.Error(err)
		}
		if err := intruder.wantMembers("alive", "intruder"); err != nil {
			t.Error(err)
		}
		intruder.kill()
	})

	var dead *node
	t.Run("kill -9 of the room's node: participants are back within 15 s", func(t *testing.T) {
		dead = home
		killed := time.Now()
		dead.kill()
		heard := listener.hearsAgain(t, 15*time.Second, "the listener hears the speaker again")
		t.Logf("failover: audio back %v after kill -9 of %s (listener now on %s, %d reconnects)",
			heard.Sub(killed).Round(10*time.Millisecond), dead.id, listener.URL(), listener.Reconnects())
		if listener.URL() == dead.url() || speaker.URL() != listener.URL() {
			t.Errorf("listener on %s, speaker on %s, dead node %s", listener.URL(), speaker.URL(), dead.url())
		}
		for _, n := range all {
			if n == dead {
				continue
			}
			for i := 0; i < 60; i++ {
				if _, ok := n.roomStatus(fmt.Sprintf("class-%02d", i)); !ok {
					t.Errorf("%s lost class-%02d", n.id, i)
				}
			}
		}
	})
	if dead == nil || t.Failed() {
		return
	}
	var survivors []*node
	for _, n := range all {
		if n != dead {
			survivors = append(survivors, n)
		}
	}

	t.Run("a restarted node recovers its rooms from disk and rejoins", func(t *testing.T) {
		// Alone first (no --cluster-join, and another gossip port, which
		// the survivors do not know: memberlist keeps gossiping to a dead
		// node's address for a while): what it has comes from its disk.
		join, gossip := dead.join, dead.gossip
		dead.join, dead.gossip = nil, freePort(t)
		dead.start()
		for i := 0; i < 60; i++ {
			if _, ok := dead.roomStatus(fmt.Sprintf("class-%02d", i)); !ok {
				t.Fatalf("%s lost class-%02d across the crash", dead.id, i)
			}
		}
		if err := dead.wantMembers("alive", dead.id); err != nil {
			t.Fatal(err)
		}
		if err := dead.terminate(); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		// A room created while it was away reaches it when it rejoins.
		resp, err := adminRequest(survivors[0], http.MethodPost, "/api/v1/rooms", `{"name":"while-away"}`)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create while-away: %v", err)
		}
		resp.Body.Close()
		dead.join, dead.gossip = append(join, survivors[0].gossipAddr()), gossip
		dead.start()
		ids := []string{"n1", "n2", "n3"}
		for _, n := range all {
			within(t, 10*time.Second, "cluster nodes on "+n.id, func() error { return n.wantMembers("alive", ids...) })
		}
		within(t, 2*time.Second, "while-away on the restarted node", func() error {
			if _, ok := dead.roomStatus("while-away"); !ok {
				return fmt.Errorf("missing")
			}
			return nil
		})
	})

	t.Run("drain moves the live room before the deadline", func(t *testing.T) {
		var host *node
		for _, n := range all {
			if listener.URL() == n.url() {
				host = n
			}
		}
		if host == nil {
			t.Fatalf("listener on %s, not a node", listener.URL())
		}
		start := time.Now()
		if out, err := host.palabre("drain"); err != nil || !strings.Contains(out, "draining") {
			t.Fatalf("palabre drain: %v %s", err, out)
		}
		heard := listener.hearsAgain(t, 20*time.Second, "the listener hears the speaker after the drain")
		if err := host.wait(25 * time.Second); err != nil {
			t.Fatalf("drained node: %v", err)
		}
		t.Logf("drain: audio back %v after palabre drain, process exited after %v",
			heard.Sub(start).Round(10*time.Millisecond), time.Since(start).Round(10*time.Millisecond))
		if listener.URL() == host.url() || speaker.URL() != listener.URL() {
			t.Errorf("listener on %s, speaker on %s after draining %s", listener.URL(), speaker.URL(), host.url())
		}
		if !strings.Contains(host.logs.String(), "drained: no room left") {
			t.Error("the drained node did not report an empty drain")
		}
	})
}

// allocate makes a TURN allocation on 127.0.0.1:port with the credentials.
func allocate(port int, username, password string) error {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	tc, err := pturn.NewClient(&pturn.ClientConfig{
		TURNServerAddr: "127.0.0.1:" + strconv.Itoa(port), Conn: conn, Username: username, Password: password,
		Realm: "palabre", LoggerFactory: pionlog.Factory(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := tc.Listen(); err != nil {
		return err
	}
	relay, err := tc.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}
