package sfu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"palabre/internal/pionlog"
	"palabre/sfu/rtc"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// tcpFirstCheckTimeout is how long an ICE-TCP connection may take to send
// its first check (pion's default is 30 s).
const tcpFirstCheckTimeout = 5 * time.Second

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
	// Plane is the media plane participants' connections are made on:
	// PlaneRTC (empty: the default) or PlanePion.
	Plane Plane
	// Logger receives the Engine's logs (and pion's); nil means slog.Default().
	Logger *slog.Logger

	forcePublic bool // tests: judge remote addresses as a public server does
}

// Plane is a media plane: what participants' connections are made of.
type Plane string

const (
	// PlaneRTC: Palabre's own transport on pion's primitives (package
	// sfu/rtc): ICE-lite, one reader for the media socket, no goroutine
	// per participant, sendmmsg fan-outs.
	PlaneRTC Plane = "rtc"
	// PlanePion: one pion PeerConnection per participant, on a shared UDP
	// mux (the first media plane; kept while the rtc plane proves itself).
	PlanePion Plane = "pion"
)

// Engine is the media plane of one node: one UDP port (and one ICE-TCP
// port) shared by every participant's connection, and the live rooms.
type Engine struct {
	log        *slog.Logger
	slots      int
	videoSlots int
	conn       *net.UDPConn
	mux        *ice.UDPMuxDefault
	tcpLn      *net.TCPListener // nil without ICE-TCP
	tcpMux     ice.TCPMux
	loopback   bool
	policy     *addrPolicy // remote ICE addresses (policy.go)
	guard      *guard      // what reaches pion from the network (guard.go)

	openTransport OpenTransport // openPion or RTCOpener(rtc)
	plane         Plane
	rtc           *rtc.Engine  // PlaneRTC
	batches       batchPool    // PlaneRTC: the batches of fan-outs (plane_rtc.go)
	relayCheck    atomic.Value // func(netip.AddrPort) bool, see SetRelayCheck

	settings webrtc.SettingEngine // template; each participant gets a copy
	media    *webrtc.MediaEngine  // copied by pion for every PeerConnection
	registry *interceptor.Registry

	start      time.Time // monotonic clock origin for nanotime
	nextSource atomic.Uint32
	stats      counters

	mu     sync.Mutex
	rooms  map[*Room]struct{}
	cert   *webrtc.Certificate
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
	switch cfg.Plane {
	case "", PlaneRTC:
		return newRTCPlane(cfg, log, slots, addr)
	case PlanePion:
	default:
		return nil, fmt.Errorf("sfu: media plane %q: must be %q or %q", cfg.Plane, PlaneRTC, PlanePion)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("sfu: media socket: %w", err)
	}
	// Every participant's media goes through this one socket: give it room
	// for bursts (best effort, capped by the kernel's rmem_max/wmem_max).
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	local := conn.LocalAddr().(*net.UDPAddr)
	e := &Engine{
		log:        log.With("component", "sfu"),
		slots:      slots,
		videoSlots: cfg.VideoSlots,
		conn:       conn,
		loopback:   local.IP.IsLoopback(),
		policy:     newAddrPolicy(cfg, local),
		start:      time.Now(),
		rooms:      make(map[*Room]struct{}),
		plane:      PlanePion,
	}
	e.openTransport = openPion
	e.guard = newGuard(e.policy, &e.stats, e.nanotime)
	pionLogs := pionlog.Factory(e.log)
	e.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{
		UDPConn: &guardedUDP{UDPConn: conn, g: e.guard},
		Logger:  pionLogs.NewLogger("udpmux"),
	})
	if cfg.MediaTCPAddr != "" {
		taddr, err := net.ResolveTCPAddr("tcp", cfg.MediaTCPAddr)
		if err == nil {
			e.tcpLn, err = net.ListenTCP("tcp", taddr)
		}
		if err != nil {
			_ = e.mux.Close()
			return nil, fmt.Errorf("sfu: media TCP socket: %w", err)
		}
		// As webrtc.NewICETCPMux, with the guard under it and less time
		// for a connection to send its first check.
		e.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:             &guardedListener{Listener: e.tcpLn, g: e.guard},
			Logger:               pionLogs.NewLogger("tcpmux"),
			ReadBufferSize:       32,
			WriteBufferSize:      4 << 20,
			FirstStunBindTimeout: tcpFirstCheckTimeout,
		})
	}

	if err := e.setup(cfg, pionLogs); err != nil {
		e.closeMuxes()
		return nil, err
	}
	if _, err := e.certificate(); err != nil {
		e.closeMuxes()
		return nil, err
	}
	tcp := ""
	if e.tcpLn != nil {
		tcp = e.tcpLn.Addr().String()
	}
	e.log.Info("media engine started", "addr", local.String(), "tcp", tcp, "slots", slots, "video_slots", e.videoSlots, "loopback_only", e.loopback)
	return e, nil
}

// setup builds the SettingEngine template, the MediaEngine and the
// interceptor registry shared by every participant.
func (e *Engine) setup(cfg Config, logs logging.LoggerFactory) error {
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetICEUDPMux(e.mux)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if e.tcpMux != nil {
		se.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	// ICE-TCP is passive only: clients connect to the one TCP port, the
	// server never dials the TCP candidates a client names.
	se.DisableActiveTCP(true)
	// Remote candidates (trickled, in the answer, or learned from checks)
	// outside the address policy are ignored by ICE; AddCandidate refuses
	// them with an error first, the guard drops checks from them.
	se.SetRemoteIPFilter(e.policy.allowedIP)
	// Idle participants must be cheap: each ICE agent wakes up at the
	// shortest of these intervals to send a keepalive. pion's defaults (2 s
	// keepalive, 5 s disconnected) cost ~150 µs of CPU per participant per
	// second on an idle server; consent checks every 5 s (RFC 7675 asks for
	// about that) cut it by more than half. Browsers keep sending their own
	// checks, so a live peer is never silent for 15 s.
	se.SetICETimeouts(15*time.Second, 30*time.Second, 5*time.Second)
	if e.loopback {
		// Loopback media: offer loopback candidates only and never talk to
		// anything else, whatever the remote side announces.
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(cfg.PublicIPs) > 0 && !e.loopback {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return fmt.Errorf("sfu: public IPs: %w", err)
		}
	}
	e.settings = se

	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:     webrtc.MimeTypeOpus,
			ClockRate:    opusClockRate,
			Channels:     2,
			SDPFmtpLine:  "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}},
		},
		PayloadType: opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	if e.videoSlots > 0 {
		if err := registerVideo(m); err != nil {
			return err
		}
	}
	e.media = m

	// No pion interceptors: they would cost goroutines and timers per
	// PeerConnection for nothing when idle, allocations per packet read,
	// and packet copies per slot of every subscriber (NACK responder).
	// nack.go, nackgen.go and reports.go do their jobs from the media path.
	// The registry must exist, or pion installs its defaults.
	reg := &interceptor.Registry{}
	e.registry = reg
	return nil
}

// api builds the pion API of one participant: the shared settings plus a
// buffer factory bound to that participant's transport (see buffers.go) and the ICE
// credentials the guard knows it by.
func (e *Engine) api(t *pionTransport, ufrag, pwd string) *webrtc.API {
	se := e.settings
	se.BufferFactory = t.newBuffer
	se.SetICECredentials(ufrag, pwd)
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(e.media),
		webrtc.WithInterceptorRegistry(e.registry),
	)
}

// certificate returns the DTLS certificate shared by all PeerConnections,
// renewed a day before it expires. Generating one per PeerConnection would
// cost a key generation per join.
func (e *Engine) certificate() (webrtc.Certificate, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cert == nil || time.Until(e.cert.Expires()) < 24*time.Hour {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return webrtc.Certificate{}, err
		}
		cert, err := webrtc.GenerateCertificate(key)
		if err != nil {
			return webrtc.Certificate{}, err
		}
		e.cert = cert
	}
	return *e.cert, nil
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
func (e *Engine) MediaAddr() *net.UDPAddr {
	if e.rtc != nil {
		return net.UDPAddrFromAddrPort(e.rtc.Addr())
	}
	return e.conn.LocalAddr().(*net.UDPAddr)
}

// MediaTCPAddr is the ICE-TCP listener's address, or nil without ICE-TCP.
func (e *Engine) MediaTCPAddr() *net.TCPAddr {
	if e.rtc != nil {
		return e.rtcTCPAddr()
	}
	if e.tcpLn == nil {
		return nil
	}
	return e.tcpLn.Addr().(*net.TCPAddr)
}

// Plane is the media plane the Engine's participants are on.
func (e *Engine) Plane() Plane { return e.plane }

// SetRelayCheck gives the Engine a way to tell that a remote address is a
// relay of the node's bundled TURN server: the participants it carries are
// then counted as relayed (Stats.ConnectedRelay). The pion plane knows it
// from the ICE candidate types and ignores f.
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
	if e.rtc != nil {
		// What the rtc plane refused before it reached the forwarding
		// logic: the same reasons the pion plane's guard counts.
		rs := e.rtc.Stats()
		s.DropUnknownSSRC += rs.DropSSRC
		s.DropFlood += rs.DropFlood
		s.DropUnknownSource += rs.DropUnknownAddr
		s.DropICECheck += rs.DropUnknownUfrag + rs.DropBadIntegrity + rs.DropAddress
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

func (e *Engine) closeMuxes() error {
	if e.rtc != nil {
		return e.rtc.Close()
	}
	if e.tcpMux != nil {
		_ = e.tcpMux.Close()
		_ = e.tcpLn.Close()
	}
	return e.mux.Close()
}
