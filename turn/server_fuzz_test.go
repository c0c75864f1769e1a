package turn

import (
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// FuzzServerInput sends arbitrary bytes to a live server, as a UDP
// datagram or a TCP stream, and checks that it still answers a Binding
// request: no input may crash it or stop its listeners. pion decodes the
// STUN and ChannelData framing; this covers the way through our wrappers
// (tracked sockets, connection clocks, the auth and permission handlers).
func FuzzServerInput(f *testing.F) {
	cfg := testConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	expiry := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	seeds := [][]byte{
		stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw,
		allocateRequest().Raw,
		signedAllocate(expiry+":fuzz", DefaultRealm, "bad nonce", "wrong").Raw,
		stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest)).Raw,
		stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication)).Raw,
		{0x40, 0x00, 0x00, 0x04, 'p', 'i', 'n', 'g'}, // ChannelData, 4 bytes
		{0x40, 0x00, 0xff, 0xfc}, // ChannelData header claiming 65532 bytes
		{0x00, 0x01, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // STUN header claiming 65532 bytes
		{},
		{0xff},
	}
	for _, b := range seeds {
		f.Add(b, false)
		f.Add(b, true)
	}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = udp.Close() })
	f.Fuzz(func(t *testing.T, data []byte, overTCP bool) {
		if overTCP {
			c, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			_ = c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT pile-up over a long run
			_, _ = c.Write(data)
			_ = c.Close()
		} else if _, err := udp.WriteTo(data, s.UDPAddr()); err != nil {
			t.Fatal(err)
		}
		res, err := stunRoundTrip(udp, s.UDPAddr(), stun.MustBuild(stun.TransactionID, stun.BindingRequest))
		if err != nil || res.Type != stun.BindingSuccess {
			t.Fatalf("Binding after %d bytes (tcp %v): %v, %v", len(data), overTCP, res, err)
		}
	})
}
