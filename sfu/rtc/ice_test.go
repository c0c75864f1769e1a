package rtc

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
)

// udpSocket is a loopback socket for a test to send raw datagrams from.
func udpSocket(t testing.TB) *net.UDPConn {
	t.Helper()
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func localAddr(s *net.UDPConn) netip.AddrPort {
	a := s.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// buildCheck is a Binding request as a controlling ICE agent writes it.
func buildCheck(t testing.TB, username, pwd string, useCandidate bool) []byte {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(username),
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)}}
	if useCandidate {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// check sends a Binding request as a controlling ICE agent would and
// returns whether a valid answer came back.
func check(t testing.TB, s *net.UDPConn, to netip.AddrPort, username, pwd string, useCandidate bool) bool {
	t.Helper()
	raw := buildCheck(t, username, pwd, useCandidate)
	m := &stun.Message{Raw: raw}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteToUDPAddrPort(raw, to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = s.SetReadDeadline(time.Now().Add(time.Second))
	defer s.SetReadDeadline(time.Time{})
	for {
		n, _, err := s.ReadFromUDPAddrPort(buf)
		if err != nil {
			return false
		}
		r := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if r.Decode() != nil || r.TransactionID != m.TransactionID {
			continue
		}
		var xa stun.XORMappedAddress
		if r.Type != stun.BindingSuccess || stun.NewShortTermIntegrity(pwd).Check(r) != nil || stun.Fingerprint.Check(r) != nil || xa.GetFrom(r) != nil {
			t.Fatalf("bad answer %v", r)
		}
		if got := netip.AddrPortFrom(netip.MustParseAddr(xa.IP.String()), uint16(xa.Port)); got != localAddr(s) {
			t.Fatalf("XOR-MAPPED-ADDRESS %v, want %v", got, localAddr(s))
		}
		return true
	}
}

// The client's socket changes (a NAT rebinding, another network): its
// next check, nominating, moves the server's media to the new address,
// and the client's media from there is accepted. Media from an address no
// check came from is not.
func TestAddressChangeFollowsCheck(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	old := p.client.sock.Load().local
	if p.server.RemoteAddr() != old {
		t.Fatalf("server sends to %v, client at %v", p.server.RemoteAddr(), old)
	}
	seq := uint16(0)
	send := func() {
		seq++
		if err := p.client.WriteRTP(p.micPacket(seq)); err != nil {
			t.Fatal(err)
		}
		hdr := rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: seq, SSRC: p.slotSSRC}
		if err := p.server.WriteRTP(&hdr, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	testkit.Eventually(t, 2*time.Second, "media both ways", func() bool { return len(p.sh.packets()) == 1 && len(p.ch.packets()) == 1 })

	if err := p.client.Rebind(); err != nil {
		t.Fatal(err)
	}
	now := p.client.sock.Load().local
	testkit.Eventually(t, 2*time.Second, "server's media moved", func() bool { return p.server.RemoteAddr() == now })
	for range 5 {
		send()
	}
	testkit.Eventually(t, 2*time.Second, "media both ways from the new address", func() bool {
		return len(p.sh.packets()) == 6 && len(p.ch.packets()) == 6
	})
	if st := se.Stats(); st.AddressChanges != 1 || p.server.State() != StateConnected {
		t.Fatalf("address changes %d, state %v", st.AddressChanges, p.server.State())
	}

	// An SRTP packet (a copy of a valid one) from a stranger's address.
	stranger := udpSocket(t)
	buf := make([]byte, 1500)
	_, enc, err := p.client.sealRTP(buf, &rtp.Header{Version: 2, SSRC: p.micSSRC, SequenceNumber: 999}, []byte{1}, &rtp.Header{})
	if err != nil {
		t.Fatal(err)
	}
	before := se.Stats().DropUnknownAddr
	if _, err := stranger.WriteToUDPAddrPort(enc, se.Addr()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 2*time.Second, "stranger's packet dropped", func() bool { return se.Stats().DropUnknownAddr == before+1 })
	if len(p.sh.packets()) != 6 {
		t.Fatal("a packet from an unchecked address reached the handler")
	}
}

// A valid check without USE-CANDIDATE (Firefox's consent checks, a
// backup pair) from a new address is answered, but moves the media only
// once the selected address has been silent for switchAfter; a
// nominating one moves it at once.
func TestAddressSwitchRules(t *testing.T) {
	se := newTestEngine(t, Config{timing: timing{switchAfter: 300 * time.Millisecond}})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	old := p.server.RemoteAddr()
	username := p.server.ufrag + ":" + p.client.ufrag
	if err := p.client.WriteRTP(p.micPacket(1)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 2*time.Second, "media in", func() bool { return len(p.sh.packets()) == 1 })

	backup := udpSocket(t)
	if !check(t, backup, se.Addr(), username, p.server.pwd, false) {
		t.Fatal("check from the backup address not answered")
	}
	if p.server.RemoteAddr() != old {
		t.Fatal("a non-nominating check moved a live path")
	}
	if check(t, backup, se.Addr(), username, "wrong password 1234567890", true) {
		t.Fatal("check with a wrong password answered")
	}

	p.client.Close() // the old path goes silent
	time.Sleep(350 * time.Millisecond)
	if !check(t, backup, se.Addr(), username, p.server.pwd, false) {
		t.Fatal("check not answered")
	}
	if got := p.server.RemoteAddr(); got != localAddr(backup) {
		t.Fatalf("after silence, media goes to %v, want %v", got, localAddr(backup))
	}
	nominated := udpSocket(t)
	if !check(t, nominated, se.Addr(), username, p.server.pwd, true) {
		t.Fatal("check not answered")
	}
	if got := p.server.RemoteAddr(); got != localAddr(nominated) {
		t.Fatalf("after USE-CANDIDATE, media goes to %v, want %v", got, localAddr(nominated))
	}
	if st := se.Stats(); st.AddressChanges != 2 || st.DropBadIntegrity != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// admit's bounds, on connections that see no traffic (so the test may
// play the reader): a live address of one connection cannot be taken by
// another (source addresses can be spoofed), a stale one can; new
// addresses come at a bounded rate; at most maxAddrs are kept.
func TestAdmitBounds(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(1000+i))
	}
	owner := func(ap netip.AddrPort) *Conn {
		e.mu.RLock()
		defer e.mu.RUnlock()
		return e.byAddr[ap]
	}
	sec := int64(time.Second)
	t0 := e.now()

	if !a.admit(addr(0), true, t0) || owner(addr(0)) != a || a.RemoteAddr() != addr(0) {
		t.Fatal("first address not admitted")
	}
	if b.admit(addr(0), true, t0+sec) || owner(addr(0)) != a {
		t.Fatal("b took a's live address")
	}
	if !b.admit(addr(0), true, t0+31*sec) || owner(addr(0)) != b || a.findAddr(addr(0)) >= 0 {
		t.Fatal("b could not take a's stale address")
	}

	// Rate: a's burst is full again; then one address per newAddrEvery.
	t1 := t0 + 40*sec // refilled
	for i := 1; i <= newAddrBurst; i++ {
		if !a.admit(addr(i), false, t1) {
			t.Fatalf("address %d of the burst refused", i)
		}
	}
	if a.admit(addr(10), false, t1) {
		t.Fatal("address past the burst admitted")
	}
	// The selected path is heard again (else, silent past switchAfter, it
	// would give way to the next address).
	if !a.admit(addr(1), false, t1+int64(newAddrEvery)) {
		t.Fatal("the selected address refused")
	}
	if !a.admit(addr(10), false, t1+int64(newAddrEvery)) {
		t.Fatal("address after the refill refused")
	}
	if a.naddrs != maxAddrs {
		t.Fatalf("%d addresses kept, want %d", a.naddrs, maxAddrs)
	}
	// The selected one (addr(1), the first admitted after b took addr(0))
	// survived the evictions; the least recently heard went.
	if a.RemoteAddr() != addr(1) || a.findAddr(addr(1)) < 0 || owner(addr(2)) != nil {
		t.Fatalf("selected %v, addresses %v", a.RemoteAddr(), a.addrs)
	}
	// The address policy judges new addresses.
	e.allow = func(ip netip.Addr) bool { return ip != netip.MustParseAddr("127.0.0.3") }
	refused := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), 9)
	if b.admit(refused, true, t1+10*sec) || owner(refused) != nil {
		t.Fatal("an address the policy refuses was admitted")
	}
	e.allow = nil
	e.mu.RLock()
	n := len(e.byAddr)
	e.mu.RUnlock()
	if n != maxAddrs+1 {
		t.Fatalf("%d addresses in the engine", n)
	}
	a.Close()
	b.Close()
	e.mu.RLock()
	n = len(e.byAddr) + len(e.byUfrag)
	e.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d entries left after Close", n)
	}
}

// floodPackets are what a STUN flood sends: checks for random ufrags,
// checks for a real ufrag with a wrong password, and garbage that looks
// like STUN by its first byte.
func floodPackets(t testing.TB, ufrag string) [][]byte {
	var out [][]byte
	for i := range 300 {
		var m *stun.Message
		var err error
		switch i % 3 {
		case 0:
			m, err = stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(randomString(8)+":x"),
				stun.NewShortTermIntegrity("whatever password of 22+"), stun.Fingerprint)
		case 1:
			m, err = stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ufrag+":x"),
				stun.NewShortTermIntegrity("a wrong password, 22+ long"), stun.Fingerprint)
		default:
			b := make([]byte, 20+i%100)
			_, _ = rand.Read(b)
			b[0] &= 3
			if i%2 == 0 && len(b) >= 8 { // a valid cookie, a wrong length
				binary.BigEndian.PutUint32(b[4:8], stunMagicCookie)
			}
			out = append(out, b)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Raw)
	}
	return out
}

// A flood of STUN with random ufrags (and wrong passwords, and garbage)
// creates no state and allocates nothing, while an honest peer on the
// same socket keeps its media and its connection.
func TestSTUNFlood(t *testing.T) {
	se := newTestEngine(t, Config{})
	ce := newTestEngine(t, Config{})
	p := dialPair(t, se, ce)
	flood := floodPackets(t, p.server.ufrag)

	// The reader's work per flood packet, measured on a reader state of
	// the test's own (the real reader keeps running beside it).
	s := &socket{e: se}
	from := netip.MustParseAddrPort("127.0.0.9:9")
	// (Copies of the packets: a check's HMAC is computed in the buffer.)
	bufs := make([][]byte, len(flood))
	for i, f := range flood {
		bufs[i] = make([]byte, len(f), len(f)+64)
	}
	i := 0
	allocs := testing.AllocsPerRun(3000, func() {
		b := bufs[i%len(bufs)]
		copy(b, flood[i%len(flood)])
		s.handle(b, from)
		i++
	})
	if allocs != 0 && !raceEnabled {
		t.Fatalf("%.2f allocations per flood packet", allocs)
	}

	// The flood over the network, with the honest peer talking meanwhile:
	// 300 packets every 10 ms (30,000 a second, a rate the reader keeps up
	// with even under the race detector; past the reader's rate, the
	// kernel drops at random, honest packets too, whatever the reader does).
	var stop atomic.Bool
	var wg sync.WaitGroup
	sent := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		sock := udpSocket(t)
		for !stop.Load() {
			for _, b := range flood {
				_, _ = sock.WriteToUDPAddrPort(b, se.Addr())
			}
			sent += len(flood)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	const talk = 100
	for seq := range uint16(talk) {
		if err := p.client.WriteRTP(p.micPacket(seq + 1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	testkit.Eventually(t, 2*time.Second, "the honest peer's packets", func() bool { return len(p.sh.packets()) >= talk*95/100 })
	st := se.Stats()
	dropped := st.DropUnknownUfrag + st.DropBadIntegrity + st.DropMalformed
	t.Logf("%d flood packets sent, %d dropped by the reader (unknown ufrag %d, bad integrity %d, malformed %d); honest peer: %d/%d packets",
		sent, dropped, st.DropUnknownUfrag, st.DropBadIntegrity, st.DropMalformed, len(p.sh.packets()), talk)
	if dropped < uint64(sent)/2 || st.DropUnknownUfrag == 0 || st.DropBadIntegrity == 0 || st.DropMalformed == 0 {
		t.Fatalf("the reader saw too little of the flood: %+v", st)
	}
	e := se
	e.mu.RLock()
	ufrags, addrs, conns := len(e.byUfrag), len(e.byAddr), len(e.conns)
	e.mu.RUnlock()
	if ufrags != 1 || addrs != 1 || conns != 1 {
		t.Fatalf("state after the flood: %d ufrags, %d addresses, %d connections", ufrags, addrs, conns)
	}
	if p.server.State() != StateConnected || p.server.RemoteAddr() != p.client.sock.Load().local {
		t.Fatalf("honest peer: %v at %v", p.server.State(), p.server.RemoteAddr())
	}
}
