package vp8

import (
	"bytes"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x10})
	f.Add([]byte{0x10, 0xaa})
	f.Add([]byte{0x90, 0x80, 0x7f, 0xaa})
	f.Add([]byte{0x90, 0x80, 0xff, 0xfe, 0xaa})
	f.Add([]byte{0xb0, 0xf0, 0x81, 0x02, 0x33, 0x47, 0xaa})
	f.Add([]byte{0xb0, 0xf0, 0x81, 0x02, 0x33})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(marshal(Descriptor{X: true, S: true, I: true, M: true, PictureID: 0x1234}, keyData))
	f.Add(marshal(Descriptor{X: true, S: true, I: true, PictureID: 3, L: true, T: true, TID: 2, Y: true}, interData))
	f.Add(marshal(Descriptor{S: true}, keyData))
}

// FuzzParse: Parse never panics, what it returns is consistent and agrees
// with pion's parser; IsKeyframe and KeyframeSize never panic; a Rewriter
// started on a keyframe rewrites any parsed packet into one that parses
// to the same flags and data.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	key := marshal(Descriptor{X: true, S: true, I: true, M: true, PictureID: 100}, keyData)
	buf := make([]byte, 64*1024)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		kf := IsKeyframe(b)
		w, h, ok := KeyframeSize(b)
		if err != nil {
			if kf || ok {
				t.Fatal("keyframe in an unparsable payload")
			}
			return
		}
		checkAgainstPion(t, b)
		if d.Size < 1 || d.Size > 6 || d.Size >= len(b) || d.PID > 7 || d.TID > 3 ||
			d.KEYIDX > 31 || d.PictureID > 0x7fff || (!d.M && d.PictureID > 0x7f) {
			t.Fatalf("inconsistent %+v for % x", d, b)
		}
		if ok && (!kf || w > 0x3fff || h > 0x3fff) {
			t.Fatalf("KeyframeSize %d %d without IsKeyframe", w, h)
		}
		if kf != (d.FrameStart() && keyframeData(b[d.Size:])) {
			t.Fatal("IsKeyframe disagrees with Parse")
		}

		r := NewRewriter()
		if _, err := r.Rewrite(buf, key, mustParse(t, key)); err != nil {
			t.Fatal(err)
		}
		r.SetMaxTemporalLayer(1)
		n, err := r.Rewrite(buf, b, d)
		if err != nil {
			return
		}
		od, err := Parse(buf[:n])
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		if !bytes.Equal(buf[od.Size:n], b[d.Size:]) || od.S != d.S || od.N != d.N || od.PID != d.PID ||
			!od.I || !od.M || od.L != d.L || od.T != d.T || od.K != d.K || od.TID != d.TID || od.Y != d.Y {
			t.Fatalf("% x rewritten as % x", b, buf[:n])
		}
	})
}

// FuzzRewriteSequence feeds one Rewriter a sequence of packets (each byte
// string cut at 0xff 0xff markers, with Switch and target changes coded in
// the first byte of each): no panic, and every output parses.
func FuzzRewriteSequence(f *testing.F) {
	var seq []byte
	for i, fr := range layeredSource(0x7ff8, 254, 30, 12, 2) {
		for _, p := range fr.pkts() {
			seq = append(seq, byte(i%5))
			seq = append(seq, p...)
			seq = append(seq, 0xff, 0xff)
		}
	}
	f.Add(seq)
	f.Add([]byte{0, 0x90, 0x80, 0x01, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0xff, 7, 0x90, 0x80, 0x02, 0x01})
	buf := make([]byte, 64*1024)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewRewriter()
		for _, p := range bytes.Split(b, []byte{0xff, 0xff}) {
			if len(p) == 0 {
				continue
			}
			ctl := p[0]
			p = p[1:]
			if ctl&0x80 != 0 {
				r.Switch()
			}
			r.SetMaxTemporalLayer(ctl & 0x07)
			d, err := Parse(p)
			if err != nil {
				continue
			}
			n, err := r.Rewrite(buf, p, d)
			if err != nil {
				continue
			}
			if _, err := Parse(buf[:n]); err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
		}
	})
}
