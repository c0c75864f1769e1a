package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkForward measures the fan-out of one publisher packet to N real,
// connected subscribers (loopback pion peers): rewrite, SRTP in place into
// the fan-out's batch, sendmmsg. The receivers run in this process:
// cpu-ns includes them (sfu/rtc's BenchmarkSend has them in another).
//
//	flock /tmp/palabre-bench.lock go test -run '^$' -bench 'Forward$' -benchmem ./sfu/
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			e := newTestEngine(b, 3)
			room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
			pub := joinQuiet(b, room, "pub")
			for i := range n {
				joinQuiet(b, room, fmt.Sprintf("sub%d", i))
			}
			if err := room.RequestFloor(pub.part, false); err != nil {
				b.Fatal(err)
			}
			slot, epoch := splitGrant(pub.part.grant.Load())
			pkt := &rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: opusPayloadType, SSRC: 1234},
				Payload: make([]byte, 80), // a typical 20 ms Opus frame
			}
			if err := pkt.Header.SetExtension(1, []byte{0x80 | 30}); err != nil {
				b.Fatal(err)
			}
			before := e.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, start := cpuNanos(), time.Now()
			for i := range b.N {
				pkt.SequenceNumber = uint16(i)
				pkt.Timestamp = uint32(i) * frameTicks
				room.forward(pub.part, slot, epoch, pkt, 0x80|30, true, e.nanotime())
			}
			elapsed, cpu := time.Since(start), cpuNanos()-cpu0
			b.StopTimer()
			after := e.Stats()
			out := after.PacketsOut - before.PacketsOut
			if out != uint64(b.N*n) || after.DropWriteError != before.DropWriteError {
				b.Fatalf("%d packets out, %d write errors, want %d out", out, after.DropWriteError-before.DropWriteError, b.N*n)
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(out), "ns/pkt-out")
			b.ReportMetric(float64(cpu)/float64(out), "cpu-ns/pkt-out") // receivers included (in-process)
		})
	}
}
