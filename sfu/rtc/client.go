package rtc

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/stun/v4"
)

// The client mode is the other side of a server connection, on the same
// primitives, for load generators and tests: a full ICE agent reduced to
// what talking to an ICE-lite server needs (it is controlling, it checks
// the one server candidate, every check nominates it), the DTLS client
// (its answer says setup:active), SRTP. Each client connection has a UDP
// socket of its own (the server tells participants apart by address) and
// so a reader goroutine; its checks, retransmitted every
// retransmitInterval until answered and then sent every checkInterval
// (consent), come from the engine's wheel.

// clientState is a client connection's ICE state.
type clientState struct {
	server   netip.AddrPort
	rkey     stun.MessageIntegrity // the server's password
	username []byte                // "server ufrag:our ufrag"
	tiebreak [8]byte
	ssrc     uint32 // of the first receiver report (see clientConnected)

	mu      sync.Mutex
	pending [4][stun.TransactionIDSize]byte // checks not yet answered, a ring
	next    int
	// nextCheck is the engine time of the next check (wheel goroutine).
	nextCheck int64
}

// Dial creates a client connection to a server connection whose offer
// gave remote and the server's address. The caller's answer must carry
// the connection's Credentials, the engine's Fingerprint and setup:active.
func (e *Engine) Dial(server netip.AddrPort, remote Remote, h Handler) (*Conn, error) {
	c := e.newConn(h, true)
	s, err := e.listen(netip.AddrPortFrom(e.cip, 0), clientBuffer)
	if err != nil {
		return nil, err
	}
	s.owner = c
	c.sock.Store(s)
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	c.cl = &clientState{
		server:   server,
		rkey:     stun.NewShortTermIntegrity(remote.Pwd),
		username: []byte(remote.Ufrag + ":" + c.ufrag),
	}
	_, _ = rand.Read(c.cl.tiebreak[:])
	var b [4]byte
	_, _ = rand.Read(b[:])
	c.cl.ssrc = binary.BigEndian.Uint32(b[:]) | 1
	c.path.Store(&path{ap: server, udp: udpAddr(server)})
	if err := e.add(c); err != nil {
		_ = s.conn.Close()
		return nil, err
	}
	if err := c.SetRemote(remote); err != nil {
		c.Close()
		return nil, err
	}
	if !e.startReader(s) {
		c.Close()
		return nil, ErrClosed
	}
	c.setState(StateChecking)
	e.wheel.schedule(&c.timer, c.start) // the first check at the next tick
	return c, nil
}

// clientFire sends the check due and returns when the next is.
func (c *Conn) clientFire(now int64, keyed bool) int64 {
	cl := c.cl
	if now >= cl.nextCheck {
		c.sendCheck()
		every := int64(checkInterval)
		if c.lastCheck.Load() == 0 {
			every = int64(retransmitInterval)
		}
		cl.nextCheck = now + every
	}
	return cl.nextCheck
}

var stunPool = sync.Pool{New: func() any { return new(stun.Message) }}

// Our checks' PRIORITY: a peer-reflexive candidate's (RFC 8445 §7.1.1).
const checkPriority = 110<<24 | 65535<<8 | 255

func (c *Conn) sendCheck() {
	cl := c.cl
	m := stunPool.Get().(*stun.Message)
	defer stunPool.Put(m)
	m.Reset()
	m.Type = stun.BindingRequest
	_, _ = rand.Read(m.TransactionID[:])
	m.WriteHeader()
	m.Add(stun.AttrUsername, cl.username)
	var prio [4]byte
	binary.BigEndian.PutUint32(prio[:], checkPriority)
	m.Add(stun.AttrPriority, prio[:])
	m.Add(stun.AttrICEControlling, cl.tiebreak[:])
	m.Add(stun.AttrUseCandidate, nil)
	if cl.rkey.AddTo(m) != nil || stun.Fingerprint.AddTo(m) != nil {
		return
	}
	cl.mu.Lock()
	cl.pending[cl.next] = m.TransactionID
	cl.next = (cl.next + 1) % len(cl.pending)
	cl.mu.Unlock()
	_ = c.sock.Load().write(m.Raw, cl.server)
}

// takePending reports whether id is one of our unanswered checks.
func (cl *clientState) takePending(id [stun.TransactionIDSize]byte) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for i := range cl.pending {
		if cl.pending[i] == id {
			cl.pending[i] = [stun.TransactionIDSize]byte{}
			return true
		}
	}
	return false
}

// handleSTUNClient handles STUN on a client connection's socket: answers
// to our checks, and checks from a full ICE agent (answered as a lite one
// would).
func (c *Conn) handleSTUNClient(s *socket, m *stun.Message, from netip.AddrPort) {
	e := c.e
	cl := c.cl
	if from != cl.server {
		e.stats.wrongSocket.Add(1)
		return
	}
	switch m.Type {
	case stun.BindingSuccess:
		if m.TransactionID == ([stun.TransactionIDSize]byte{}) || !cl.takePending(m.TransactionID) {
			e.stats.stray.Add(1)
			return
		}
		if stun.Fingerprint.Check(m) != nil || cl.rkey.Check(m) != nil {
			e.stats.badIntegrity.Add(1)
			return
		}
		c.lastCheck.Store(e.now())
		e.stats.checks.Add(1)
		c.onValidCheck()
	case stun.BindingRequest:
		if stun.Fingerprint.Check(m) != nil || c.key.Check(m) != nil {
			e.stats.badIntegrity.Add(1)
			return
		}
		s.respond(m, from, c.key)
	default:
		e.stats.malformed.Add(1)
	}
}

// clientConnected runs once the keys are set: one empty receiver report,
// as browsers send RTCP at once; it tells the server's DTLS that we have
// its last flight.
func (c *Conn) clientConnected() {
	rr, err := (&rtcp.ReceiverReport{SSRC: c.cl.ssrc}).Marshal()
	if err == nil {
		_ = c.WriteRTCP(rr)
	}
}

// Rebind moves a client connection to a new local socket, as a network
// change or a NAT rebinding would: the old socket is closed, and a check
// goes at once from the new one (the server moves the media when it
// answers).
func (c *Conn) Rebind() error {
	if !c.client {
		return errors.New("rtc: Rebind is for client connections")
	}
	e := c.e
	s, err := e.listen(netip.AddrPortFrom(e.cip, 0), clientBuffer)
	if err != nil {
		return err
	}
	s.owner = c
	old := c.sock.Swap(s)
	if c.State() >= StateFailed || !e.startReader(s) {
		_ = s.conn.Close()
		return ErrClosed
	}
	_ = old.conn.Close()
	c.sendCheck()
	return nil
}
