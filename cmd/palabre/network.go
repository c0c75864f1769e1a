package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"palabre/turn"
)

// networkFlags are the serve flags about addresses, ports and TURN.
type networkFlags struct {
	mediaIP     string
	publicIPs   listFlag
	turnOn      bool
	turnPort    int
	turnTLSPort int
	tlsCert     string
	tlsKey      string
	turnSecret  string
	turnTTL     time.Duration
	relayPorts  string
	allowPeers  listFlag
	denyPeers   listFlag
}

func (n *networkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.mediaIP, "media-ip", "", "`address` the media ports and TURN relays bind to (default: the listen address if it is loopback, else all interfaces)")
	fs.Var(&n.publicIPs, "public-ip", "public `address` of a server behind 1:1 NAT, announced to clients (repeatable)")
	fs.BoolVar(&n.turnOn, "turn", true, "run the bundled TURN server, for participants behind restrictive networks")
	fs.IntVar(&n.turnPort, "turn-port", 3478, "TURN `port`, UDP and TCP")
	fs.IntVar(&n.turnTLSPort, "turn-tls-port", 0, "TURN over TLS `port` (needs --tls-cert and --tls-key; 0: off)")
	fs.StringVar(&n.tlsCert, "tls-cert", "", "certificate `file` (PEM): --listen then speaks HTTPS (and TURN over TLS can use it); reloaded when it changes")
	fs.StringVar(&n.tlsKey, "tls-key", "", "private key `file` (PEM) of --tls-cert")
	fs.StringVar(&n.turnSecret, "turn-secret", "", "shared `secret` of TURN credentials, the same on every node (default: derived from the cluster key on a cluster node, else generated once in the data directory)")
	fs.DurationVar(&n.turnTTL, "turn-ttl", turn.DefaultCredentialTTL, "how long the TURN credentials handed to a participant stay valid")
	fs.StringVar(&n.relayPorts, "turn-relay-ports", "49152-65535", "`range` of TURN relay ports")
	fs.Var(&n.allowPeers, "turn-allow-peer", "`CIDR` the relay may reach although the built-in policy refuses it (repeatable)")
	fs.Var(&n.denyPeers, "turn-deny-peer", "`CIDR` the relay must never reach, besides the built-in refusals (repeatable)")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// mediaBindIP is where media sockets bind: --media-ip, else the listen
// host when it is loopback (a laptop: nothing leaves the machine), else
// every interface.
func mediaBindIP(n networkFlags, listenHost string) (string, error) {
	if n.mediaIP != "" {
		if _, err := netip.ParseAddr(n.mediaIP); err != nil {
			return "", fmt.Errorf("--media-ip %q: %w", n.mediaIP, err)
		}
		return n.mediaIP, nil
	}
	if a, err := netip.ParseAddr(listenHost); err == nil && a.IsLoopback() {
		return listenHost, nil
	}
	if listenHost == "localhost" {
		return "127.0.0.1", nil
	}
	return "", nil
}

// startTURN starts the bundled TURN server for media bound at mediaIP.
func startTURN(n networkFlags, dataDir, mediaIP string, mediaPorts []int, log *slog.Logger) (*turn.Server, error) {
	secret := []byte(n.turnSecret)
	if len(secret) == 0 {
		var err error
		if secret, err = turn.LoadOrCreateSecret(dataDir); err != nil {
			return nil, err
		}
	}
	lo, hi, err := portRange(n.relayPorts)
	if err != nil {
		return nil, fmt.Errorf("--turn-relay-ports: %w", err)
	}
	cfg := turn.Config{
		ListenIP:     mediaIP,
		Port:         n.turnPort,
		TLSPort:      n.turnTLSPort,
		RelayIP:      mediaIP,
		PublicIPs:    n.publicIPs,
		RelayPortMin: lo,
		RelayPortMax: hi,
		Secret:       secret,
		OwnPorts:     mediaPorts,
		Logger:       log,
	}
	if a, err := netip.ParseAddr(cfg.RelayIP); (err != nil || a.IsUnspecified()) && len(n.publicIPs) == 0 {
		// Relays need a concrete address to announce.
		cfg.RelayIP = firstGlobalIP()
	}
	if n.turnTLSPort != 0 {
		if n.tlsCert == "" || n.tlsKey == "" {
			return nil, fmt.Errorf("--turn-tls-port needs --tls-cert and --tls-key")
		}
		certs, err := newCertReloader(n.tlsCert, n.tlsKey)
		if err != nil {
			return nil, err
		}
		cfg.TLSConfig = certs.tlsConfig()
	}
	for _, s := range n.allowPeers {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("--turn-allow-peer %q: %w", s, err)
		}
		cfg.AllowPeers = append(cfg.AllowPeers, p)
	}
	for _, s := range n.denyPeers {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("--turn-deny-peer %q: %w", s, err)
		}
		cfg.DenyPeers = append(cfg.DenyPeers, p)
	}
	cfg.OwnAddrs = ownAddrs(mediaIP, n.publicIPs)
	return turn.New(cfg)
}

// turnAt hands out TURN URLs naming the address TURN really listens on
// when that is known (a public IP, or a specific --media-ip), else the host
// the client reached the web server by (the same machine).
type turnAt struct {
	*turn.Server
	host string
}

func (t turnAt) URLs(requestHost string) []string {
	if t.host != "" {
		return t.Server.URLs(t.host)
	}
	return t.Server.URLs(requestHost)
}

func turnHost(mediaIP string, public []string) string {
	if len(public) > 0 {
		return public[0]
	}
	if a, err := netip.ParseAddr(mediaIP); err == nil && !a.IsUnspecified() {
		return mediaIP
	}
	return ""
}

func portRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		lo, err = strconv.Atoi(a)
		if err == nil {
			hi, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q: want LOW-HIGH within 1024-65535", s)
	}
	return lo, hi, nil
}

// ownAddrs are the addresses the SFU can be reached at: the relay may
// always send there.
func ownAddrs(mediaIP string, public []string) []netip.Addr {
	var out []netip.Addr
	if a, err := netip.ParseAddr(mediaIP); err == nil && !a.IsUnspecified() {
		out = append(out, a)
	} else {
		addrs, _ := net.InterfaceAddrs()
		for _, ia := range addrs {
			if p, err := netip.ParsePrefix(ia.String()); err == nil {
				out = append(out, p.Addr())
			}
		}
	}
	for _, s := range public {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// firstGlobalIP is this machine's first global unicast address, or "".
func firstGlobalIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().IsGlobalUnicast() && p.Addr().Is4() {
			return p.Addr().String()
		}
	}
	return ""
}
