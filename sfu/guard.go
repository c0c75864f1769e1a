package sfu

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// The guard sits under pion's UDP and TCP muxes and decides which packets
// from the network reach pion at all, by local ICE ufrag then source
// address, because pion creates state for whatever arrives:
//
//   - a valid check from a new source address becomes a peer-reflexive
//     candidate, candidate pairs, checks sent back to that address and a
//     queue of 8 KiB buffers in the UDP mux, kept until the participant
//     leaves. A participant knows its own ICE password (it is in the
//     offer), so it can send valid checks from as many addresses as it
//     likes, and spoof them. The guard lets a participant's checks come
//     from at most maxRemoteAddrs source addresses in its life, new ones
//     at newAddrRate a second, each judged by the address policy and the
//     STUN message integrity before pion sees it.
//   - an SRTP or SRTCP packet with a new SSRC becomes an SRTP stream with
//     its replay state and buffer, an RTCP stream, an entry in a list
//     that pion keeps for the life of the connection and, for RTP, a
//     goroutine that probes the stream (about 3.7 KB per SSRC). The SSRC
//     is in clear in the packet: the guard lets through only the SSRCs
//     the participant's answer announced and the first few others.
//   - media from an address no check has come from is dropped.
//
// One state per participant, created before its offer and removed when it
// is gone: the guard never holds anything per unknown ufrag, address or
// SSRC.

const (
	// maxRemoteAddrs is the number of source addresses a participant's
	// ICE checks may come from over its life (UDP and TCP): a browser uses
	// a few (host, server-reflexive, relayed; IPv4 and IPv6).
	maxRemoteAddrs = 8
	// newAddrBurst new addresses at once, then newAddrRate a second.
	newAddrBurst = 4
	newAddrRate  = 2
	// maxAnnouncedSSRCs is the number of SSRCs an answer may announce: the
	// microphone, and some browsers announce one per receiving m-line.
	maxAnnouncedSSRCs = 16
	// SSRCs accepted without being announced: RTP (a client that does not
	// announce its microphone's) and RTCP senders (the SSRC browsers send
	// receiver reports from, which they do not announce).
	learnRTP  = 2
	learnRTCP = 4
	// learnVideo more, both ways, for video participants: three camera
	// layers and a screen.
	learnVideo = 4
)

var errUfragTaken = errors.New("sfu: ICE ufrag already in use")

// guard is the Engine's packet admission, shared by the UDP and TCP muxes.
type guard struct {
	policy *addrPolicy
	stats  *counters
	now    func() int64 // the Engine's nanotime

	mu      sync.RWMutex
	byUfrag map[string]*peerGuard
	byAddr  map[netip.AddrPort]*peerGuard // UDP sources admitted by a check
}

// peerGuard is one participant's admission state.
type peerGuard struct {
	ufrag string
	key   stun.MessageIntegrity // the local ICE password

	// Guarded by guard.mu.
	addrs   []netip.AddrPort // UDP sources in guard.byAddr
	seen    int              // sources ever admitted, UDP and TCP
	tat     int64            // new-address rate: theoretical arrival time (GCRA)
	removed bool

	mu   sync.Mutex // the SSRC sets: the UDP reader and TCP connections read them
	rtp  ssrcSet
	rtcp ssrcSet
	ann  [maxAnnouncedSSRCs]uint32 // what the answer announced
	nAnn int
	// Packet-rate budgets (GCRA theoretical arrival times), under mu.
	rtpTAT, ctlTAT int64
	// The RTP budget: rtpInterval/rtpBurst, or the video ones (allowVideo).
	rtpEvery, rtpMax int64
}

// ssrcSet holds the SSRCs accepted from one participant in one direction
// of RTP or RTCP: the announced ones, then up to learn more, first come.
type ssrcSet struct {
	list  [maxAnnouncedSSRCs + learnRTCP]uint32
	n     int
	learn int
}

func (s *ssrcSet) allow(ssrc uint32) bool {
	for _, x := range s.list[:s.n] {
		if x == ssrc {
			return true
		}
	}
	if s.learn > 0 && s.n < len(s.list) {
		s.list[s.n] = ssrc
		s.n++
		s.learn--
		return true
	}
	return false
}

func newGuard(policy *addrPolicy, stats *counters, now func() int64) *guard {
	return &guard{
		policy:  policy,
		stats:   stats,
		now:     now,
		byUfrag: make(map[string]*peerGuard),
		byAddr:  make(map[netip.AddrPort]*peerGuard),
	}
}

// iceChars are the characters of ICE ufrags and passwords (RFC 8839).
const iceChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

func randomICEString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = iceChars[b[i]%64]
	}
	return string(b)
}

// add registers a participant with fresh ICE credentials, which it must
// give pion (SettingEngine.SetICECredentials).
func (g *guard) add() (*peerGuard, string, string) {
	for {
		ufrag, pwd := randomICEString(16), randomICEString(32)
		if pg, err := g.addCredentials(ufrag, pwd); err == nil {
			return pg, ufrag, pwd
		}
	}
}

func (g *guard) addCredentials(ufrag, pwd string) (*peerGuard, error) {
	pg := &peerGuard{
		ufrag: ufrag,
		key:   stun.NewShortTermIntegrity(pwd),
		rtp:   ssrcSet{learn: learnRTP},
		rtcp:  ssrcSet{learn: learnRTCP},

		rtpEvery: rtpInterval, rtpMax: rtpBurst,
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byUfrag[ufrag] != nil {
		return nil, errUfragTaken
	}
	g.byUfrag[ufrag] = pg
	return pg, nil
}

// remove forgets a participant: its ufrag and addresses admit nothing more.
func (g *guard) remove(pg *peerGuard) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if pg.removed {
		return
	}
	pg.removed = true
	delete(g.byUfrag, pg.ufrag)
	for _, a := range pg.addrs {
		if g.byAddr[a] == pg {
			delete(g.byAddr, a)
		}
	}
	pg.addrs = nil
}

// announce adds the SSRCs of the participant's answer to both sets.
func (pg *peerGuard) announce(ssrcs []uint32) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	for _, s := range ssrcs {
		if pg.nAnn < maxAnnouncedSSRCs && !slices.Contains(pg.ann[:pg.nAnn], s) {
			pg.ann[pg.nAnn] = s
			pg.nAnn++
		}
		for _, set := range []*ssrcSet{&pg.rtp, &pg.rtcp} {
			if set.n < maxAnnouncedSSRCs && !slices.Contains(set.list[:set.n], s) {
				set.list[set.n] = s
				set.n++
			}
		}
	}
}

// allowVideo gives a participant whose offer carries video the SSRCs and
// the packet rate of a camera and a screen: a browser announces no SSRC
// for simulcast layers (they go by RID).
func (pg *peerGuard) allowVideo() {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.rtp.learn += learnVideo
	pg.rtcp.learn += learnVideo
	pg.rtpEvery, pg.rtpMax = videoRTPInterval, videoRTPBurst
}

// announced reports whether the answer announced ssrc.
func (pg *peerGuard) announced(ssrc uint32) bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return slices.Contains(pg.ann[:pg.nAnn], ssrc)
}

const stunMagicCookie = 0x2112A442

// isSTUN reports whether b looks like a STUN message (RFC 7983: first byte
// 0–3, and the magic cookie).
func isSTUN(b []byte) bool {
	return len(b) >= 20 && b[0] < 4 && binary.BigEndian.Uint32(b[4:8]) == stunMagicCookie
}

// admitUDP decides whether a datagram from src goes on to pion's UDP mux.
// m is scratch space owned by the caller's goroutine.
func (g *guard) admitUDP(b []byte, src netip.AddrPort, m *stun.Message) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if isSTUN(b) {
		_, ok := g.admitSTUN(b, src, m, true)
		return ok
	}
	g.mu.RLock()
	pg := g.byAddr[src]
	g.mu.RUnlock()
	if pg == nil {
		g.stats.unknownSource.Add(1)
		return false
	}
	return g.admitMedia(pg, b)
}

// admitSTUN judges a STUN message from src. Only binding requests create
// state in pion; the rest (responses to the server's checks, indications)
// pass, and pion's mux routes them by address. A request is admitted if it
// comes from an address already admitted for its ufrag, or if the
// participant may use one more address and the request is genuine. It
// returns the participant a request was admitted for.
func (g *guard) admitSTUN(b []byte, src netip.AddrPort, m *stun.Message, udp bool) (*peerGuard, bool) {
	if binary.BigEndian.Uint16(b[0:2]) != uint16(stun.MethodBinding) { // class request
		return nil, true
	}
	m.Raw = b
	if err := m.Decode(); err != nil {
		g.stats.iceCheck.Add(1)
		return nil, false
	}
	user, err := m.Get(stun.AttrUsername)
	if err != nil {
		g.stats.iceCheck.Add(1)
		return nil, false
	}
	if i := bytes.IndexByte(user, ':'); i >= 0 {
		user = user[:i]
	}
	g.mu.RLock()
	pg := g.byUfrag[string(user)]
	known := pg != nil && udp && g.byAddr[src] == pg
	g.mu.RUnlock()
	switch {
	case pg == nil:
		g.stats.iceCheck.Add(1)
		return nil, false
	case known:
		return pg, g.withinRate(pg, &pg.ctlTAT, ctlInterval, ctlBurst)
	}
	// A new address: the cheap checks first, the HMAC last.
	now := g.now()
	g.mu.Lock()
	ok := pg.mayAddLocked(now)
	g.mu.Unlock()
	if !ok || !g.policy.allowed(src.Addr()) || pg.key.Check(m) != nil {
		g.stats.iceCheck.Add(1)
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !pg.mayAddLocked(now) {
		g.stats.iceCheck.Add(1)
		return nil, false
	}
	pg.seen++
	pg.tat = max(pg.tat, now) + addrInterval
	if udp {
		if old := g.byAddr[src]; old != nil && old != pg {
			old.addrs = deleteAddr(old.addrs, src) // the address changed hands (NAT reuse)
		}
		g.byAddr[src] = pg
		pg.addrs = append(pg.addrs, src)
	}
	return pg, true
}

// addrInterval is the time one new address costs in the budget.
const addrInterval = int64(time.Second) / newAddrRate

// mayAddLocked reports whether pg may use one more source address now: at
// most maxRemoteAddrs in its life, newAddrBurst at once, then newAddrRate
// a second (a GCRA token bucket). Holding g.mu.
func (pg *peerGuard) mayAddLocked(now int64) bool {
	return !pg.removed && pg.seen < maxRemoteAddrs && max(pg.tat, now)-now <= (newAddrBurst-1)*addrInterval
}

func deleteAddr(list []netip.AddrPort, a netip.AddrPort) []netip.AddrPort {
	for i, x := range list {
		if x == a {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// admitMedia judges a non-STUN packet from one of pg's addresses (RFC 7983
// demultiplexing): DTLS passes, RTP and RTCP pass if their SSRC (the
// packet's, for RTP; the sender's, for RTCP, both in clear under SRTP) is
// in pg's sets, anything else is dropped (pion would drop it too).
func (g *guard) admitMedia(pg *peerGuard, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch c := b[0]; {
	case c >= 20 && c <= 63:
		return g.withinRate(pg, &pg.ctlTAT, ctlInterval, ctlBurst)
	case c < 128 || c > 191 || len(b) < 8:
		return false
	}
	var set *ssrcSet
	var ssrc uint32
	tat, interval, burst := &pg.rtpTAT, pg.rtpEvery, pg.rtpMax
	if b[1] >= 192 && b[1] <= 223 { // RTCP packet types 192–223 (RFC 5761)
		set, ssrc = &pg.rtcp, binary.BigEndian.Uint32(b[4:8])
		tat, interval, burst = &pg.ctlTAT, ctlInterval, ctlBurst
	} else if len(b) >= 12 {
		set, ssrc = &pg.rtp, binary.BigEndian.Uint32(b[8:12])
	} else {
		return false
	}
	pg.mu.Lock()
	known := set.allow(ssrc)
	pg.mu.Unlock()
	if !known {
		g.stats.unknownSSRC.Add(1)
		return false
	}
	return g.withinRate(pg, tat, interval, burst)
}

// Packet rates a participant may send at (beyond them its packets are
// dropped before pion decrypts them, the costly part): RTP at twice the
// rate of 10 ms Opus frames; everything else (RTCP, checks from its
// admitted addresses, DTLS) at a rate no honest client comes near (a few
// reports and NACKs a second, a check every few seconds).
const (
	rtpRate, rtpBurst = 200, 100
	ctlRate, ctlBurst = 100, 50
	rtpInterval       = int64(time.Second) / rtpRate
	ctlInterval       = int64(time.Second) / ctlRate
	// A video participant: a 2.5 Mbit/s simulcast camera and a screen
	// share are under 600 packets a second, a keyframe of each a burst of
	// a few hundred.
	videoRTPRate, videoRTPBurst = 1500, 600
	videoRTPInterval            = int64(time.Second) / videoRTPRate
)

// withinRate spends one packet of a GCRA budget of pg.
func (g *guard) withinRate(pg *peerGuard, tat *int64, interval, burst int64) bool {
	now := g.now()
	pg.mu.Lock()
	t := max(*tat, now)
	ok := t-now <= (burst-1)*interval
	if ok {
		*tat = t + interval
	}
	pg.mu.Unlock()
	if !ok {
		g.stats.flood.Add(1)
	}
	return ok
}

// guardedUDP is the media socket as pion's UDP mux sees it: reads return
// only what the guard admits. It implements ice.AddrPortReaderWriter, so
// the mux reads and writes without allocating.
type guardedUDP struct {
	*net.UDPConn
	g   *guard
	msg stun.Message // the mux's single reader goroutine only
}

func (c *guardedUDP) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, src, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil || c.g.admitUDP(b[:n], src, &c.msg) {
			return n, src, err
		}
	}
}

func (c *guardedUDP) WriteToAddrPort(b []byte, dst netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, dst)
}

func (c *guardedUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	n, src, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(src), nil
}
