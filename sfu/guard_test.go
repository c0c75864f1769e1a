package sfu

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/stun/v4"
)

// testGuard is a guard with a settable clock and one participant whose
// credentials guardCheck uses.
func testGuard(t *testing.T, policy *addrPolicy) (*guard, *peerGuard, *int64) {
	t.Helper()
	now := new(int64)
	g := newGuard(policy, &counters{}, func() int64 { return *now })
	pg, err := g.addCredentials("ufragAAAA", "passwordpasswordpassword")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.addCredentials("ufragAAAA", "other"); err != errUfragTaken {
		t.Errorf("second registration of a ufrag: %v", err)
	}
	return g, pg, now
}

func src(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(i >> 8), byte(i)}), 4000)
}

// New source addresses: newAddrBurst at once, then newAddrRate a second,
// maxRemoteAddrs in all; known ones always; bad ones never.
func TestGuardNewAddresses(t *testing.T) {
	g, pg, now := testGuard(t, &addrPolicy{loopback: true})
	var m stun.Message
	check := guardCheck()
	admit := func(i int) bool { return g.admitUDP(check, src(i), &m) }
	for i := range newAddrBurst {
		if !admit(1 + i) {
			t.Fatalf("address %d of the burst refused", i)
		}
	}
	if admit(100) {
		t.Error("a fifth address at once admitted")
	}
	if !admit(1) {
		t.Error("a known address refused")
	}
	*now += int64(time.Second) / newAddrRate
	if !admit(100) || admit(101) {
		t.Error("one more address after 1/newAddrRate s: not exactly one")
	}
	*now += int64(time.Hour)
	for i := range 10 {
		admit(200 + i)
	}
	if pg.seen != maxRemoteAddrs || len(g.byAddr) != maxRemoteAddrs {
		t.Errorf("%d addresses admitted, %d mapped, want %d", pg.seen, len(g.byAddr), maxRemoteAddrs)
	}

	// Media only from admitted addresses, with announced (or the first
	// few) SSRCs.
	pg.announce([]uint32{0xabc})
	if !g.admitUDP(fakePacket(1), src(1), &m) {
		t.Error("announced RTP from an admitted address refused")
	}
	if g.admitUDP(fakePacket(1), src(999), &m) {
		t.Error("RTP from an unknown address admitted")
	}
	rtpFrom := func(ssrc uint32) []byte {
		b := fakePacket(2)
		b[8], b[9], b[10], b[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
		return b
	}
	for k := range learnRTP {
		if !g.admitUDP(rtpFrom(uint32(k+1)), src(1), &m) {
			t.Errorf("unannounced SSRC %d of the first %d refused", k+1, learnRTP)
		}
	}
	if g.admitUDP(rtpFrom(77), src(1), &m) {
		t.Error("one more unannounced SSRC admitted")
	}
	rr, _ := (&rtcp.ReceiverReport{SSRC: 0xabc}).Marshal()
	if !g.admitUDP(rr, src(1), &m) {
		t.Error("RTCP from the announced SSRC refused")
	}
	st := g.stats
	if st.unknownSource.Load() != 1 || st.unknownSSRC.Load() != 1 || st.iceCheck.Load() == 0 {
		t.Errorf("counters: unknown source %d, unknown SSRC %d, checks %d", st.unknownSource.Load(), st.unknownSSRC.Load(), st.iceCheck.Load())
	}

	// Gone: nothing passes.
	g.remove(pg)
	if admit(1) || g.admitUDP(fakePacket(3), src(1), &m) || len(g.byAddr) != 0 {
		t.Error("a removed participant's address still admitted")
	}
}

// Checks that would cost pion state are refused before the budget is
// spent: unknown ufrag, broken integrity, address outside the policy.
func TestGuardRefusesBadChecks(t *testing.T) {
	g, pg, _ := testGuard(t, &addrPolicy{public: true, own: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	var m stun.Message
	build := func(user, pwd string) []byte {
		msg, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
			stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return msg.Raw
	}
	if g.admitUDP(build("nobody:x", "passwordpasswordpassword"), src(1), &m) {
		t.Error("unknown ufrag admitted")
	}
	if g.admitUDP(build("ufragAAAA:x", "wrongwrongwrongwrongwrong"), src(1), &m) {
		t.Error("bad integrity admitted")
	}
	if g.admitUDP(guardCheck(), src(2), &m) { // 127.0.0.2: not public, not own
		t.Error("a check from outside the policy admitted")
	}
	if pg.seen != 0 || pg.tat != 0 {
		t.Errorf("refused checks spent the budget: seen %d", pg.seen)
	}
	if !g.admitUDP(guardCheck(), src(1), &m) {
		t.Error("a good check from the server's own address refused")
	}
	// Responses and indications are not judged (pion routes them by address).
	resp, _ := stun.Build(stun.TransactionID, stun.BindingSuccess)
	if !g.admitUDP(resp.Raw, src(50), &m) {
		t.Error("a STUN response dropped")
	}
}

// A participant's packets beyond its rates are dropped.
func TestGuardRates(t *testing.T) {
	g, pg, now := testGuard(t, &addrPolicy{loopback: true})
	pg.announce([]uint32{0xabc})
	var m stun.Message
	if !g.admitUDP(guardCheck(), src(1), &m) {
		t.Fatal("check refused")
	}
	rtpPkt := fakePacket(1)
	n := 0
	for range 1000 {
		if g.admitUDP(rtpPkt, src(1), &m) {
			n++
		}
	}
	if n != rtpBurst {
		t.Errorf("%d RTP packets at once, want %d", n, rtpBurst)
	}
	n = 0
	for range 1000 { // a packet a millisecond for a second
		*now += int64(time.Millisecond)
		if g.admitUDP(rtpPkt, src(1), &m) {
			n++
		}
	}
	if n != rtpRate {
		t.Errorf("%d RTP packets in a second, want %d", n, rtpRate)
	}
	if g.stats.flood.Load() == 0 {
		t.Error("DropFlood not counted")
	}
}

// BenchmarkGuardMedia is the guard's cost per media packet on the read
// path: an announced RTP packet from an admitted address.
func BenchmarkGuardMedia(b *testing.B) {
	now := int64(0)
	g := newGuard(&addrPolicy{loopback: true}, &counters{}, func() int64 { now += 5e6; return now })
	pg, _ := g.addCredentials("ufragAAAA", "passwordpasswordpassword")
	pg.announce([]uint32{0xabc})
	var m stun.Message
	if !g.admitUDP(guardCheck(), src(1), &m) {
		b.Fatal("check refused")
	}
	pkt := fakePacket(1)
	b.ReportAllocs()
	for b.Loop() {
		if !g.admitUDP(pkt, src(1), &m) {
			b.Fatal("refused")
		}
	}
}
