// Package testserver runs whole Palabre servers on loopback for tests,
// started by server.Start as palabre serve starts them: the same parts,
// wired the same way, with test settings (Options): ports picked by the
// system, data in a temporary directory, cheap password hashing, generous
// join limits. StartCluster runs several as the nodes of one cluster.
package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"palabre/cluster"
	"palabre/rooms"
	"palabre/server"
	"palabre/sfu"
	"palabre/signaling"
	"palabre/turn"
)

// CheapHash keeps argon2id fast in tests; the production parameters are
// exercised by the rooms package's own tests.
var CheapHash = rooms.HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Options are the settings test servers start from: server.Defaults on
// 127.0.0.1 with every port picked by the system (no ICE-TCP), data in a
// temporary directory, TURN relays in 40000-49000 (an allocation retries
// another port when one is taken, so servers side by side share the
// range), cheap password hashing and joins limited to 1000/s.
func Options(t testing.TB) server.Options {
	o := server.Defaults()
	o.Listen = "127.0.0.1:0"
	o.DataDir = t.TempDir()
	o.MediaPort, o.MediaTCPPort = 0, 0
	o.TURN.Port = 0
	o.TURN.RelayPortMin, o.TURN.RelayPortMax = 40000, 49000
	o.TURN.Secret = "test secret, at least 16 bytes"
	o.Admission.JoinsPerSecond, o.Admission.JoinBurst = 1000, 1000
	o.PasswordHash = CheapHash
	return o
}

// Server is a running test server.
type Server struct {
	URL    string
	Client *http.Client // trusts the server's certificate under StartTLS
	// Node is the server; the fields below are its parts.
	Node      *server.Node
	Engine    *sfu.Engine
	TURN      *turn.Server // nil when Options turned TURN off
	Signaling *signaling.Server
	Rooms     *rooms.Store
	// NodeID and Cluster are set on cluster nodes (StartCluster, or
	// Options with Cluster.Bind): the node's id ("n1"…) and membership.
	NodeID  string
	Cluster *cluster.Node

	opts server.Options // as given, for Restart
	ln   *trackingListener

	mu      sync.Mutex
	stopped bool
}

// Edit changes the options of a test server.
type Edit func(*server.Options)

// Start runs a server until the test ends.
func Start(t testing.TB, edits ...Edit) *Server {
	t.Helper()
	o := Options(t)
	for _, e := range edits {
		e(&o)
	}
	s := &Server{opts: o, Client: &http.Client{}}
	s.start(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("testserver: close: %v", err)
		}
	})
	return s
}

// StartTLS is Start over HTTPS, with a self-signed certificate for
// 127.0.0.1 given as certificate files; Client trusts it.
func StartTLS(t testing.TB, edits ...Edit) *Server {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t)
	tlsEdit := func(o *server.Options) { o.TLS.CertFile, o.TLS.KeyFile = certFile, keyFile }
	s := Start(t, append([]Edit{tlsEdit}, edits...)...)
	s.Client = trusting(pool)
	return s
}

// StartCluster runs n servers set up as Start does, each a node of one
// cluster (ids "n1"…"nN", gossip in clear on loopback; n2… join n1), and
// waits until every node sees n alive members.
func StartCluster(t testing.TB, n int, edits ...Edit) []*Server {
	t.Helper()
	if n < 1 {
		t.Fatalf("testserver: cluster of %d nodes", n)
	}
	node := func(id string, join ...string) Edit {
		return func(o *server.Options) {
			o.Cluster.Bind, o.Cluster.Insecure, o.Cluster.NodeID, o.Cluster.Join = "127.0.0.1:0", true, id, join
		}
	}
	first := Start(t, append([]Edit{node("n1")}, edits...)...)
	nodes := []*Server{first}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, Start(t, append([]Edit{node(fmt.Sprintf("n%d", i), first.Cluster.GossipAddr())}, edits...)...))
	}
	deadline := time.Now().Add(15 * time.Second)
	for !allSee(nodes, n) {
		if time.Now().After(deadline) {
			for _, s := range nodes {
				t.Logf("%s sees %+v", s.NodeID, s.Cluster.Members())
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
		for _, m := range s.Cluster.Members() {
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

// start starts the server on a fresh listener.
func (s *Server) start(t testing.TB) {
	t.Helper()
	raw, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		t.Fatal(err)
	}
	// Every connection is tracked, hijacked ones (WebSockets) included:
	// Crash closes them all.
	s.ln = &trackingListener{Listener: raw, conns: map[*trackedConn]struct{}{}}
	o := s.opts
	o.Listener = s.ln
	n, err := server.Start(o)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	s.URL, s.Node = n.URL(), n
	s.Engine, s.TURN, s.Signaling, s.Cluster, s.Rooms = n.Engine(), n.TURN(), n.Signaling(), n.Cluster(), n.Rooms()
	s.NodeID = ""
	if s.Cluster != nil {
		s.NodeID = s.Cluster.ID()
	}
	s.mu.Lock()
	s.stopped = false
	s.mu.Unlock()
}

// Restart closes the server and starts it again on the same data
// directory, with the same options; its URL changes.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("testserver: close: %v", err)
	}
	s.start(t)
}

// Close shuts the server down as palabre serve does after a signal
// (without the drain). Close after Close or Crash does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	return s.Node.Close()
}

// Crash stops the server abruptly, as if its process died: every client
// connection (WebSockets included) and the listener are closed without a
// word, and the cluster node stops gossiping without leaving (the others
// find out by failure detection, and hear nothing of the rooms emptying);
// then the rest closes. Crash twice is harmless.
func (s *Server) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.ln.closeAll()
	if s.Cluster != nil {
		_ = s.Cluster.Shutdown()
	}
	_ = s.Node.Close()
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
	if resp.StatusCode != http.StatusCreated {
		var ae signaling.APIError
		_ = json.NewDecoder(resp.Body).Decode(&ae)
		t.Fatalf("create room: %s %+v", resp.Status, ae.Error)
	}
	var out signaling.CreateRoomResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
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
