package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"palabre/server"
	"palabre/signaling"
)

// serveFlags are the settings of palabre serve: most go straight into
// server.Options, the rest need parsing first.
type serveFlags struct {
	o          server.Options
	configFile string
	logLevel   string
	logFormat  string
	joinRate   float64
	loadTest   bool
	relayPorts string
	memLimit   string
	publicIPs  listFlag
	proxies    listFlag
	allowPeers listFlag
	denyPeers  listFlag
	join       listFlag
	// source says where each setting came from (see applyConfig); nil
	// means every flag has its default.
	source map[string]string
}

// newServeFlags declares every setting of palabre serve, with the
// defaults of server.Defaults.
func newServeFlags(stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	d := server.Defaults()
	f := &serveFlags{o: d}
	o := &f.o
	fs := newFlagSet("serve", "serve [flags]",
		"Runs the server. With no flags it listens on http://127.0.0.1:8080, carries media on\nUDP 127.0.0.1:8080 and ICE-TCP 8081, runs TURN on 3478 and keeps its data in ./palabre-data.")
	fs.SetOutput(stderr)
	fs.StringVar(&f.configFile, "config", "", "TOML `file` of settings named like these flags (env PALABRE_CONFIG); flags and PALABRE_* variables win over it")
	fs.StringVar(&o.Listen, "listen", d.Listen, "HTTP and WebSocket listen `address`")
	fs.StringVar(&o.DataDir, "data", d.DataDir, "`directory` for rooms and state (created if missing)")
	fs.IntVar(&o.MediaPort, "media-port", d.MediaPort, "UDP `port` carrying all media (default: the listen port)")
	fs.IntVar(&o.MediaTCPPort, "media-tcp-port", d.MediaTCPPort, "TCP `port` for ICE-TCP, for participants who can only use TCP (default: the listen port + 1; 0 turns it off)")
	fs.IntVar(&o.Slots, "slots", d.Slots, "audio slots per participant: how many voices each one hears at once (1-8)")
	fs.IntVar(&o.VideoSlots, "video-slots", d.VideoSlots, "camera slots per participant that wants video: how many cameras each one sees at once (1-9; 0: no video)")
	fs.BoolVar(&o.AdhocRooms, "adhoc-rooms", d.AdhocRooms, "joining an unknown room creates an open ephemeral room")
	fs.StringVar(&o.PublicURL, "public-url", "", "base `URL` of links given to organizers (default: from each request)")
	fs.StringVar(&o.CreateToken, "create-token", "", "if set, creating rooms over the API needs this bearer `token`")
	fs.Float64Var(&f.joinRate, "join-rate", server.DefaultJoinRate, "joins per second allowed from one address (bursts of 5× that); raise it for load tests")
	fs.IntVar(&o.PerAddress.Unjoined, "max-unjoined-per-address", signaling.DefaultUnjoinedPerAddress, "WebSocket connections one address may hold open without joining a room")
	fs.IntVar(&o.PerAddress.Participants, "max-participants-per-address", signaling.DefaultParticipantsPerAddress, "participants one address may have in rooms at once (a school behind one NAT counts as one address); raise it for load tests")
	fs.IntVar(&o.PerAddress.AdhocRooms, "max-adhoc-rooms-per-address", signaling.DefaultAdhocRoomsPerAddress, "live ad-hoc rooms one address may have opened")
	fs.BoolVar(&f.loadTest, "load-test", false, "lift the per-address limits (joins, connections, participants, ad-hoc rooms) for a load test run from one machine; never on a public server")
	fs.StringVar(&o.AdminListen, "admin-listen", "", "if set, an admin listener at `ADDR` serves /metrics (then off the public port) and Go's pprof profiles under /debug/pprof/ (keep it on loopback or a private network)")
	fs.StringVar(&o.TLS.ACMEEmail, "acme-email", "", "get the HTTPS certificate for --public-url's name from Let's Encrypt (ACME, TLS-ALPN-01 and HTTP-01 on :80), with this contact `address`")
	fs.BoolVar(&o.TLS.LAN, "lan", false, "serve HTTPS with a self-signed certificate (kept in the data directory) for a quick meeting on a local network; prints its fingerprint")
	fs.BoolVar(&o.LogIPs, "log-ips", false, "log participants' IP addresses (off by default: Palabre collects nothing about the people using it)")
	f.registerNetwork(fs, d)
	f.registerCluster(fs, d)
	fs.Var(&f.proxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (repeatable)")
	fs.StringVar(&f.memLimit, "memory-limit", "auto", "soft memory `limit` of the Go runtime: auto (75 % of the machine's or the cgroup's memory), off, or a size such as 2GiB; GOMEMLIMIT wins")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "auto", "text, json, or auto: text on a terminal, JSON otherwise")
	return fs, f
}

// registerNetwork declares the flags about addresses, ports and TURN.
func (f *serveFlags) registerNetwork(fs *flag.FlagSet, d server.Options) {
	o := &f.o
	fs.StringVar(&o.MediaIP, "media-ip", "", "`address` the media ports and TURN relays bind to (default: the listen address if it is loopback, else all interfaces)")
	fs.Var(&f.publicIPs, "public-ip", "public `address` of a server behind 1:1 NAT, announced to clients (repeatable)")
	fs.BoolVar(&o.TURN.Enabled, "turn", d.TURN.Enabled, "run the bundled TURN server, for participants behind restrictive networks")
	fs.IntVar(&o.TURN.Port, "turn-port", d.TURN.Port, "TURN `port`, UDP and TCP")
	fs.IntVar(&o.TURN.TLSPort, "turn-tls-port", 0, "TURN over TLS `port` (needs --tls-cert and --tls-key; 0: off)")
	fs.StringVar(&o.TLS.CertFile, "tls-cert", "", "certificate `file` (PEM): --listen then speaks HTTPS (and TURN over TLS can use it); reloaded when it changes")
	fs.StringVar(&o.TLS.KeyFile, "tls-key", "", "private key `file` (PEM) of --tls-cert")
	fs.StringVar(&o.TURN.Secret, "turn-secret", "", "shared `secret` of TURN credentials, the same on every node (default: derived from the cluster key on a cluster node, else generated once in the data directory)")
	fs.DurationVar(&o.TURN.TTL, "turn-ttl", d.TURN.TTL, "how long the TURN credentials handed to a participant stay valid")
	fs.StringVar(&f.relayPorts, "turn-relay-ports", fmt.Sprintf("%d-%d", d.TURN.RelayPortMin, d.TURN.RelayPortMax), "`range` of TURN relay ports")
	fs.Var(&f.allowPeers, "turn-allow-peer", "`CIDR` the TURN relay may reach, and clients' ICE candidates may name, although the built-in policy refuses it (repeatable)")
	fs.Var(&f.denyPeers, "turn-deny-peer", "`CIDR` the relay must never reach, besides the built-in refusals (repeatable)")
}

// registerCluster declares the flags of a cluster node.
func (f *serveFlags) registerCluster(fs *flag.FlagSet, d server.Options) {
	c := &f.o.Cluster
	fs.StringVar(&c.Bind, "cluster-bind", "", "gossip `address` (TCP and UDP, e.g. 0.0.0.0:7946): makes this server a cluster node")
	fs.StringVar(&c.Advertise, "cluster-advertise", "", "gossip `address` the other nodes reach this one at, if not --cluster-bind's")
	fs.Var(&f.join, "cluster-join", "gossip `address` of a node of the cluster to join (repeatable)")
	fs.StringVar(&c.KeyFile, "cluster-key-file", "", "`file` holding the cluster's key (palabre cluster keygen): encrypts gossip; nodes without it cannot join")
	fs.BoolVar(&c.Insecure, "cluster-insecure", false, "allow a cluster without a key: gossip in clear, anyone reaching the port may join (closed test networks only)")
	fs.BoolVar(&c.WAN, "cluster-wan", false, "tune failure detection for nodes spread across the Internet (slower, more tolerant)")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's `id` in the cluster (default: generated once and kept in the data directory)")
	fs.StringVar(&c.Region, "region", "", "free-text `region` shown in palabre cluster nodes")
	fs.Float64Var(&c.Capacity, "capacity", d.Cluster.Capacity, "this node's share of new rooms, relative to the others (2 takes twice as many)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", d.Cluster.DrainTimeout, "on SIGTERM or palabre drain, how long a cluster node waits for its rooms to move to other nodes before it exits")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// options translates the flags into server options. Its errors name the
// flag and the value.
func (f *serveFlags) options() (server.Options, error) {
	o := f.o
	o.PublicIPs = append([]string(nil), f.publicIPs...)
	o.Cluster.Join = append([]string(nil), f.join...)
	if f.joinRate <= 0 {
		return o, fmt.Errorf("--join-rate %g: must be more than 0", f.joinRate)
	}
	o.Admission.JoinsPerSecond, o.Admission.JoinBurst = f.joinRate, max(1, int(5*f.joinRate))
	for _, l := range []struct {
		flag string
		v    int
	}{
		{"max-unjoined-per-address", o.PerAddress.Unjoined},
		{"max-participants-per-address", o.PerAddress.Participants},
		{"max-adhoc-rooms-per-address", o.PerAddress.AdhocRooms},
	} {
		if l.v < 1 {
			return o, fmt.Errorf("--%s %d: must be at least 1", l.flag, l.v)
		}
	}
	if f.loadTest {
		const lifted = 1 << 30
		o.Admission.JoinsPerSecond, o.Admission.JoinBurst = max(o.Admission.JoinsPerSecond, 10000), max(o.Admission.JoinBurst, 50000)
		o.PerAddress = signaling.AddressLimits{Unjoined: lifted, Participants: lifted, AdhocRooms: lifted}
	}
	lo, hi, err := portRange(f.relayPorts)
	if err != nil {
		return o, fmt.Errorf("--turn-relay-ports %s: %w", f.relayPorts, err)
	}
	o.TURN.RelayPortMin, o.TURN.RelayPortMax = lo, hi
	prefixes := []struct {
		flag string
		in   listFlag
		out  *[]netip.Prefix
	}{
		{"trusted-proxy", f.proxies, &o.TrustedProxies},
		{"turn-allow-peer", f.allowPeers, &o.TURN.AllowPeers},
		{"turn-deny-peer", f.denyPeers, &o.TURN.DenyPeers},
	}
	for _, p := range prefixes {
		*p.out = nil
		for _, s := range p.in {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return o, fmt.Errorf("--%s %s: want an address range such as 10.0.0.0/8", p.flag, s)
			}
			*p.out = append(*p.out, pfx)
		}
	}
	return o, f.checkCombinations()
}

// checkCombinations refuses flags that need others, in the flags' words
// (Start would refuse them too, in Options' words).
func (f *serveFlags) checkCombinations() error {
	o := f.o
	modes := 0
	for _, on := range []bool{o.TLS.CertFile != "" || o.TLS.KeyFile != "", o.TLS.ACMEEmail != "", o.TLS.LAN} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return errors.New("choose one of --tls-cert/--tls-key, --acme-email and --lan")
	case (o.TLS.CertFile == "") != (o.TLS.KeyFile == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.TURN.Enabled && o.TURN.TLSPort != 0 && o.TLS.CertFile == "":
		return fmt.Errorf("--turn-tls-port %d needs --tls-cert and --tls-key", o.TURN.TLSPort)
	case o.TLS.ACMEEmail != "" && !acmeName(o.PublicURL):
		return errors.New("--acme-email needs --public-url https://NAME (the DNS name to get a certificate for, not an address)")
	case o.Cluster.Bind == "" && (len(f.join) > 0 || o.Cluster.KeyFile != ""):
		return errors.New("--cluster-join and --cluster-key-file need --cluster-bind (this server is not a cluster node without it)")
	}
	return nil
}

// acmeName reports whether publicURL names a host ACME can certify.
func acmeName(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil
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
		return 0, 0, errors.New("want LOW-HIGH within 1024-65535")
	}
	return lo, hi, nil
}
