package sfu

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// BenchmarkFloor is the unavoidable cost of forwarding one audio packet:
// SRTP-encrypt a ~100-byte RTP packet and send it in one UDP datagram to a
// loopback socket (drained by another goroutine, as a real peer would).
// BenchmarkForward's cost per packet out is reported as a ratio of this,
// measured in the same run on the same machine.
//
// pion peers negotiate AEAD_AES_256_GCM first; browsers pick between the
// GCM profiles and AES128_CM_HMAC_SHA1_80, so all three are measured.
func BenchmarkFloor(b *testing.B) {
	profiles := []struct {
		name    string
		profile srtp.ProtectionProfile
	}{
		{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
		{"AES128_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	}
	for _, p := range profiles {
		b.Run(p.name, func(b *testing.B) { benchFloor(b, p.profile) })
	}
}

func benchFloor(b *testing.B, profile srtp.ProtectionProfile) {
	keyLen, err := profile.KeyLen()
	if err != nil {
		b.Fatal(err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, err := srtp.CreateContext(make([]byte, keyLen), make([]byte, saltLen), profile)
	if err != nil {
		b.Fatal(err)
	}

	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	defer func() { recv.Close(); <-drained; send.Close() }()
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())

	// An Opus frame with the audio-level extension and one CSRC, as the
	// forwarder writes it.
	hdr := rtp.Header{Version: 2, PayloadType: 111, SSRC: 0x1234, CSRC: []uint32{7}, Timestamp: 960}
	if err := hdr.SetExtension(1, []byte{0x1e}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 80)
	plain := make([]byte, 0, 1500)
	out := make([]byte, 0, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		hdr.SequenceNumber++
		hdr.Timestamp += 960
		n, err := hdr.MarshalTo(plain[:cap(plain)])
		if err != nil {
			b.Fatal(err)
		}
		pkt := append(plain[:n], payload...)
		enc, err := ctx.EncryptRTP(out[:0], pkt, &hdr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := send.WriteToUDPAddrPort(enc, to); err != nil {
			b.Fatal(err)
		}
	}
}
