package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"palabre/signaling/proto"
)

// fakeServer is a real WebSocket endpoint at /ws speaking enough of the
// protocol for the client's tests. handle decides how each request is
// answered; the default answers hello, ping and join.
type fakeServer struct {
	t      *testing.T
	http   *httptest.Server
	URL    string
	handle func(s *session, m proto.Message)

	mu       sync.Mutex
	sessions []*session
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// session is one client connection on the fake server.
type session struct {
	fs   *fakeServer
	conn *websocket.Conn
	ctx  context.Context

	mu       sync.Mutex
	received []proto.Message
	cleanups []func()
}

func startFake(t *testing.T, handle func(s *session, m proto.Message)) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, handle: handle}
	fs.ctx, fs.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", fs.serveWS)
	fs.http = httptest.NewServer(mux)
	fs.URL = fs.http.URL
	t.Cleanup(fs.close)
	return fs
}

func (fs *fakeServer) close() {
	fs.cancel()
	fs.mu.Lock()
	sessions := fs.sessions
	fs.mu.Unlock()
	for _, s := range sessions {
		s.conn.CloseNow()
		s.mu.Lock()
		cleanups := s.cleanups
		s.mu.Unlock()
		for _, f := range cleanups {
			f()
		}
	}
	fs.http.Close()
	fs.wg.Wait()
}

// goSession runs f on a goroutine that the server's close waits for.
func (fs *fakeServer) goSession(f func()) {
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		f()
	}()
}

func (fs *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	fs.wg.Add(1)
	defer fs.wg.Done()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		fs.t.Errorf("accept: %v", err)
		return
	}
	s := &session{fs: fs, conn: conn, ctx: fs.ctx}
	fs.mu.Lock()
	fs.sessions = append(fs.sessions, s)
	fs.mu.Unlock()
	defer conn.CloseNow()
	for {
		_, data, err := conn.Read(fs.ctx)
		if err != nil {
			return
		}
		m, err := proto.DecodeRequest(data)
		if err != nil {
			s.send(proto.ErrorReply(m.ID, proto.CodeBadMessage, err.Error()))
			continue
		}
		s.mu.Lock()
		s.received = append(s.received, m)
		s.mu.Unlock()
		if fs.handle != nil {
			fs.handle(s, m)
		} else {
			s.standard(m)
		}
	}
}

// standard answers hello, ping and join like the real server; anything
// else is acknowledged.
func (s *session) standard(m proto.Message) {
	switch m.Type {
	case proto.TypeHello:
		if m.Version != proto.Version {
			s.send(proto.ErrorReply(m.ID, proto.CodeUnsupportedVersion, "this server speaks version 1"))
			s.conn.Close(websocket.StatusPolicyViolation, "unsupported version")
			return
		}
		s.send(proto.Message{Type: proto.TypeWelcome, ID: m.ID, Version: proto.Version, Software: "fake/1"})
	case proto.TypePing:
		s.send(proto.Message{Type: proto.TypePong, ID: m.ID})
	case proto.TypeJoin:
		s.send(joinedReply(m))
	default:
		if m.ID != 0 {
			s.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
		}
	}
}

func joinedReply(m proto.Message) proto.Message {
	self := proto.Participant{ID: "p-self", Name: m.Name, Organizer: m.Secret != "", Source: 7}
	return proto.Message{
		Type: proto.TypeJoined, ID: m.ID, Self: &self,
		RoomInfo:     &proto.RoomInfo{Name: m.Room, Mode: proto.ModePTT, MaxSpeakers: 1, Slots: 3},
		Participants: []proto.Participant{self},
	}
}

func (s *session) send(m proto.Message) {
	data, err := json.Marshal(m)
	if err != nil {
		s.fs.t.Errorf("marshal: %v", err)
		return
	}
	s.sendRaw(data)
}

func (s *session) sendRaw(data []byte) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	_ = s.conn.Write(ctx, websocket.MessageText, data)
}

func (s *session) onClose(f func()) {
	s.mu.Lock()
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}

func (s *session) got() []proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]proto.Message(nil), s.received...)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func dialFake(t *testing.T, fs *fakeServer, opts Options) *Client {
	t.Helper()
	c, err := Dial(testCtx(t, 5*time.Second), fs.URL, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
