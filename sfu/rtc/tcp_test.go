package rtc

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
)

// A real pion PeerConnection restricted to TCP connects over ICE-TCP to
// the engine's passive candidate and exchanges SRTP both ways; the path
// is the stream.
func TestPionOverICETCP(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	h := newRecorder()
	const slotSSRC = 0x7c9
	c, offer, offerSDP := serverConn(t, e, h, slotSSRC)
	if !bytes.Contains([]byte(offerSDP), []byte(" tcp ")) || !bytes.Contains([]byte(offerSDP), []byte("tcptype passive")) {
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
		_ = b.Flush()
		return len(client.received()) >= 10
	})
	// Its streams go with the connection.
	c.Close()
	testkit.Eventually(t, 5*time.Second, "the stream closed", func() bool {
		e.tcp.mu.Lock()
		defer e.tcp.mu.Unlock()
		return len(e.tcp.streams) == 0
	})
}

// What a TCP stream may do before its first valid check, and how many
// there may be: each case ends with the server closing the stream, and
// none leaves state behind.
func TestTCPStreamBounds(t *testing.T) {
	e := newTestEngine(t, Config{TCPAddr: "127.0.0.1:0", timing: timing{tcpFirst: 300 * time.Millisecond}})
	c, err := e.NewConn(newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	frame := func(p []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }
	check := func(ufrag string, key stun.MessageIntegrity) []byte {
		m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ufrag+":client"), key, stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"nothing", nil},
		{"garbage first", frame([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})},
		{"a zero length", []byte{0, 0}},
		{"an oversized length", []byte{0xff, 0xff}},
		{"a check for no connection", frame(check("nobody", stun.NewShortTermIntegrity("x")))},
		{"a check with a wrong password", frame(check(c.ufrag, stun.NewShortTermIntegrity("wrong")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if tc.send != nil {
				if _, err := conn.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			if n, err := conn.Read(make([]byte, 64)); err != io.EOF {
				t.Fatalf("read %d, %v; want the server to close the stream", n, err)
			}
		})
	}
	if st := e.Stats(); st.Conns != 1 || c.PathKind() != PathNone {
		t.Fatalf("conns %d, path %v", st.Conns, c.PathKind())
	}

	// Per IP: maxTCPPerIP streams open at once; the next is closed at once.
	e = newTestEngine(t, Config{TCPAddr: "127.0.0.1:0"})
	var open []net.Conn
	defer func() {
		for _, o := range open {
			o.Close()
		}
	}()
	for range maxTCPPerIP {
		o, err := net.Dial("tcp", e.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, o)
	}
	testkit.Eventually(t, 2*time.Second, "streams admitted", func() bool {
		e.tcp.mu.Lock()
		defer e.tcp.mu.Unlock()
		return len(e.tcp.streams) == maxTCPPerIP
	})
	extra, err := net.Dial("tcp", e.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("stream past the per-IP cap: %v, want closed", err)
	}
	if e.Stats().DropTCP == 0 {
		t.Error("DropTCP = 0")
	}
	// Another IP still gets in.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	other, err := d.Dial("tcp", e.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	testkit.Eventually(t, 2*time.Second, "the other address admitted", func() bool {
		e.tcp.mu.Lock()
		defer e.tcp.mu.Unlock()
		return len(e.tcp.streams) == maxTCPPerIP+1
	})
}
