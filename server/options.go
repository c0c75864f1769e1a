package server

import (
	"log/slog"
	"net"
	"net/netip"
	"palabre/sfu"
	"time"

	"palabre/admission"
	"palabre/rooms"
	"palabre/signaling"
	"palabre/turn"
)

// Port values with a meaning of their own.
const (
	// PortFromListen makes a media port follow the HTTP listen port: UDP
	// media takes the same number, ICE-TCP the next one (none when the
	// listen port is 0).
	PortFromListen = -1
	// AnyPort lets the system pick a free port where 0 means "off"
	// (ICE-TCP, TURN over TLS).
	AnyPort = -2
)

// Defaults of the settings whose zero value means nothing.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultDataDir      = "palabre-data"
	DefaultSoftware     = "palabre"
	DefaultJoinRate     = 20 // joins per second from one address
	DefaultDrainTimeout = 30 * time.Second
)

// Options are the settings of one server. Defaults returns those of
// "palabre serve" without flags. Start gives the fields whose zero value
// means nothing (Listen, DataDir, Software, Logger, Slots, the TURN TTL
// and relay ports, the drain timeout) their default; the zero value of
// the others is meaningful: port 0 is a free port, false is off.
type Options struct {
	// Listen is the HTTP and WebSocket listen address.
	Listen string
	// Listener, if set, is used instead of listening on Listen. Start
	// takes it over: Close closes it.
	Listener net.Listener
	// DataDir holds the rooms, the TURN secret, the node id, the admin
	// token hashes and the certificates Start makes (created if missing).
	DataDir string
	// Software is what the server calls itself to clients ("palabre/1.2").
	Software string
	Logger   *slog.Logger

	// MediaIP is the address the media ports and TURN relays bind to.
	// Empty: the listen host when it is loopback, else every interface.
	MediaIP string
	// MediaPort is the UDP port of all media: PortFromListen, 0 for a
	// free port, or a port.
	MediaPort int
	// MediaTCPPort is the ICE-TCP port: PortFromListen, 0 for none,
	// AnyPort, or a port.
	MediaTCPPort int
	// PublicIPs are announced to clients instead of the local address
	// when the server is behind 1:1 NAT.
	PublicIPs []string
	// Slots is how many voices each participant hears at once (1..8).
	Slots int
	// VideoSlots is how many cameras a participant that wants video sees
	// at once (1..9; docs/video.md); 0: the server carries no video.
	VideoSlots int

	// AdhocRooms lets a join to an unknown room create an open ephemeral one.
	AdhocRooms bool
	// PublicURL is the base URL of links and, on a cluster node, where
	// participants are redirected to. Empty: from each request (and, on a
	// cluster node listening on a specific address, from the listener).
	PublicURL string
	// CreateToken, if set, is needed to create rooms over the API.
	CreateToken string
	// Admission holds the join and password-guess limits; zero fields take
	// admission's defaults.
	Admission admission.GuardConfig
	// PasswordHash is argon2id's cost; zero: the production parameters.
	PasswordHash rooms.HashParams
	// MaxAdhocRooms caps the ad-hoc rooms held at once; zero: the rooms
	// package's default.
	MaxAdhocRooms int
	// PerAddress bounds what one client address may hold at once
	// (connections not yet in a room, participants, ad-hoc rooms); zero
	// fields take signaling's defaults. The load tester, which runs every
	// participant from one address, needs them raised.
	PerAddress signaling.AddressLimits
	// UnjoinedTimeout is how long a connection may stay open without
	// joining a room; zero: 30 s.
	UnjoinedTimeout time.Duration
	// BodyTimeout bounds the reading of an API request's body; zero: 10 s.
	BodyTimeout time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers
	// are believed.
	TrustedProxies []netip.Prefix
	// LogIPs logs participants' addresses (off: nothing about people).
	LogIPs bool
	// AdminListen, if set, serves Go's pprof profiles there.
	AdminListen string

	TLS     TLSOptions
	TURN    TURNOptions
	Cluster ClusterOptions
}

// TLSOptions choose how the listener speaks HTTPS: at most one of
// certificate files, ACME and a self-signed LAN certificate; none is
// plain HTTP (localhost, or behind a reverse proxy).
type TLSOptions struct {
	// CertFile and KeyFile are PEM files, read again when they change.
	CertFile, KeyFile string
	// ACMEEmail gets the certificate for PublicURL's name from Let's
	// Encrypt (TLS-ALPN-01, and HTTP-01 on port 80).
	ACMEEmail string
	// LAN serves a self-signed certificate made once in DataDir.
	LAN bool
}

// TURNOptions configure the bundled TURN server.
type TURNOptions struct {
	Enabled bool
	// Port is the UDP and TCP port; 0 picks a free one.
	Port int
	// TLSPort is the TURN-over-TLS port (0: none; AnyPort: a free one);
	// it needs TLS.CertFile and TLS.KeyFile.
	TLSPort int
	// Secret of the credentials; empty: derived from the cluster key on a
	// cluster node, else generated once in DataDir.
	Secret string
	// TTL is how long a participant's credentials stay valid.
	TTL time.Duration
	// RelayPortMin and RelayPortMax bound the relay ports (1024..65535).
	RelayPortMin, RelayPortMax int
	// AllowPeers and DenyPeers change the built-in relay policy.
	AllowPeers, DenyPeers []netip.Prefix
}

// ClusterOptions make the server a cluster node when Bind is set.
type ClusterOptions struct {
	// Bind is the gossip address (TCP and UDP).
	Bind string
	// Advertise is the gossip address the others reach this node at, if
	// not Bind.
	Advertise string
	// Join are gossip addresses of nodes to join.
	Join []string
	// KeyFile holds the key that encrypts gossip.
	KeyFile string
	// Insecure allows gossip in clear, without a key.
	Insecure bool
	// WAN tunes failure detection for nodes across the Internet.
	WAN bool
	// NodeID is this node's id; empty: generated once and kept in DataDir.
	NodeID string
	Region string
	// Capacity is this node's share of new rooms (default 1).
	Capacity float64
	// DrainTimeout bounds how long Drain waits for rooms to move.
	DrainTimeout time.Duration
}

// Defaults returns the settings of "palabre serve" without flags: HTTP on
// 127.0.0.1:8080, media on UDP 8080 and ICE-TCP 8081, TURN on 3478,
// ad-hoc rooms, data in ./palabre-data.
func Defaults() Options {
	return Options{
		Listen:       DefaultListen,
		DataDir:      DefaultDataDir,
		Software:     DefaultSoftware,
		MediaPort:    PortFromListen,
		MediaTCPPort: PortFromListen,
		Slots:        3,
		VideoSlots:   sfu.DefaultVideoSlots,
		AdhocRooms:   true,
		Admission:    admission.GuardConfig{JoinsPerSecond: DefaultJoinRate, JoinBurst: 5 * DefaultJoinRate},
		TURN: TURNOptions{
			Enabled:      true,
			Port:         turn.DefaultPort,
			TTL:          turn.DefaultCredentialTTL,
			RelayPortMin: turn.DefaultRelayPortMin,
			RelayPortMax: turn.DefaultRelayPortMax,
		},
		Cluster: ClusterOptions{Capacity: 1, DrainTimeout: DefaultDrainTimeout},
	}
}

// withDefaults fills the fields whose zero value means nothing.
func (o Options) withDefaults() Options {
	d := Defaults()
	if o.Listen == "" && o.Listener == nil {
		o.Listen = d.Listen
	}
	if o.DataDir == "" {
		o.DataDir = d.DataDir
	}
	if o.Software == "" {
		o.Software = d.Software
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Slots == 0 {
		o.Slots = d.Slots
	}
	if o.TURN.TTL == 0 {
		o.TURN.TTL = d.TURN.TTL
	}
	if o.TURN.RelayPortMin == 0 && o.TURN.RelayPortMax == 0 {
		o.TURN.RelayPortMin, o.TURN.RelayPortMax = d.TURN.RelayPortMin, d.TURN.RelayPortMax
	}
	if o.Cluster.Capacity == 0 {
		o.Cluster.Capacity = d.Cluster.Capacity
	}
	if o.Cluster.DrainTimeout == 0 {
		o.Cluster.DrainTimeout = d.Cluster.DrainTimeout
	}
	return o
}
