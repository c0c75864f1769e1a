package rtc

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
)

// State is a connection's state.
type State int32

// The states, in the order a connection goes through them. Failed and
// Closed are final: the connection is then out of the engine.
const (
	StateNew          State = iota // created, nothing heard yet
	StateChecking                  // ICE: a valid check came (server) or was sent (client); DTLS under way
	StateConnected                 // SRTP keys are set: media flows
	StateDisconnected              // no consent for disconnectAfter; back to Connected with the next check
	StateFailed                    // no consent for consentTimeout, never connected, or DTLS failed
	StateClosed                    // closed by Close or by the peer (DTLS close_notify)
)

func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateChecking:
		return "checking"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Timing. The server is ICE-lite: it sends no checks, it answers the
// client's (browsers send one every 2.5 s to 5 s on the selected pair, the
// consent freshness of RFC 7675) and judges the connection by them.
const (
	defaultConnectTimeout  = 30 * time.Second // from creation to SRTP keys
	defaultDisconnectAfter = 10 * time.Second // without a valid check
	defaultConsentTimeout  = 30 * time.Second // RFC 7675: consent expires after 30 s
	// dtlsGrace is how long, at most, a DTLS server keeps its handshake
	// after it completed, to send its last flight again if the client
	// says it lost it (by sending its own again). Any SRTP or SRTCP from
	// the client ends it earlier: the client had the last flight.
	defaultDTLSGrace = 30 * time.Second
	// defaultSwitchAfter: a valid check without USE-CANDIDATE from another
	// address moves the media there only if the selected address has been
	// silent this long (the path broke, or a NAT rebound the client's
	// port): longer than a consent check's interval (Firefox: about 5 s),
	// so that checks of a backup pair do not move a live path.
	defaultSwitchAfter = 6 * time.Second
	// Client mode: checks every checkInterval once connected (Chromium's
	// pace on a stable pair), every retransmitInterval until the first answer.
	checkInterval      = 2500 * time.Millisecond
	retransmitInterval = 200 * time.Millisecond
)

// Bounds on what one connection's peer may make the engine keep.
const (
	// maxAddrs is the number of remote addresses a connection receives
	// from at once (a browser's checks come from its host, reflexive and
	// relayed candidates); the least recently heard one makes room.
	maxAddrs = 4
	// New addresses: a burst of newAddrBurst (a browser's host, reflexive
	// and relayed candidates, both families), then one per newAddrEvery (a
	// network change; each new address is one more host the server
	// answers, so an attacker with the password gets few).
	newAddrBurst = 8
	newAddrEvery = 10 * time.Second
	// maxSSRCs RTP and maxSSRCs RTCP sender SSRCs per connection: those
	// announced in the description first, then the first ones seen.
	maxSSRCs = 16
)

// Handler receives a connection's packets and events. Its methods are
// called from the engine's goroutines (a reader for packets: the UDP
// socket's or an ICE-TCP stream's, one packet of a connection at a time;
// a reader, the wheel or a handshake for states) and must not block: the
// UDP reader serves every connection of its socket.
type Handler interface {
	// HandleRTP gets a decrypted RTP packet: p parsed (header, payload
	// without padding) and raw, the whole packet. Both are the reader's
	// and valid only during the call: copy what must be kept.
	HandleRTP(c *Conn, p *rtp.Packet, raw []byte)
	// HandleRTCP gets a decrypted compound RTCP packet, valid only during
	// the call.
	HandleRTCP(c *Conn, pkt []byte)
	// StateChanged tells a new state. Failed and Closed come once, last.
	StateChanged(c *Conn, s State)
}

// Remote is what a connection needs of the peer's description.
type Remote struct {
	Ufrag, Pwd  string
	Fingerprint Fingerprint
	// Setup is the peer's DTLS role as its description says: active means
	// the peer is the DTLS client.
	Setup Setup
	// SSRCs the peer announced: accepted first (see maxSSRCs).
	SSRCs []uint32
}

// RemoteFrom takes the Remote out of a parsed description.
func RemoteFrom(d *Description) Remote {
	r := Remote{Ufrag: d.Ufrag, Pwd: d.Pwd, Fingerprint: d.Fingerprint, Setup: d.Setup}
	for _, m := range d.Media {
		for _, s := range m.SSRCs {
			if len(r.SSRCs) < maxSSRCs {
				r.SSRCs = append(r.SSRCs, s)
			}
		}
	}
	return r
}

// path is the selected remote address, immutable once published: a UDP
// address, or an ICE-TCP stream (tcp; ap is its remote address).
type path struct {
	ap  netip.AddrPort
	udp *net.UDPAddr // for the batch writer, converted once
	tcp *tcpStream
}

// is reports whether a packet that came from on socket s (a UDP socket,
// or an ICE-TCP stream's) came on this path: a UDP and a TCP path may
// have the same address.
func (pa *path) is(s *socket, from netip.AddrPort) bool {
	return pa.tcp == s.tcp && pa.ap == from
}

// write sends one packet on c's path pa.
func (c *Conn) write(p []byte, pa *path) error {
	if pa.tcp != nil {
		return pa.tcp.write(p)
	}
	return c.sock.Load().write(p, pa.ap)
}

// addrEntry is a remote address a valid check came from.
type addrEntry struct {
	ap   netip.AddrPort
	seen int64 // engine time of its last valid check
}

// Conn is one peer's transport: ICE (lite on the server, controlling in
// the client mode), DTLS, SRTP. Server connections share the engine's
// socket; a client connection has a socket of its own.
type Conn struct {
	e      *Engine
	h      Handler
	client bool
	sock   atomic.Pointer[socket] // client connections: changed by Rebind
	ufrag  string
	pwd    string
	key    stun.MessageIntegrity // local password: checks we answer, our answers
	start  int64                 // engine time of creation
	cert   *engineCert           // the engine's when the connection was made

	state atomic.Int32
	path  atomic.Pointer[path]     // where media goes; nil until the first valid check
	keys  atomic.Pointer[srtpKeys] // nil until the handshake is done
	// lastCheck is the engine time of the last valid check (server) or
	// answer to ours (client): consent.
	lastCheck atomic.Int64
	keyedAt   atomic.Int64
	announced atomic.Pointer[[]uint32]
	// alertAt is the engine time a peer that seemed to close (an alert
	// after the handshake: maybePeerClosing) is closed at, unless an
	// authenticated packet clears it first; 0: none.
	alertAt atomic.Int64
	busy    atomic.Int32 // Handler calls in progress (see Close)
	// tcpStreams is the number of ICE-TCP streams bound to c.
	tcpStreams atomic.Int32

	mu         sync.Mutex
	remote     *Remote
	remoteSet  chan struct{} // closed by SetRemote
	sess       *dtlsSession  // the handshake, until it is done and over
	handshaken bool          // a handshake was started
	checked    bool          // a valid check came (server) / an answer (client)
	early      bool          // SRTP/SRTCP came before the keys (see earlyMedia)

	// rx serialises the handling of c's incoming packets (a check, DTLS,
	// SRTP, SRTCP, and the Handler call it makes): the UDP reader and an
	// ICE-TCP stream's may both have one (a browser checks both pairs).
	// Uncontended on the UDP path: one lock per packet.
	rx sync.Mutex
	// Written under rx by the readers only. addrs (UDP addresses) only by
	// the UDP reader, also under e.mu, which the engine's maps are
	// changed under: the reader reads other connections' addrs there.
	addrs      [maxAddrs]addrEntry
	naddrs     int
	selSeen    int64 // engine time of the last valid packet from the selected address
	addrTokens float64
	addrRefill int64
	rtpSSRCs   ssrcSet
	rtcpSSRCs  ssrcSet
	mediaSeen  bool // a valid SRTP/SRTCP packet came (ends the DTLS grace)
	ratesIn    *Rates
	rtpBudget  budget
	ctlBudget  budget

	rates atomic.Pointer[Rates] // SetRates

	// outMu serialises the outgoing SRTP context (any goroutine may send).
	outMu sync.Mutex

	// Client mode (see client.go).
	cl *clientState

	timer timer // in the engine's wheel; its fields are the wheel's
}

// NewConn creates a server connection with fresh ICE credentials: put them
// (Credentials), the engine's fingerprint and candidate in the offer, then
// give the answer to SetRemote. h gets its packets and states.
func (e *Engine) NewConn(h Handler) (*Conn, error) {
	c := e.newConn(h, false)
	if err := e.add(c); err != nil {
		return nil, err
	}
	e.wheel.schedule(&c.timer, c.start+int64(c.e.timing.connect))
	return c, nil
}

func (e *Engine) newConn(h Handler, client bool) *Conn {
	c := &Conn{
		e:         e,
		h:         h,
		client:    client,
		ufrag:     randomString(16),
		pwd:       randomString(32),
		start:     e.now(),
		cert:      e.certificate(),
		remoteSet: make(chan struct{}),
	}
	c.key = stun.NewShortTermIntegrity(c.pwd)
	c.rates.Store(&DefaultRates)
	c.sock.Store(e.sock)
	c.addrTokens = newAddrBurst
	c.addrRefill = c.start
	c.timer.owner = c
	return c
}

// Credentials are the connection's local ICE ufrag and password.
func (c *Conn) Credentials() (ufrag, pwd string) { return c.ufrag, c.pwd }

// State is the connection's current state.
func (c *Conn) State() State { return State(c.state.Load()) }

// RemoteAddr is the selected remote address (invalid before the first
// valid check).
func (c *Conn) RemoteAddr() netip.AddrPort {
	if p := c.path.Load(); p != nil {
		return p.ap
	}
	return netip.AddrPort{}
}

// SetRemote gives the connection the peer's description (once).
func (c *Conn) SetRemote(r Remote) error {
	switch {
	case r.Ufrag == "" || r.Pwd == "":
		return errors.New("rtc: remote without ICE credentials")
	case len(r.Fingerprint.Value) == 0:
		return errors.New("rtc: remote without fingerprint")
	}
	ssrcs := append([]uint32(nil), r.SSRCs[:min(len(r.SSRCs), maxSSRCs)]...)
	// Kept for the connection's life: none of the parsed description's
	// strings, which share its whole text.
	r.Ufrag, r.Pwd = strings.Clone(r.Ufrag), strings.Clone(r.Pwd)
	r.Fingerprint = Fingerprint{Algorithm: strings.Clone(r.Fingerprint.Algorithm), Value: bytes.Clone(r.Fingerprint.Value)}
	r.Setup = Setup(strings.Clone(string(r.Setup)))
	r.SSRCs = nil
	c.mu.Lock()
	if c.remote != nil {
		c.mu.Unlock()
		return errors.New("rtc: remote already set")
	}
	if c.State() >= StateFailed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.remote = &r
	c.announced.Store(&ssrcs)
	close(c.remoteSet)
	dial := c.checked && c.dtlsClientLocked() && !c.handshaken
	c.mu.Unlock()
	if dial {
		c.startHandshake(true)
	}
	return nil
}

// dtlsClientLocked reports whether this side is the DTLS client: the peer
// said passive, or actpass to our client mode (which answers active).
func (c *Conn) dtlsClientLocked() bool {
	if c.remote == nil {
		return false
	}
	return c.remote.Setup == SetupPassive || (c.client && c.remote.Setup == SetupActPass)
}

// Close closes the connection (idempotent). It sends nothing: the peer
// learns it from signaling, or from its consent checks going unanswered.
// When it returns, no Handler call for c is in progress and none will
// come (but the StateChanged(Closed) it makes): so it must not be called
// from c's Handler.
func (c *Conn) Close() {
	c.setState(StateClosed)
	for c.busy.Load() != 0 {
		time.Sleep(20 * time.Microsecond)
	}
}

// enter counts a Handler call about to be made, false if c is closed.
func (c *Conn) enter() bool {
	c.busy.Add(1)
	if c.State() >= StateFailed {
		c.busy.Add(-1)
		return false
	}
	return true
}

func (c *Conn) leave() { c.busy.Add(-1) }

// setState moves to s, tells the handler, and on a final state takes the
// connection out of the engine. It reports false if nothing changed.
func (c *Conn) setState(s State) bool {
	c.busy.Add(1) // before the change: Close waits for this call
	defer c.busy.Add(-1)
	for {
		old := State(c.state.Load())
		if old == s || old >= StateFailed {
			return false
		}
		if c.state.CompareAndSwap(int32(old), int32(s)) {
			break
		}
	}
	if s >= StateFailed {
		c.teardown()
	}
	c.h.StateChanged(c, s)
	return true
}

func (c *Conn) fail(reason string, args ...any) {
	if c.State() < StateFailed {
		c.e.log.Debug("connection failed: "+reason, append([]any{"ufrag", c.ufrag}, args...)...)
		c.setState(StateFailed)
	}
}

// teardown releases what a final state leaves: maps, timer, handshake,
// client socket. Called once.
func (c *Conn) teardown() {
	c.e.remove(c)
	c.e.closeStreams(c)
	c.e.wheel.cancel(&c.timer)
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s != nil {
		s.close()
	}
	if c.client {
		_ = c.sock.Load().conn.Close()
	}
}

// fire is the connection's wheel entry: timeouts, consent, the end of the
// DTLS grace, the client mode's checks. It schedules the next deadline.
func (c *Conn) fire(now int64) {
	st := c.State()
	if st >= StateFailed {
		return
	}
	next := now + int64(time.Minute)
	keyed := c.keys.Load() != nil
	if at := c.alertAt.Load(); at != 0 {
		if now >= at {
			c.e.log.Debug("closed by the peer (DTLS alert, then silence)", "ufrag", c.ufrag)
			c.setState(StateClosed)
			return
		}
		next = at
	}
	if !keyed {
		deadline := c.start + int64(c.e.timing.connect)
		if now >= deadline {
			c.fail("no connection", "state", st.String())
			return
		}
		next = min(next, deadline)
	} else {
		last := c.lastCheck.Load()
		switch {
		case now-last >= int64(c.e.timing.consent):
			c.fail("consent expired")
			return
		case now-last >= int64(c.e.timing.disconnect):
			c.setState(StateDisconnected)
			next = min(next, last+int64(c.e.timing.consent))
		default:
			next = min(next, last+int64(c.e.timing.disconnect))
		}
		if at := c.keyedAt.Load() + int64(c.e.timing.grace); c.hasSession() {
			if now >= at {
				c.endHandshake()
			} else {
				next = min(next, at)
			}
		}
	}
	if c.client {
		next = min(next, c.clientFire(now, keyed))
	}
	c.e.wheel.schedule(&c.timer, next)
}

func (c *Conn) hasSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

// randomString is n characters of the ICE alphabet (ice-char: ALPHA, DIGIT,
// "+", "/"), 6 bits of entropy each.
func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b)
}

// ssrcSet is a small set of SSRCs a connection accepts media from.
type ssrcSet struct {
	ssrcs [maxSSRCs]uint32
	n     int
}

func (s *ssrcSet) has(x uint32) bool {
	for _, y := range s.ssrcs[:s.n] {
		if y == x {
			return true
		}
	}
	return false
}

func (s *ssrcSet) add(x uint32) bool {
	if s.n == maxSSRCs {
		return false
	}
	s.ssrcs[s.n] = x
	s.n++
	return true
}
