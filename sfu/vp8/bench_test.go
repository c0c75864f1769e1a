package vp8

import "testing"

// benchFrames is the length of the benchmarks' stream, kept small enough
// (230 KB) to stay in cache, as a packet just received is.
const benchFrames = 64

// benchPackets is a realistic stream: 1,200-byte packets, 3 per frame,
// three temporal layers with full descriptors.
func benchPackets(b *testing.B) ([][]byte, []Descriptor) {
	data := make([]byte, 1200)
	var pkts [][]byte
	var ds []Descriptor
	for _, f := range layeredSource(0x7000, 0, 3, benchFrames, 3) {
		for _, p := range f.pkts() {
			p = append(p, data...)
			pkts = append(pkts, p)
			ds = append(ds, mustParse(b, p))
		}
	}
	return pkts, ds
}

func BenchmarkParse(b *testing.B) {
	pkts, _ := benchPackets(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIsKeyframe(b *testing.B) {
	pkts, _ := benchPackets(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		IsKeyframe(pkts[i%len(pkts)])
	}
}

// BenchmarkRewrite is the per-packet cost of a slot: Parse and Rewrite
// into an outgoing buffer, every layer forwarded. The stream is replayed
// with its PictureIDs moved on at each lap, as one long stream.
func BenchmarkRewrite(b *testing.B) {
	pkts, _ := benchPackets(b)
	r := NewRewriter()
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[1])))
	for i := 0; b.Loop(); i++ {
		k := i % len(pkts)
		if k == 0 && i > 0 {
			for _, p := range pkts {
				pid := (uint16(p[2]&0x7f)<<8 | uint16(p[3])) + benchFrames
				p[2], p[3] = 0x80|byte(pid>>8)&0x7f, byte(pid)
			}
		}
		d, err := Parse(pkts[k])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Rewrite(buf, pkts[k], d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteRetransmission: a packet of a recent picture, looked up
// in the ring.
func BenchmarkRewriteRetransmission(b *testing.B) {
	pkts, ds := benchPackets(b)
	r := NewRewriter()
	buf := make([]byte, 1500)
	for k := range pkts {
		if _, err := r.Rewrite(buf, pkts[k], ds[k]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := len(pkts) - 1 - i%90
		if _, err := r.Rewrite(buf, pkts[k], ds[k]); err != nil {
			b.Fatal(err)
		}
	}
}
