package turn

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// A wrong-credential flood is sent with raw STUN requests rather than pion
// clients: one nonce is fetched once (pion's nonces are not bound to the
// client's address), then each source address sends a single Allocate
// signed with a wrong password, as an attacker would, and waits for the 401.

// floodSource returns the i-th flood source address, 127.1.0.1 onwards: none
// is 127.0.0.1 (the honest clients) or 127.0.0.2 (the server).
func floodSource(i int) netip.Addr {
	n := 0x7f010001 + uint32(i) //nolint:gosec // i < 2^24 in tests
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// turnNonce asks s for a nonce and its realm, as a client's first Allocate does.
func turnNonce(t *testing.T, s *Server) (nonce, realm string) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	res, err := stunRoundTrip(pc, s.UDPAddr(), allocateRequest())
	if err != nil {
		t.Fatal(err)
	}
	var n stun.Nonce
	var r stun.Realm
	if err := n.GetFrom(res); err != nil {
		t.Fatalf("no nonce in %v: %v", res, err)
	}
	if err := r.GetFrom(res); err != nil {
		t.Fatalf("no realm in %v: %v", res, err)
	}
	return n.String(), r.String()
}

// allocateRequest is a UDP Allocate request with the given extra attributes.
func allocateRequest(extra ...stun.Setter) *stun.Message {
	setters := append([]stun.Setter{
		stun.TransactionID,
		stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, // UDP
	}, extra...)
	return stun.MustBuild(setters...)
}

// signedAllocate is an Allocate request signed with the long-term
// credentials user/pass.
func signedAllocate(user, realm, nonce, pass string) *stun.Message {
	return allocateRequest(
		stun.NewUsername(user), stun.NewRealm(realm), stun.NewNonce(nonce),
		stun.NewLongTermIntegrity(user, realm, pass), stun.Fingerprint,
	)
}

// stunRoundTrip sends req to server from pc and returns the response with
// the same transaction id.
func stunRoundTrip(pc net.PacketConn, server net.Addr, req *stun.Message) (*stun.Message, error) {
	if _, err := pc.WriteTo(req.Raw, server); err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if err := res.Decode(); err != nil || res.TransactionID != req.TransactionID {
			continue
		}
		return res, nil
	}
}

// floodResult counts the answers to a flood.
type floodResult struct {
	unauthorized, other, lost int
}

// floodWrongCredentials sends one wrong-credential Allocate from each of n
// distinct source addresses (floodSource(0…n-1)) and waits for the answers.
// The usernames are well formed and not expired: only the password is
// wrong, so each request costs the server the full check.
func floodWrongCredentials(t *testing.T, s *Server, n int) floodResult {
	t.Helper()
	nonce, realm := turnNonce(t, s)
	expiry := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	var unauthorized, other, lost atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				src := floodSource(i)
				pc, err := net.ListenPacket("udp4", net.JoinHostPort(src.String(), "0"))
				if err != nil {
					t.Errorf("bind %v: %v", src, err)
					return
				}
				user := expiry + ":flood" + strconv.Itoa(i)
				res, err := stunRoundTrip(pc, s.UDPAddr(), signedAllocate(user, realm, nonce, "wrong password"))
				_ = pc.Close()
				var code stun.ErrorCodeAttribute
				switch {
				case err != nil:
					lost.Add(1)
				case code.GetFrom(res) == nil && code.Code == stun.CodeUnauthorized:
					unauthorized.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return floodResult{int(unauthorized.Load()), int(other.Load()), int(lost.Load())}
}

func (r floodResult) String() string {
	return fmt.Sprintf("%d answered 401, %d other answers, %d unanswered", r.unauthorized, r.other, r.lost)
}

// tcpAllocate allocates a UDP relay over a raw TCP connection to s with
// user/pass, then leaves the connection to the caller: nothing refreshes
// the allocation, nothing else is sent.
func tcpAllocate(t *testing.T, s *Server, user, pass string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	res, err := stunStreamRoundTrip(c, allocateRequest())
	if err != nil {
		t.Fatal(err)
	}
	var nonce stun.Nonce
	var realm stun.Realm
	if err := nonce.GetFrom(res); err != nil {
		t.Fatal(err)
	}
	if err := realm.GetFrom(res); err != nil {
		t.Fatal(err)
	}
	res, err = stunStreamRoundTrip(c, signedAllocate(user, realm.String(), nonce.String(), pass))
	if err != nil {
		t.Fatal(err)
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate over TCP: %v", res)
	}
	return c
}

// stunStreamRoundTrip sends req on a TCP connection and reads one STUN
// message back (STUN over TCP is self-delimiting: 20-byte header, then the
// length it gives).
func stunStreamRoundTrip(c net.Conn, req *stun.Message) (*stun.Message, error) {
	if _, err := c.Write(req.Raw); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	head := make([]byte, 20)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	body := make([]byte, int(head[2])<<8|int(head[3]))
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	res := &stun.Message{Raw: append(head, body...)}
	return res, res.Decode()
}

// Issue 12: 16,584 wrong-credential allocations from as many addresses
// filled the per-address failure table, after which no valid credential
// was served (0 of 12), and logged 16,396 INFO lines. Valid credentials
// must be served whatever came before, the failure accounting must stay
// bounded, and the log must get a bounded number of lines.
func TestAuthFloodFromManyAddresses(t *testing.T) {
	const sources, honest = 16584, 12
	const interval = DefaultLogInterval
	rec := &logRecorder{}
	cfg := testConfig()
	cfg.Logger = slog.New(rec)
	s := startServer(t, cfg)
	start := time.Now()
	res := floodWrongCredentials(t, s, sources)
	elapsed := time.Since(start)
	t.Logf("flood from %d addresses: %v in %v", sources, res, elapsed)
	if res.unauthorized != sources {
		t.Errorf("flood: %v, want every request answered 401", res)
	}
	if got := s.Stats().AuthFailures; got != sources {
		t.Errorf("AuthFailures = %d, want %d", got, sources)
	}
	if n := s.authLog.sourcesLen(); n > maxSources {
		t.Errorf("the failure accounting holds %d sources, over its cap of %d", n, maxSources)
	}

	ok := 0
	for i := range honest {
		user, pass := s.Credentials("honest"+strconv.Itoa(i), time.Hour)
		if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err != nil {
			t.Errorf("honest allocation %d: %v", i, err)
		} else {
			ok++
		}
	}
	if ok != honest {
		t.Errorf("%d of %d honest allocations succeeded after the flood", ok, honest)
	}

	// About the failures: one line at once, then a summary per interval,
	// the last at Close.
	s.closeLogs()
	var info, debug, summaries []string
	for _, m := range rec.messages() {
		if !strings.Contains(m, "auth failed") && !strings.Contains(m, "bad credentials") {
			continue
		}
		switch {
		case strings.HasPrefix(m, "DEBUG "):
			debug = append(debug, m)
		case strings.HasPrefix(m, "DEBUG"): // pion's own, below debug
		default:
			info = append(info, m)
			if strings.Contains(m, "rejected") {
				summaries = append(summaries, m)
			}
		}
	}
	intervals := int(elapsed/interval) + 2
	t.Logf("%d lines about the failures at info and above, %d at debug; first %q, summaries %q", len(info), len(debug), info[0], summaries)
	if len(info) > 1+intervals {
		t.Errorf("%d lines at info and above for %v of flood, want at most %d", len(info), elapsed, 1+intervals)
	}
	if len(debug) > maxDetails*intervals {
		t.Errorf("%d debug lines, want at most %d", len(debug), maxDetails*intervals)
	}
	if !slices.ContainsFunc(summaries, func(m string) bool { return strings.Contains(m, strconv.Itoa(maxSources)+"+ addresses") }) {
		t.Errorf("summaries %q, want one naming more than %d addresses", summaries, maxSources)
	}
}
