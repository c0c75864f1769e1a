package vp8

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// marshal builds a payload: d's descriptor (encoded from its fields, with
// the presence bits and M as given; Size is ignored) followed by data.
// It is written independently of Rewriter.write, to test it.
func marshal(d Descriptor, data []byte) []byte {
	var b []byte
	b0 := d.PID & 7
	if d.X {
		b0 |= 0x80
	}
	if d.N {
		b0 |= 0x20
	}
	if d.S {
		b0 |= 0x10
	}
	b = append(b, b0)
	if d.X {
		var b1 byte
		for i, f := range []bool{d.I, d.L, d.T, d.K} {
			if f {
				b1 |= 0x80 >> i
			}
		}
		b = append(b, b1)
		if d.I {
			if d.M {
				b = append(b, 0x80|byte(d.PictureID>>8)&0x7f, byte(d.PictureID))
			} else {
				b = append(b, byte(d.PictureID)&0x7f)
			}
		}
		if d.L {
			b = append(b, d.TL0PICIDX)
		}
		if d.T || d.K {
			var t byte
			if d.T {
				t = d.TID << 6
				if d.Y {
					t |= 0x20
				}
			}
			if d.K {
				t |= d.KEYIDX & 0x1f
			}
			b = append(b, t)
		}
	}
	return append(b, data...)
}

// Fake VP8 data for synthetic packets.
var (
	keyData   = []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0xaa, 0xbb}
	interData = []byte{0x31, 0x02, 0x00, 0xcc, 0xdd}
	contData  = []byte{0xee, 0xff, 0x11}
)

// readIVF returns the frames of testdata/name.
func readIVF(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.FourCC != "VP80" {
		t.Fatalf("%s: fourcc %q", name, h.FourCC)
	}
	var frames [][]byte
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr)
	}
	return frames
}

// readKeys returns, per frame, whether ffprobe said it is a keyframe
// (testdata/name, written by gen.sh).
func readKeys(t testing.TB, name string) []bool {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []bool
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 2 {
			t.Fatalf("%s: bad line %q", name, s.Text())
		}
		i, err := strconv.Atoi(fields[0])
		if err != nil || i != len(keys) {
			t.Fatalf("%s: bad line %q", name, s.Text())
		}
		keys = append(keys, fields[1] == "1")
	}
	return keys
}

// readLines returns the lines of testdata/name.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// packet is an RTP payload of a test stream and the frame it belongs to.
type packet struct {
	payload []byte
	frame   int
	first   bool // first packet of its frame
}

// pionPackets packetizes frames with pion's VP8Payloader, PictureIDs on.
func pionPackets(frames [][]byte, mtu uint16) []packet {
	p := codecs.VP8Payloader{EnablePictureID: true}
	var out []packet
	for i, f := range frames {
		for j, pl := range p.Payload(mtu, f) {
			out = append(out, packet{payload: pl, frame: i, first: j == 0})
		}
	}
	return out
}

// layered packetizes frames with full descriptors: a 15-bit PictureID
// from pid0, and the temporal fields that layer gives for each frame.
// Frames are cut into chunks of at most chunk bytes.
func layered(frames [][]byte, chunk int, pid0 uint16, tl00 uint8, layer func(i int) (tid uint8, y, n bool)) []packet {
	var out []packet
	tl0 := tl00 - 1
	for i, f := range frames {
		tid, y, n := layer(i)
		if tid == 0 {
			tl0++
		}
		for off := 0; off < len(f); off += chunk {
			d := Descriptor{
				X: true, N: n, S: off == 0,
				I: true, M: true, PictureID: (pid0 + uint16(i)) & 0x7fff,
				L: true, TL0PICIDX: tl0,
				T: true, TID: tid, Y: y,
			}
			end := min(off+chunk, len(f))
			out = append(out, packet{payload: marshal(d, f[off:end]), frame: i, first: off == 0})
		}
	}
	return out
}

func mustParse(t testing.TB, b []byte) Descriptor {
	t.Helper()
	d, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(% x): %v", b[:min(len(b), 8)], err)
	}
	return d
}
