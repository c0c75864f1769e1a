package signaling

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"palabre/rooms"
	"palabre/signaling/proto"
)

func (s *Server) routes() {
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("POST /api/v1/rooms", s.createRoom)
	s.mux.HandleFunc("GET /api/v1/rooms/{name}", s.getRoom)
	s.mux.HandleFunc("DELETE /api/v1/rooms/{name}", s.deleteRoom)
	s.mux.HandleFunc("PATCH /api/v1/rooms/{name}", s.updateRoom)
	s.mux.HandleFunc("GET /api/v1/rooms", s.listRooms)
	s.mux.HandleFunc("GET /api/v1/cluster/nodes", s.clusterNodes)
	s.mux.HandleFunc("POST /api/v1/cluster/drain", s.drain)
	if !s.cfg.PrivateMetrics {
		s.mux.Handle("GET /metrics", s.metrics.handler())
	}
	// readyz says whether this node takes new participants: not while it
	// shuts down (a load balancer should send people elsewhere).
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "shutting down\n")
			return
		}
		if c := s.cfg.Cluster; c != nil && c.Draining() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "draining\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	// Refused before the upgrade, where it costs the least.
	if !s.addrs.acquire(ip, useUnjoined) {
		s.addressRefused(useUnjoined)
		apiError(w, http.StatusTooManyRequests, proto.CodeAddressLimit, "too many connections from your address")
		return
	}
	conn, err := websocket.Accept(withSmallBuffers(w), r, s.acceptOptions())
	if err != nil {
		s.addrs.release(ip, useUnjoined)
		return // Accept has answered the client
	}
	conn.SetReadLimit(hardReadLimit)
	se := newSession(s, conn, ip, requestHost(r))
	se.holds[useUnjoined] = true
	if !s.addSession(se) {
		se.releaseAll()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// The session runs in a goroutine of its own and the handler returns:
	// the HTTP server's state for the request (its buffers, the request,
	// the response) is then garbage instead of staying with every idle
	// session, and the session's stack does not start under the HTTP
	// server's frames.
	go se.runRecovered()
}

// addressRefused counts and logs a refusal at an address's limit.
func (s *Server) addressRefused(u addressUse) {
	s.metrics.addressRefusals.WithLabelValues(u.String()).Inc()
	s.events.event("address-limit-"+u.String(), slog.LevelInfo, "refused at an address's limit", "limit", u.String())
}

// requestHost is the host part of the Host header ("talk.example.org",
// "127.0.0.1", "::1").
func requestHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// CreateRoomRequest is the body of POST /api/v1/rooms.
type CreateRoomRequest struct {
	Name            string `json:"name"`
	Mode            string `json:"mode,omitempty"`     // open (default), ptt, moderated
	Password        string `json:"password,omitempty"` // empty: no password
	MaxParticipants int    `json:"max_participants,omitempty"`
	MaxSpeakers     int    `json:"max_speakers,omitempty"`
}

// CreateRoomResponse is the answer to a room creation. The organizer
// secret is shown this once: the server keeps only its hash.
type CreateRoomResponse struct {
	Room            proto.RoomInfo `json:"room"`
	Link            string         `json:"link"`
	OrganizerLink   string         `json:"organizer_link"`
	OrganizerSecret string         `json:"organizer_secret"`
}

// APIError is the body of every failed API call.
type APIError struct {
	Error proto.Error `json:"error"`
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	if s.cfg.CreateToken != "" && !bearerIs(r, s.cfg.CreateToken) && !s.isAdmin(r) {
		apiError(w, http.StatusUnauthorized, proto.CodeNotAllowed, "creating rooms needs the server's creation token")
		return
	}
	var req CreateRoomRequest
	if !s.decodeBody(w, r, &req, "body must be a JSON room") {
		return
	}
	mode := rooms.ModeOpen
	if req.Mode != "" {
		var err error
		if mode, err = rooms.ParseMode(req.Mode); err != nil {
			apiError(w, http.StatusBadRequest, proto.CodeBadMessage, err.Error())
			return
		}
	}
	spec := rooms.Spec{
		Name: req.Name, Mode: mode, Password: req.Password,
		MaxParticipants: req.MaxParticipants, MaxSpeakers: req.MaxSpeakers,
	}
	// A malformed request is refused before it spends anything.
	if err := rooms.CheckSpec(spec); err != nil {
		apiError(w, http.StatusBadRequest, proto.CodeBadMessage, err.Error())
		return
	}
	// Admins (scripts creating a term's worth of classes) are trusted;
	// the per-address budget keeps anonymous visitors from filling the
	// registry without one visitor's flood stopping the others.
	if !s.isAdmin(r) && !s.cfg.Guard.AllowCreate(s.clientIP(r)) {
		apiError(w, http.StatusTooManyRequests, proto.CodeRateLimited, "too many rooms created from your address; wait a minute")
		return
	}
	def, secret, err := s.cfg.Rooms.Create(spec)
	switch {
	case errors.Is(err, rooms.ErrExists):
		apiError(w, http.StatusConflict, "exists", err.Error())
		return
	case errors.Is(err, rooms.ErrInvalid):
		apiError(w, http.StatusBadRequest, proto.CodeBadMessage, err.Error())
		return
	case err != nil:
		s.log.Error("create room", "err", err)
		apiError(w, http.StatusInternalServerError, proto.CodeInternal, "could not store the room")
		return
	}
	// A live ad-hoc room of that name now follows the new definition.
	if lr := s.lookupLive(def.Name); lr != nil {
		lr.apply(def, "")
	}
	link := s.baseURL(r) + "/r/" + def.Name
	s.log.Info("room created", "room", def.Name, "mode", def.Mode, "password", def.HasPassword())
	writeJSON(w, http.StatusCreated, CreateRoomResponse{
		Room:            s.roomInfo(def),
		Link:            link,
		OrganizerLink:   link + "#org=" + url.QueryEscape(secret),
		OrganizerSecret: secret,
	})
}

// RoomStatus is the public view of a room: GET /api/v1/rooms/{name}.
type RoomStatus struct {
	Room         proto.RoomInfo `json:"room"`
	Participants int            `json:"participants"` // on this node
	// Node is the id of the cluster node that hosts the room (or would,
	// if someone joined now); empty without a cluster.
	Node string `json:"node,omitempty"`
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) {
	def, err := s.cfg.Rooms.Get(r.PathValue("name"))
	if err != nil {
		apiError(w, http.StatusNotFound, proto.CodeNotFound, "no such room")
		return
	}
	writeJSON(w, http.StatusOK, s.roomStatus(def))
}

// roomStatus is a room's settings, its participants on this node and, in
// a cluster, the node that carries it.
func (s *Server) roomStatus(def rooms.Definition) RoomStatus {
	st := RoomStatus{Room: s.roomInfo(def)}
	if c := s.cfg.Cluster; c != nil {
		st.Node = c.Owner(def.Name).ID
	}
	if lr := s.lookupLive(def.Name); lr != nil {
		st.Participants = lr.count()
	}
	return st
}

// deleteRoom needs the organizer secret or an admin token as bearer
// token. People in the room are disconnected.
func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request) {
	def, ok := s.authorizeRoom(w, r)
	if !ok {
		return
	}
	name := def.Name
	if err := s.cfg.Rooms.Delete(name); err != nil {
		apiError(w, http.StatusInternalServerError, proto.CodeInternal, err.Error())
		return
	}
	if lr := s.lookupLive(name); lr != nil {
		lr.kickAll("the room was deleted")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) roomInfo(def rooms.Definition) proto.RoomInfo {
	return proto.RoomInfo{
		Name:            def.Name,
		Mode:            string(def.Mode),
		Locked:          def.Locked,
		HasPassword:     def.HasPassword(),
		MaxParticipants: def.MaxParticipants,
		MaxSpeakers:     def.MaxSpeakers,
		Chat:            !def.NoChat,
		Lobby:           def.Lobby,
		Slots:           s.cfg.Engine.Slots(),
		VideoSlots:      s.cfg.Engine.VideoSlots(),
		Video:           def.VideoAllowed() && s.cfg.Engine.VideoSlots() > 0,
		MaxCameras:      def.MaxCameras,
	}
}

// baseURL is where links point: the configured public URL, or this
// request's own scheme and host.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return s.scheme(r) + "://" + r.Host
}

func bearerIs(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// maxBodyBytes bounds an API request's body.
const maxBodyBytes = 16 << 10

// decodeBody reads r's JSON body into v, within maxBodyBytes and
// Config.BodyTimeout (a body sent a byte a second holds nothing for long),
// unknown fields refused. On failure it has answered 400 (or 413).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, proto.CodeBadMessage, fmt.Sprintf("body larger than %d bytes", maxBodyBytes))
			return false
		}
		apiError(w, http.StatusBadRequest, proto.CodeBadMessage, what+": "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, APIError{Error: proto.Error{Code: code, Message: msg}})
}
