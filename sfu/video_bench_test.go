package sfu

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"palabre/internal/testkit"
)

// videoClientAPI is clientAPI with VP8 and the video extensions.
var videoClientAPI = sync.OnceValue(func() *webrtc.API {
	se := loopbackSettings()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: opusClockRate, Channels: 2},
		PayloadType:        opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err)
	}
	if err := registerVideo(m); err != nil {
		panic(err)
	}
	// As a browser does: the slots' packets carry transport-wide numbers.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: transportCCURI},
		webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverDirectionRecvonly); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
})

// joinVideoPeer joins a real pion peer that wants video, answers with a
// microphone only, discards what it receives, and waits until connected.
func joinVideoPeer(t testing.TB, room *Room, id string) *Participant {
	t.Helper()
	pc, err := videoClientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1600)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	part, offer, err := room.Join(ParticipantConfig{ID: id, Video: true, OnCandidate: func(c webrtc.ICECandidateInit) { _ = pc.AddICECandidate(c) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(part.Leave)
	if err := pc.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	mic, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(mic); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = part.AddCandidate(c.ToJSON())
		}
	})
	if err := part.SetAnswer(answer.SDP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, id+" connected", part.Connected)
	return part
}

// BenchmarkForwardVideo is BenchmarkForward for video: one publisher
// camera packet (libvpx VP8, ~1 KB) to N real, connected receivers, each
// with its VP8 descriptor rewrite, sequence/timestamp runs, abs-send-time
// and SRTP write. Run it with BenchmarkForward to compare with audio:
//
//	flock /tmp/palabre-bench.lock go test -run '^$' -bench 'Forward(Video)?$' ./sfu
func BenchmarkForwardVideo(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			e := newVideoEngine(b, 3, 1)
			room := e.NewRoom(RoomSettings{Mode: ModeOpen}, nil)
			pub := joinVideoPeer(b, room, "pub")
			var subs []*Participant
			for i := range n {
				subs = append(subs, joinVideoPeer(b, room, fmt.Sprintf("sub%d", i)))
			}
			if err := pub.SetCamera(true); err != nil {
				b.Fatal(err)
			}
			testkit.Eventually(b, 10*time.Second, "slots filled", func() bool { return source(subs[n-1], 0) == pub })
			if vo := &subs[0].vout[0]; vo.twID == 0 || vo.tw == nil {
				b.Fatal("the receivers negotiated no transport-wide sequence numbers")
			}
			s := newVP8Stream(b, 0xa)
			var raws [][]byte
			for range len(s.frames) {
				raws = append(raws, s.frame()...)
			}
			cycleTicks := uint32(len(s.frames)) * videoClockRate / 30
			// Packet i of the run: the file's packets again, with sequence
			// numbers, timestamps and picture IDs running on, as from a
			// live camera.
			packet := func(i int) []byte {
				raw := raws[i%len(raws)]
				cycle := uint32(i / len(raws))
				binary.BigEndian.PutUint16(raw[2:4], uint16(0x1000+i))
				base := binary.BigEndian.Uint32(raw[4:8]) % cycleTicks
				binary.BigEndian.PutUint32(raw[4:8], base+cycle*cycleTicks)
				pid := binary.BigEndian.Uint16(raw[14:16])&0x7fff%uint16(len(s.frames)) + uint16(cycle)*uint16(len(s.frames))
				binary.BigEndian.PutUint16(raw[14:16], 0x8000|pid&0x7fff)
				return raw
			}
			in := &InStream{Kind: StreamCamera, SSRC: s.ssrc}
			now := e.nanotime()
			warm := 2 * len(raws) // every slot started, caches grown
			for i := range warm {
				pub.handleVideo(in, packet(i), now)
			}
			bytesIn := 0
			for _, raw := range raws {
				bytesIn += len(raw)
			}
			before := e.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, start := cpuNanos(), time.Now()
			for i := range b.N {
				pub.handleVideo(in, packet(warm+i), now)
			}
			elapsed, cpu := time.Since(start), cpuNanos()-cpu0
			b.StopTimer()
			after := e.Stats()
			out := after.PacketsOut - before.PacketsOut
			if out < uint64(b.N*n)*9/10 || after.DropWriteError != before.DropWriteError {
				b.Fatalf("%d packets out, %d write errors, want %d out", out, after.DropWriteError-before.DropWriteError, b.N*n)
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(out), "ns/pkt-out")
			b.ReportMetric(float64(bytesIn)/float64(len(raws)), "B/pkt")
			b.ReportMetric(float64(cpu)/float64(out), "cpu-ns/pkt-out")
		})
	}
}

// cpuNanos is the CPU time (user and system) the process used so far: on
// a machine shared with other work, wall time per packet says little, the
// CPU time spent on it says more. It counts the in-process receivers too.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkFanout is the forwarding logic alone, audio against video, per
// packet written to a receiver: the slot rewrite (and for video the VP8
// descriptor rewrite, runs and abs-send-time), the shared caches and the
// fan-out, writing to in-memory writers instead of SRTP and the network
// (what BenchmarkForward and BenchmarkForwardVideo add to it is pion's).
func BenchmarkFanout(b *testing.B) {
	const n = 10
	b.Run("audio", func(b *testing.B) {
		f := newFakeRoom(b, n)
		for _, ws := range f.w {
			for _, w := range ws {
				w.keep = false
			}
		}
		now := f.e.nanotime()
		raw := fakePacket(0)
		runFanout(b, f.e, n, func(i int) {
			binary.BigEndian.PutUint16(raw[2:4], uint16(i))
			binary.BigEndian.PutUint32(raw[4:8], uint32(i)*frameTicks)
			f.pub.handle(raw, now)
		})
	})
	b.Run("video", func(b *testing.B) {
		v, a, _, s := cameraAndReceiver(b, 1)
		for k := range n - 1 {
			v.join(b, fmt.Sprintf("rx%d", k))
		}
		testkit.Eventually(b, 5*time.Second, "slots filled", func() bool {
			for p := range v.w {
				if p != a && source(p, 0) != a {
					return false
				}
			}
			return true
		})
		for _, ws := range v.w {
			for _, w := range ws {
				w.keep = false
			}
		}
		in := &InStream{Kind: StreamCamera, SSRC: s.ssrc}
		now := v.e.nanotime()
		for range 2 * len(s.frames) {
			send(a, s, 0, now)
		}
		var raws [][]byte
		for range 4 * len(s.frames) {
			raws = append(raws, s.frame()...) // sequence numbers, timestamps and picture IDs run on
		}
		runFanout(b, v.e, n, func(i int) { a.handleVideo(in, raws[i%len(raws)], now) })
	})
}

// runFanout runs one publisher packet per iteration and reports the time
// and CPU per packet out.
func runFanout(b *testing.B, e *Engine, n int, packet func(i int)) {
	before := e.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cpuNanos(), time.Now()
	for i := range b.N {
		packet(i)
	}
	elapsed, cpu := time.Since(start), cpuNanos()-cpu0
	b.StopTimer()
	out := e.Stats().PacketsOut - before.PacketsOut
	if out == 0 {
		b.Fatal("nothing forwarded")
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(out), "ns/pkt-out")
	b.ReportMetric(float64(cpu)/float64(out), "cpu-ns/pkt-out")
}

// registerVideo adds VP8 and the video header extensions to m, as the
// server offers them (transport_rtc.go), for the test clients.
func registerVideo(m *webrtc.MediaEngine) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:  webrtc.MimeTypeVP8,
			ClockRate: videoClockRate,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"},
				{Type: "transport-cc"},
			},
		},
		PayloadType: vp8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	for _, uri := range []string{absSendTimeURI, midURI, ridURI, repairedRIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	// Transport-wide sequence numbers on what the server sends only
	// (twcc.go): on a camera m-line the browser would number its packets
	// and wait for feedback the server does not send.
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: transportCCURI},
		webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverDirectionSendonly)
}
