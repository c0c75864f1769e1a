package signaling_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"palabre/signaling/proto"
)

// A client may send its first message in the same packet as the upgrade
// request: the bytes net/http read past the request reach the session
// (the session's connection has buffers of its own, wsconn.go).
func TestMessageWithTheUpgrade(t *testing.T) {
	ts := startServer(t)
	host := strings.TrimPrefix(ts.URL, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	hello, _ := json.Marshal(proto.Message{Type: proto.TypeHello, ID: 1, Version: proto.Version})
	req := "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// Two pings and the hello, masked as a client must.
	var frames []byte
	for _, m := range [][]byte{[]byte(`{"type":"ping","id":7}`), hello} {
		frames = append(frames, clientFrame(m)...)
	}
	if _, err := conn.Write(append([]byte(req), frames...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got []proto.Message
	for len(got) < 2 {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			var l [2]byte
			io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f != 1 { // not text: a ping of the server's
			continue
		}
		var m proto.Message
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("%q: %v", payload, err)
		}
		got = append(got, m)
	}
	// Before hello, a ping is refused (bad state); then the welcome.
	if got[0].Type != proto.TypeError || got[0].ID != 7 || got[1].Type != proto.TypeWelcome || got[1].ID != 1 {
		t.Errorf("answers %+v", got)
	}
}

// clientFrame is a masked final text frame of payload (< 64 KiB).
func clientFrame(payload []byte) []byte {
	f := []byte{0x81}
	if len(payload) < 126 {
		f = append(f, 0x80|byte(len(payload)))
	} else {
		f = append(f, 0x80|126, byte(len(payload)>>8), byte(len(payload)))
	}
	key := [4]byte{1, 2, 3, 4}
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}
