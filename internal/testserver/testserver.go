// Package testserver runs a whole Palabre server on loopback for tests in
// other packages (the load tester, the browser tests): bbolt store in a
// temporary directory, media engine, bundled TURN, signaling over httptest.
// The signaling package's own tests keep their helper, which this package
// cannot serve without an import cycle.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"palabre/client/web"
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
}

// Start runs a server until the test ends: ad-hoc rooms on, generous join
// limits, the browser app, and the bundled TURN server on 127.0.0.1.
func Start(t testing.TB) *Server { return start(t, false) }

// StartTLS is Start over HTTPS, with httptest's self-signed certificate.
func StartTLS(t testing.TB) *Server { return start(t, true) }

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	store, err := rooms.Open(t.TempDir(), rooms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sfu.NewEngine(sfu.Config{MediaAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	relay, err := turn.New(turn.Config{
		ListenIP: "127.0.0.1", RelayIP: "127.0.0.1", RelayPortMin: 40000, RelayPortMax: 49000,
		Secret:   []byte("test secret, at least 16 bytes"),
		OwnAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		OwnPorts: []int{engine.MediaAddr().Port},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := signaling.NewServer(signaling.Config{
		Rooms: store, Engine: engine, AdhocRooms: true, Web: web.Files(), TURN: relay,
		Guard: rooms.NewGuard(rooms.GuardConfig{JoinsPerSecond: 1000, JoinBurst: 1000}),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	if useTLS {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
		hs.Close()
		engine.Close()
		relay.Close()
		store.Close()
	})
	return &Server{URL: hs.URL, Client: hs.Client(), Engine: engine, TURN: relay}
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
