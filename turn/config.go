package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults.
const (
	DefaultPort                  = 3478 // for the command line: Config.Port 0 picks a free port
	DefaultRelayPortMin          = 49152
	DefaultRelayPortMax          = 65535
	DefaultRealm                 = "palabre"
	DefaultMaxAllocationsPerUser = 10
	DefaultMaxAllocationsPerIP   = 30
	DefaultConnAuthTimeout       = 10 * time.Second
	// MinSecretLen is the shortest shared secret New accepts.
	MinSecretLen = 16
)

// Config configures the TURN server. The zero values of the optional fields
// select the defaults above.
type Config struct {
	// ListenIP is the address the TURN listeners bind to, e.g. "127.0.0.1"
	// or "0.0.0.0" ("" means "0.0.0.0"). An IPv4 address listens on IPv4
	// only; "::" listens on both families.
	ListenIP string
	// Port is the UDP and TCP port; 0 picks a free port, the same number for
	// UDP and TCP when possible (see UDPAddr and TCPAddr).
	Port int
	// TLSPort is the TURN-over-TLS port: 0 means no TLS, a negative value
	// picks a free port.
	TLSPort   int
	TLSConfig *tls.Config // needed when TLSPort != 0

	// RelayIP is the address relays bind to (the server's media IP); ""
	// means ListenIP. Relays are of RelayIP's address family only. It must
	// be a specific address unless PublicIPs gives one to announce.
	RelayIP string
	// PublicIPs are the addresses announced in XOR-RELAYED-ADDRESS when the
	// server is behind 1:1 NAT: the one of RelayIP's family is used (at most
	// one per family).
	PublicIPs []string
	// RelayPortMin and RelayPortMax bound the relay ports (default
	// 49152-65535).
	RelayPortMin, RelayPortMax int

	Realm string // default "palabre"
	// Secret is the shared secret of the ephemeral credentials (TURN REST
	// scheme), at least MinSecretLen bytes; all nodes of a cluster share it.
	Secret []byte

	// Relay policy (see Policy.PeerAllowed): peers in the built-in ranges
	// are refused unless allowed.
	AllowPeers []netip.Prefix // operator exceptions (--turn-allow-peer)
	DenyPeers  []netip.Prefix // extra refusals (--turn-deny-peer)
	OwnAddrs   []netip.Addr   // the server's own media addresses: always allowed (the SFU shares the host)
	// OwnPorts, if set, are the only ports relays may send to on OwnAddrs
	// (the SFU's media UDP port and ICE-TCP port). The TURN ports themselves
	// are never reachable through a relay.
	OwnPorts []int
	// TCPRelays allows RFC 6062 TCP relay allocations. Browsers never ask
	// for them, so they are off by default: less to attack.
	TCPRelays bool

	// Quotas; a negative value means unlimited.
	MaxAllocationsPerUser int // default 10, per credential id (the part of the username after the expiry)
	MaxAllocationsPerIP   int // default 30, per client source IP
	// MaxConnsPerIP caps the TCP and TLS connections of one client IP
	// (default twice MaxAllocationsPerIP, unlimited if that is).
	MaxConnsPerIP int
	// AllocationLifetime is the default allocation lifetime (pion's default,
	// 10 minutes, if 0).
	AllocationLifetime time.Duration

	// ConnAuthTimeout closes a TCP or TLS connection that carries no
	// allocation this long after it was accepted (TLS handshake included)
	// or after its allocation ended (default 10 s; negative: never).
	// Traffic does not extend it: a client has that long to allocate.
	ConnAuthTimeout time.Duration
	// ConnIdleTimeout closes a TCP or TLS connection that carries an
	// allocation when nothing was read from it or written to it for this
	// long (negative: never). The default is the longest lifetime an
	// allocation can get, the larger of AllocationLifetime and one hour
	// (pion grants requested lifetimes under an hour): an allocation that
	// lives is refreshed on its connection in time. A client that goes
	// silent loses its allocation after its lifetime anyway, and its
	// connection ConnAuthTimeout later.
	ConnIdleTimeout time.Duration

	Logger *slog.Logger
	// LogInterval is how often, at most, a kind of repeated event (auth
	// failures, refused allocations…) is logged: the first at once, the
	// others counted into one summary line per interval (default 10 s).
	// Stats counts every one.
	LogInterval time.Duration
	Now         func() time.Time // for tests; nil = time.Now
}

// maxAllocationLifetime is the longest lifetime pion grants to a client
// that asks for one (RFC 8656 recommends an hour); longer requests get
// AllocationLifetime.
const maxAllocationLifetime = time.Hour

// settings is a Config with its defaults applied and addresses parsed.
type settings struct {
	Config
	listenIP, relayIP, announceIP netip.Addr
}

func (c Config) settings() (settings, error) {
	s := settings{Config: c}
	var err error
	if c.ListenIP == "" {
		s.ListenIP = "0.0.0.0"
	}
	if s.listenIP, err = netip.ParseAddr(s.ListenIP); err != nil {
		return s, fmt.Errorf("turn: ListenIP: %w", err)
	}
	s.listenIP = s.listenIP.WithZone("").Unmap()
	if c.RelayIP == "" {
		s.relayIP = s.listenIP
	} else if s.relayIP, err = netip.ParseAddr(c.RelayIP); err != nil {
		return s, fmt.Errorf("turn: RelayIP: %w", err)
	}
	s.relayIP = s.relayIP.WithZone("").Unmap()
	s.announceIP = s.relayIP
	found := false
	for _, p := range c.PublicIPs {
		ip, err := netip.ParseAddr(p)
		if err != nil {
			return s, fmt.Errorf("turn: PublicIPs: %w", err)
		}
		ip = ip.WithZone("").Unmap()
		if ip.Is4() != s.relayIP.Is4() {
			continue
		}
		if found {
			return s, errors.New("turn: PublicIPs: more than one address of RelayIP's family")
		}
		s.announceIP, found = ip, true
	}
	if len(c.PublicIPs) > 0 && !found {
		return s, fmt.Errorf("turn: PublicIPs: none of RelayIP's family (%s)", s.relayIP)
	}
	if s.announceIP.IsUnspecified() {
		return s, errors.New("turn: RelayIP must be a specific address (it is announced to clients), or give PublicIPs")
	}

	if c.Port < 0 || c.Port > 65535 || c.TLSPort > 65535 {
		return s, errors.New("turn: port out of range")
	}
	if c.TLSPort != 0 && c.TLSConfig == nil {
		return s, errors.New("turn: TLSPort needs a TLSConfig")
	}
	if s.RelayPortMin == 0 {
		s.RelayPortMin = DefaultRelayPortMin
	}
	if s.RelayPortMax == 0 {
		s.RelayPortMax = DefaultRelayPortMax
	}
	if s.RelayPortMin < 1 || s.RelayPortMax > 65535 || s.RelayPortMin > s.RelayPortMax {
		return s, fmt.Errorf("turn: bad relay port range %d-%d", s.RelayPortMin, s.RelayPortMax)
	}
	for _, p := range c.OwnPorts {
		if p < 1 || p > 65535 {
			return s, fmt.Errorf("turn: OwnPorts: bad port %d", p)
		}
	}
	if s.Realm == "" {
		s.Realm = DefaultRealm
	}
	if len(c.Secret) < MinSecretLen {
		return s, fmt.Errorf("turn: Secret must be at least %d bytes", MinSecretLen)
	}
	s.Secret = append([]byte(nil), c.Secret...)
	for _, p := range append(append([]netip.Prefix(nil), c.AllowPeers...), c.DenyPeers...) {
		if !p.IsValid() {
			return s, errors.New("turn: invalid prefix in AllowPeers or DenyPeers")
		}
	}

	s.MaxAllocationsPerUser = orDefault(c.MaxAllocationsPerUser, DefaultMaxAllocationsPerUser)
	s.MaxAllocationsPerIP = orDefault(c.MaxAllocationsPerIP, DefaultMaxAllocationsPerIP)
	if c.MaxConnsPerIP == 0 {
		s.MaxConnsPerIP = -1
		if s.MaxAllocationsPerIP > 0 {
			s.MaxConnsPerIP = 2 * s.MaxAllocationsPerIP
		}
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.ConnAuthTimeout == 0 {
		s.ConnAuthTimeout = DefaultConnAuthTimeout
	}
	if s.ConnIdleTimeout == 0 {
		s.ConnIdleTimeout = max(s.AllocationLifetime, maxAllocationLifetime)
	}
	if s.LogInterval <= 0 {
		s.LogInterval = DefaultLogInterval
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
