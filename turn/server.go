package turn

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"palabre/internal/pionlog"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

// closeTimeout bounds how long Close waits for pion to let go of its sockets.
const closeTimeout = 5 * time.Second

// Server is the bundled TURN server.
type Server struct {
	log         *slog.Logger
	now         func() time.Time
	secret      []byte
	realm       string
	policy      Policy
	ownPorts    []int
	listenPorts []int // the TURN ports, never reachable through a relay to an own address
	tcpRelays   bool

	quotas  *quotas
	tracker *tracker
	stats   counters
	relays  sync.Map // netip.AddrPort of each live UDP relay socket (IsRelay)

	// Repeated events, logged in bounded volume.
	authLog, quotaLog, connLog, peerLog, deadlineLog *eventLog

	pion    *pturn.Server
	tlsLn   *tlsListener
	udpAddr *net.UDPAddr
	tcpAddr *net.TCPAddr
	tlsAddr *net.TCPAddr

	closeOnce sync.Once
	closeErr  error
}

// New starts the UDP and TCP listeners (and TLS when TLSPort != 0).
func New(cfg Config) (*Server, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	s := &Server{
		log:    set.Logger.With("component", "turn"),
		now:    set.Now,
		secret: set.Secret,
		realm:  set.Realm,
		policy: Policy{
			Allow: append([]netip.Prefix(nil), set.AllowPeers...),
			Deny:  append([]netip.Prefix(nil), set.DenyPeers...),
			Own:   append([]netip.Addr(nil), set.OwnAddrs...),
		},
		ownPorts:  append([]int(nil), set.OwnPorts...),
		tcpRelays: set.TCPRelays,
		quotas:    newQuotas(set.MaxAllocationsPerUser, set.MaxAllocationsPerIP),
	}
	s.authLog = newEventLog(s.log, set.LogInterval, authFailures)
	s.quotaLog = newEventLog(s.log, set.LogInterval, quotaRefusals)
	s.connLog = newEventLog(s.log, set.LogInterval, connRefusals)
	s.peerLog = newEventLog(s.log, set.LogInterval, peerRefusals)
	s.deadlineLog = newEventLog(s.log, set.LogInterval, deadlineCloses)
	s.tracker = newTracker(connLimits{
		maxPerIP:    set.MaxConnsPerIP,
		authTimeout: set.ConnAuthTimeout,
		idleTimeout: set.ConnIdleTimeout,
		onRefused: func(remote net.Addr) {
			s.stats.connsRefused.Add(1)
			s.connLog.add("per_ip", addrIP(remote), "client", remote)
		},
		onExpired: s.connExpired,
	})

	udp, tcp, err := listenPair(set.listenIP, set.Port)
	if err != nil {
		return nil, err
	}
	udpConn := newTrackedPacketConn(udp, s.tracker)
	tcpLn := newTrackedListener(tcp, s.tracker, true)
	s.tracker.add(udpConn)
	s.tracker.add(tcpLn)
	s.udpAddr = udp.LocalAddr().(*net.UDPAddr)
	s.tcpAddr = tcp.Addr().(*net.TCPAddr)
	s.listenPorts = []int{s.udpAddr.Port, s.tcpAddr.Port}

	if set.TLSPort != 0 {
		_, tcpNet := networks(set.listenIP)
		port := max(set.TLSPort, 0)
		raw, err := net.Listen(tcpNet, net.JoinHostPort(set.listenIP.String(), strconv.Itoa(port)))
		if err != nil {
			s.abort()
			return nil, err
		}
		inner := newTrackedListener(raw, s.tracker, true)
		s.tracker.add(inner)
		tlsCfg := set.TLSConfig.Clone()
		tlsCfg.MinVersion = max(tlsCfg.MinVersion, tls.VersionTLS12)
		s.tlsLn = newTLSListener(inner, tlsCfg)
		s.tlsAddr = raw.Addr().(*net.TCPAddr)
		s.listenPorts = append(s.listenPorts, s.tlsAddr.Port)
	}

	gen := &relayGenerator{
		inner: &pturn.RelayAddressGeneratorPortRange{
			RelayAddress: set.announceIP.AsSlice(),
			Address:      set.relayIP.String(),
			MinPort:      uint16(set.RelayPortMin), //nolint:gosec // checked in settings
			MaxPort:      uint16(set.RelayPortMax), //nolint:gosec // checked in settings
			MaxRetries:   min(set.RelayPortMax-set.RelayPortMin+1, 32),
		},
		bind:      set.relayIP,
		announce:  set.announceIP,
		tcpRelays: set.TCPRelays,
		s:         s,
	}
	listeners := []pturn.ListenerConfig{{Listener: tcpLn, RelayAddressGenerator: gen, PermissionHandler: s.permissionHandler}}
	if s.tlsLn != nil {
		listeners = append(listeners, pturn.ListenerConfig{Listener: s.tlsLn, RelayAddressGenerator: gen, PermissionHandler: s.permissionHandler})
	}
	s.pion, err = pturn.NewServer(pturn.ServerConfig{
		PacketConnConfigs:  []pturn.PacketConnConfig{{PacketConn: udpConn, RelayAddressGenerator: gen, PermissionHandler: s.permissionHandler}},
		ListenerConfigs:    listeners,
		LoggerFactory:      pionlog.Factory(s.log),
		Realm:              s.realm,
		AuthHandler:        s.authHandler,
		QuotaHandler:       s.quotaHandler,
		EventHandler:       s.eventHandler(),
		AllocationLifetime: set.AllocationLifetime,
		// Relays are of RelayIP's family only. With an IPv4 relay, a client
		// that names no family gets IPv4 (RFC 6156) even when it reached a
		// dual-stack listener over IPv6; otherwise pion would follow the
		// client's family and fail.
		StrictAddressFamily: set.relayIP.Is4(),
	})
	if err != nil {
		s.abort()
		return nil, err
	}
	s.log.Info("turn: listening", "udp", s.udpAddr, "tcp", s.tcpAddr, "tls", s.tlsAddr,
		"relay", set.relayIP, "announce", set.announceIP,
		"relay_ports", strconv.Itoa(set.RelayPortMin)+"-"+strconv.Itoa(set.RelayPortMax))
	return s, nil
}

// abort closes what New opened before pion took over.
func (s *Server) abort() {
	s.closeLogs()
	if s.tlsLn != nil {
		_ = s.tlsLn.Close()
	}
	s.tracker.shutdown(closeTimeout)
	if s.tlsLn != nil {
		s.tlsLn.wait()
	}
}

// Close stops the listeners, closes every connection and relay, and returns
// once pion has let go of them.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.pion.Close()
		if !s.tracker.shutdown(closeTimeout) {
			s.log.Warn("turn: close timed out waiting for connections and relays")
		}
		if s.tlsLn != nil {
			s.tlsLn.wait()
		}
		s.closeLogs()
		s.log.Info("turn: closed")
	})
	return s.closeErr
}

// closeLogs reports the events counted and not yet logged.
func (s *Server) closeLogs() {
	for _, l := range []*eventLog{s.authLog, s.quotaLog, s.connLog, s.peerLog, s.deadlineLog} {
		l.close()
	}
}

// UDPAddr is the address of the UDP listener.
func (s *Server) UDPAddr() *net.UDPAddr { return s.udpAddr }

// TCPAddr is the address of the TCP listener.
func (s *Server) TCPAddr() *net.TCPAddr { return s.tcpAddr }

// TLSAddr is the address of the TLS listener, nil without TLS.
func (s *Server) TLSAddr() *net.TCPAddr { return s.tlsAddr }

// Policy returns the relay policy in force.
func (s *Server) Policy() Policy {
	return Policy{
		Allow: slices.Clone(s.policy.Allow),
		Deny:  slices.Clone(s.policy.Deny),
		Own:   slices.Clone(s.policy.Own),
	}
}

// URLs returns the ICE server URLs for clients that reach the server as host
// (a name or an address, with or without brackets or port):
// "turn:HOST:PORT?transport=udp", "turn:HOST:PORT?transport=tcp", and
// "turns:HOST:TLSPORT?transport=tcp" when TLS is on.
func (s *Server) URLs(host string) []string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	hp := func(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
	urls := []string{
		"turn:" + hp(s.udpAddr.Port) + "?transport=udp",
		"turn:" + hp(s.tcpAddr.Port) + "?transport=tcp",
	}
	if s.tlsAddr != nil {
		urls = append(urls, "turns:"+hp(s.tlsAddr.Port)+"?transport=tcp")
	}
	return urls
}

// authHandler gives pion the key of a TURN REST username. pion checks the
// request's MESSAGE-INTEGRITY with it afterwards and reports a mismatch
// (wrong password) through EventHandler.OnAuth.
//
// There is deliberately no per-source failure budget that would refuse a
// source after a few failures: the password is an HMAC-SHA1 of the
// username, which cannot be guessed online whatever the rate, while such a
// budget lets anyone lock others out (fill its table from many addresses,
// or, over UDP, spend a victim's budget with spoofed datagrams). A valid
// credential is always served; failures are counted and logged in bounded
// volume.
func (s *Server) authHandler(ra *pturn.RequestAttributes) (userID string, key []byte, ok bool) {
	if ra.Realm != s.realm {
		s.authFailed(ra.SrcAddr, ra.Username, "wrong_realm", ra.Method.String())
		return "", nil, false
	}
	id, err := parseUsername(ra.Username, s.now())
	if err != nil {
		reason := "malformed_username"
		if errors.Is(err, errExpiredUsername) {
			reason = "expired_username"
		}
		s.authFailed(ra.SrcAddr, ra.Username, reason, ra.Method.String())
		return "", nil, false
	}
	return id, pturn.GenerateAuthKey(ra.Username, ra.Realm, restPassword(s.secret, ra.Username)), true
}

// authFailed counts and logs a refused credential; reason is one of
// wrong_password, wrong_realm, malformed_username, expired_username.
func (s *Server) authFailed(src net.Addr, username, reason, method string) {
	s.stats.authFailures.Add(1)
	if len(username) > 64 {
		username = username[:64] + "…"
	}
	// Client addresses and credential ids only at debug: Palabre logs
	// nothing about the people using it by default.
	s.authLog.add(reason, addrIP(src), "client", src, "username", username, "method", method)
}

// quotaHandler reserves an allocation slot for userID from srcAddr.
func (s *Server) quotaHandler(userID, _ string, srcAddr net.Addr) bool {
	ok, which := s.quotas.reserve(userID, addrIP(srcAddr), s.now())
	if !ok {
		s.stats.quotaRefused.Add(1)
		s.quotaLog.add(which, addrIP(srcAddr), "client", srcAddr, "user", userID)
	}
	return ok
}

// permissionHandler applies the relay policy to CreatePermission,
// ChannelBind and Connect requests.
func (s *Server) permissionHandler(clientAddr net.Addr, peerIP net.IP) bool {
	addr, _ := netip.AddrFromSlice(peerIP)
	if s.policy.PeerAllowed(addr) {
		return true
	}
	s.stats.permissionsRefused.Add(1)
	s.peerLog.add("policy", addrIP(clientAddr), "client", clientAddr, "peer", peerIP)
	return false
}

// connExpired counts and logs a client connection closed by its clock.
func (s *Server) connExpired(remote net.Addr, why timeout) {
	reason := "no_allocation"
	if why == idleDue {
		reason = "idle"
		s.stats.connsClosedIdle.Add(1)
	} else {
		s.stats.connsClosedNoAllocation.Add(1)
	}
	s.deadlineLog.add(reason, addrIP(remote), "client", remote)
}

func (s *Server) eventHandler() pturn.EventHandler {
	return pturn.EventHandler{
		OnAuth: func(src, dst net.Addr, _, username, _, method string, verdict bool) {
			if !verdict {
				s.authFailed(src, username, "wrong_password", method)
				return
			}
			// An authenticated ConnectionBind turns the connection into an
			// RFC 6062 data connection: it carries no allocation of its
			// own but lives under the idle deadline. pion does not say
			// whether the bind then succeeds; if not, the client (who
			// holds valid credentials) keeps a connection that the idle
			// deadline and the per-address cap bound. Without TCP relays
			// no bind can succeed, and the deadline stays.
			if s.tcpRelays && method == stun.MethodConnectionBind.String() {
				if c := s.tracker.client(src, dst); c != nil {
					c.clock.bound(c.Conn, time.Now())
				}
			}
		},
		OnAllocationCreated: func(src, dst net.Addr, _, userID, _ string, relay net.Addr, _ int) {
			if c := s.tracker.client(src, dst); c != nil {
				c.clock.allocated(c.Conn, time.Now())
			}
			s.quotas.created(userID, addrIP(src))
			s.stats.allocations.Add(1)
			s.stats.allocationsTotal.Add(1)
			s.log.Debug("turn: allocation created", "client", src, "user", userID, "relay", relay)
		},
		OnAllocationDeleted: func(src, dst net.Addr, _, userID, _ string) {
			if c := s.tracker.client(src, dst); c != nil {
				c.clock.released(c.Conn, time.Now())
			}
			s.quotas.deleted(userID, addrIP(src))
			s.stats.allocations.Add(-1)
			s.log.Debug("turn: allocation deleted", "client", src, "user", userID)
		},
	}
}
