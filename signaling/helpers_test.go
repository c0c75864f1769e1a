package signaling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// pion is chatty about connections closing; tests check outcomes.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	goleak.VerifyTestMain(m)
}

// testServer is a whole Palabre server on loopback, started by
// server.Start as palabre serve starts it (see testserver): bbolt store in
// a temporary directory, media engine, signaling, and what the options
// add (TURN, ICE-TCP, a cluster node).
type testServer struct {
	*testserver.Server
	t *testing.T
}

// A serverOption changes the server's options.
type serverOption = testserver.Edit

// withOptions changes the server's options.
func withOptions(fn func(*server.Options)) serverOption { return fn }

// withBundledTURN runs the TURN server beside the media engine (the
// signaling tests run without it otherwise).
func withBundledTURN() serverOption { return func(o *server.Options) { o.TURN.Enabled = true } }

// withCluster makes the server a cluster node of that id that joins
// peers' gossip addresses (none: it starts the cluster).
func withCluster(id string, peers ...*testServer) serverOption {
	return func(o *server.Options) {
		o.Cluster.Bind, o.Cluster.Insecure, o.Cluster.NodeID = "127.0.0.1:0", true, id
		o.Cluster.Join = nil
		for _, p := range peers {
			o.Cluster.Join = append(o.Cluster.Join, p.Cluster.GossipAddr())
		}
	}
}

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	// Every test leaves no goroutine behind, checked when it ends (this
	// cleanup runs last), so a leak names its test. It waits up to 5 s:
	// pion's ICE task loop may outlive PeerConnection.Close for a moment.
	// The test's own idle HTTP connections are closed first: in a
	// cluster test, the later servers' checks run while the first ones
	// still serve those connections.
	ign := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		testkit.EventuallyNil(t, 5*time.Second, func() error { return goleak.Find(ign) })
	})
	noTURN := func(o *server.Options) { o.TURN.Enabled = false }
	return &testServer{Server: testserver.Start(t, append([]serverOption{noTURN}, opts...)...), t: t}
}

// restart stops the server and starts a new one on the same data
// directory (the HTTP address changes).
func (ts *testServer) restart() { ts.Restart(ts.t) }

func (ts *testServer) createRoom(req signaling.CreateRoomRequest) signaling.CreateRoomResponse {
	ts.t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(ts.URL+"/api/v1/rooms", "application/json", bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var ae signaling.APIError
		json.NewDecoder(resp.Body).Decode(&ae)
		ts.t.Fatalf("create room: %s %+v", resp.Status, ae.Error)
	}
	var out signaling.CreateRoomResponse
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

func waitEvent(t *testing.T, c *client.Client, what string, match func(proto.Message) bool) proto.Message {
	t.Helper()
	m, err := c.WaitEvent(testCtx(t, 10*time.Second), match)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return m
}
