// Package client is the Go client library of Palabre: it connects to a
// server's /ws endpoint, joins a room, answers the server's WebRTC offer,
// publishes one upstream audio track and receives the room's audio slots.
//
// It speaks only the wire protocol of palabre/signaling/proto. Tests, the
// load tester and bots use it.
//
// A Client runs a few goroutines (WebSocket reader, offer/candidate handler,
// one reader per audio slot, an RTCP drain, the publisher); Close stops them
// all and waits for them.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"palabre/signaling/proto"
)

// Options configures a Client. The zero value works.
type Options struct {
	// Software is sent in hello; default "palabre-go/dev".
	Software string
	// LoopbackOnly forces loopback-only ICE: loopback host candidates only,
	// remote candidates outside loopback ignored, no STUN, mDNS off. It is
	// automatic when the server URL's host is loopback (127.0.0.0/8, ::1,
	// "localhost").
	LoopbackOnly bool
	// RelayOnly restricts ICE to relay (TURN) candidates. In loopback mode
	// only TURN servers on a loopback address are kept.
	RelayOnly bool
	// HTTPClient makes the WebSocket handshake (for example with the CA
	// of a test server); nil means http.DefaultClient.
	HTTPClient *http.Client
	// TURNTransport, if "udp" or "tcp", keeps only the TURN URLs of that
	// transport (tests: reach the relay over TCP only); "none" uses no
	// TURN server at all (checks of direct connectivity).
	TURNTransport string
	// TCPOnly restricts ICE to TCP candidates (ICE-TCP, RFC 6544), as a
	// client behind a firewall that lets no UDP out would be.
	TCPOnly bool
	// ICEServers are used in addition to the joined message's ice_servers
	// (outside loopback mode).
	ICEServers []webrtc.ICEServer
	// Logger receives the client's logs; default slog.Default().
	Logger *slog.Logger
	// Header holds extra HTTP headers for the WebSocket handshake.
	Header http.Header
	// ProtocolVersion is the version sent in hello; default proto.Version.
	// Tests set another one to check the server's refusal.
	ProtocolVersion int
	// EventBuffer is the capacity of Events(); default 1024.
	EventBuffer int
	// WriteTimeout bounds one WebSocket write; default 10 s.
	WriteTimeout time.Duration
	// OnOffer, if set, replaces the client's media: no PeerConnection is
	// made, and the server's offer is answered with what OnOffer returns
	// (called from the client's media goroutine, once per offer). The
	// candidates the server trickles are ignored (an ICE-lite offer
	// carries its own). WaitConnected then returns once the server has
	// accepted the answer: whether the media is up is the caller's
	// transport's to tell. Publish, WriteRTP, OnRTP and Stats concern the
	// client's own media and have nothing to do; the rest (join,
	// push-to-talk, events) works as usual. The load tester's light mode
	// uses it with sfu/rtc's client mode.
	OnOffer func(offerSDP string) (answerSDP string, err error)
}

// ErrClosed is Err() after the client itself was closed.
var ErrClosed = errors.New("palabre client: closed")

// readLimit is the largest server message accepted. A joined message of a
// big room may exceed proto.MaxMessageBytes, which limits client messages.
const readLimit = 4 << 20

// maxInbox bounds the offers and candidates waiting for the media handler.
const maxInbox = 1024

// Client is one connection to a Palabre server.
type Client struct {
	opts     Options
	log      *slog.Logger
	wsURL    string
	loopback bool
	conn     *websocket.Conn

	ctx    context.Context // canceled by Close or when the WebSocket ends
	cancel context.CancelFunc
	wg     sync.WaitGroup

	nextID atomic.Uint32

	mu      sync.Mutex
	closed  bool // Close was called: start no goroutine
	pending map[uint32]chan proto.Message
	welcome proto.Message
	joined  *proto.Message
	self    proto.Participant
	lastErr *proto.Error   // the error event just received, if it was the last message
	kicked  *proto.Message // kicked message, if any
	// admission gets the unsolicited joined or refused that ends a wait
	// in a room's lobby.
	admission chan proto.Message
	redirect  *proto.Message // unsolicited redirect (the room moved), if any

	events  chan proto.Message
	dropped atomic.Uint64

	done    chan struct{}
	errOnce sync.Once
	err     error

	closeOnce    sync.Once
	shutdownOnce sync.Once

	media
	videoState
	join joinVideo // the last join's video request
}

// Dial connects to a Palabre server and performs the hello/welcome
// handshake. serverURL is "http://host:port", "https://host[/prefix]"
// (the WebSocket is then at /ws under it) or a "ws://…/ws", "wss://…/ws"
// URL. An unsupported protocol version fails with a *proto.Error whose
// Code is proto.CodeUnsupportedVersion.
func Dial(ctx context.Context, serverURL string, opts Options) (*Client, error) {
	wsURL, loopback, err := websocketURL(serverURL)
	if err != nil {
		return nil, err
	}
	if opts.Software == "" {
		opts.Software = "palabre-go/dev"
	}
	if opts.ProtocolVersion == 0 {
		opts.ProtocolVersion = proto.Version
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 1024
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "palabre-client")

	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: opts.Header, HTTPClient: opts.HTTPClient})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("palabre client: dial %s: %s: %w", wsURL, resp.Status, err)
		}
		return nil, fmt.Errorf("palabre client: dial %s: %w", wsURL, err)
	}
	conn.SetReadLimit(readLimit)

	c := &Client{
		opts:      opts,
		log:       log,
		wsURL:     wsURL,
		loopback:  loopback || opts.LoopbackOnly,
		conn:      conn,
		pending:   make(map[uint32]chan proto.Message),
		events:    make(chan proto.Message, opts.EventBuffer),
		done:      make(chan struct{}),
		admission: make(chan proto.Message, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.initMedia()

	c.wg.Add(2)
	go c.readLoop()
	go c.mediaLoop()

	reply, err := c.Request(ctx, proto.Message{
		Type:     proto.TypeHello,
		Version:  opts.ProtocolVersion,
		Software: opts.Software,
	})
	if err == nil && reply.Type != proto.TypeWelcome {
		err = fmt.Errorf("palabre client: hello answered by %q, want welcome", reply.Type)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.mu.Lock()
	c.welcome = reply
	c.mu.Unlock()
	return c, nil
}

// websocketURL turns a server URL into the WebSocket URL and tells whether
// its host is loopback.
func websocketURL(serverURL string) (string, bool, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", false, fmt.Errorf("palabre client: server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Scheme == "http" {
			u.Scheme = "ws"
		} else {
			u.Scheme = "wss"
		}
		if !strings.HasSuffix(u.Path, "/ws") {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
			u.RawPath = ""
		}
	case "ws", "wss":
		if u.Path == "" || u.Path == "/" {
			u.Path = "/ws"
		}
	default:
		return "", false, fmt.Errorf("palabre client: server URL %q: scheme must be http, https, ws or wss", serverURL)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("palabre client: server URL %q has no host", serverURL)
	}
	u.Fragment = ""
	return u.String(), isLoopbackHost(u.Hostname()), nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// JoinRequest is what join sends.
type JoinRequest struct {
	Room     string
	Name     string
	Password string
	Secret   string // organizer secret
	// Hops is the number of redirects followed to reach this server
	// (see proto.MaxHops); Member sets it.
	Hops int
	// Rejoin says the client is coming back after losing its connection
	// or its node; Member sets it.
	Rejoin bool
	// WantVideo asks for an offer with video (docs/video.md): the client
	// then answers with a camera track and a screen track, and reads the
	// video slots.
	WantVideo bool
	// CameraLayers is how the camera is sent with WantVideo: 3 (or 0)
	// simulcast layers by RID (q, h, f), or 1 layer.
	CameraLayers int
	// OnWaiting, if set, is called when the room's lobby makes the
	// client wait for an organizer; Join then returns once admitted, or
	// ErrRefused.
	OnWaiting func(room proto.RoomInfo)
}

// ErrRefused is Join's answer when an organizer turned the client away
// from the room's lobby.
var ErrRefused = errors.New("palabre client: an organizer did not let you into the room")

// RedirectError is Join's answer when the room lives on another node of
// the server's cluster: join again at URL with Hops + 1 (Member does).
type RedirectError struct {
	URL    string // the node's public base URL
	Reason string // proto.RedirectElsewhere
}

func (e *RedirectError) Error() string {
	return "palabre client: the room is on another node: " + e.URL
}

// Join joins a room and returns the joined message. The server's offer is
// then answered in the background; WaitConnected waits for the media. A
// refusal is a *proto.Error (bad_password, room_full, …); a room hosted by
// another node of a cluster gives a *RedirectError.
func (c *Client) Join(ctx context.Context, req JoinRequest) (*proto.Message, error) {
	c.vslotsMu.Lock()
	c.join = joinVideo{want: req.WantVideo, layers: req.CameraLayers}
	c.vslotsMu.Unlock()
	m, err := c.Request(ctx, proto.Message{
		Type:      proto.TypeJoin,
		Room:      req.Room,
		Name:      req.Name,
		Password:  req.Password,
		Secret:    req.Secret,
		Hops:      req.Hops,
		Rejoin:    req.Rejoin,
		WantVideo: req.WantVideo,
	})
	if err != nil {
		return nil, err
	}
	if m.Type == proto.TypeRedirect {
		return nil, &RedirectError{URL: m.URL, Reason: m.Reason}
	}
	if m.Type == proto.TypeWaiting {
		if req.OnWaiting != nil && m.RoomInfo != nil {
			req.OnWaiting(*m.RoomInfo)
		}
		if m, err = c.waitAdmission(ctx); err != nil {
			return nil, err
		}
	}
	if m.Type != proto.TypeJoined {
		return nil, fmt.Errorf("palabre client: join answered by %q, want joined", m.Type)
	}
	return &m, nil
}

// waitAdmission waits in the lobby for the unsolicited joined (admitted)
// or refused.
func (c *Client) waitAdmission(ctx context.Context) (proto.Message, error) {
	select {
	case m := <-c.admission:
		if m.Type == proto.TypeRefused {
			return m, ErrRefused
		}
		return m, nil
	case <-c.done:
		return proto.Message{}, c.Err()
	case <-ctx.Done():
		return proto.Message{}, ctx.Err()
	}
}

// Self is this participant as of the joined message, kept up to date by
// the muted, hand and floor events. Zero before Join.
func (c *Client) Self() proto.Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// Joined returns the joined message, or nil before Join succeeded.
func (c *Client) Joined() *proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joined == nil {
		return nil
	}
	m := *c.joined
	return &m
}

// Welcome returns the server's welcome message (version, software).
func (c *Client) Welcome() proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// Request sends m with a fresh non-zero id and waits for the reply with
// that id. An error reply is returned as a *proto.Error; the reply message
// is returned too. If the connection ends first, the error is Err().
func (c *Client) Request(ctx context.Context, m proto.Message) (proto.Message, error) {
	id, ch, err := c.startRequest(m)
	if err != nil {
		return proto.Message{}, err
	}
	return c.awaitReply(ctx, id, ch)
}

func (c *Client) startRequest(m proto.Message) (uint32, chan proto.Message, error) {
	id := c.nextID.Add(1)
	if id == 0 { // wrapped around
		id = c.nextID.Add(1)
	}
	m.ID = id
	ch := make(chan proto.Message, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.Send(m); err != nil {
		c.dropPending(id)
		return 0, nil, err
	}
	return id, ch, nil
}

func (c *Client) awaitReply(ctx context.Context, id uint32, ch chan proto.Message) (proto.Message, error) {
	var reply proto.Message
	select {
	case reply = <-ch:
	case <-ctx.Done():
		c.dropPending(id)
		return proto.Message{}, ctx.Err()
	case <-c.done:
		// The reply may have arrived just before the connection ended.
		select {
		case reply = <-ch:
		default:
			c.dropPending(id)
			return proto.Message{}, c.Err()
		}
	}
	if reply.Type == proto.TypeError {
		return reply, &proto.Error{Code: reply.Code, Message: reply.Message}
	}
	return reply, nil
}

func (c *Client) dropPending(id uint32) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Send sends m as is (no id handling).
func (c *Client) Send(m proto.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.SendRaw(data)
}

// SendRaw sends data as one text message, valid JSON or not.
func (c *Client) SendRaw(data []byte) error {
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.WriteTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("palabre client: send: %w", err)
	}
	return nil
}

// Events returns every server message that is not the reply to a Request
// (offer and candidate included). When the buffer is full the oldest
// message is dropped (see DroppedEvents). The channel is closed after the
// WebSocket ends and the messages read before are delivered.
func (c *Client) Events() <-chan proto.Message { return c.events }

// DroppedEvents counts the events dropped because Events() was full.
func (c *Client) DroppedEvents() uint64 { return c.dropped.Load() }

// WaitEvent reads Events() until match returns true and returns that
// message; the messages read before it are discarded. It fails when ctx
// ends or the connection closed and no buffered event matched.
func (c *Client) WaitEvent(ctx context.Context, match func(proto.Message) bool) (proto.Message, error) {
	for {
		select {
		case m, ok := <-c.events:
			if !ok {
				return proto.Message{}, c.Err()
			}
			if match(m) {
				return m, nil
			}
		case <-ctx.Done():
			return proto.Message{}, ctx.Err()
		}
	}
}

// Done is closed when the WebSocket is closed (kicked, leave, server gone,
// flood, Close).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended; nil while it is open. A server close
// is a *ClosedError, which also unwraps to the *proto.Error the server sent
// just before closing (flood, unsupported_version), if any. After Close it
// is ErrClosed.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// ClosedError describes a connection the server (or the network) ended.
type ClosedError struct {
	Status websocket.StatusCode // -1 when no close frame was received
	Reason string               // close reason sent by the server
	// Last is the error the server sent (without a request id) as its
	// last message before closing, such as flood; nil otherwise.
	Last   *proto.Error
	Kicked *proto.Message // the kicked message, if the server sent one
	// Redirect is the redirect the server sent before closing, if the
	// room moved to another node: rejoin at Redirect.URL.
	Redirect *proto.Message
	Err      error // the underlying read error
}

func (e *ClosedError) Error() string {
	var b strings.Builder
	b.WriteString("palabre client: connection closed")
	if e.Status != -1 {
		fmt.Fprintf(&b, " by the server (status %d %s, reason %q)", int(e.Status), e.Status, e.Reason)
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Kicked != nil {
		fmt.Fprintf(&b, "; kicked by %q: %s", e.Kicked.By, e.Kicked.Message)
	}
	if e.Last != nil {
		fmt.Fprintf(&b, "; last error %s", e.Last)
	}
	return b.String()
}

// Unwrap returns the read error and the last protocol error.
func (e *ClosedError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Last != nil {
		errs = append(errs, e.Last)
	}
	return errs
}

// Close closes the WebSocket and the PeerConnection, stops publishing and
// waits for every goroutine of the client. It is safe to call twice.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.errOnce.Do(func() { c.err = ErrClosed })
		c.StopPublishing()
		if err := c.conn.Close(websocket.StatusNormalClosure, "client closed"); err != nil {
			c.log.Debug("websocket close", "err", err)
		}
		c.shutdown()
		c.wg.Wait()
	})
	return nil
}

// goStart registers one more goroutine unless the client is closing.
func (c *Client) goStart() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// shutdown ends the session: cancels the lifetime context and closes the
// PeerConnection, which stops every goroutine but the caller.
func (c *Client) shutdown() {
	c.shutdownOnce.Do(func() {
		c.cancel()
		c.closeMedia()
	})
}

// readLoop reads the server's messages until the WebSocket ends.
func (c *Client) readLoop() {
	defer c.wg.Done()
	var readErr error
	for {
		typ, data, err := c.conn.Read(c.ctx)
		if err != nil {
			readErr = err
			break
		}
		if typ != websocket.MessageText {
			c.log.Warn("ignoring a binary message from the server", "bytes", len(data))
			continue
		}
		var m proto.Message
		if err := json.Unmarshal(data, &m); err != nil {
			c.log.Warn("ignoring an invalid message from the server", "err", err, "bytes", len(data))
			continue
		}
		c.dispatch(m)
	}

	ce := &ClosedError{Status: websocket.CloseStatus(readErr), Err: readErr}
	var wce websocket.CloseError
	if errors.As(readErr, &wce) {
		ce.Reason = wce.Reason
	}
	c.mu.Lock()
	ce.Last, ce.Kicked, ce.Redirect = c.lastErr, c.kicked, c.redirect
	c.mu.Unlock()
	c.errOnce.Do(func() { c.err = ce })
	c.log.Debug("connection ended", "err", c.err)
	close(c.done)
	close(c.events)
	c.shutdown()
}

// dispatch routes one server message: replies to their Request, offers and
// candidates to the media handler, everything else to Events().
func (c *Client) dispatch(m proto.Message) {
	c.mu.Lock()
	switch m.Type {
	case proto.TypeJoined:
		jm := m
		c.joined = &jm
		if m.Self != nil {
			c.self = *m.Self
		}
	case proto.TypeMuted, proto.TypeHand:
		if p := m.Participant; p != nil && p.ID == c.self.ID && c.self.ID != "" {
			c.self.Muted, c.self.Hand, c.self.Floor, c.self.ChatMuted = p.Muted, p.Hand, p.Floor, p.ChatMuted
		}
	case proto.TypePresence:
		// A large room's batch may carry our own new record.
		if pr := m.Presence; pr != nil && c.self.ID != "" {
			for _, p := range pr.Changed {
				if p.ID == c.self.ID {
					c.self = p
				}
			}
		}
	case proto.TypeFloor:
		if c.self.ID != "" {
			c.self.Floor = false
			for _, id := range m.Floor {
				if id == c.self.ID {
					c.self.Floor = true
				}
			}
		}
	case proto.TypeKicked:
		km := m
		c.kicked = &km
	case proto.TypeVideoSlot:
		c.noteVideoSlot(m.Video)
	case proto.TypeRedirect:
		if m.ID == 0 {
			rm := m
			c.redirect = &rm
		}
	}
	var reply chan proto.Message
	if m.ID != 0 {
		reply = c.pending[m.ID]
		delete(c.pending, m.ID)
	}
	// Remember an error the server sends just before closing (flood…).
	if reply == nil && m.Type == proto.TypeError {
		c.lastErr = &proto.Error{Code: m.Code, Message: m.Message}
	} else {
		c.lastErr = nil
	}
	c.mu.Unlock()

	if reply != nil {
		reply <- m // buffered, one reply per id
		return
	}
	if (m.Type == proto.TypeJoined || m.Type == proto.TypeRefused) && m.ID == 0 {
		select {
		case c.admission <- m:
		default: // nobody waits: a second one is the server's mistake
		}
	}
	switch m.Type {
	case proto.TypeOffer, proto.TypeCandidate:
		c.toMedia(m)
	}
	c.pushEvent(m)
}

// pushEvent queues an event, dropping the oldest when the buffer is full.
// Only readLoop sends on c.events.
func (c *Client) pushEvent(m proto.Message) {
	for {
		select {
		case c.events <- m:
			return
		default:
		}
		select {
		case <-c.events:
			c.dropped.Add(1)
		default:
		}
	}
}
