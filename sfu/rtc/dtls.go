package rtc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/deadline"
)

// DTLS runs over a virtual packet connection (dtlsSession) that the socket
// reader feeds with the peer's DTLS datagrams and that writes through the
// connection's socket to its selected address. pion's dtls.Conn runs two
// goroutines while it lives; it lives only for the handshake and, for a
// DTLS server, until the client shows it got the last flight (its first
// SRTP or SRTCP) or dtlsGrace passes: meanwhile a client that lost the
// last flight sends its own again and gets it again (RFC 6347 §4.2.4).
// Then the session is detached (its writes dropped, so the close_notify
// that closing writes never leaves) and closed: nothing of it remains.

const (
	handshakeTimeout = 20 * time.Second
	inboxSize        = 16 // datagrams queued for a handshake
	// verifyWait is how long the handshake waits for the peer's
	// description (its fingerprint) when DTLS came before signaling did.
	verifyWait = 10 * time.Second
)

var errDTLSClosed = errors.New("rtc: dtls session closed")

// srtpProfiles in order of preference: AES-GCM is the cheapest with AES
// instructions and what browsers and pion pick; AES-CM-HMAC for the rest.
var srtpProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AEAD_AES_256_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

func srtpProfile(p dtls.SRTPProtectionProfile) (srtp.ProtectionProfile, bool) {
	switch p {
	case dtls.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, true
	case dtls.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, true
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	}
	return 0, false
}

// dtlsSession is the virtual net.PacketConn under one handshake.
type dtlsSession struct {
	c        *Conn
	inbox    chan []byte
	done     chan struct{}
	once     sync.Once
	detached atomic.Bool
	rd       *deadline.Deadline
	dc       *dtls.Conn // set by the handshake goroutine, under c.mu
}

func newSession(c *Conn) *dtlsSession {
	return &dtlsSession{c: c, inbox: make(chan []byte, inboxSize), done: make(chan struct{}), rd: deadline.New()}
}

func (s *dtlsSession) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case b := <-s.inbox:
		return copy(p, b), s.c.remoteNetAddr(), nil
	case <-s.done:
		return 0, nil, net.ErrClosed
	case <-s.rd.Done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (s *dtlsSession) WriteTo(p []byte, _ net.Addr) (int, error) {
	if s.detached.Load() {
		return len(p), nil
	}
	c := s.c
	if f := c.e.dropDTLS; f != nil && f(c, p) {
		return len(p), nil
	}
	pa := c.path.Load()
	if pa == nil {
		return 0, errNoAddress
	}
	if err := c.write(p, pa); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close is called by pion when the handshake fails or the peer closes
// (close_notify, a fatal alert), and by close.
func (s *dtlsSession) Close() error {
	s.once.Do(func() { close(s.done) })
	if !s.detached.Load() {
		// Not ours: the peer closed DTLS, or pion gave up.
		s.c.sessionClosedByPeer(s)
	}
	return nil
}

// close detaches and closes the session and its dtls.Conn.
func (s *dtlsSession) close() {
	s.detached.Store(true)
	s.c.mu.Lock()
	dc := s.dc
	s.c.mu.Unlock()
	if dc != nil {
		_ = dc.Close()
	}
	_ = s.Close()
}

func (s *dtlsSession) LocalAddr() net.Addr                { return net.UDPAddrFromAddrPort(s.c.sock.Load().local) }
func (s *dtlsSession) SetDeadline(t time.Time) error      { return s.SetReadDeadline(t) }
func (s *dtlsSession) SetReadDeadline(t time.Time) error  { s.rd.Set(t); return nil }
func (s *dtlsSession) SetWriteDeadline(t time.Time) error { return nil }

func (c *Conn) remoteNetAddr() net.Addr {
	if p := c.path.Load(); p != nil {
		return p.udp
	}
	return &net.UDPAddr{}
}

// handleDTLS takes a DTLS datagram from the reader. The first one a DTLS
// server gets (the ClientHello) starts its handshake.
func (c *Conn) handleDTLS(p []byte, from netip.AddrPort) {
	if !c.withinRate(false, c.e.now()) {
		return
	}
	c.mu.Lock()
	s := c.sess
	start := s == nil && !c.handshaken && !c.dtlsClientLocked() && c.State() < StateFailed
	c.mu.Unlock()
	if start {
		s = c.startHandshake(false)
	}
	if s == nil {
		c.e.stats.dtls.Add(1) // after the session ended, or before our ClientHello
		c.maybePeerClosing(p, from)
		return
	}
	select {
	case s.inbox <- append([]byte(nil), p...):
	default:
		c.e.stats.dtls.Add(1)
	}
}

// startHandshake starts the DTLS handshake in a goroutine (once).
func (c *Conn) startHandshake(client bool) *dtlsSession {
	c.mu.Lock()
	if c.handshaken || c.State() >= StateFailed {
		s := c.sess
		c.mu.Unlock()
		return s
	}
	c.handshaken = true
	s := newSession(c)
	c.sess = s
	c.mu.Unlock()
	if !c.e.spawn(func() { c.handshake(s, client) }) {
		return nil
	}
	return s
}

func (c *Conn) handshake(s *dtlsSession, client bool) {
	e := c.e
	cfg := &dtls.Config{
		Certificates:           []tls.Certificate{c.cert.tls},
		SRTPProtectionProfiles: srtpProfiles,
		ExtendedMasterSecret:   dtls.RequestExtendedMasterSecret,
		ClientAuth:             dtls.RequireAnyClientCert,
		InsecureSkipVerify:     true, // self-signed: the fingerprint is checked instead
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return c.verifyPeer(raw)
		},
		LoggerFactory: e.pionLogs,
	}
	var dc *dtls.Conn
	var err error
	if client {
		dc, err = dtls.Client(s, c.remoteNetAddr(), cfg)
	} else {
		dc, err = dtls.Server(s, c.remoteNetAddr(), cfg)
	}
	if err == nil {
		c.mu.Lock()
		s.dc = dc
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err = dc.HandshakeContext(ctx)
		cancel()
	}
	if err == nil {
		err = c.setKeys(dc, client)
	}
	if err != nil {
		e.stats.handshakeFailures.Add(1)
		c.endSession(s)
		c.fail("DTLS handshake", "err", err)
		return
	}
	e.stats.handshakes.Add(1)
	now := e.now()
	c.keyedAt.Store(now)
	if c.lastCheck.Load() == 0 {
		c.lastCheck.Store(now)
	}
	c.mu.Lock()
	early := c.early
	c.mu.Unlock()
	if client || early {
		// The last flight was the server's, or the client's SRTP came
		// before our keys did: nothing will need to be sent again.
		c.endSession(s)
	}
	// The wheel entry holds one deadline, the earliest: fire computes it
	// again now that consent and (for a DTLS server) the grace count.
	e.wheel.schedule(&c.timer, now)
	c.setState(StateConnected)
	if c.client {
		c.clientConnected()
	}
}

// verifyPeer checks the peer's certificate against the fingerprint of its
// description, waiting for it if DTLS came first.
func (c *Conn) verifyPeer(raw [][]byte) error {
	if len(raw) == 0 {
		return errors.New("rtc: no peer certificate")
	}
	t := time.NewTimer(verifyWait)
	defer t.Stop()
	select {
	case <-c.remoteSet:
	case <-t.C:
		return errors.New("rtc: no remote description for the DTLS handshake")
	}
	c.mu.Lock()
	fp := c.remote.Fingerprint
	c.mu.Unlock()
	return checkFingerprint(raw[0], fp)
}

// setKeys exports the SRTP keys (RFC 5764) and makes the contexts.
func (c *Conn) setKeys(dc *dtls.Conn, client bool) error {
	p, ok := dc.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("rtc: no SRTP profile negotiated")
	}
	profile, ok := srtpProfile(p)
	if !ok {
		return errors.New("rtc: unsupported SRTP profile")
	}
	state, ok := dc.ConnectionState()
	if !ok {
		return errors.New("rtc: no DTLS state")
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		return err
	}
	k, err := newKeys(profile, cfg.Keys)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.keys.Store(k)
	c.mu.Unlock()
	return nil
}

// endHandshake ends the DTLS grace (the wheel, or the reader's first media
// through a goroutine of its own: closing waits for nothing, but the
// reader must not wait on pion).
func (c *Conn) endHandshake() {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		c.endSession(s)
	}
}

func (c *Conn) endSession(s *dtlsSession) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
	s.close()
}

// sessionClosedByPeer: pion closed the virtual connection itself. After
// the handshake that is the peer's close_notify or a fatal alert.
func (c *Conn) sessionClosedByPeer(s *dtlsSession) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
	if c.keys.Load() != nil {
		c.setState(StateClosed)
	}
}

// alertGrace is how long a connection lives after what looks like the
// peer's close_notify, unless an authenticated packet comes meanwhile.
const alertGrace = 3 * time.Second

// maybePeerClosing: an encrypted DTLS alert (content type 21, epoch 1 or
// more) after the session ended is, from an honest peer, its close_notify
// (a browser or pion closing its PeerConnection). It cannot be decrypted
// any more and its source address could be spoofed, so it does not close
// the connection: it gives it alertGrace to prove itself alive with any
// authenticated packet (SRTP, SRTCP, a check), after which it is closed as
// by the peer (the wheel, fire).
func (c *Conn) maybePeerClosing(p []byte, from netip.AddrPort) {
	if c.client || len(p) < 13 || p[0] != 21 || binary.BigEndian.Uint16(p[3:5]) == 0 || c.keys.Load() == nil {
		return
	}
	if pa := c.path.Load(); pa == nil || pa.ap != from {
		return
	}
	at := c.e.now() + int64(alertGrace)
	if c.alertAt.CompareAndSwap(0, at) {
		c.e.wheel.schedule(&c.timer, at)
	}
}
