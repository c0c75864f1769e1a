package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"palabre/sfu"
	"palabre/signaling/proto"
)

// Limits of one connection.
const (
	// hardReadLimit closes the connection; messages between
	// proto.MaxMessageBytes and this get an error reply and are dropped.
	hardReadLimit = 256 << 10
	// outQueue is how many messages may wait for a slow client before it
	// is disconnected.
	outQueue     = 1024
	writeTimeout = 10 * time.Second
	pingInterval = 25 * time.Second
)

type sessionState int

const (
	stateNew     sessionState = iota // waiting for hello
	stateReady                       // waiting for join
	stateWaiting                     // in a room's lobby, until admitted or refused
	stateJoined                      // in a room
)

// session is one WebSocket connection. Its read loop runs in a goroutine
// of its own; a writer goroutine runs only while messages wait (write.go).
type session struct {
	s     *Server
	conn  *websocket.Conn
	ip    netip.Addr
	host  string                      // the host name the client reached us by, for TURN URLs
	logp  atomic.Pointer[slog.Logger] // see logger
	limit *rate.Limiter
	// The outgoing queue, under outMu: a slice that only takes memory
	// while messages wait, and a writer goroutine that runs only while
	// there is something to write (thousands of idle sessions must stay
	// cheap: an idle session has one goroutine, its reader).
	outMu   sync.Mutex
	outQ    [][]byte
	writing bool // a writer goroutine runs (for good once closing)
	closing bool // closeWith was called: the writer flushes and closes
	// closed is closed when the writer has closed the connection.
	closed chan struct{}
	// pinger pings the client every pingInterval (its own goroutine,
	// only while a ping waits for its pong).
	pinger *time.Timer

	closeOnce sync.Once
	closeCode websocket.StatusCode // set once, by closeWith
	closeMsg  string

	// joinBy is when the connection must have joined a room.
	joinBy time.Time
	// joinAsked is when the last join request arrived (read loop).
	joinAsked time.Time
	// holds are the address uses this session is counted for
	// (limits.go), under holdsMu: the read loop and an admission out of
	// the lobby change them.
	holdsMu sync.Mutex
	holds   [addressUses]bool

	// mu guards the state and what comes with it. The read loop changes
	// them, and so does an organizer's admission out of the lobby (from the
	// organizer's goroutine); once joined, room, part and organizer do not
	// change. gone is set when the session leaves: nothing enters after.
	// Lock order: mu before a live room's mu.
	mu        sync.Mutex
	state     sessionState
	gone      bool
	room      *liveRoom
	lobby     *liveRoom // the room whose lobby the session waits in
	part      *sfu.Participant
	organizer bool

	// info is the public record; written under room.mu once joined.
	info proto.Participant
	// seq is the session's place in its room's join order, fold its
	// name as a search compares it (set before it is registered).
	seq  uint64
	fold string
	// listLimit bounds its list requests (read loop; made at the first).
	listLimit *rate.Limiter
	// chatLimit bounds the chat messages; chatRefused counts the ones
	// refused in a row (read loop).
	chatLimit   *rate.Limiter
	chatRefused int
	// mutedByOrganizer forbids unmuting oneself. Under room.mu.
	mutedByOrganizer bool

	// Local ICE candidates wait until the offer has been sent.
	candMu    sync.Mutex
	offerSent bool
	pending   []proto.Candidate
}

func newSession(s *Server, conn *websocket.Conn, ip netip.Addr, host string) *session {
	se := &session{
		s:      s,
		conn:   conn,
		ip:     ip,
		host:   host,
		limit:  rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), s.cfg.MessageBurst),
		closed: make(chan struct{}),
		joinBy: time.Now().Add(s.cfg.UnjoinedTimeout),
	}
	// No address in the logs unless the operator asks: Palabre collects
	// nothing about the people who use it. A random session id ties the
	// lines together.
	se.logp.Store(sessionLogger(s, ip))
	return se
}

// logger is the session's logger; entering a room names the room and the
// participant in it (from whichever goroutine admits the session).
func (se *session) logger() *slog.Logger { return se.logp.Load() }

// run serves the connection until it ends: it reads, and a writer
// goroutine (write.go's) comes and goes.
func (se *session) run() {
	defer se.s.removeSession(se)
	se.outMu.Lock()
	se.pinger = time.AfterFunc(pingInterval, se.ping)
	se.outMu.Unlock()
	se.readLoop()
	se.closeWith(websocket.StatusNormalClosure, "")
	se.leaveRoom(se.leaveReason())
	se.releaseAll()
	<-se.closed
	se.pinger.Stop()
}

// runRecovered is run in the session's goroutine: a panic outside a
// message's handling ends the session and is logged, and the server goes
// on (as net/http's recovery did when sessions ran in its handlers).
func (se *session) runRecovered() {
	defer func() {
		if p := recover(); p != nil {
			se.logger().Error("panic in a session", "panic", p, "stack", string(debug.Stack()))
			se.conn.CloseNow()
		}
	}()
	se.run()
}

// acquire counts the session for use u of its address.
func (se *session) acquire(u addressUse) bool {
	se.holdsMu.Lock()
	defer se.holdsMu.Unlock()
	if se.holds[u] {
		return true
	}
	if !se.s.addrs.acquire(se.ip, u) {
		se.s.addressRefused(u)
		return false
	}
	se.holds[u] = true
	return true
}

// release gives back use u of the session's address.
func (se *session) release(u addressUse) {
	se.holdsMu.Lock()
	defer se.holdsMu.Unlock()
	if se.holds[u] {
		se.holds[u] = false
		se.s.addrs.release(se.ip, u)
	}
}

func (se *session) releaseAll() {
	for u := range addressUses {
		se.release(u)
	}
}

// readLoop reads until the connection ends. Each message is served in a
// goroutine of its own (serve), the read loop waiting for it: the reader
// sits idle between messages with the small stack that a read needs,
// while the deep work (a join, an answer, JSON) grows and drops the
// stacks of goroutines that end. An idle session's one goroutine then
// costs a few KiB instead of the 16 KiB its stack grew to in the join.
func (se *session) readLoop() {
	for {
		typ, data, err := se.read()
		if err != nil {
			se.readFailed(err)
			return
		}
		if se.serve(typ, data) {
			return
		}
	}
}

// read waits for the next message.
func (se *session) read() (websocket.MessageType, []byte, error) {
	if se.currentState() == stateJoined {
		// No context to cancel once joined: a read with one would keep
		// a registration in it (context.AfterFunc) for as long as the
		// session sits idle. The writer's close ends the read.
		return se.conn.Read(context.Background())
	}
	// A hard deadline from the opening: pings and refused joins do not
	// keep a connection that never joins.
	ctx, cancel := context.WithDeadline(context.Background(), se.joinBy)
	defer cancel()
	return se.conn.Read(ctx)
}

// readFailed ends the session whose read failed with err.
func (se *session) readFailed(err error) {
	if se.currentState() != stateJoined && !time.Now().Before(se.joinBy) {
		se.s.disconnected("join_timeout")
		se.send(proto.ErrorReply(0, proto.CodeBadState, "no room joined in time; connection closed"))
		se.closeWith(websocket.StatusPolicyViolation, "join timeout")
		return
	}
	se.logger().Debug("connection ended", "err", err)
}

// serve runs received in a goroutine of its own and waits for it (see
// readLoop). It reports whether the session is over. A panic ends the
// session, not the server (as net/http's recovery did when sessions ran
// in its handlers).
func (se *session) serve(typ websocket.MessageType, data []byte) (done bool) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer func() {
			if p := recover(); p != nil {
				se.logger().Error("panic serving a message", "panic", p, "stack", string(debug.Stack()))
				se.closeWith(websocket.StatusInternalError, "internal error")
				done = true
			}
		}()
		done = se.received(typ, data)
	}()
	<-finished
	return done
}

// received handles one message. It reports whether the session is over.
func (se *session) received(typ websocket.MessageType, data []byte) bool {
	if !se.limit.Allow() {
		se.s.disconnected("flood")
		se.s.events.event("flood", slog.LevelWarn, "flood: closing connection")
		se.send(proto.ErrorReply(0, proto.CodeFlood, "too many messages; connection closed"))
		se.closeWith(websocket.StatusPolicyViolation, "flood")
		return true
	}
	if typ != websocket.MessageText {
		se.send(proto.ErrorReply(0, proto.CodeBadMessage, "binary messages are not part of the protocol"))
		return false
	}
	m, err := proto.DecodeRequest(data)
	if err != nil {
		se.send(proto.ErrorReply(m.ID, proto.CodeBadMessage, errMessage(err)))
		return false
	}
	return se.handle(m)
}

// currentState is the session's state.
func (se *session) currentState() sessionState {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.state
}

// setState changes the session's state (read loop).
func (se *session) setState(st sessionState) {
	se.mu.Lock()
	se.state = st
	se.mu.Unlock()
}

// handle runs one valid request. It reports whether the session is over.
func (se *session) handle(m proto.Message) bool {
	state := se.currentState()
	switch state {
	case stateNew:
		if m.Type != proto.TypeHello {
			se.send(proto.ErrorReply(m.ID, proto.CodeBadState, "say hello first"))
			return false
		}
		if m.Version != proto.Version {
			se.send(proto.ErrorReply(m.ID, proto.CodeUnsupportedVersion, "this server speaks protocol version 1"))
			se.closeWith(websocket.StatusPolicyViolation, "unsupported version")
			return true
		}
		se.setState(stateReady)
		se.send(proto.Message{Type: proto.TypeWelcome, ID: m.ID, Version: proto.Version, Software: se.s.cfg.Software})
		return false
	}
	switch m.Type {
	case proto.TypePing:
		se.send(proto.Message{Type: proto.TypePong, ID: m.ID})
		return false
	case proto.TypeLeave:
		se.ack(m)
		se.closeWith(websocket.StatusNormalClosure, "bye")
		return true
	}
	switch state {
	case stateReady:
		if m.Type == proto.TypeJoin {
			se.join(m)
		} else {
			se.send(proto.ErrorReply(m.ID, proto.CodeBadState, m.Type+" before join"))
		}
		return false
	case stateWaiting:
		se.send(proto.ErrorReply(m.ID, proto.CodeBadState, "waiting in the lobby: an organizer has not admitted you yet"))
		return false
	}
	se.handleInRoom(m)
	return false
}

func (se *session) send(m proto.Message) {
	data, err := json.Marshal(m)
	if err != nil {
		se.logger().Error("encode", "type", m.Type, "err", err)
		return
	}
	se.enqueue(data)
}

func (se *session) ack(m proto.Message) {
	if m.ID != 0 {
		se.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
	}
}

func (se *session) fail(m proto.Message, code, msg string) {
	se.send(proto.ErrorReply(m.ID, code, msg))
}

// shutdown tells the client why and closes the session.
func (se *session) shutdown(reason string) {
	se.closeWith(websocket.StatusGoingAway, reason)
}

// leaveReason says why a member left, for the others.
func (se *session) leaveReason() string {
	switch se.closeMsg {
	case "bye":
		return "left"
	case "kicked":
		return "kicked"
	}
	return "disconnected"
}

// leaveRoom takes the session out of its room or lobby, once, for good.
func (se *session) leaveRoom(reason string) {
	se.mu.Lock()
	se.gone = true
	state, room, lobby := se.state, se.room, se.lobby
	se.state = stateReady
	se.mu.Unlock()
	switch state {
	case stateJoined:
		se.part.Leave()
		room.unregister(se, reason)
	case stateWaiting:
		lobby.unwait(se)
	}
	se.release(useParticipant)
}

// onLocalCandidate trickles a server candidate, after the offer.
func (se *session) onLocalCandidate(c webrtc.ICECandidateInit) {
	pc := proto.Candidate(c)
	se.candMu.Lock()
	defer se.candMu.Unlock()
	if !se.offerSent {
		se.pending = append(se.pending, pc)
		return
	}
	se.send(proto.Message{Type: proto.TypeCandidate, Candidate: &pc})
}

func (se *session) flushCandidates() {
	se.candMu.Lock()
	defer se.candMu.Unlock()
	se.offerSent = true
	for i := range se.pending {
		se.send(proto.Message{Type: proto.TypeCandidate, Candidate: &se.pending[i]})
	}
	se.pending = nil
}

// iceServers are the configured ones plus the bundled TURN server with
// credentials for this participant.
func (se *session) iceServers() []proto.ICEServer {
	servers := append([]proto.ICEServer(nil), se.s.cfg.ICEServers...)
	if t := se.s.cfg.TURN; t != nil {
		user, pass := t.Credentials(se.info.ID, se.s.cfg.TURNTTL)
		servers = append(servers, proto.ICEServer{URLs: t.URLs(se.host), Username: user, Credential: pass})
	}
	return servers
}

func sessionLogger(s *Server, ip netip.Addr) *slog.Logger {
	l := s.log.With("session", newSessionID())
	if s.cfg.LogIPs {
		l = l.With("remote", ip.String())
	}
	return l
}

// newSessionID names a connection in the logs.
func newSessionID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newParticipantID returns a short random id, unique in practice.
func newParticipantID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "p" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func errMessage(err error) string {
	var pe *proto.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}
