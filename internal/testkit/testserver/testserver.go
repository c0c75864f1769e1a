// Package testserver runs a whole Palabre server on loopback for tests in
// other packages (the load tester, the browser tests): bbolt store in a
// temporary directory, media engine, bundled TURN, signaling over httptest.
// StartCluster runs several of them as the nodes of one cluster. The
// signaling package's own tests keep their helper, which this package
// cannot serve without an import cycle.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"palabre/admission"
	"palabre/client/web"
	"palabre/cluster"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling"
	"palabre/turn"
)

// Server is a running test server.
type Server struct {
	URL    string
	Client *http.Client // trusts the server's certificate under StartTLS
	Engine *sfu.Engine
	TURN   *turn.Server
	// Signaling is the signaling server (Drain, LiveRooms…).
	Signaling *signaling.Server

	// NodeID and Node are set on the nodes of StartCluster: the node's
	// cluster id ("n1"…) and its membership.
	NodeID string
	Node   *cluster.Node

	stopOnce sync.Once
	stop     func(crash bool)
}

// Start runs a server until the test ends: ad-hoc rooms on, generous join
// limits, the browser app, and the bundled TURN server on 127.0.0.1.
func Start(t testing.TB) *Server { return start(t, false, "", nil) }

// StartTLS is Start over HTTPS, with httptest's self-signed certificate.
func StartTLS(t testing.TB) *Server { return start(t, true, "", nil) }

// StartCluster runs n servers set up as Start does, each a node of one
// cluster (ids "n1"…"nN", gossip in clear on loopback; n2… join n1), and
// waits until every node sees n alive members. Each has its own store,
// engine, TURN server and HTTP address.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	if n < 1 {
		t.Fatalf("testserver: cluster of %d nodes", n)
	}
	first := start(t, false, "n1", nil)
	nodes := []*Server{first}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, start(t, false, fmt.Sprintf("n%d", i), []string{first.Node.GossipAddr()}))
	}
	deadline := time.Now().Add(15 * time.Second)
	for !allSee(nodes, n) {
		if time.Now().After(deadline) {
			for _, s := range nodes {
				t.Logf("%s sees %+v", s.NodeID, s.Node.Members())
			}
			t.Fatalf("testserver: the %d nodes did not all see each other alive within 15 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nodes
}

// allSee reports whether every node sees n alive members.
func allSee(nodes []*Server, n int) bool {
	for _, s := range nodes {
		alive := 0
		for _, m := range s.Node.Members() {
			if m.State == "alive" {
				alive++
			}
		}
		if alive != n {
			return false
		}
	}
	return true
}

// ByID returns the node of nodes whose cluster id is id, or nil.
func ByID(nodes []*Server, id string) *Server {
	for _, s := range nodes {
		if s.NodeID == id {
			return s
		}
	}
	return nil
}

// Crash stops the server abruptly, as if its process died: every client
// connection (WebSockets included) and the listener are closed without a
// word, the cluster node stops gossiping without leaving (the others find
// out by failure detection), the media engine and TURN server close. The
// cleanup at the end of the test then has nothing left to do; Crash twice
// is harmless.
func (s *Server) Crash() { s.stopOnce.Do(func() { s.stop(true) }) }

func (s *Server) close() { s.stopOnce.Do(func() { s.stop(false) }) }

// start runs a server; with a nodeID it is a cluster node joining the
// gossip addresses peers.
func start(t testing.TB, useTLS bool, nodeID string, peers []string) *Server {
	t.Helper()
	store, err := rooms.Open(t.TempDir(), rooms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sfu.NewEngine(sfu.Config{MediaAddr: "127.0.0.1:0"})
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	// Port 0 (the default): every TURN server gets a free port of its own,
	// so that several run side by side. Relays share the port range, and
	// an allocation retries another port when one is taken.
	relay, err := turn.New(turn.Config{
		ListenIP: "127.0.0.1", RelayIP: "127.0.0.1", RelayPortMin: 40000, RelayPortMax: 49000,
		Secret:   []byte("test secret, at least 16 bytes"),
		OwnAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		OwnPorts: []int{engine.MediaAddr().Port},
	})
	if err != nil {
		engine.Close()
		store.Close()
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	// Every connection is tracked, hijacked ones (WebSockets) included,
	// which httptest forgets: Crash closes them all.
	ln := &trackingListener{Listener: hs.Listener, conns: map[*trackedConn]struct{}{}}
	hs.Listener = ln
	var node *cluster.Node
	if nodeID != "" {
		// The listener comes first: a cluster node needs its public URL.
		node, err = cluster.New(cluster.Config{
			NodeID: nodeID, PublicURL: "http://" + ln.Addr().String(), BindAddr: "127.0.0.1:0", Insecure: true,
			Logger: slog.Default(),
		})
		if err != nil {
			relay.Close()
			engine.Close()
			store.Close()
			t.Fatal(err)
		}
	}
	cfg := signaling.Config{
		Rooms: store, Engine: engine, AdhocRooms: true, Web: web.Files(), TURN: relay,
		Guard: admission.NewGuard(admission.GuardConfig{JoinsPerSecond: 1000, JoinBurst: 1000}),
	}
	if node != nil {
		cfg.Cluster = node
	}
	srv, err := signaling.NewServer(cfg)
	if err != nil {
		if node != nil {
			node.Shutdown()
		}
		relay.Close()
		engine.Close()
		store.Close()
		t.Fatal(err)
	}
	hs.Config.Handler = srv
	if useTLS {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	if node != nil {
		node.Join(peers)
	}
	s := &Server{
		URL: hs.URL, Client: hs.Client(), Engine: engine, TURN: relay, Signaling: srv,
		NodeID: nodeID, Node: node,
	}
	s.stop = func(crash bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if crash {
			// Nothing is said to anyone: connections and listener go
			// first, then gossip (without leaving), media and TURN.
			ln.closeAll()
			hs.Close()
			if node != nil {
				node.Shutdown()
			}
			engine.Close()
			relay.Close()
			// The signaling server's own goroutines, which only see
			// closed connections by now.
			srv.Close(ctx)
			store.Close()
			return
		}
		srv.Close(ctx)
		if node != nil {
			node.Shutdown()
		}
		hs.Close()
		engine.Close()
		relay.Close()
		store.Close()
	}
	t.Cleanup(s.close)
	return s
}

// trackingListener remembers the connections it accepted until they close.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// closeAll closes the listener and every open connection.
func (l *trackingListener) closeAll() {
	l.Listener.Close()
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// CreateRoom creates a room over the HTTP API.
func (s *Server) CreateRoom(t testing.TB, req signaling.CreateRoomRequest) signaling.CreateRoomResponse {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := s.Client.Post(s.URL+"/api/v1/rooms", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out signaling.CreateRoomResponse
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("create room: %s", resp.Status)
	}
	return out
}

// RoomStatus is GET /api/v1/rooms/{name}; ok is false when the room is
// unknown there (or the request failed).
func (s *Server) RoomStatus(name string) (st signaling.RoomStatus, ok bool) {
	resp, err := s.Client.Get(s.URL + "/api/v1/rooms/" + name)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}
