// Package signaling is Palabre's front door: the HTTP API, the /ws WebSocket
// endpoint and one session state machine per connection. It glues the room
// definitions (package rooms) to the media plane (package sfu); it forwards
// no media itself.
package signaling

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"palabre/admission"
	"palabre/cluster"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
	"palabre/turn"
)

// Config wires a Server to its parts.
type Config struct {
	// Software is what the server calls itself in welcome messages
	// ("palabre/1.2.0"); default "palabre".
	Software string

	Rooms  *rooms.Store
	Guard  *admission.Guard
	Engine *sfu.Engine

	// AdhocRooms lets a join to an unknown room create an ephemeral open room.
	AdhocRooms bool
	// PublicURL is the base of the links handed to organizers
	// ("https://talk.example.org"). Empty: taken from each request's Host.
	PublicURL string
	// CreateToken, when set, must be presented as "Authorization: Bearer
	// TOKEN" to create rooms over the HTTP API. Empty: anyone may.
	CreateToken string
	// MessagesPerSecond and MessageBurst bound what one WebSocket client may
	// send; past them the connection is closed as a flood. Defaults 20, 60.
	MessagesPerSecond float64
	MessageBurst      int
	// ICEServers are handed to participants in the joined message.
	ICEServers []proto.ICEServer
	// TURN, if set, adds the bundled TURN server to every participant's
	// ICE servers, with credentials of its own valid for TURNTTL
	// (default 12 h: a relayed participant keeps its allocation with them).
	TURN    TURN
	TURNTTL time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed; nobody else's are.
	TrustedProxies []netip.Prefix
	// AdminTokens is the file of admin token hashes (see NewAdminToken);
	// empty: no admin API.
	AdminTokens string
	// LogIPs adds the client's address to its session's log lines. Off
	// by default: Palabre collects nothing about the people using it.
	LogIPs bool
	// Web is the browser app (package client/web); nil serves none.
	Web fs.FS
	// PerAddress bounds what one client address may hold at once
	// (connections not yet in a room, participants, ad-hoc rooms).
	PerAddress AddressLimits
	// UnjoinedTimeout is how long a connection may stay open without
	// joining a room, counted from its opening (messages do not extend
	// it). Default 30 s.
	UnjoinedTimeout time.Duration
	// BodyTimeout bounds the time to read an API request's body. Default
	// 10 s.
	BodyTimeout time.Duration
	// PrivateMetrics keeps /metrics off the public handler: the caller
	// serves Metrics() elsewhere (an admin listener).
	PrivateMetrics bool

	// Cluster, if set, is this node's cluster: room definitions are
	// replicated through it, joins for rooms that live on another node
	// are redirected there, and Drain moves rooms to other nodes.
	Cluster *cluster.Node

	Logger *slog.Logger
}

// TURN is what signaling needs of the bundled TURN server (package turn).
type TURN interface {
	// Credentials returns ephemeral credentials for a participant.
	Credentials(id string, ttl time.Duration) (username, password string)
	// URLs returns the TURN URLs for clients that reach the server as host.
	URLs(host string) []string
	// Stats are the TURN server's counters, for /metrics.
	Stats() turn.Stats
}

// Server serves the HTTP API and the WebSocket signaling endpoint.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	mu       sync.Mutex
	live     map[string]*liveRoom
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup // session goroutines

	addrs   *addressTable // what each client address holds
	events  *eventLog     // repeated events, logged without flooding
	metrics *metrics

	stopCluster    chan struct{} // closed by Close: ends reconcileLoop
	drainNow       chan struct{} // wakes reconcileLoop when a drain starts
	drainRequested chan struct{} // closed by POST /api/v1/cluster/drain
	drainOnce      sync.Once
	closeOnce      sync.Once

	// presenceCfg tunes presence batching (presence.go); nil: defaults.
	presenceCfg atomic.Pointer[PresenceSettings]

	hooks testHooks
}

// testHooks let this package's tests stop a request at a chosen point.
type testHooks struct {
	// muteDecided runs between a mute's decision and its effect on the
	// media plane.
	muteDecided atomic.Pointer[func(se *session, muted bool)]
}

// NewServer checks cfg and builds a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Rooms == nil || cfg.Engine == nil {
		return nil, errors.New("signaling: Config needs Rooms and Engine")
	}
	if cfg.Guard == nil {
		cfg.Guard = admission.NewGuard(admission.GuardConfig{})
	}
	if cfg.MessagesPerSecond <= 0 {
		cfg.MessagesPerSecond = 20
	}
	if cfg.MessageBurst <= 0 {
		cfg.MessageBurst = 60
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Software == "" {
		cfg.Software = "palabre"
	}
	if cfg.UnjoinedTimeout <= 0 {
		cfg.UnjoinedTimeout = 30 * time.Second
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if cfg.TURNTTL <= 0 {
		cfg.TURNTTL = 12 * time.Hour
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		mux:      http.NewServeMux(),
		live:     make(map[string]*liveRoom),
		sessions: make(map[*session]struct{}),
		addrs:    newAddressTable(cfg.PerAddress),
		events:   newEventLog(cfg.Logger, 10*time.Second),

		stopCluster:    make(chan struct{}),
		drainNow:       make(chan struct{}, 1),
		drainRequested: make(chan struct{}),
	}
	s.metrics = newMetrics(s)
	s.routes()
	if cfg.Web != nil {
		s.webRoutes(cfg.Web)
	}
	if cfg.Cluster != nil {
		s.joinCluster()
	}
	return s, nil
}

// Metrics is the Prometheus metrics handler (also at /metrics on the
// public handler unless Config.PrivateMetrics).
func (s *Server) Metrics() http.Handler { return s.metrics.handler() }

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handle lets the caller add routes (the web app, metrics) to the same mux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Close disconnects every session and closes every live room. It waits for
// the sessions' goroutines or until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.stopCluster) })
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for se := range s.sessions {
		sessions = append(sessions, se)
	}
	s.mu.Unlock()
	for _, se := range sessions {
		se.shutdown("server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LiveRooms reports how many rooms have participants, and how many
// participants there are in all.
func (s *Server) LiveRooms() (rooms, participants int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lr := range s.live {
		rooms++
		participants += lr.count()
	}
	return rooms, participants
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) addSession(se *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[se] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) removeSession(se *session) {
	s.mu.Lock()
	delete(s.sessions, se)
	s.mu.Unlock()
	s.wg.Done()
}

// errAddressLimit is liveRoomFor's answer when opening the room would take
// the opener over its ad-hoc room limit.
var errAddressLimit = errors.New("too many ad-hoc rooms opened from this address")

// liveRoomFor returns the live room for def, creating it if needed. An
// ad-hoc room counts against its opener's address until it closes.
// created says this call made the live room.
func (s *Server) liveRoomFor(def rooms.Definition, opener netip.Addr) (lr *liveRoom, created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, errors.New("server closing")
	}
	if lr := s.live[def.Name]; lr != nil {
		return lr, false, nil
	}
	if def.Ephemeral {
		if !s.addrs.acquire(opener, useAdhocRoom) {
			return nil, false, errAddressLimit
		}
	}
	lr = newLiveRoom(s, def)
	if def.Ephemeral {
		lr.opener, lr.charged = opener, true
	}
	s.live[def.Name] = lr
	return lr, true, nil
}

// lookupLive returns the live room of that name, or nil.
func (s *Server) lookupLive(name string) *liveRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[name]
}

// releaseIfEmpty closes lr and forgets it once its last member has left.
func (s *Server) releaseIfEmpty(lr *liveRoom) {
	s.mu.Lock()
	if s.live[lr.name] != lr || !lr.closeIfEmpty() {
		s.mu.Unlock()
		return
	}
	delete(s.live, lr.name)
	s.mu.Unlock()
	lr.media.Close()
	if lr.charged {
		s.addrs.release(lr.opener, useAdhocRoom)
	}
	s.cfg.Rooms.DropEphemeral(lr.name)
	s.log.Debug("room closed", "room", lr.name)
}
