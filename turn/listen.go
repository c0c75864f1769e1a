package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// tlsHandshakeTimeout bounds a TURN-over-TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// networks returns the UDP and TCP network names for a listen address:
// an IPv4 address listens on IPv4 only, "::" on both families, another
// IPv6 address on IPv6.
func networks(ip netip.Addr) (udp, tcp string) {
	switch {
	case ip.Is4():
		return "udp4", "tcp4"
	case ip.IsUnspecified():
		return "udp", "tcp"
	default:
		return "udp6", "tcp6"
	}
}

// listenPair opens the UDP and TCP listeners on ip:port. Port 0 picks a
// free port, the same number for both when possible (a few tries), else two
// different ones.
func listenPair(ip netip.Addr, port int) (net.PacketConn, net.Listener, error) {
	udpNet, tcpNet := networks(ip)
	lc := net.ListenConfig{}
	ctx := context.Background()
	host := ip.String()
	if port != 0 {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		pc, err := lc.ListenPacket(ctx, udpNet, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("turn: listen udp %s: %w", addr, err)
		}
		ln, err := lc.Listen(ctx, tcpNet, addr)
		if err != nil {
			_ = pc.Close()
			return nil, nil, fmt.Errorf("turn: listen tcp %s: %w", addr, err)
		}
		return pc, ln, nil
	}
	any := net.JoinHostPort(host, "0")
	for range 16 {
		pc, err := lc.ListenPacket(ctx, udpNet, any)
		if err != nil {
			return nil, nil, fmt.Errorf("turn: listen udp %s: %w", any, err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := lc.Listen(ctx, tcpNet, net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
	}
	pc, err := lc.ListenPacket(ctx, udpNet, any)
	if err != nil {
		return nil, nil, fmt.Errorf("turn: listen udp %s: %w", any, err)
	}
	ln, err := lc.Listen(ctx, tcpNet, any)
	if err != nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("turn: listen tcp %s: %w", any, err)
	}
	return pc, ln, nil
}

// tlsListener serves TURN over TLS. It runs the handshakes itself, each in
// its own goroutine with a deadline, and hands pion only connections that
// completed one: pion's own accept loop would handshake there too, but it
// leaks the socket of a failed handshake.
type tlsListener struct {
	inner *trackedListener
	cfg   *tls.Config
	ready chan *tls.Conn
	// ctx is canceled by Close: it ends the handshakes in progress.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
}

func newTLSListener(inner *trackedListener, cfg *tls.Config) *tlsListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &tlsListener{inner: inner, cfg: cfg, ready: make(chan *tls.Conn), ctx: ctx, cancel: cancel}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(c net.Conn) {
	defer l.wg.Done()
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = tc.Close()
		return
	}
	select {
	case l.ready <- tc:
	case <-l.ctx.Done():
		_ = tc.Close()
	}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.inner.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }

// wait returns once the accept loop and every handshake have ended.
func (l *tlsListener) wait() { l.wg.Wait() }
