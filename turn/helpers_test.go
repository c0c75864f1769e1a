package turn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
	"go.uber.org/goleak"
)

// All test traffic stays on loopback: the server listens and relays on
// 127.0.0.2 (or ::1), clients bind 127.0.0.1, and the only peers data is
// relayed to are echo sockets on 127.0.0.2. Policy tests only ask for
// permissions.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testSecret = []byte("0123456789abcdef0123456789abcdef")

const testIP = "127.0.0.2"

// logRecorder is a slog handler that keeps the records' messages.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// testConfig is a server on 127.0.0.2 whose own media address is 127.0.0.2.
func testConfig() Config {
	return Config{
		ListenIP: testIP,
		OwnAddrs: []netip.Addr{netip.MustParseAddr(testIP)},
		Secret:   testSecret,
		Logger:   slog.New(slog.DiscardHandler),
	}
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type transport string

const (
	overUDP transport = "udp"
	overTCP transport = "tcp"
	overTLS transport = "tls"
)

// quietLogs keeps pion's client quiet.
var quietLogs = func() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}()

// dialClient returns a listening pion TURN client talking to s over tr,
// from a local address on 127.0.0.1 (or ::1 for an IPv6 server).
func dialClient(t *testing.T, s *Server, tr transport, username, password string) *pturn.Client {
	t.Helper()
	c, _ := dialClientConn(t, s, tr, username, password)
	return c
}

// dialClientConn is dialClient, also returning the client's socket; opts
// edit the client's configuration.
func dialClientConn(t *testing.T, s *Server, tr transport, username, password string, opts ...func(*pturn.ClientConfig)) (*pturn.Client, net.PacketConn) {
	t.Helper()
	local := "127.0.0.1"
	if s.UDPAddr().IP.To4() == nil {
		local = "::1"
	}
	// A wildcard listener is reached on loopback.
	reach := func(ip net.IP, port int) string {
		if ip.IsUnspecified() {
			ip = net.ParseIP(local)
		}
		return net.JoinHostPort(ip.String(), strconv.Itoa(port))
	}
	var conn net.PacketConn
	var server string
	switch tr {
	case overUDP:
		pc, err := net.ListenPacket("udp", net.JoinHostPort(local, "0"))
		if err != nil {
			t.Fatal(err)
		}
		conn, server = pc, reach(s.UDPAddr().IP, s.UDPAddr().Port)
	case overTCP:
		server = reach(s.TCPAddr().IP, s.TCPAddr().Port)
		c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).Dial("tcp", server)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	case overTLS:
		server = reach(s.TLSAddr().IP, s.TLSAddr().Port)
		c, err := (&tls.Dialer{
			NetDialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}},
			Config:    &tls.Config{RootCAs: testCA.pool, ServerName: "turn.test"},
		}).Dial("tcp", server)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	}
	cfg := &pturn.ClientConfig{
		TURNServerAddr: server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		LoggerFactory:  quietLogs,
		RTO:            100 * time.Millisecond,
	}
	for _, o := range opts {
		o(cfg)
	}
	c, err := pturn.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	return c, conn
}

// allocate allocates a UDP relay, closed at the end of the test.
func allocate(t *testing.T, c *pturn.Client) (net.PacketConn, error) {
	t.Helper()
	relay, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { _ = relay.Close() })
	}
	return relay, err
}

// turnCode returns the TURN error code of err, 0 if it has none.
func turnCode(err error) int {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code)
	}
	return 0
}

// udpEcho starts a UDP socket on addr that echoes what it receives.
func udpEcho(t *testing.T, addr string) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr)
}

// roundTrip sends msg through relay to peer and waits for it to come back.
func roundTrip(relay net.PacketConn, peer net.Addr, msg string, wait time.Duration) error {
	if _, err := relay.WriteTo([]byte(msg), peer); err != nil {
		return err
	}
	_ = relay.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	for {
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			return err
		}
		if from.String() == peer.String() && string(buf[:n]) == msg {
			return nil
		}
	}
}

// testCA is a self-signed certificate for "turn.test".
var testCA = func() (ca struct {
	cert tls.Certificate
	pool *x509.CertPool
},
) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "turn.test"},
		DNSNames:              []string{"turn.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	ca.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(leaf)
	return ca
}()

func testTLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{testCA.cert}}
}
