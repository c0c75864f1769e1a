package signaling

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"palabre/cluster"
	"palabre/rooms"
	"palabre/signaling/proto"
)

// This file glues the server to its cluster (Config.Cluster): room
// definitions replicated through the rooms store, joins redirected to the
// room's node, live rooms announced, rooms moved off a draining node or
// off the losing side of a conflict.

// registry adapts the rooms store to cluster.Registry.
type registry struct{ s *Server }

func (r registry) Entries() []cluster.Entry {
	reps := r.s.cfg.Rooms.Replicas()
	out := make([]cluster.Entry, len(reps))
	for i, rep := range reps {
		out[i] = cluster.Entry(rep)
	}
	return out
}

// Apply stores a batch from peers in one transaction, then brings each
// changed live room up to date.
func (r registry) Apply(es []cluster.Entry) ([]string, error) {
	reps := make([]rooms.Replica, len(es))
	for i, e := range es {
		reps[i] = rooms.Replica(e)
	}
	changed, err := r.s.cfg.Rooms.ApplyReplicas(reps)
	for _, name := range changed {
		r.s.definitionChanged(name)
	}
	return changed, err
}

// joinCluster makes the store's writes replicated and the store the
// cluster's registry.
func (s *Server) joinCluster() {
	c := s.cfg.Cluster
	s.cfg.Rooms.SetReplication(func() rooms.Version {
		clock, node := c.Stamp()
		return rooms.Version{Clock: clock, Node: node}
	}, func(rep rooms.Replica) { c.Publish(cluster.Entry(rep)) })
	c.SetRegistry(registry{s})
	s.wg.Add(1)
	go s.reconcileLoop()
}

// definitionChanged brings a live room up to date with a definition that
// changed on another node: new settings are applied and announced; a
// deleted room's participants are told and disconnected.
func (s *Server) definitionChanged(name string) {
	lr := s.lookupLive(name)
	if lr == nil {
		return
	}
	def, err := s.cfg.Rooms.Get(name)
	if errors.Is(err, rooms.ErrNotFound) {
		lr.kickAll("the room was deleted")
		return
	}
	if err != nil || def.Ephemeral {
		return
	}
	lr.apply(def, "")
}

// redirectFor returns the public URL of the node a join for room belongs
// on, or "" to admit it here. A client that was already redirected is
// admitted unless the room is live elsewhere: two nodes whose views differ
// for a moment cannot bounce it around.
func (s *Server) redirectFor(room string, hops int) string {
	c := s.cfg.Cluster
	if c == nil {
		return ""
	}
	p := c.Owner(room)
	if p.Local || p.URL == "" || hops >= proto.MaxHops || (hops > 0 && !p.Live) {
		return ""
	}
	return p.URL
}

// nodeURLs lists the public URLs of the cluster's nodes that take rooms,
// this one first: where a client reconnects if this node fails.
func (s *Server) nodeURLs() []string {
	c := s.cfg.Cluster
	if c == nil {
		return nil
	}
	local := c.Local().URL
	out := []string{local}
	for _, m := range c.Members() {
		if !m.Local && !m.Draining {
			out = append(out, m.URL)
		}
	}
	return out
}

// reportLive tells the cluster how many participants a room has here.
func (s *Server) reportLive(room string, participants int) {
	if c := s.cfg.Cluster; c != nil {
		c.SetLive(room, participants)
	}
}

// reconcileEvery is how often live rooms are checked against placement.
const reconcileEvery = 500 * time.Millisecond

// reconcileLoop moves the rooms that no longer belong here: all of them
// while draining, and a room another node also holds with a better claim.
// A conflict must be seen twice in a row before a room moves, so that
// participant counts still in flight do not make both nodes give way.
func (s *Server) reconcileLoop() {
	defer s.wg.Done()
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	lost := map[string]string{} // room → node it lost to at the last check
	for {
		select {
		case <-s.stopCluster:
			return
		case <-s.drainNow:
		case <-t.C:
		}
		draining := s.cfg.Cluster.Draining()
		seen := map[string]string{}
		for _, lr := range s.liveRooms() {
			p := s.cfg.Cluster.Owner(lr.name)
			if p.Local {
				continue
			}
			if !draining && lost[lr.name] != p.ID {
				seen[lr.name] = p.ID // a conflict: confirm at the next check
				continue
			}
			s.log.Info("moving room", "room", lr.name, "to", p.ID, "draining", draining)
			s.metrics.roomsMoved.Inc()
			lr.moveTo(p.URL)
		}
		lost = seen
	}
}

func (s *Server) liveRooms() []*liveRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.live))
}

// moveTo sends every member to the room's new node and disconnects them;
// their clients join there.
func (lr *liveRoom) moveTo(url string) {
	for _, se := range lr.sessions() {
		se.send(proto.Message{Type: proto.TypeRedirect, URL: url, Reason: proto.RedirectMoved})
		se.closeWith(websocket.StatusServiceRestart, "room moved")
	}
}

// kickAll removes everyone, with a message.
func (lr *liveRoom) kickAll(message string) {
	for _, se := range lr.sessions() {
		se.send(proto.Message{Type: proto.TypeKicked, Message: message})
		se.closeWith(websocket.StatusNormalClosure, "kicked")
	}
}

func (lr *liveRoom) sessions() []*session {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return slices.Collect(maps.Values(lr.members))
}

// Drain stops new rooms on this node and moves its live rooms to the
// others, then waits until none is left or ctx ends. It returns how many
// rooms were still live here. Without a cluster it only waits: there is no
// other node to move to.
func (s *Server) Drain(ctx context.Context) int {
	c := s.cfg.Cluster
	if c != nil {
		c.SetDraining(true)
		select {
		case s.drainNow <- struct{}{}:
		default:
		}
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		n, _ := s.LiveRooms()
		if n == 0 || c == nil || !s.otherNodeTakesRooms() {
			// Nothing left, or nowhere to move it: waiting would only
			// keep the process from stopping.
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// otherNodeTakesRooms reports whether another node could take this
// node's rooms.
func (s *Server) otherNodeTakesRooms() bool {
	for _, m := range s.cfg.Cluster.Members() {
		if !m.Local && !m.Draining {
			return true
		}
	}
	return false
}

// DrainRequested is closed when an admin asks for a drain over the API
// (palabre drain): the process should drain, then exit.
func (s *Server) DrainRequested() <-chan struct{} { return s.drainRequested }

// clusterNodes is GET /api/v1/cluster/nodes, for admins.
func (s *Server) clusterNodes(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		apiError(w, http.StatusForbidden, proto.CodeNotAllowed, "listing nodes needs an admin token")
		return
	}
	if s.cfg.Cluster == nil {
		apiError(w, http.StatusNotFound, proto.CodeNotFound, "this server is not part of a cluster (see --cluster-bind)")
		return
	}
	writeJSON(w, http.StatusOK, NodesResponse{Nodes: s.cfg.Cluster.Members()})
}

// NodesResponse is the body of GET /api/v1/cluster/nodes.
type NodesResponse struct {
	Nodes []cluster.Member `json:"nodes"`
}

// drain is POST /api/v1/cluster/drain, for admins: the node stops taking
// rooms, moves its rooms away and exits (see DrainRequested).
func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		apiError(w, http.StatusForbidden, proto.CodeNotAllowed, "draining needs an admin token")
		return
	}
	s.drainOnce.Do(func() { close(s.drainRequested) })
	rooms, participants := s.LiveRooms()
	writeJSON(w, http.StatusAccepted, map[string]any{"draining": true, "rooms": rooms, "participants": participants})
}

// peerOrigins are the origins of the cluster's nodes, whose pages may open
// a WebSocket here and whose WebSockets this node's pages may open. Nodes
// that failed stay in: the pages they served reconnect here.
func (s *Server) peerOrigins() []*url.URL {
	c := s.cfg.Cluster
	if c == nil {
		return nil
	}
	var out []*url.URL
	for _, raw := range c.KnownURLs() {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			out = append(out, u)
		}
	}
	return out
}

// acceptOptions lets pages served by the cluster's nodes open a WebSocket
// here (the browser app follows redirects from one node to another).
func (s *Server) acceptOptions() *websocket.AcceptOptions {
	var patterns []string
	for _, u := range s.peerOrigins() {
		patterns = append(patterns, u.Host)
	}
	if len(patterns) == 0 {
		return nil
	}
	return &websocket.AcceptOptions{OriginPatterns: patterns}
}

// connectSources is the CSP connect-src list: this origin and the
// WebSocket origins of the cluster's nodes.
func (s *Server) connectSources() string {
	src := []string{"'self'"}
	for _, u := range s.peerOrigins() {
		scheme := "ws"
		if u.Scheme == "https" {
			scheme = "wss"
		}
		src = append(src, scheme+"://"+u.Host)
	}
	return strings.Join(src, " ")
}
