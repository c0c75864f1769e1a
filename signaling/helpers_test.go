package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"palabre/admission"
	"palabre/client"
	"palabre/cluster"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
	"palabre/turn"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// pion is chatty about connections closing; tests check outcomes.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	goleak.VerifyTestMain(m)
}

// cheapHash keeps argon2id fast in tests; production parameters are
// exercised by the rooms package's own tests.
var cheapHash = rooms.HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// testServer is a whole Palabre server on loopback: bbolt store in a temp
// dir, a real sfu engine on a UDP port, the signaling server over HTTP.
type testServer struct {
	t     *testing.T
	dir   string
	cfg   Config
	media sfu.Config
	// withTURN runs a bundled TURN server on loopback beside the engine.
	withTURN bool
	// storeOpts are the rooms store's options (the hash is always cheap).
	storeOpts rooms.Options
	turn      *turn.Server
	store     *rooms.Store
	engine    *sfu.Engine
	srv       *Server
	http      *httptest.Server
	URL       string
	// nodeID, if set, makes the server a cluster node of that id, joining
	// the gossip addresses that peers returns.
	nodeID string
	peers  func() []string
	node   *cluster.Node
}

type serverOption func(*testServer)

// withEngine sets the media engine's configuration.
func withEngine(c sfu.Config) serverOption { return func(ts *testServer) { ts.media = c } }

// withBundledTURN runs the TURN server beside the media engine.
func withBundledTURN() serverOption { return func(ts *testServer) { ts.withTURN = true } }

// withCluster makes the server a cluster node that joins peers' gossip
// addresses (none: it starts the cluster).
func withCluster(id string, peers ...*testServer) serverOption {
	return func(ts *testServer) {
		ts.nodeID = id
		ts.peers = func() []string {
			var addrs []string
			for _, p := range peers {
				addrs = append(addrs, p.node.GossipAddr())
			}
			return addrs
		}
	}
}

// withStore sets the rooms store's options.
func withStore(o rooms.Options) serverOption { return func(ts *testServer) { ts.storeOpts = o } }

// withConfig changes the signaling configuration.
func withConfig(fn func(*Config)) serverOption { return func(ts *testServer) { fn(&ts.cfg) } }

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	// Every test leaves no goroutine behind, checked when it ends (this
	// cleanup runs last), so a leak names its test. It waits up to 5 s:
	// pion's ICE task loop may outlive PeerConnection.Close for a moment.
	ign := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := goleak.Find(ign)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left behind for 5 s: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	ts := &testServer{t: t, dir: t.TempDir()}
	ts.cfg = Config{AdhocRooms: true}
	ts.media = sfu.Config{MediaAddr: "127.0.0.1:0"}
	for _, o := range opts {
		o(ts)
	}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	t := ts.t
	t.Helper()
	opts := ts.storeOpts
	opts.Hash = cheapHash
	store, err := rooms.Open(ts.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sfu.NewEngine(ts.media)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	cfg := ts.cfg
	cfg.Rooms, cfg.Engine = store, engine
	if ts.withTURN {
		ts.turn, err = turn.New(turn.Config{
			ListenIP: "127.0.0.1", RelayIP: "127.0.0.1", RelayPortMin: 40000, RelayPortMax: 49000,
			Secret:   []byte("test secret, 32 bytes long......"),
			OwnAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
			OwnPorts: []int{engine.MediaAddr().Port},
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.TURN = ts.turn
	}
	if cfg.Guard == nil {
		cfg.Guard = admission.NewGuard(admission.GuardConfig{JoinsPerSecond: 1000, JoinBurst: 1000})
	}
	// The listener comes first: a cluster node needs its public URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.URL = "http://" + ln.Addr().String()
	if ts.nodeID != "" {
		ts.node, err = cluster.New(cluster.Config{
			NodeID: ts.nodeID, PublicURL: ts.URL, BindAddr: "127.0.0.1:0", Insecure: true,
			Logger: slog.Default(),
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Cluster = ts.node
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.store, ts.engine, ts.srv = store, engine, srv
	ts.http = httptest.NewUnstartedServer(srv)
	ts.http.Listener.Close()
	ts.http.Listener = ln
	ts.http.Start()
	if ts.node != nil {
		ts.node.Join(ts.peers())
	}
}

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Close(ctx); err != nil {
		ts.t.Errorf("server close: %v", err)
	}
	if ts.node != nil {
		ts.node.Shutdown()
	}
	ts.http.Close()
	ts.engine.Close()
	if ts.turn != nil {
		ts.turn.Close()
	}
	ts.store.Close()
	ts.srv = nil
}

// restart stops the server and starts a new one on the same data
// directory (the HTTP address changes).
func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

func (ts *testServer) createRoom(req CreateRoomRequest) CreateRoomResponse {
	ts.t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(ts.URL+"/api/v1/rooms", "application/json", bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var ae APIError
		json.NewDecoder(resp.Body).Decode(&ae)
		ts.t.Fatalf("create room: %s %+v", resp.Status, ae.Error)
	}
	var out CreateRoomResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		ts.t.Fatal(err)
	}
	return out
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a client; it is closed when the test ends.
func (ts *testServer) dial() *client.Client {
	ts.t.Helper()
	c, err := client.Dial(testCtx(ts.t, 10*time.Second), ts.URL, client.Options{})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close() })
	return c
}

// join dials, joins and waits for the media connection.
func (ts *testServer) join(room, name, password string) *client.Client {
	ts.t.Helper()
	return ts.joinAs(client.JoinRequest{Room: room, Name: name, Password: password})
}

func (ts *testServer) joinAs(req client.JoinRequest) *client.Client {
	ts.t.Helper()
	c := ts.dial()
	ctx := testCtx(ts.t, 15*time.Second)
	if _, err := c.Join(ctx, req); err != nil {
		ts.t.Fatalf("%s joins %s: %v", req.Name, req.Room, err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		ts.t.Fatalf("%s media: %v", req.Name, err)
	}
	return c
}

// errCode returns the protocol error code of err, or "" if it has none.
func errCode(err error) string {
	var pe *proto.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// heard counts the packets c received carrying source's voice.
func heard(c *client.Client, source uint32) uint64 {
	var n uint64
	for _, s := range c.Stats() {
		n += s.BySource[source]
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitEvent(t *testing.T, c *client.Client, what string, match func(proto.Message) bool) proto.Message {
	t.Helper()
	m, err := c.WaitEvent(testCtx(t, 10*time.Second), match)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return m
}
