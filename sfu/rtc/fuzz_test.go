package rtc

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
)

// Datagrams from the network into the shared socket's reader, from one of
// four source addresses (the first byte picks it), for two connections:
// one with keys (its peer's SRTP is sealed with the engine's test keys)
// and one without. Whatever arrives, nothing panics and the connections'
// state stays within its bounds (addresses, SSRCs, the engine's maps).
func FuzzReader(f *testing.F) {
	e := newTestEngine(f, Config{})
	live := connectedConn(f, e, netip.MustParseAddrPort("127.0.0.1:4000"))
	fresh, err := e.NewConn(newRecorder())
	if err != nil {
		f.Fatal(err)
	}
	src := func(b byte) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 4000+uint16(b%4))
	}
	check := func(c *Conn, use bool) []byte {
		setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(c.ufrag + ":peer")}
		if use {
			setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
		}
		m, err := stun.Build(append(setters, c.key, stun.Fingerprint)...)
		if err != nil {
			f.Fatal(err)
		}
		return m.Raw
	}
	rtpPkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPT, SSRC: 0xabc, SequenceNumber: 1}, Payload: []byte("opus")}).Marshal()
	for _, seed := range [][]byte{
		append([]byte{0}, check(live, true)...),
		append([]byte{1}, check(fresh, false)...),
		append([]byte{2}, check(fresh, true)...),
		append([]byte{0}, rtpPkt...),
		{0, 0x80, 200, 0, 1, 0, 0, 0, 1},
		{3, 22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0},
		{1, 21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0},
	} {
		f.Add(seed)
	}
	s := e.sock
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		// A datagram is at most the reader's buffer; split on a marker to
		// send several.
		for _, p := range bytes.Split(in[1:], []byte("\xff\xfe\xfd\xfc")) {
			if len(p) == 0 {
				continue
			}
			buf := append([]byte(nil), p...) // the reader decrypts in place
			s.handle(buf, src(in[0]))
		}
		for _, c := range []*Conn{live, fresh} {
			if c.naddrs > maxAddrs || c.rtpSSRCs.n > maxSSRCs || c.rtcpSSRCs.n > maxSSRCs {
				t.Fatalf("bounds: %d addresses, %d+%d SSRCs", c.naddrs, c.rtpSSRCs.n, c.rtcpSSRCs.n)
			}
		}
		e.mu.RLock()
		n := len(e.byAddr)
		e.mu.RUnlock()
		if n > 2*maxAddrs {
			t.Fatalf("%d addresses in the engine", n)
		}
	})
}

// A byte stream into an ICE-TCP stream's reader (RFC 4571 framing): the
// frames are judged as the reader judges them, the stream is bound to at
// most the connection whose check was valid, and nothing panics.
func FuzzTCPFrames(f *testing.F) {
	e := newTestEngine(f, Config{})
	c, err := e.NewConn(newRecorder())
	if err != nil {
		f.Fatal(err)
	}
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(c.ufrag+":peer"), stun.RawAttribute{Type: stun.AttrUseCandidate}, c.key, stun.Fingerprint)
	if err != nil {
		f.Fatal(err)
	}
	frame := func(p []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }
	f.Add(frame(m.Raw))
	f.Add(append(frame(m.Raw), frame([]byte{22, 0xfe, 0xfd, 0, 0})...))
	f.Add([]byte{0xff, 0xff, 1})
	f.Add(frame([]byte{0x80, 111, 0, 1}))
	f.Fuzz(func(t *testing.T, in []byte) {
		st := &tcpStream{e: e, remote: netip.MustParseAddrPort("127.0.0.1:5000")}
		st.sock = socket{e: e, local: e.local, tcp: st}
		st.conn = discardConn{} // frames are fed to handle; answers go nowhere
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n == 0 || n > maxTCPFrame || n > len(in) {
				return // the reader closes the stream here
			}
			p := append([]byte(nil), in[:n]...)
			in = in[n:]
			if !st.handle(p) {
				return
			}
			if o := st.owner.Load(); o != nil && o != c {
				t.Fatalf("stream bound to %p, not the connection checked", o)
			}
		}
	})
}

// discardConn is a stream's TCP connection whose writes go nowhere.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) Close() error                     { return nil }
