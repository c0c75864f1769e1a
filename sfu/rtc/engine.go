package rtc

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"palabre/internal/pionlog"

	"github.com/pion/logging"
)

// Config configures an Engine.
type Config struct {
	// Addr is the UDP "host:port" of the shared media socket; port 0 picks
	// a free one. Empty means "127.0.0.1:0". One address family per engine.
	Addr string
	// ClientAddr is the local IP the client mode's sockets bind to (Dial);
	// empty means the IP of Addr.
	ClientAddr string
	// Certificate is the DTLS certificate of every connection; nil means a
	// fresh self-signed ECDSA P-256 one.
	Certificate *tls.Certificate
	// AllowRemote, if set, judges the source address of a valid check from
	// an address the connection does not know yet: false refuses it (the
	// server's address policy: no private addresses for a public server…).
	AllowRemote func(netip.Addr) bool
	// TCPAddr, if set, is the "host:port" where ICE-TCP (passive, RFC
	// 6544) is accepted; port 0 picks a free one. MaxTCP bounds the
	// streams open at once (0: 1024).
	TCPAddr string
	MaxTCP  int
	// Announce, if set, are the IPs the host candidates carry instead of
	// the bound address (1:1 NAT, or a socket bound to all interfaces),
	// each with the sockets' ports.
	Announce []netip.Addr
	// Logger gets the engine's logs (pion's DTLS logs at debug level);
	// nil means slog.Default().
	Logger *slog.Logger

	// Tests: called with every DTLS datagram a connection is about to send;
	// true drops it.
	dropDTLS func(c *Conn, p []byte) bool
	timing   timing // zero fields: the defaults
}

// timing is the engine's timeouts (tests shorten them).
type timing struct {
	connect, disconnect, consent, grace, switchAfter, tcpFirst time.Duration
}

// Engine is one node's WebRTC transport: one UDP socket shared by every
// server connection, one reader goroutine per socket, one timer wheel.
type Engine struct {
	log *slog.Logger
	// The certificate (with its fingerprint) of new connections, renewed
	// a day before it expires unless it was given (Config.Certificate).
	certMu    sync.Mutex
	cert      *engineCert
	ownedCert bool
	sock      *socket      // the shared socket (server connections)
	tcp       *tcpListener // ICE-TCP; nil without
	announce  []netip.Addr
	local     netip.AddrPort
	cip       netip.Addr // client sockets' IP
	wheel     *wheel
	start     time.Time
	stats     counters

	dropDTLS func(c *Conn, p []byte) bool
	pionLogs logging.LoggerFactory // pion's DTLS logs, at debug level
	allow    func(netip.Addr) bool
	timing   timing

	mu      sync.RWMutex
	byUfrag map[string]*Conn         // server connections by local ufrag
	byAddr  map[netip.AddrPort]*Conn // server connections by validated remote address
	conns   map[*Conn]struct{}       // every live connection
	closed  bool
	wg      sync.WaitGroup // readers and handshakes
}

// Errors of the engine and its connections.
var (
	ErrClosed    = errors.New("rtc: closed")
	ErrNotReady  = errors.New("rtc: not connected")
	ErrTooLarge  = errors.New("rtc: packet too large")
	errNoAddress = errors.New("rtc: no remote address yet")
)

// NewEngine binds the media socket and starts its reader and the wheel.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	addrStr := cfg.Addr
	if addrStr == "" {
		addrStr = "127.0.0.1:0"
	}
	ap, err := netip.ParseAddrPort(addrStr)
	if err != nil {
		return nil, fmt.Errorf("rtc: media address: %w", err)
	}
	var cert *engineCert
	if cfg.Certificate != nil {
		cert, err = certOf(*cfg.Certificate)
	} else {
		cert, err = newEngineCert()
	}
	if err != nil {
		return nil, fmt.Errorf("rtc: certificate: %w", err)
	}
	e := &Engine{
		log:       log.With("component", "rtc"),
		cert:      cert,
		ownedCert: cfg.Certificate == nil,
		start:     time.Now(),
		dropDTLS:  cfg.dropDTLS,
		allow:     cfg.AllowRemote,
		timing: timing{
			connect:     cmp.Or(cfg.timing.connect, defaultConnectTimeout),
			disconnect:  cmp.Or(cfg.timing.disconnect, defaultDisconnectAfter),
			consent:     cmp.Or(cfg.timing.consent, defaultConsentTimeout),
			grace:       cmp.Or(cfg.timing.grace, defaultDTLSGrace),
			switchAfter: cmp.Or(cfg.timing.switchAfter, defaultSwitchAfter),
			tcpFirst:    cmp.Or(cfg.timing.tcpFirst, defaultTCPFirstCheck),
		},
		pionLogs: pionlog.Factory(log.With("component", "rtc")),
		byUfrag:  make(map[string]*Conn),
		byAddr:   make(map[netip.AddrPort]*Conn),
		conns:    make(map[*Conn]struct{}),
	}
	e.cip = ap.Addr()
	if cfg.ClientAddr != "" {
		if e.cip, err = netip.ParseAddr(cfg.ClientAddr); err != nil {
			return nil, fmt.Errorf("rtc: client address: %w", err)
		}
	}
	s, err := e.listen(ap, serverBuffer)
	if err != nil {
		return nil, fmt.Errorf("rtc: media socket: %w", err)
	}
	// Every participant's media goes through this one socket: room for
	// bursts (best effort, capped by the kernel's rmem_max/wmem_max).
	_ = s.conn.SetReadBuffer(4 << 20)
	_ = s.conn.SetWriteBuffer(4 << 20)
	e.sock = s
	e.local = s.local
	for _, a := range cfg.Announce {
		e.announce = append(e.announce, a.Unmap())
	}
	if cfg.TCPAddr != "" {
		if err := e.listenTCP(cfg.TCPAddr, cfg.MaxTCP); err != nil {
			_ = s.conn.Close()
			return nil, fmt.Errorf("rtc: ICE-TCP socket: %w", err)
		}
	}
	e.wheel = newWheel(e.now).start()
	e.startReader(s)
	if e.tcp != nil {
		e.spawn(e.accept)
	}
	e.log.Info("rtc engine started", "addr", e.local.String())
	return e, nil
}

// now is the engine's monotonic clock, in nanoseconds since it started.
func (e *Engine) now() int64 { return int64(time.Since(e.start)) }

// Addr is the shared socket's address (the host candidate's).
func (e *Engine) Addr() netip.AddrPort { return e.local }

// Fingerprint is the sha-256 fingerprint of the certificate of the
// connections made now.
func (e *Engine) Fingerprint() Fingerprint { return e.certificate().fp }

// certificate is the certificate of a new connection, renewed first if it
// expires within a day (a connection keeps the one it was made with).
func (e *Engine) certificate() *engineCert {
	e.certMu.Lock()
	defer e.certMu.Unlock()
	if e.ownedCert && time.Until(e.cert.expires) < 24*time.Hour {
		if c, err := newEngineCert(); err == nil {
			e.cert = c
		} else {
			e.log.Error("renewing the DTLS certificate", "err", err)
		}
	}
	return e.cert
}

// Candidate is the host candidate of the shared socket, for offers.
func (e *Engine) Candidate() Candidate { return e.Candidates()[0] }

// Candidates are the host candidates of offers: the UDP socket's, then
// ICE-TCP's (passive, lower priority), for each announced IP (or the
// bound one).
func (e *Engine) Candidates() []Candidate {
	ips := e.announce
	if len(ips) == 0 {
		ips = []netip.Addr{e.local.Addr()}
	}
	var cs []Candidate
	for i, ip := range ips {
		cs = append(cs, Candidate{
			Foundation: strconv.Itoa(1 + 2*i), Component: 1, Protocol: "udp",
			Priority: 2130706431 - uint32(i), Addr: netip.AddrPortFrom(ip, e.local.Port()), Type: "host",
		})
		if e.tcp != nil {
			cs = append(cs, Candidate{
				Foundation: strconv.Itoa(2 + 2*i), Component: 1, Protocol: "tcp",
				Priority: 1015022079 - uint32(i), Addr: netip.AddrPortFrom(ip, e.tcp.local.Port()), Type: "host", TCPType: "passive",
			})
		}
	}
	return cs
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	s := e.stats.snapshot()
	e.mu.RLock()
	s.Conns = len(e.conns)
	e.mu.RUnlock()
	return s
}

// Close closes every connection, the sockets and the wheel. When it
// returns, every goroutine the engine started has ended.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	conns := make([]*Conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if e.tcp != nil {
		e.tcp.closeAll()
	}
	err := e.sock.conn.Close()
	e.wg.Wait()
	e.wheel.close()
	e.log.Info("rtc engine closed")
	return err
}

// add registers a new connection (its ufrag for a server one).
func (e *Engine) add(c *Conn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if !c.client {
		if _, taken := e.byUfrag[c.ufrag]; taken {
			return errors.New("rtc: ufrag taken")
		}
		e.byUfrag[c.ufrag] = c
	}
	e.conns[c] = struct{}{}
	return nil
}

// remove forgets a connection: its ufrag and the addresses it owns.
func (e *Engine) remove(c *Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byUfrag[c.ufrag] == c {
		delete(e.byUfrag, c.ufrag)
	}
	for i := range c.naddrs {
		if ap := c.addrs[i].ap; e.byAddr[ap] == c { // (seen is the reader's)
			delete(e.byAddr, ap)
		}
	}
	delete(e.conns, c)
}

// spawn runs f in a goroutine Close waits for; false if the engine closed.
func (e *Engine) spawn(f func()) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// udpAddr converts once, for the batch writer (which takes a net.Addr).
func udpAddr(ap netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(ap) }
