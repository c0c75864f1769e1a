package rtc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
)

// frame is p as RFC 4571 frames it on a stream.
func frame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...)
}

// dialTCP opens a stream to e's ICE-TCP port from the loopback IP from
// (empty: the kernel's choice).
func dialTCP(t testing.TB, e *Engine, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", e.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readFrame reads one frame, within d.
func readFrame(conn net.Conn, d time.Duration) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	defer conn.SetReadDeadline(time.Time{})
	var hdr [2]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err := io.ReadFull(conn, p)
	return p, err
}

// tcpCheck sends a check for c on the stream and reports whether its
// valid answer came back (the next STUN frame, within a second).
func tcpCheck(t testing.TB, conn net.Conn, c *Conn, use bool) bool {
	t.Helper()
	raw := buildCheck(t, c.ufrag+":peer", c.pwd, use)
	req := &stun.Message{Raw: raw}
	if err := req.Decode(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(frame(raw)); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := readFrame(conn, time.Second)
		if err != nil {
			return false
		}
		if len(p) == 0 || p[0] >= 4 {
			continue // media or DTLS on the stream
		}
		r := &stun.Message{Raw: p}
		if r.Decode() != nil || r.TransactionID != req.TransactionID {
			continue
		}
		var xa stun.XORMappedAddress
		if r.Type != stun.BindingSuccess || c.key.Check(r) != nil || stun.Fingerprint.Check(r) != nil || xa.GetFrom(r) != nil {
			t.Fatalf("bad answer on the stream: %v", r)
		}
		if got := conn.LocalAddr().(*net.TCPAddr); !got.IP.Equal(xa.IP) || got.Port != xa.Port {
			t.Fatalf("XOR-MAPPED-ADDRESS %v, want %v", xa, got)
		}
		return true
	}
}

// closedByServer reports whether the server ends the stream within d (a
// close or a reset) without sending anything first.
func closedByServer(conn net.Conn, d time.Duration) error {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	n, err := conn.Read(make([]byte, 64))
	switch {
	case n > 0:
		return errors.New("the server sent something")
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		// (A reset: the server closed with our bytes unread.)
		return nil
	}
	return err
}

func streams(e *Engine) int { return e.Stats().TCPStreams }

// A real pion PeerConnection restricted to TCP connects over ICE-TCP to
// the engine's passive candidate and exchanges SRTP both ways; the path
// is the stream.
func TestPionOverICETCP(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	h := newRecorder()
	const slotSSRC = 0x7c9
	c, offer, offerSDP := serverConn(t, e, h, slotSSRC)
	if !strings.Contains(offerSDP, " tcp ") || !strings.Contains(offerSDP, "tcptype passive") {
		t.Fatalf("no passive TCP candidate in the offer:\n%s", offerSDP)
	}
	client := newPionClientOn(t, pionTCPAPI(), offerSDP)
	answer := applyAnswer(t, c, offer, client.answer)
	select {
	case <-client.connected:
	case <-time.After(15 * time.Second):
		t.Fatal("pion did not connect over ICE-TCP")
	}
	waitState(t, c, StateConnected, 5*time.Second)
	if k := c.PathKind(); k != PathTCP {
		t.Fatalf("path kind %v, want TCP", k)
	}
	if ra := c.RemoteAddr(); !ra.Addr().IsLoopback() || ra.Port() == 0 {
		t.Fatalf("remote address %v", ra)
	}
	payload := []byte("twenty milliseconds of opus")
	seq := uint16(0)
	testkit.Eventually(t, 5*time.Second, "microphone packets at the server", func() bool {
		seq++
		_ = client.mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: seq, Timestamp: 960 * uint32(seq)}, Payload: payload})
		return len(h.packets()) >= 5
	})
	if got := h.packets()[0]; got.SSRC != answer.Media[0].SSRCs[0] || !bytes.Equal(got.Payload, payload) {
		t.Fatalf("server got %x %q", got.SSRC, got.Payload)
	}
	b := e.NewBatch()
	testkit.Eventually(t, 5*time.Second, "slot packets at the client", func() bool {
		for range 2 {
			seq++
			hdr := rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: slotSSRC}
			if seq%2 == 0 {
				_ = c.WriteRTP(&hdr, payload)
			} else {
				_ = b.WriteRTP(c, &hdr, payload)
			}
		}
		if b.Len() != 0 {
			t.Fatal("a TCP path's packet waited in the batch")
		}
		_ = b.Flush()
		return len(client.received()) >= 10
	})
	if st := e.Stats(); st.TCPStreams == 0 || st.Handshakes != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Its streams go with the connection.
	c.Close()
	testkit.Eventually(t, 5*time.Second, "the stream closed", func() bool { return streams(e) == 0 })
}

// What a stream may send first: anything but an authentic check closes
// it (within tcpFirst for nothing at all), and leaves no state.
func TestTCPFirstFrame(t *testing.T) {
	const first = 300 * time.Millisecond
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0", timing: timing{tcpFirst: first}})
	c, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	check := func(ufrag, pwd string, setters ...stun.Setter) []byte {
		m, err := stun.Build(append([]stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(ufrag + ":peer")}, setters...)...)
		if err != nil {
			t.Fatal(err)
		}
		if pwd != "" {
			if err := stun.NewShortTermIntegrity(pwd).AddTo(m); err != nil {
				t.Fatal(err)
			}
			if err := stun.Fingerprint.AddTo(m); err != nil {
				t.Fatal(err)
			}
		}
		return m.Raw
	}
	indication, _ := stun.Build(stun.TransactionID, stun.MessageType{Method: stun.MethodBinding, Class: stun.ClassIndication}, stun.Fingerprint)
	oversized := frame(append(check(c.ufrag, c.pwd), make([]byte, maxTCPFrame)...))
	for _, tc := range []struct {
		name string
		send []byte
		wait bool // closed at the deadline, not at once
	}{
		{"nothing", nil, true},
		{"half a length", []byte{0}, true},
		{"half a frame", frame(check(c.ufrag, c.pwd))[:30], true},
		{"RTP first", frame([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}), false},
		{"DTLS first", frame([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}), false},
		{"a zero length", []byte{0, 0}, false},
		{"a frame of 1501 bytes", frame(make([]byte, maxTCPFrame+1)), false},
		{"an oversized check", oversized, false},
		{"the largest length", []byte{0xff, 0xff}, false},
		{"STUN garbage", frame(append([]byte{0, 1, 0, 0}, make([]byte, 16)...)), false},
		{"a Binding indication", frame(indication.Raw), false},
		{"a check for no connection", frame(check("nobody", "a password of 22 chars+")), false},
		{"a check with a wrong password", frame(check(c.ufrag, "a wrong password 22+ long")), false},
		{"a check without integrity", frame(check(c.ufrag, "")), false},
		{"garbage after a wrong check", append(frame(check("nobody", "a password of 22 chars+")), frame([]byte{0x80, 0x60})...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialTCP(t, e, "")
			if tc.send != nil {
				if _, err := conn.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			if err := closedByServer(conn, 3*time.Second); err != nil {
				t.Fatalf("want the server to close the stream: %v", err)
			}
			if took := time.Since(start); tc.wait && took < first*8/10 || !tc.wait && took > first*8/10 {
				t.Errorf("closed after %v (first check within %v)", took, first)
			}
		})
	}
	testkit.Eventually(t, 2*time.Second, "no stream left", func() bool { return streams(e) == 0 })
	e.mu.RLock()
	addrs := len(e.byAddr)
	e.mu.RUnlock()
	if st := e.Stats(); st.Conns != 1 || c.PathKind() != PathNone || addrs != 0 || c.tcpStreams.Load() != 0 || c.State() != StateNew {
		t.Fatalf("conns %d, path %v, byAddr %d, streams bound %d, state %v", st.Conns, c.PathKind(), addrs, c.tcpStreams.Load(), c.State())
	}

	// An authentic check binds the stream and, no path being selected,
	// selects it; the stream then lives past the first deadline. A frame
	// too long closes it even then, and the path with it.
	conn := dialTCP(t, e, "")
	if !tcpCheck(t, conn, c, false) {
		t.Fatal("no answer to a valid check on the stream")
	}
	if c.PathKind() != PathTCP || c.RemoteAddr() != netip.MustParseAddrPort(conn.LocalAddr().String()) || c.State() != StateChecking {
		t.Fatalf("path %v %v, state %v", c.PathKind(), c.RemoteAddr(), c.State())
	}
	time.Sleep(first * 2)
	if !tcpCheck(t, conn, c, false) {
		t.Fatal("the bound stream was closed at the first-check deadline")
	}
	if _, err := conn.Write(frame(make([]byte, maxTCPFrame+1))); err != nil {
		t.Fatal(err)
	}
	if err := closedByServer(conn, 2*time.Second); err != nil {
		t.Fatalf("oversized frame on a bound stream: %v", err)
	}
	testkit.Eventually(t, 2*time.Second, "the path cleared", func() bool { return c.PathKind() == PathNone && streams(e) == 0 })
	if c.RemoteAddr().IsValid() || c.tcpStreams.Load() != 0 {
		t.Fatalf("remote address %v, %d streams bound after the stream closed", c.RemoteAddr(), c.tcpStreams.Load())
	}
}

// How many streams there may be: maxTCPPerIP from one address (more are
// refused at once; another address still gets in), Config.MaxTCP in all,
// maxTCPPerConn bound to one connection (another's authentic check is
// not admitted: the stream waits for the deadline).
func TestTCPStreamLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
		for range maxTCPPerIP {
			dialTCP(t, e, "127.0.0.1")
		}
		testkit.Eventually(t, 2*time.Second, "streams admitted", func() bool { return streams(e) == maxTCPPerIP })
		if err := refused(t, e, "127.0.0.1"); err != nil {
			t.Fatalf("stream past the per-IP cap: %v", err)
		}
		if e.Stats().DropTCP == 0 {
			t.Error("DropTCP = 0")
		}
		dialTCP(t, e, "127.0.0.2")
		testkit.Eventually(t, 2*time.Second, "the other address admitted", func() bool { return streams(e) == maxTCPPerIP+1 })
	})
	t.Run("in all", func(t *testing.T) {
		e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0", MaxTCP: 3})
		for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
			dialTCP(t, e, ip)
		}
		testkit.Eventually(t, 2*time.Second, "streams admitted", func() bool { return streams(e) == 3 })
		if err := refused(t, e, "127.0.0.4"); err != nil {
			t.Fatalf("stream past MaxTCP: %v", err)
		}
	})
	t.Run("per connection", func(t *testing.T) {
		e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0", timing: timing{tcpFirst: 500 * time.Millisecond}})
		c, err := e.NewConn(newRecorder())
		if err != nil {
			t.Fatal(err)
		}
		for i := range maxTCPPerConn {
			if !tcpCheck(t, dialTCP(t, e, "127.0.0.1"), c, false) {
				t.Fatalf("stream %d: no answer", i)
			}
		}
		extra := dialTCP(t, e, "127.0.0.1")
		if tcpCheck(t, extra, c, false) {
			t.Fatal("a stream past maxTCPPerConn was admitted")
		}
		if err := closedByServer(extra, 2*time.Second); err != nil {
			t.Fatalf("the refused stream: %v", err)
		}
		if n := c.tcpStreams.Load(); n != maxTCPPerConn {
			t.Fatalf("%d streams bound", n)
		}
	})
	t.Run("IPv6 by /64", func(t *testing.T) {
		for _, tc := range []struct{ a, b string }{
			{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
			{"198.51.100.7", "198.51.100.7"},
			{"::ffff:198.51.100.7", "198.51.100.7"},
		} {
			a, b := netip.MustParseAddr(tc.a).Unmap(), netip.MustParseAddr(tc.b).Unmap()
			if tcpSource(a) != tcpSource(b) {
				t.Errorf("%v and %v counted apart", a, b)
			}
		}
		if tcpSource(netip.MustParseAddr("2001:db8:1:2::1")) == tcpSource(netip.MustParseAddr("2001:db8:1:3::1")) {
			t.Error("two /64s counted as one")
		}
	})
}

// refused dials and expects the stream ended at once.
func refused(t *testing.T, e *Engine, from string) error {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", e.TCPAddr().String())
	if err != nil {
		return nil // reset during the handshake
	}
	defer conn.Close()
	return closedByServer(conn, 2*time.Second)
}

// A STUN flood over ICE-TCP (random ufrags, wrong passwords, garbage: a
// stream each) ends each stream at its first frame and leaves nothing.
func TestTCPSTUNFlood(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	c, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	flood := floodPackets(t, c.ufrag)
	var wg sync.WaitGroup
	errs := make(chan error, len(flood))
	for w := range maxTCPPerIP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(flood); i += maxTCPPerIP {
				conn, err := net.DialTimeout("tcp", e.TCPAddr().String(), 2*time.Second)
				if err != nil {
					errs <- err
					return
				}
				// The flood packet, and more behind it that must not be read.
				_, _ = conn.Write(append(frame(flood[i]), frame(flood[(i+1)%len(flood)])...))
				if err := closedByServer(conn, 3*time.Second); err != nil {
					errs <- err
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testkit.Eventually(t, 2*time.Second, "no stream left", func() bool { return streams(e) == 0 })
	st := e.Stats()
	t.Logf("%d streams; unknown ufrag %d, bad integrity %d, malformed %d, past the connection's rate %d",
		len(flood), st.DropUnknownUfrag, st.DropBadIntegrity, st.DropMalformed, st.DropFlood)
	if got := st.DropUnknownUfrag + st.DropBadIntegrity + st.DropMalformed + st.DropFlood; got != uint64(len(flood)) {
		t.Fatalf("%d drops for %d streams of one bad frame each (the second frame must not be read)", got, len(flood))
	}
	e.mu.RLock()
	ufrags, addrs, conns := len(e.byUfrag), len(e.byAddr), len(e.conns)
	e.mu.RUnlock()
	if ufrags != 1 || addrs != 0 || conns != 1 || c.PathKind() != PathNone || c.tcpStreams.Load() != 0 || st.Checks != 0 {
		t.Fatalf("state after the flood: %d ufrags, %d addresses, %d connections, path %v, %d streams bound, %d checks",
			ufrags, addrs, conns, c.PathKind(), c.tcpStreams.Load(), st.Checks)
	}
}

// tcpPeer is the client side of an ICE-TCP stream beside a client-mode
// connection's UDP path: checks for the server connection, and SRTP
// sealed with the client connection's keys (so the server's receive
// state gets packets from its UDP reader and the stream's at once).
type tcpPeer struct {
	t    testing.TB
	p    *clientPair
	conn net.Conn
}

func newTCPPeer(t testing.TB, p *clientPair) *tcpPeer {
	return &tcpPeer{t: t, p: p, conn: dialTCP(t, p.serverE, "")}
}

func (tp *tcpPeer) rtp(seq uint16) {
	var buf [maxPacket]byte
	var scratch rtp.Header
	_, enc, err := tp.p.client.sealRTP(buf[:], func() *rtp.Header { h, _ := tp.p.micPacket(seq); return h }(), []byte{byte(seq), 1, 2, 3}, &scratch)
	if err != nil {
		tp.t.Error(err)
		return
	}
	if _, err := tp.conn.Write(frame(enc)); err != nil {
		tp.t.Error(err)
	}
}

func (tp *tcpPeer) rtcp() {
	var buf [maxPacket]byte
	rr, _ := (&rtcp.ReceiverReport{SSRC: tp.p.micSSRC}).Marshal()
	_, enc, err := tp.p.client.sealRTCP(buf[:], rr)
	if err != nil {
		tp.t.Error(err)
		return
	}
	if _, err := tp.conn.Write(frame(enc)); err != nil {
		tp.t.Error(err)
	}
}

// One connection gets media on its UDP path and on a bound ICE-TCP stream
// at once (a browser checking both pairs): both readers handle its
// receive state under its receive lock (run with -race), and every packet
// is taken.
func TestTCPAndUDPOnOneConn(t *testing.T) {
	se := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	p.server.SetRates(Rates{RTP: 1e6, RTPBurst: 1e6, Control: 1e6, ControlBurst: 1e6})
	tp := newTCPPeer(t, p)
	if !tcpCheck(t, tp.conn, p.server, false) {
		t.Fatal("no answer on the stream")
	}
	if k := p.server.PathKind(); k != PathUDP {
		t.Fatalf("a check without USE-CANDIDATE moved a live UDP path: %v", k)
	}
	// The stream's answers and media the server might send on it are
	// read and dropped.
	go func() { _, _ = io.Copy(io.Discard, tp.conn) }()
	// One SSRC on both paths, interleaved sequence numbers: 2n within the
	// replay window, so that no order the two senders run in makes a
	// packet too old.
	const n = 200
	rtcp0 := p.sh.rtcpCount()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // UDP: even sequence numbers
		defer wg.Done()
		for i := range uint16(n) {
			if err := p.client.WriteRTP(p.micPacket(2*i + 2)); err != nil {
				t.Error(err)
			}
			if i%50 == 0 {
				p.client.sendCheck()
			}
		}
	}()
	go func() { // TCP: odd ones, reports and checks
		defer wg.Done()
		for i := range uint16(n) {
			tp.rtp(2*i + 1)
			if i%10 == 0 {
				tp.rtcp()
			}
			if i%50 == 0 {
				_, _ = tp.conn.Write(frame(buildCheck(t, p.server.ufrag+":peer", p.server.pwd, false)))
			}
		}
	}()
	go func() { // and the server sends meanwhile
		defer wg.Done()
		b := se.NewBatch()
		for i := range uint16(n) {
			hdr := &rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: i, SSRC: p.slotSSRC}
			_ = b.WriteRTP(p.server, hdr, []byte{1, 2, 3})
			_ = b.Flush()
		}
	}()
	wg.Wait()
	defer func() {
		if t.Failed() {
			t.Logf("%d packets, %d reports; stats %+v", len(p.sh.packets()), p.sh.rtcpCount()-rtcp0, se.Stats())
		}
	}()
	testkit.Eventually(t, 5*time.Second, "every packet at the server", func() bool {
		return len(p.sh.packets()) == 2*n && p.sh.rtcpCount()-rtcp0 >= n/10
	})
	seen := map[uint16]bool{}
	for _, q := range p.sh.packets() {
		seen[q.SequenceNumber] = true
	}
	if len(seen) != 2*n {
		t.Fatalf("%d distinct packets of %d", len(seen), 2*n)
	}
	if st := se.Stats(); st.DropReplay != 0 || st.DropAuth != 0 || st.DropSSRC != 0 {
		t.Fatalf("drops %+v", st)
	}
}

// A check on a stream moves the path to it if it nominates (USE-CANDIDATE),
// not if the UDP path is alive; over the stream, the server's media and
// answers are framed. When the stream closes the path is cleared, and the
// client's next UDP check selects UDP again.
func TestTCPPathSwitch(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  bool
		want PathKind
	}{
		{"USE-CANDIDATE moves the path", true, PathTCP},
		{"without, a live UDP path stays", false, PathUDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
			ce := newTestEngine(t, Config{})
			p := dialPair(t, se, ce)
			if k := p.server.PathKind(); k != PathUDP {
				t.Fatalf("path %v after the UDP handshake", k)
			}
			tp := newTCPPeer(t, p)
			// The client's own checks (every checkInterval, nominating) may
			// move it back in between: check again until it holds.
			testkit.Eventually(t, 5*time.Second, "the check's path", func() bool {
				return tcpCheck(t, tp.conn, p.server, tc.use) && p.server.PathKind() == tc.want
			})
			if tc.want != PathTCP {
				return
			}
			if got, want := p.server.RemoteAddr(), netip.MustParseAddrPort(tp.conn.LocalAddr().String()); got != want {
				t.Fatalf("remote address %v, want the stream's %v", got, want)
			}
			// Server → client on the stream: the frame decrypts with the
			// client's keys (under its receive lock: its UDP reader uses
			// the same context).
			payload := []byte("over the stream")
			hdr := &rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: 7, SSRC: p.slotSSRC}
			testkit.Eventually(t, 5*time.Second, "the server's packet on the stream", func() bool {
				if !tcpCheck(t, tp.conn, p.server, true) {
					return false
				}
				hdr.SequenceNumber++
				if err := p.server.WriteRTP(hdr, payload); err != nil {
					t.Fatal(err)
				}
				for {
					f, err := readFrame(tp.conn, 300*time.Millisecond)
					if err != nil {
						return false // sent on UDP: a client check came in between
					}
					if f[0] < 128 || f[0] > 191 || len(f) >= 8 && f[1] >= 192 && f[1] <= 223 {
						continue // STUN, RTCP
					}
					var h rtp.Header
					p.client.rx.Lock()
					dec, err := p.client.keys.Load().in.DecryptRTP(nil, f, &h)
					p.client.rx.Unlock()
					if err != nil {
						t.Fatal(err)
					}
					if got := dec[h.MarshalSize():]; !bytes.Equal(got, payload) {
						t.Fatalf("client got %q over the stream", got)
					}
					return true
				}
			})
			// Client → server on the stream.
			tp.rtp(1000)
			testkit.Eventually(t, 2*time.Second, "the packet sent on the stream", func() bool {
				for _, q := range p.sh.packets() {
					if q.SequenceNumber == 1000 {
						return true
					}
				}
				return false
			})

			tp.conn.Close()
			testkit.Eventually(t, 2*time.Second, "the stream gone", func() bool { return streams(se) == 0 })
			if k := p.server.PathKind(); k == PathTCP {
				t.Fatal("a closed stream is still the path")
			}
			testkit.Eventually(t, 2*checkInterval+time.Second, "back on UDP", func() bool { return p.server.PathKind() == PathUDP })
			before := len(p.ch.packets())
			testkit.Eventually(t, 2*time.Second, "media on UDP again", func() bool {
				_ = p.server.WriteRTP(hdr, payload)
				hdr.SequenceNumber++
				return len(p.ch.packets()) > before
			})
		})
	}
}

// A peer that stops reading its stream: the server's writes fill the
// kernel's buffers, the one that cannot finish within tcpWriteBudget
// fails, the stream is closed and the path cleared (writes then fail at
// once, not after a budget each).
func TestTCPStuckPeer(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	c := connectedConn(t, e, netip.MustParseAddrPort("127.0.0.1:9"))
	conn := dialTCP(t, e, "")
	if !tcpCheck(t, conn, c, true) || c.PathKind() != PathTCP {
		t.Fatalf("path %v", c.PathKind())
	}
	hdr, _ := audioPacket()
	payload := make([]byte, 1200)
	deadline := time.Now().Add(20 * time.Second)
	var err error
	var slow time.Duration
	for err == nil && time.Now().Before(deadline) {
		start := time.Now()
		err = c.WriteRTP(hdr, payload)
		slow = max(slow, time.Since(start))
		hdr.SequenceNumber++
	}
	if err == nil {
		t.Fatal("writes to a peer that reads nothing never failed")
	}
	if slow > tcpWriteBudget+time.Second {
		t.Errorf("a write took %v (budget %v)", slow, tcpWriteBudget)
	}
	testkit.Eventually(t, 2*time.Second, "the stream closed", func() bool { return streams(e) == 0 && c.PathKind() == PathNone })
	start := time.Now()
	if err := c.WriteRTP(hdr, payload); err != ErrNotReady || time.Since(start) > tcpWriteBudget/2 {
		t.Fatalf("write after the stream closed: %v after %v", err, time.Since(start))
	}
	if e.Stats().SendErrors == 0 {
		t.Error("SendErrors = 0")
	}
}

// Engine.Close closes the listener and every stream, bound or not, and
// waits for their readers.
func TestCloseEngineClosesStreams(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	c, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	bound, unbound := dialTCP(t, e, ""), dialTCP(t, e, "")
	if !tcpCheck(t, bound, c, true) {
		t.Fatal("no answer")
	}
	testkit.Eventually(t, 2*time.Second, "both streams", func() bool { return streams(e) == 2 })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []net.Conn{bound, unbound} {
		if err := closedByServer(conn, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := net.DialTimeout("tcp", e.TCPAddr().String(), time.Second); err == nil {
		t.Fatal("the listener still accepts")
	}
}

// Host candidates: the bound address, or the announced ones (1:1 NAT),
// each with the UDP socket's port and, with ICE-TCP, the listener's
// (tcptype passive, below UDP). An address the socket cannot be reached
// at is refused.
func TestCandidates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		want     []string // "proto ip tcptype", in order
		wantsErr bool
	}{
		{"UDP", Config{}, []string{"udp 127.0.0.1 "}, false},
		{"UDP and TCP", Config{TCPAddr: "127.0.0.1:0"}, []string{"udp 127.0.0.1 ", "tcp 127.0.0.1 passive"}, false},
		{"announced", Config{Announce: []netip.Addr{netip.MustParseAddr("203.0.113.7")}},
			[]string{"udp 203.0.113.7 "}, false},
		{"announced, two, with TCP", Config{TCPAddr: "127.0.0.1:0", Announce: []netip.Addr{
			netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("::ffff:198.51.100.9")}},
			[]string{"udp 203.0.113.7 ", "tcp 203.0.113.7 passive", "udp 198.51.100.9 ", "tcp 198.51.100.9 passive"}, false},
		{"IPv6 beside IPv4 on an IPv4 socket: left out", Config{Announce: []netip.Addr{
			netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("203.0.113.7")}}, []string{"udp 203.0.113.7 "}, false},
		{"only IPv6 on an IPv4 socket: the bound address", Config{Announce: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
			[]string{"udp 127.0.0.1 "}, false},
		{"multicast", Config{Announce: []netip.Addr{netip.MustParseAddr("239.1.2.3")}}, nil, true},
		{"unspecified", Config{Announce: []netip.Addr{netip.IPv4Unspecified()}}, nil, true},
		{"invalid", Config{Announce: []netip.Addr{{}}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Addr, tc.cfg.Logger = "127.0.0.1:0", testLogger()
			e, err := NewEngine(tc.cfg)
			if tc.wantsErr {
				if err == nil {
					e.Close()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			c, err := e.NewConn(newRecorder())
			if err != nil {
				t.Fatal(err)
			}
			text, err := c.Offer(audioMedia()).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDescription(text)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Candidates) != len(tc.want) {
				t.Fatalf("candidates %v, want %v\n%s", d.Candidates, tc.want, text)
			}
			var lastUDP uint32
			for i, cand := range d.Candidates {
				if got := cand.Protocol + " " + cand.Addr.Addr().String() + " " + cand.TCPType; got != tc.want[i] || cand.Type != "host" {
					t.Errorf("candidate %d: %q %s, want %q host", i, got, cand.Type, tc.want[i])
				}
				port := e.Addr().Port()
				if cand.Protocol == "tcp" {
					port = e.TCPAddr().Port()
					if cand.Priority >= lastUDP {
						t.Errorf("TCP priority %d not below UDP's %d", cand.Priority, lastUDP)
					}
				} else {
					lastUDP = cand.Priority
				}
				if cand.Addr.Port() != port {
					t.Errorf("candidate %d: port %d, want %d", i, cand.Addr.Port(), port)
				}
			}
			if e.Candidate() != d.Candidates[0] {
				t.Errorf("Candidate() %v, want the first one %v", e.Candidate(), d.Candidates[0])
			}
		})
	}
}
