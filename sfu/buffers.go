package sfu

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/pion/transport/v5/packetio"
)

// Each participant's pion API gets t.newBuffer as its SRTP buffer factory.
//
// RTP streams (the microphone) get an ordinary bounded packet buffer, read by
// the microphone reader.
//
// RTCP streams get an rtcpSink instead of a buffer: pion's SRTCP read loop
// hands every decrypted RTCP packet straight to the participant (NACKs for a
// slot are answered from the publisher caches, the publisher's sender
// reports are noted for our receiver reports, the rest is dropped). Nothing
// has to read RTCP: without this, every RTPSender and the RTPReceiver would
// need a goroutine draining its RTCP (K+1 per participant) or their buffers
// would fill up to 100 KB each.
func (t *pionTransport) newBuffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if kind == packetio.RTCPBufferPacket {
		if !slices.Contains(t.outSSRC, ssrc) && !t.guard.announced(ssrc) {
			t.unknownRTCPStream()
		}
		return &rtcpSink{t: t, ssrc: ssrc, closed: make(chan struct{})}
	}
	b := packetio.NewBuffer()
	b.SetLimitSize(rtpBufferLimit)
	return rtpBuffer{b}
}

// maxUnknownRTCP is the number of RTCP streams a participant may make pion
// open for SSRCs that are neither the server's nor announced in its answer.
//
// pion's SRTCP session opens a stream for every SSRC an RTCP packet is
// about (a report block, a NACK's or PLI's media SSRC, an SDES chunk) and
// keeps it until the connection closes. These SSRCs are encrypted, so the
// guard cannot see them; an honest client names only the server's SSRCs and
// its own, plus a few it did not announce (its receiver reports' SSRC). A
// participant that names more is closed: its pion state is then freed.
const maxUnknownRTCP = 16

// ErrHostileMedia is the error ParticipantClosed reports for a participant
// closed for its RTCP (see maxUnknownRTCP).
var ErrHostileMedia = errors.New("sfu: participant closed: RTCP about too many unknown SSRCs")

// unknownRTCPStream counts one, and fails the participant past the limit.
// Called from pion's SRTCP read loop holding its stream lock.
func (t *pionTransport) unknownRTCPStream() {
	t.e.stats.unknownSSRC.Add(1)
	if t.unknownRTCP.Add(1) == maxUnknownRTCP+1 {
		t.e.stats.closedHostile.Add(1)
		t.h.Fail(ErrHostileMedia)
	}
}

// rtpBufferLimit bounds the decrypted RTP waiting for the microphone reader
// (about 2 s of audio); the buffer starts at 2 KB and grows only if the
// reader falls behind.
const rtpBufferLimit = 64 * 1024

// rtpBuffer adapts packetio.Buffer to what pion's SRTP streams expect (the
// same as srtp's own default buffer).
type rtpBuffer struct{ *packetio.Buffer }

func (b rtpBuffer) Read(buf []byte) (int, error) {
	n, _, err := b.Buffer.Read(buf, nil)
	return n, err
}

func (b rtpBuffer) Write(buf []byte) (int, error) { return b.Buffer.Write(buf, nil) }

func (b rtpBuffer) ReadWithAttributes(buf []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(buf, a)
}

func (b rtpBuffer) WriteWithAttributes(buf []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(buf, a)
}

func (b rtpBuffer) SetReadDeadline(t time.Time) error { return b.Buffer.SetReadDeadline(t) }

// rtcpSink consumes RTCP synchronously in pion's SRTCP read loop. Read
// blocks until Close, like an empty buffer.
type rtcpSink struct {
	t      *pionTransport
	ssrc   uint32
	once   sync.Once
	closed chan struct{}
}

func (s *rtcpSink) Write(b []byte) (int, error) {
	s.t.h.RTCP(s.ssrc, b)
	return len(b), nil
}

func (s *rtcpSink) Read([]byte) (int, error) {
	<-s.closed
	return 0, io.EOF
}

func (s *rtcpSink) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}
