package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"palabre/sfu/rtc"
)

// MaxSlots is the largest number of downstream audio slots per participant.
const MaxSlots = 8

// DefaultSlots is the number of slots when Config.Slots is 0.
const DefaultSlots = 3

const (
	opusPayloadType = 111
	opusClockRate   = 48000
	audioLevelURI   = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	absSendTimeURI  = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	streamID        = "palabre"
)

// Errors returned by the Engine, its rooms and participants.
var (
	ErrRoomClosed  = errors.New("sfu: room closed")
	ErrDuplicateID = errors.New("sfu: participant id already in the room")
	ErrNotInRoom   = errors.New("sfu: participant is not in this room")
	// ErrNotConnected: the floor goes only to a participant whose media
	// connection is up (a silent holder would keep everyone else quiet).
	ErrNotConnected     = errors.New("sfu: the participant's media connection is not up")
	ErrAnswered         = errors.New("sfu: answer already set")
	ErrConnectionFailed = errors.New("sfu: media connection failed")
	ErrConnectionClosed = errors.New("sfu: media connection closed by the peer")
)

// Config configures an Engine.
type Config struct {
	// MediaAddr is the UDP "host:port" for all media, e.g. "127.0.0.1:8080";
	// port 0 picks a free port. Empty means "127.0.0.1:0".
	MediaAddr string
	// MediaTCPAddr, if set, is the TCP "host:port" where ICE-TCP is
	// accepted (RFC 6544 passive candidates, one port for everyone), for
	// participants whose networks let only TCP out. Port 0 picks a free port.
	MediaTCPAddr string
	// Slots is the number of downstream audio slots per participant:
	// 0 means DefaultSlots, at most MaxSlots.
	Slots int
	// VideoSlots is the number of downstream camera slots offered to a
	// participant that wants video (docs/video.md), at most MaxVideoSlots;
	// 0: no video, every offer is audio only.
	VideoSlots int
	// PublicIPs are optional 1:1 NAT addresses announced instead of the
	// local address in host candidates.
	PublicIPs []string
	// AllowRemote lists remote ICE address ranges accepted although the
	// built-in policy refuses them. A server whose announced address is
	// public accepts only public remote addresses (candidates and the
	// sources of checks; the ranges are the TURN relay policy's); a server
	// on a private address also accepts private ones; neither accepts
	// loopback, link-local or multicast. The server's own addresses are
	// always accepted (its bundled TURN relay). Example: the LAN prefix of
	// clients that reach a public server directly.
	AllowRemote []netip.Prefix
	// Logger receives the Engine's logs (and pion's); nil means slog.Default().
	Logger *slog.Logger

	forcePublic bool // tests: judge remote addresses as a public server does
}

// Engine is the media plane of one node: one UDP port (and one ICE-TCP
// port) shared by every participant's connection, and the live rooms.
type Engine struct {
	log        *slog.Logger
	slots      int
	videoSlots int
	loopback   bool
	policy     *addrPolicy // remote ICE addresses (policy.go)

	openTransport OpenTransport // RTCOpener(rtc); tests may change it
	rtc           *rtc.Engine
	batches       batchPool    // the batches of fan-outs (plane_rtc.go)
	relayCheck    atomic.Value // func(netip.AddrPort) bool, see SetRelayCheck

	start      time.Time // monotonic clock origin for nanotime
	nextSource atomic.Uint32
	stats      counters

	mu     sync.Mutex
	rooms  map[*Room]struct{}
	closed bool
	wg     sync.WaitGroup // failure clean-ups
}

// NewEngine binds the media socket and prepares the WebRTC stack.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	slots := cfg.Slots
	switch {
	case slots == 0:
		slots = DefaultSlots
	case slots < 0 || slots > MaxSlots:
		return nil, fmt.Errorf("sfu: %d slots: must be 1..%d", slots, MaxSlots)
	}
	if cfg.VideoSlots < 0 || cfg.VideoSlots > MaxVideoSlots {
		return nil, fmt.Errorf("sfu: %d video slots: must be 0..%d", cfg.VideoSlots, MaxVideoSlots)
	}
	addrStr := cfg.MediaAddr
	if addrStr == "" {
		addrStr = "127.0.0.1:0"
	}
	addr, err := net.ResolveUDPAddr("udp", addrStr)
	if err != nil {
		return nil, fmt.Errorf("sfu: media address: %w", err)
	}
	return newRTCPlane(cfg, log, slots, addr)
}

// nanotime is a monotonic clock in nanoseconds since the Engine started.
func (e *Engine) nanotime() int64 { return int64(time.Since(e.start)) }

func (e *Engine) newSource() uint32 {
	for {
		if s := e.nextSource.Add(1); s != 0 {
			return s
		}
	}
}

// MediaAddr is the bound UDP address of the media socket.
func (e *Engine) MediaAddr() *net.UDPAddr { return net.UDPAddrFromAddrPort(e.rtc.Addr()) }

// MediaTCPAddr is the ICE-TCP listener's address, or nil without ICE-TCP.
func (e *Engine) MediaTCPAddr() *net.TCPAddr {
	if ap := e.rtc.TCPAddr(); ap.IsValid() {
		return net.TCPAddrFromAddrPort(ap)
	}
	return nil
}

// SetRelayCheck gives the Engine a way to tell that a remote address is a
// relay of the node's bundled TURN server: the participants it carries are
// then counted as relayed (Stats.ConnectedRelay).
func (e *Engine) SetRelayCheck(f func(netip.AddrPort) bool) { e.relayCheck.Store(f) }

func (e *Engine) isRelay(ap netip.AddrPort) bool {
	f, _ := e.relayCheck.Load().(func(netip.AddrPort) bool)
	return f != nil && f(ap)
}

// Slots is the number of downstream audio slots of every participant.
func (e *Engine) Slots() int { return e.slots }

// VideoSlots is the number of camera slots offered to participants that
// want video; 0: the Engine carries no video.
func (e *Engine) VideoSlots() int { return e.videoSlots }

// Stats returns the counters summed over all rooms.
func (e *Engine) Stats() Stats {
	s := e.stats.snapshot()
	{
		// What the rtc plane refused before it reached the forwarding
		// logic: the same reasons the pion plane's guard counts.
		rs := e.rtc.Stats()
		s.DropUnknownSSRC += rs.DropSSRC
		s.DropFlood += rs.DropFlood
		s.DropUnknownSource += rs.DropUnknownAddr
		s.DropICECheck += rs.DropUnknownUfrag + rs.DropBadIntegrity + rs.DropAddress
		s.DropTCP += rs.DropTCP
	}
	e.mu.Lock()
	rooms := make([]*Room, 0, len(e.rooms))
	for r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	s.Rooms = len(rooms)
	for _, r := range rooms {
		s.Participants += r.Len()
	}
	return s
}

// NewRoom creates a live room. obs may be nil.
func (e *Engine) NewRoom(settings RoomSettings, obs Observer) *Room {
	r := newRoom(e, settings, obs)
	e.mu.Lock()
	if e.closed {
		r.closed = true
	} else {
		e.rooms[r] = struct{}{}
	}
	e.mu.Unlock()
	return r
}

func (e *Engine) removeRoom(r *Room) {
	e.mu.Lock()
	delete(e.rooms, r)
	e.mu.Unlock()
}

// spawn runs f in a goroutine that Close waits for.
func (e *Engine) spawn(f func()) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		go f() // Close is already waiting for the participant through its room
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// Close closes every room and participant, then the media socket. When it
// returns, every goroutine the Engine started has ended.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	rooms := make([]*Room, 0, len(e.rooms))
	for r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()

	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Close()
		}()
	}
	wg.Wait()
	e.wg.Wait()
	err := e.closeMuxes()
	e.log.Info("media engine closed")
	return err
}

func (e *Engine) closeMuxes() error { return e.rtc.Close() }
