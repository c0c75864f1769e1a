package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"palabre/signaling/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestHandshakeAndRequests(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		switch {
		case m.Type == proto.TypePing:
			// Reply out of order to exercise the id correlation.
			s.fs.goSession(func() {
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				s.send(proto.Message{Type: proto.TypePong, ID: m.ID})
			})
		case m.Type == proto.TypeMute && m.Target == "ghost":
			s.send(proto.ErrorReply(m.ID, proto.CodeNotFound, "no such participant"))
		default:
			s.standard(m)
		}
	})
	c := dialFake(t, fs, Options{Software: "palabre-go/test"})
	if w := c.Welcome(); w.Software != "fake/1" || w.Version != proto.Version {
		t.Errorf("welcome: %+v", w)
	}
	ctx := testCtx(t, 10*time.Second)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := c.Request(ctx, proto.Message{Type: proto.TypePing})
			if err == nil && reply.Type != proto.TypePong {
				err = fmt.Errorf("reply %q", reply.Type)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	err := c.Mute(ctx, "ghost")
	var pe *proto.Error
	if !errors.As(err, &pe) || pe.Code != proto.CodeNotFound {
		t.Fatalf("mute ghost: %v, want a *proto.Error not_found", err)
	}

	joined, err := c.Join(ctx, JoinRequest{Room: "lobby", Name: "Aïcha"})
	if err != nil {
		t.Fatal(err)
	}
	if joined.RoomInfo.Slots != 3 || c.Self().Name != "Aïcha" || c.Self().Source != 7 {
		t.Errorf("joined %+v, self %+v", joined, c.Self())
	}
	if n := len(c.Stats()); n != 3 {
		t.Errorf("%d slot stats, want 3", n)
	}
	for _, f := range []func() error{
		func() error { return c.PTTOn(ctx) }, func() error { return c.PTTOff(ctx) },
		func() error { return c.Lock(ctx) }, func() error { return c.SetMode(ctx, proto.ModeOpen) },
		func() error { return c.Grant(ctx, "p-x") }, func() error { return c.RaiseHand(ctx) },
	} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}

	// The server saw the hello first, with our software, and every request
	// with a distinct non-zero id.
	got := fs.sessions[0].got()
	if got[0].Type != proto.TypeHello || got[0].Software != "palabre-go/test" || got[0].Version != proto.Version {
		t.Errorf("first message %+v", got[0])
	}
	ids := map[uint32]bool{}
	for _, m := range got {
		if m.ID == 0 || ids[m.ID] {
			t.Errorf("request %s with id %d", m.Type, m.ID)
		}
		ids[m.ID] = true
	}
}

func TestUnsupportedVersion(t *testing.T) {
	fs := startFake(t, nil)
	c, err := Dial(testCtx(t, 5*time.Second), fs.URL, Options{ProtocolVersion: 99})
	if err == nil {
		c.Close()
		t.Fatal("dial succeeded")
	}
	var pe *proto.Error
	if !errors.As(err, &pe) || pe.Code != proto.CodeUnsupportedVersion {
		t.Fatalf("got %v, want unsupported_version", err)
	}
}

func TestRequestContextEnds(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		if m.Type != proto.TypeLock { // lock gets no reply
			s.standard(m)
		}
	})
	c := dialFake(t, fs, Options{})
	err := c.Lock(testCtx(t, 100*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests still pending", n)
	}
	if err := c.Ping(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestServerCloses(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		switch m.Type {
		case proto.TypeRaiseHand: // flood
			s.send(proto.Message{Type: proto.TypeError, Code: proto.CodeFlood, Message: "too many messages"})
			s.conn.Close(websocket.StatusPolicyViolation, "flood")
		case proto.TypeLowerHand: // kick
			s.send(proto.Message{Type: proto.TypeKicked, By: "p-org", Message: "out"})
			s.conn.Close(websocket.StatusNormalClosure, "kicked")
		case proto.TypeLeave:
			s.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
			s.conn.Close(websocket.StatusNormalClosure, "bye")
		default:
			s.standard(m)
		}
	})

	t.Run("flood", func(t *testing.T) {
		c := dialFake(t, fs, Options{})
		if err := c.Send(proto.Message{Type: proto.TypeRaiseHand}); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		err := c.Err()
		if !strings.Contains(err.Error(), "flood") {
			t.Errorf("Err() = %v, want a flood reason", err)
		}
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.Status != websocket.StatusPolicyViolation || ce.Reason != "flood" {
			t.Errorf("Err() = %#v, want a ClosedError with status 1008", err)
		}
		var pe *proto.Error
		if !errors.As(err, &pe) || pe.Code != proto.CodeFlood {
			t.Errorf("Err() does not unwrap to the flood error: %v", err)
		}
		if err := c.Ping(testCtx(t, time.Second)); err == nil {
			t.Error("request succeeded after close")
		}
		if err := c.Send(proto.Message{Type: proto.TypePing}); err == nil {
			t.Error("send succeeded after close")
		}
	})

	t.Run("kicked", func(t *testing.T) {
		c := dialFake(t, fs, Options{})
		if err := c.Send(proto.Message{Type: proto.TypeLowerHand}); err != nil {
			t.Fatal(err)
		}
		// The kicked event is delivered even though the socket closed
		// right after it.
		m, err := c.WaitEvent(testCtx(t, 5*time.Second), func(m proto.Message) bool { return m.Type == proto.TypeKicked })
		if err != nil || m.By != "p-org" {
			t.Fatalf("kicked event: %+v %v", m, err)
		}
		waitDone(t, c)
		if !strings.Contains(c.Err().Error(), "kicked") {
			t.Errorf("Err() = %v", c.Err())
		}
		if _, err := c.WaitEvent(testCtx(t, time.Second), func(proto.Message) bool { return true }); err == nil {
			t.Error("WaitEvent after the end returned an event")
		}
		if _, ok := <-c.Events(); ok {
			t.Error("Events() not closed after the end")
		}
	})

	t.Run("leave", func(t *testing.T) {
		c := dialFake(t, fs, Options{})
		if err := c.Leave(testCtx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		if ce := (*ClosedError)(nil); !errors.As(c.Err(), &ce) || ce.Status != websocket.StatusNormalClosure {
			t.Errorf("Err() = %v", c.Err())
		}
	})

	t.Run("local close", func(t *testing.T) {
		c := dialFake(t, fs, Options{})
		if c.Err() != nil {
			t.Fatalf("Err() = %v on an open client", c.Err())
		}
		c.Close()
		waitDone(t, c)
		if !errors.Is(c.Err(), ErrClosed) {
			t.Errorf("Err() = %v, want ErrClosed", c.Err())
		}
		if err := c.Publish(NewToneSource(nil, 0)); !errors.Is(err, ErrClosed) {
			t.Errorf("publish after close: %v", err)
		}
		c.Close() // twice is fine
	})
}

func waitDone(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open")
	}
}

func TestBrokenServerMessagesSkipped(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		if m.Type == proto.TypePing {
			s.sendRaw([]byte(`{"type":`))
			s.sendRaw([]byte(`[1,2]`))
			s.send(proto.Message{Type: proto.TypeFloor, Floor: []string{"p-self"}})
		}
		s.standard(m)
	})
	c := dialFake(t, fs, Options{})
	ctx := testCtx(t, 5*time.Second)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := c.WaitEvent(ctx, func(m proto.Message) bool { return m.Type == proto.TypeFloor })
	if err != nil || len(m.Floor) != 1 {
		t.Fatalf("floor event: %+v %v", m, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("session dead after a broken message: %v", err)
	}
}

func TestEventsDropOldest(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		if m.Type == proto.TypePing {
			for i := range 10 {
				s.send(proto.Message{Type: proto.TypePresence, Presence: &proto.Presence{Count: i + 1, Joined: []proto.Participant{{ID: fmt.Sprint(i)}}}})
			}
		}
		s.standard(m)
	})
	c := dialFake(t, fs, Options{EventBuffer: 4})
	// The pong comes after the ten events: all were read when Ping returns.
	if err := c.Ping(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := c.DroppedEvents(); n != 6 {
		t.Errorf("%d events dropped, want 6", n)
	}
	for want := 6; want < 10; want++ {
		m := <-c.Events()
		if m.Presence.Joined[0].ID != fmt.Sprint(want) {
			t.Fatalf("event %+v, want participant %d", m.Presence, want)
		}
	}
}

func TestSelfFollowsEvents(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		s.standard(m)
		if m.Type == proto.TypeJoin {
			self := proto.Participant{ID: "p-self", Name: m.Name, Muted: true, Source: 7}
			s.send(proto.Message{Type: proto.TypeMuted, Participant: &self, By: "p-org"})
			s.send(proto.Message{Type: proto.TypeFloor, Floor: []string{"p-other", "p-self"}})
		}
	})
	c := dialFake(t, fs, Options{})
	ctx := testCtx(t, 5*time.Second)
	if _, err := c.Join(ctx, JoinRequest{Room: "r", Name: "me"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitEvent(ctx, func(m proto.Message) bool { return m.Type == proto.TypeFloor }); err != nil {
		t.Fatal(err)
	}
	if s := c.Self(); !s.Muted || !s.Floor || s.Name != "me" {
		t.Errorf("self %+v, want muted with the floor", s)
	}
}

func TestWebSocketURL(t *testing.T) {
	cases := []struct {
		in, out  string
		loopback bool
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws", true},
		{"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws", true},
		{"https://talk.example.org", "wss://talk.example.org/ws", false},
		{"https://example.org/palabre/", "wss://example.org/palabre/ws", false},
		{"ws://localhost:8080/ws", "ws://localhost:8080/ws", true},
		{"ws://[::1]:8080", "ws://[::1]:8080/ws", true},
		{"wss://10.0.0.1/ws?x=1", "wss://10.0.0.1/ws?x=1", false},
		{"http://127.9.8.7:1/ws", "ws://127.9.8.7:1/ws", true},
	}
	for _, tc := range cases {
		out, loop, err := websocketURL(tc.in)
		if err != nil || out != tc.out || loop != tc.loopback {
			t.Errorf("websocketURL(%q) = %q %v %v, want %q %v", tc.in, out, loop, err, tc.out, tc.loopback)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "::"} {
		if _, _, err := websocketURL(bad); err == nil {
			t.Errorf("websocketURL(%q) accepted", bad)
		}
	}
}

func TestLoopbackICEServers(t *testing.T) {
	for u, want := range map[string]bool{
		"turn:127.0.0.1:3478?transport=udp": true,
		"turns:localhost:5349":              true,
		"turn:[::1]:3478":                   true,
		"turn:127.0.0.1":                    true,
		"stun:127.0.0.1:3478":               false,
		"turn:turn.example.org:3478":        false,
		"turn:192.168.1.2:3478":             false,
	} {
		if got := isLoopbackTURN(u); got != want {
			t.Errorf("isLoopbackTURN(%q) = %v", u, got)
		}
	}
	c := &Client{loopback: true, opts: Options{ICEServers: []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turn:127.0.0.1:3478", "turn:198.51.100.1:3478"}, Username: "u", Credential: "p"},
	}}, log: discardLogger()}
	if s := c.iceServers(); len(s) != 0 {
		t.Errorf("loopback mode uses ICE servers %v", s)
	}
	c.opts.RelayOnly = true
	s := c.iceServers()
	if len(s) != 1 || len(s[0].URLs) != 1 || s[0].URLs[0] != "turn:127.0.0.1:3478" || s[0].Username != "u" {
		t.Errorf("loopback relay-only ICE servers %v", s)
	}
	c.loopback, c.opts.RelayOnly = false, false
	if s := c.iceServers(); len(s) != 2 {
		t.Errorf("ICE servers %v, want both", s)
	}
}
