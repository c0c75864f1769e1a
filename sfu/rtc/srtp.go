package rtc

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// replayWindow is the SRTP and SRTCP replay window, in packets: libsrtp's
// 128 is enough for audio; video arrives in bursts of tens of packets that
// the network may reorder, so a little more.
const replayWindow = 512

// srtpKeys are a connection's SRTP contexts. in is used by the socket's
// reader only, out under Conn.outMu.
type srtpKeys struct {
	profile srtp.ProtectionProfile
	in, out *srtp.Context
	// overhead is what encryption adds to an RTP packet (auth tag).
	overhead int
}

func newKeys(profile srtp.ProtectionProfile, k srtp.SessionKeys) (*srtpKeys, error) {
	in, err := srtp.CreateContext(k.RemoteMasterKey, k.RemoteMasterSalt, profile,
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, err
	}
	out, err := srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, profile)
	if err != nil {
		return nil, err
	}
	tag, err := profile.AuthTagRTPLen()
	if err != nil {
		return nil, err
	}
	aead, err := profile.AEADAuthTagLen()
	if err != nil {
		return nil, err
	}
	return &srtpKeys{profile: profile, in: in, out: out, overhead: tag + aead}, nil
}

// errReplayed is the error srtp returns for a replayed packet (its type is
// not exported): learnt once by replaying a packet.
var errReplayed = func() error {
	key, salt := make([]byte, 16), make([]byte, 12)
	p := srtp.ProtectionProfileAeadAes128Gcm
	enc, err1 := srtp.CreateContext(key, salt, p)
	dec, err2 := srtp.CreateContext(key, salt, p, srtp.SRTPReplayProtection(64))
	if err1 != nil || err2 != nil {
		panic("rtc: srtp contexts")
	}
	h := rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 1}
	pkt, _ := (&rtp.Packet{Header: h, Payload: []byte{1}}).Marshal()
	ct, _ := enc.EncryptRTP(nil, pkt, nil)
	if _, err := dec.DecryptRTP(nil, ct, nil); err != nil {
		panic("rtc: srtp decrypt: " + err.Error())
	}
	_, err := dec.DecryptRTP(nil, ct, nil)
	if err == nil {
		panic("rtc: srtp accepted a replay")
	}
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}()

func (c *Conn) countDecryptError(err error) {
	if errors.Is(err, errReplayed) {
		c.e.stats.replay.Add(1)
	} else {
		c.e.stats.auth.Add(1)
	}
}

// handleSRTP decrypts an SRTP packet in place (reader goroutine) and hands
// it to the handler.
func (c *Conn) handleSRTP(s *socket, p []byte, from netip.AddrPort) {
	e := c.e
	k := c.keys.Load()
	if k == nil {
		if k = c.earlyMedia(); k == nil {
			return
		}
	}
	if len(p) < 12 {
		e.stats.malformed.Add(1)
		return
	}
	ssrc := binary.BigEndian.Uint32(p[8:12])
	known := c.rtpSSRCs.has(ssrc)
	if !known && !c.ssrcAllowed(&c.rtpSSRCs, ssrc) {
		e.stats.ssrc.Add(1)
		return
	}
	if !c.withinRate(true, e.now()) {
		return
	}
	hl, err := s.hdr.Unmarshal(p)
	if err != nil {
		e.stats.malformed.Add(1)
		return
	}
	dec, err := k.in.DecryptRTP(p[:0], p, &s.hdr2)
	if err != nil {
		c.countDecryptError(err)
		return
	}
	if !known {
		c.rtpSSRCs.add(ssrc)
	}
	c.mediaIn(from)
	pl := dec[hl:]
	if s.hdr.Padding && len(pl) > 0 {
		pad := int(pl[len(pl)-1])
		if pad == 0 || pad > len(pl) {
			e.stats.malformed.Add(1)
			return
		}
		s.hdr.PaddingSize = byte(pad)
		pl = pl[:len(pl)-pad]
	}
	s.pkt.Header = s.hdr
	s.pkt.Payload = pl
	e.stats.packetsIn.Add(1)
	if c.enter() {
		c.h.HandleRTP(c, &s.pkt, dec)
		c.leave()
	}
}

// handleSRTCP decrypts an SRTCP packet in place and hands it over.
func (c *Conn) handleSRTCP(s *socket, p []byte, from netip.AddrPort) {
	e := c.e
	k := c.keys.Load()
	if k == nil {
		if k = c.earlyMedia(); k == nil {
			return
		}
	}
	ssrc := binary.BigEndian.Uint32(p[4:8])
	known := c.rtcpSSRCs.has(ssrc)
	if !known && !c.ssrcAllowed(&c.rtcpSSRCs, ssrc) {
		e.stats.ssrc.Add(1)
		return
	}
	if !c.withinRate(false, e.now()) {
		return
	}
	dec, err := k.in.DecryptRTCP(p[:0], p, &s.rtcpHdr)
	if err != nil {
		c.countDecryptError(err)
		return
	}
	if !known {
		c.rtcpSSRCs.add(ssrc)
	}
	c.mediaIn(from)
	e.stats.packetsIn.Add(1)
	if c.enter() {
		c.h.HandleRTCP(c, dec)
		c.leave()
	}
}

// earlyMedia handles SRTP or SRTCP that came before the keys: the peer has
// finished its handshake, so a DTLS server's last flight arrived. The
// packet is dropped (there is nothing to decrypt it with) unless the keys
// came meanwhile: they are set under c.mu, so either they are returned
// here or the handshake sees early.
func (c *Conn) earlyMedia() *srtpKeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.keys.Load(); k != nil {
		return k
	}
	c.e.stats.notConnected.Add(1)
	if c.sess != nil {
		c.early = true
	}
	return nil
}

// ssrcAllowed: an SSRC not seen yet is accepted if it was announced or
// the set has room for one more (announced ones always find room: they
// are taken first, and the budget is above the announcement's bound).
func (c *Conn) ssrcAllowed(set *ssrcSet, ssrc uint32) bool {
	if a := c.announced.Load(); a != nil {
		for _, x := range *a {
			if x == ssrc {
				return set.n < maxSSRCs
			}
		}
		return set.n < maxSSRCs-len(*a)
	}
	return set.n < maxSSRCs/2
}

// mediaIn notes a valid SRTP or SRTCP packet: it keeps the selected path
// alive and, the first time, ends a DTLS server's grace.
func (c *Conn) mediaIn(from netip.AddrPort) {
	if c.alertAt.Load() != 0 {
		c.alertAt.Store(0) // alive after all (maybePeerClosing)
	}
	if p := c.path.Load(); p != nil && p.ap == from {
		c.selSeen = c.e.now()
	}
	if !c.mediaSeen {
		c.mediaSeen = true
		if c.hasSession() {
			c.e.spawn(c.endHandshake)
		}
	}
}

// scratch is what an unbatched write needs: a buffer, and the header srtp
// parses back (its CSRC and extension slices keep their room: reused, it
// costs no allocation).
type scratch struct {
	buf [maxPacket]byte
	hdr rtp.Header
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPacket bounds an outgoing packet, SRTP overhead included.
const maxPacket = 1500

// WriteRTP encrypts and sends one RTP packet now (hdr and payload are not
// kept). For fan-outs use a Batch.
func (c *Conn) WriteRTP(hdr *rtp.Header, payload []byte) error {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	pa, enc, err := c.sealRTP(sc.buf[:], hdr, payload, &sc.hdr)
	if err != nil {
		return err
	}
	return c.send(enc, pa)
}

// WriteRTCP encrypts and sends one compound RTCP packet now.
func (c *Conn) WriteRTCP(pkt []byte) error {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	pa, enc, err := c.sealRTCP(sc.buf[:], pkt)
	if err != nil {
		return err
	}
	return c.send(enc, pa)
}

func (c *Conn) send(p []byte, pa *path) error {
	if err := c.write(p, pa); err != nil {
		return err
	}
	c.e.stats.packetsOut.Add(1)
	c.e.stats.bytesOut.Add(uint64(len(p)))
	return nil
}

// sealRTP marshals hdr and payload into buf and encrypts them in place.
// scratch receives the header srtp parses back.
func (c *Conn) sealRTP(buf []byte, hdr *rtp.Header, payload []byte, scratch *rtp.Header) (*path, []byte, error) {
	k, pa, err := c.ready()
	if err != nil {
		return nil, nil, err
	}
	n := hdr.MarshalSize()
	if n+len(payload)+k.overhead > len(buf) {
		return nil, nil, ErrTooLarge
	}
	if _, err := hdr.MarshalTo(buf); err != nil {
		return nil, nil, err
	}
	copy(buf[n:], payload)
	c.outMu.Lock()
	enc, err := k.out.EncryptRTP(buf[:0], buf[:n+len(payload)], scratch)
	c.outMu.Unlock()
	return pa, enc, err
}

// sealRTCP copies pkt into buf and encrypts it in place.
func (c *Conn) sealRTCP(buf []byte, pkt []byte) (*path, []byte, error) {
	k, pa, err := c.ready()
	if err != nil {
		return nil, nil, err
	}
	if len(pkt) < 8 || len(pkt)+4+k.overhead+16 > len(buf) {
		return nil, nil, ErrTooLarge
	}
	n := copy(buf, pkt)
	c.outMu.Lock()
	enc, err := k.out.EncryptRTCP(buf[:0], buf[:n], nil)
	c.outMu.Unlock()
	return pa, enc, err
}

func (c *Conn) ready() (*srtpKeys, *path, error) {
	k := c.keys.Load()
	pa := c.path.Load()
	if k == nil || pa == nil || c.State() >= StateFailed {
		return nil, nil, ErrNotReady
	}
	return k, pa, nil
}
