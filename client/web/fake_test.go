package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"palabre/signaling/proto"
)

// fakeServer serves the app as the real server does (same paths, same
// Content-Security-Policy) and speaks just enough of the signaling
// protocol for the screenshots (screens_test.go): each room's script
// answers the join, and the test pushes events. No media: the server
// never offers, so the page stays "connecting audio".
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	rooms  map[string]*fakeRoom
	conns  map[string]*fakeConn // the latest connection per room
	closed map[string]bool      // rooms whose WebSocket is refused (a server gone)
}

// fakeRoom is a room as the fake knows it: what GET /api/v1/rooms says,
// and how a join is answered.
type fakeRoom struct {
	info  proto.RoomInfo
	exist bool // GET answers 200 (else 404: ad-hoc)
	// join answers a join: the reply (its id set by the fake) and events.
	join func(join proto.Message) []proto.Message
	// refuse: request types refused, with their error code.
	refuse map[string]string
}

type fakeConn struct {
	c   *websocket.Conn
	ctx context.Context
	mu  sync.Mutex
}

func (c *fakeConn) send(m proto.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(m)
	_ = c.c.Write(c.ctx, websocket.MessageText, b)
}

// csp is signaling's policy (signaling/web.go), with the page's own origin.
const csp = "default-src 'self'; connect-src 'self'; media-src 'self' blob:; " +
	"img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, rooms: map[string]*fakeRoom{}, conns: map[string]*fakeConn{}, closed: map[string]bool{}}
	mux := http.NewServeMux()
	files := Files()
	headers := func(w http.ResponseWriter) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
	}
	index := func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		http.ServeFileFS(w, r, files, "index.html")
	}
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /r/{room}", index)
	assets := http.StripPrefix("/app/", http.FileServerFS(files))
	mux.Handle("GET /app/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		assets.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /api/v1/rooms/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		room := f.rooms[r.PathValue("name")]
		f.mu.Unlock()
		if room == nil || !room.exist {
			http.Error(w, `{"error":{"code":"not_found","message":"no such room"}}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"room": room.info, "participants": 3})
	})
	mux.HandleFunc("POST /api/v1/rooms", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Name, Mode, Password string }
		json.NewDecoder(r.Body).Decode(&req)
		info := proto.RoomInfo{Name: req.Name, Mode: req.Mode, HasPassword: req.Password != "", MaxSpeakers: 1, Slots: 3, Chat: true}
		base := "http://" + r.Host
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"room": info, "link": base + "/r/" + req.Name,
			"organizer_link":   base + "/r/" + req.Name + "#org=Vb1m0Q2b7d4Kx8YwZr3uJg",
			"organizer_secret": "Vb1m0Q2b7d4Kx8YwZr3uJg",
		})
	})
	mux.HandleFunc("GET /ws", f.ws)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) addRoom(name string, room *fakeRoom) {
	f.mu.Lock()
	defer f.mu.Unlock()
	room.info.Name = name
	f.rooms[name] = room
}

// send pushes an event to the room's latest connection.
func (f *fakeServer) send(room string, m proto.Message) {
	f.mu.Lock()
	c := f.conns[room]
	f.mu.Unlock()
	if c == nil {
		f.t.Fatalf("fake: no connection to room %s", room)
	}
	c.send(m)
}

// drop closes the room's connection as a server going away does, and
// refuses the next ones.
func (f *fakeServer) drop(room string, code websocket.StatusCode, reason string) {
	f.mu.Lock()
	c := f.conns[room]
	f.closed[room] = true
	f.mu.Unlock()
	if c != nil {
		c.c.Close(code, reason)
	}
}

func (f *fakeServer) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ctx := r.Context()
	conn := &fakeConn{c: c, ctx: ctx}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m proto.Message
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m.Type {
		case proto.TypeHello:
			conn.send(proto.Message{Type: proto.TypeWelcome, ID: m.ID, Version: proto.Version, Software: "fake"})
		case proto.TypeJoin:
			f.mu.Lock()
			room := f.rooms[m.Room]
			gone := f.closed[m.Room]
			if !gone {
				f.conns[m.Room] = conn
			}
			f.mu.Unlock()
			if gone {
				c.Close(websocket.StatusGoingAway, "server shutting down")
				return
			}
			if room == nil || room.join == nil {
				conn.send(proto.ErrorReply(m.ID, proto.CodeNotFound, "no such room"))
				continue
			}
			for i, out := range room.join(m) {
				if i == 0 {
					out.ID = m.ID
				}
				conn.send(out)
			}
		case proto.TypePing:
			conn.send(proto.Message{Type: proto.TypePong, ID: m.ID})
		case proto.TypeChat:
			if m.ID != 0 {
				conn.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
			}
		default:
			f.mu.Lock()
			var code string
			for _, room := range f.rooms {
				if f.conns[room.info.Name] == conn {
					code = room.refuse[m.Type]
				}
			}
			f.mu.Unlock()
			if code != "" {
				conn.send(proto.ErrorReply(m.ID, code, "refused by the fake"))
			} else if m.ID != 0 {
				conn.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
			}
		}
	}
}

// Participants of the screenshots.
func person(id, name string) proto.Participant {
	return proto.Participant{ID: id, Name: name, Source: uint32(len(id))}
}

// joinedAs answers a join with the room as given, self named as joined.
func joinedAs(info proto.RoomInfo, self proto.Participant, others []proto.Participant, set func(*proto.Message)) func(proto.Message) []proto.Message {
	return func(join proto.Message) []proto.Message {
		self.Name = join.Name
		info.Name = join.Room
		msg := proto.Message{Type: proto.TypeJoined, Self: &self, RoomInfo: &info, Participants: append([]proto.Participant{self}, others...)}
		if set != nil {
			set(&msg)
		}
		return []proto.Message{msg}
	}
}
