package sfu

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Fuzz targets for every decoder of network input in the media plane. Each
// runs the real code on a real Engine; seeds are in testdata/fuzz (written
// by TestWriteFuzzCorpus) and in the f.Add calls. Run one with e.g.
//
//	go test -run '^$' -fuzz '^FuzzPublisherPackets$' -fuzztime 60s ./sfu/

// splitPackets cuts fuzz input into packets, each prefixed by one length
// byte (so one input is a sequence of packets).
func splitPackets(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		out = append(out, b[1:1+n])
		b = b[1+n:]
	}
	return out
}

func joinPackets(pkts ...[]byte) []byte {
	var out []byte
	for _, p := range pkts {
		if len(p) > 255 {
			panic("packet too long for the fuzz framing")
		}
		out = append(out, byte(len(p)))
		out = append(out, p...)
	}
	return out
}

// reset gives the fake room's publisher and subscribers fresh packet
// state, so that each fuzz input runs alone.
func (f *fakeRoom) reset(levelID uint8) {
	f.pub.rd = &reader{levelID: levelID}
	f.pub.cache = nil
	for k, sub := range f.subs {
		for i := range sub.out {
			mu := &f.room.slots[i].mu
			mu.Lock()
			sub.out[i] = slotState{}
			sub.out[i].bind(f.w[k][i], sub.slotSSRC[i], opusPayloadType, 1)
			sub.out[i].nextSR = 1 << 62
			sub.out[i].lastSeq = 0xffff // the first packet out is 0: seeds can NACK it
			mu.Unlock()
			f.w[k][i].keep = false
		}
		sub.rs = nil
	}
}

// The publisher's packets through the reader: RTP parsing, audio level,
// receiver statistics, upstream NACKs, the gate and pre-roll, the slot
// rewrite and the fan-out to two listeners. The first input byte is the
// audio-level extension id, the second toggles the floor and mute, each
// packet then advances the clock by 20 ms.
func FuzzPublisherPackets(f *testing.F) {
	fr := newFakeRoom(f, 2)
	for _, s := range publisherSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		fr.reset(in[0] % 16)
		fr.pub.muted.Store(in[1]&1 != 0)
		if in[1]&2 != 0 {
			fr.room.ReleaseFloor(fr.pub)
		} else if err := fr.room.RequestFloor(fr.pub, true); err != nil {
			t.Fatal(err)
		}
		now := fr.e.nanotime()
		for k, p := range splitPackets(in[2:]) {
			if k == 4 && in[1]&4 != 0 { // the floor changes mid-stream
				if err := fr.room.RequestFloor(fr.pub, true); err != nil {
					t.Fatal(err)
				}
			}
			fr.pub.handle(p, now)
			now += 20e6
		}
		for k, sub := range fr.subs {
			checkSlotStream(t, sub, fr.w[k])
		}
	})
}

// checkSlotStream asserts what must hold of any output: the stream's own
// SSRC and payload type (the fakeWriter keeps the last header).
func checkSlotStream(t *testing.T, sub *Participant, ws []*fakeWriter) {
	for i, w := range ws {
		w.mu.Lock()
		h, n := w.last, w.n
		w.mu.Unlock()
		if n > 0 && (h.SSRC != sub.slotSSRC[i] || h.PayloadType != opusPayloadType || len(h.CSRC) != 1) {
			t.Fatalf("slot %d wrote %+v", i, h)
		}
	}
}

func publisherSeeds() [][]byte {
	var seeds [][]byte
	run := []byte{1, 0}
	for i := range 8 {
		run = append(run, joinPackets(fakePacket(uint16(100+i)))...)
	}
	seeds = append(seeds, run)
	lossy := []byte{1, 4}
	for _, s := range []uint16{1, 2, 5, 6, 9, 3, 40000, 40001} {
		lossy = append(lossy, joinPackets(fakePacket(s))...)
	}
	seeds = append(seeds, lossy)
	gated := []byte{1, 2}
	for i := range 6 {
		gated = append(gated, joinPackets(fakePacket(uint16(i)))...)
	}
	seeds = append(seeds, gated, []byte{0, 1, 12, 0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	return seeds
}

// RTCP as pion's SRTCP read loop hands it to a listener's streams: NACKs
// on a slot (FCI parsing, the budget, resends from the cache) and sender
// reports on other streams. The first byte picks the stream; the publisher
// has forwarded 40 packets first.
func FuzzRTCP(f *testing.F) {
	fr := newFakeRoom(f, 2)
	for _, s := range rtcpSeeds(fr) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		fr.reset(1)
		now := fr.e.nanotime()
		for k := range 40 {
			fr.pub.handle(fakePacket(uint16(1000+k)), now)
		}
		sub := fr.subs[0]
		slot := int(in[0]%5) - 1 // -1: not a slot (the microphone's SSRC)
		if slot >= len(sub.out) {
			slot = -1
		}
		ssrc := uint32(0xabc) // the microphone's
		if slot >= 0 {
			ssrc = sub.slotSSRC[slot]
		}
		h := (*peerHandler)(sub) // what either transport delivers RTCP to
		for _, p := range splitPackets(in[1:]) {
			h.RTCP(ssrc, p)
		}
		checkSlotStream(t, sub, fr.w[0])
	})
}

func rtcpSeeds(fr *fakeRoom) [][]byte {
	m := func(p rtcp.Packet) []byte {
		b, err := p.Marshal()
		if err != nil {
			panic(err)
		}
		return b
	}
	ssrc := fr.subs[0].slotSSRC[0]
	return [][]byte{
		append([]byte{1}, joinPackets(m(&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{1, 2, 5, 30})}))...),
		append([]byte{1}, joinPackets(m(&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: 0, LostPackets: 0xffff}, {PacketID: 17, LostPackets: 0xffff}, {PacketID: 34, LostPackets: 0xffff}}}))...),
		append([]byte{0}, joinPackets(m(&rtcp.SenderReport{SSRC: 5, NTPTime: 1 << 40, RTPTime: 7}))...),
		append([]byte{2}, joinPackets(m(&rtcp.ReceiverReport{SSRC: 5, Reports: []rtcp.ReceptionReport{{SSRC: ssrc}}}))...),
		append([]byte{1}, joinPackets(m(&rtcp.PictureLossIndication{MediaSSRC: ssrc}), []byte{0x81, 205, 0xff, 0xff, 0, 0, 0, 0})...),
	}
}

// nackSeqs against pion's own NACK parser: the same sequence numbers, in
// order, up to the capacity given.
func FuzzNACKSeqs(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0x80, 0x01})
	f.Add(bytes.Repeat([]byte{1, 2, 0xff, 0xff}, 10))
	f.Fuzz(func(t *testing.T, fci []byte) {
		got, more := nackSeqs(fci, make([]uint16, 0, maxResendPerNACK))
		if len(fci) < 4 { // pion refuses a NACK without a pair
			if len(got)+more != 0 {
				t.Fatalf("nackSeqs(%x) = %v", fci, got)
			}
			return
		}
		pkt := make([]byte, 12+len(fci)/4*4)
		pkt[0], pkt[1] = 0x81, 205
		binary.BigEndian.PutUint16(pkt[2:4], uint16(len(pkt)/4-1))
		copy(pkt[12:], fci)
		var n rtcp.TransportLayerNack
		if len(pkt)/4-1 > 0xffff {
			return
		}
		if err := n.Unmarshal(pkt); err != nil {
			t.Fatalf("pion refuses %x: %v", pkt, err)
		}
		var want []uint16
		for _, p := range n.Nacks {
			want = append(want, p.PacketList()...)
		}
		if len(got)+more != len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("nackSeqs = %v (+%d), pion: %v", got, more, want)
		}
	})
}

// The RFC 6464 audio level of any parsed header, with any extension id.
func FuzzAudioLevel(f *testing.F) {
	f.Add(fakePacket(1), uint8(1))
	f.Add(fakePacket(2), uint8(3))
	f.Add([]byte{0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, id uint8) {
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			return
		}
		if _, ok := audioLevel(&h, id); ok && (id == 0 || !h.Extension) {
			t.Fatalf("a level without the extension (id %d)", id)
		}
	})
}

// Answers before pion sees them. Whatever passes must respect the bounds
// the rest of the sfu relies on; a valid answer and the browser's shapes
// are seeds.
func FuzzValidateAnswer(f *testing.F) {
	mids := []string{"0", "1"}
	f.Add(validAnswerSDP)
	f.Add(replace(validAnswerSDP, "a=sendonly\r\n", "a=sendonly\r\na=ssrc:1234 cname:x\r\na=ssrc:1234 msid:a b\r\na=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\n"))
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, sdp string) {
		info, err := validateAnswer(sdp, mids, Layout{AudioSlots: len(mids) - 1})
		if err != nil {
			return
		}
		if len(info.ssrcs) > maxAnnouncedSSRCs || info.candidates > maxRemoteCandidates {
			t.Fatalf("accepted %d SSRCs, %d candidates", len(info.ssrcs), info.candidates)
		}
	})
}

const validAnswerSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=fingerprint:sha-256 AB:CD\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=sendonly\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"

// Trickled candidates: the check of a loopback, a public and a private
// Engine, and AddCandidate of a participant (before its answer: queued).
// Whatever is used must parse and be allowed.
func FuzzCandidate(f *testing.F) {
	engines := []*Engine{newTestEngine(f, 1)}
	for _, cfg := range []Config{
		{MediaAddr: "127.0.0.1:0", forcePublic: true, AllowRemote: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
		{MediaAddr: "127.0.0.1:0"}, // judged as on a private network, below
	} {
		cfg.Logger, cfg.Slots = testLogger(), 1
		e, err := NewEngine(cfg)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { _ = e.Close() })
		engines = append(engines, e)
	}
	engines[2].policy = &addrPolicy{own: []netip.Addr{netip.MustParseAddr("10.0.0.5")}}
	part, _, err := engines[0].NewRoom(RoomSettings{}, nil).Join(ParticipantConfig{ID: "p"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(part.Leave)
	for _, s := range []string{
		"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
		"candidate:2 1 udp 1686052607 8.8.8.8 6000 typ srflx raddr 10.0.0.2 rport 5000 generation 0 ufrag abcd",
		"candidate:3 1 tcp 1518280447 10.1.2.3 9 typ host tcptype active",
		"candidate:4 1 udp 2122260223 4a2a4f64-8a1e-4e8b-9e46-cf8d3b4e2f1c.local 5000 typ host",
		"candidate:5 1 udp 2122260223 169.254.169.254 80 typ host",
		"candidate:6 1 udp 41885439 2001:db8::1 3478 typ relay raddr 0.0.0.0 rport 0",
		"",
		"candidate:garbage",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, e := range engines {
			use, err := e.checkCandidate(line)
			if use && err != nil {
				t.Fatalf("use and error %v", err)
			}
			if !use {
				continue
			}
			c, perr := parseCandidate(line)
			if perr != nil {
				t.Fatalf("used, but does not parse: %v", perr)
			}
			if a, aerr := netip.ParseAddr(c.Address()); aerr != nil || !e.policy.allowed(a) {
				t.Fatalf("used %q, not allowed", c.Address())
			}
		}
		resetCandidates(part.tr) // each input alone
		_ = part.AddCandidate(webrtc.ICECandidateInit{Candidate: line})
	})
}

func parseCandidate(line string) (ice.Candidate, error) {
	return ice.UnmarshalCandidate(strings.TrimSpace(strings.TrimPrefix(line, "candidate:")))
}

// streamConn is a net.Conn reading from r.
type streamConn struct {
	net.Conn
	r io.Reader
}

func (c *streamConn) Read(b []byte) (int, error)      { return c.r.Read(b) }
func (c *streamConn) Close() error                    { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error { return nil }

// resetCandidates forgets the candidates tr was given (the count bounded
// by maxRemoteCandidates).
func resetCandidates(tr Transport) {
	switch t := tr.(type) {
	case *rtcTransport:
		t.mu.Lock()
		t.cands = 0
		t.mu.Unlock()
	}
}
