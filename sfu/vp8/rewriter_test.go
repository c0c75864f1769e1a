package vp8

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// fr is a synthetic frame.
type fr struct {
	pid     uint16
	seven   bool // 7-bit PictureID
	key     bool
	layered bool // L and T present
	tid     uint8
	y       bool
	tl0     uint8
	kbit    bool // K present
	keyidx  uint8
	n       int // packets (1 if 0)
}

func (f fr) pkts() [][]byte {
	n := max(f.n, 1)
	var out [][]byte
	for i := range n {
		d := Descriptor{X: true, S: i == 0, I: true, M: !f.seven, PictureID: f.pid,
			L: f.layered, T: f.layered, TID: f.tid, Y: f.y, TL0PICIDX: f.tl0,
			K: f.kbit, KEYIDX: f.keyidx}
		data := contData
		if i == 0 {
			data = interData
			if f.key {
				data = keyData
			}
		}
		out = append(out, marshal(d, data))
	}
	return out
}

// rw rewrites one payload and parses the result.
func rw(t *testing.T, r *Rewriter, p []byte) (Descriptor, []byte, error) {
	t.Helper()
	d := mustParse(t, p)
	buf := make([]byte, 1500)
	n, err := r.Rewrite(buf, p, d)
	if err != nil {
		return Descriptor{}, nil, err
	}
	if n != OutputSize(&d, len(p)) {
		t.Fatalf("Rewrite wrote %d bytes, OutputSize says %d", n, OutputSize(&d, len(p)))
	}
	od := mustParse(t, buf[:n])
	if !bytes.Equal(buf[od.Size:n], p[d.Size:]) {
		t.Fatalf("VP8 data changed")
	}
	if od.N != d.N || od.S != d.S || od.PID != d.PID || !od.I || !od.M ||
		od.L != d.L || od.T != d.T || od.K != d.K || od.TID != d.TID || od.Y != d.Y {
		t.Fatalf("descriptor %+v rewritten as %+v", d, od)
	}
	return od, buf[:n], nil
}

// source is a run of frames from one source: count frames from pid, the
// first a keyframe.
type source struct {
	pid   uint16
	seven bool
	count int
}

func (s source) frames() []fr {
	var out []fr
	mask := uint16(0x7fff)
	if s.seven {
		mask = 0x7f
	}
	for i := range s.count {
		out = append(out, fr{pid: (s.pid + uint16(i)) & mask, seven: s.seven, key: i == 0, n: 2})
	}
	return out
}

func TestRewriterPictureIDContinuity(t *testing.T) {
	tests := []struct {
		name    string
		sources []source
	}{
		{"one source", []source{{100, false, 5}}},
		{"switch to a far PictureID", []source{{100, false, 5}, {20000, false, 5}}},
		{"switch to a lower PictureID", []source{{20000, false, 5}, {3, false, 5}}},
		{"input wraps at 0x7fff", []source{{0x7ffd, false, 6}}},
		{"output wraps at 0x7fff across a switch", []source{{0x7ff0, false, 15}, {3, false, 5}}},
		{"7-bit input wraps at 0x7f", []source{{0x7c, true, 10}}},
		{"7-bit then 15-bit", []source{{120, true, 3}, {30000, false, 3}}},
		{"15-bit wrapping, then 7-bit wrapping", []source{{0x7ffe, false, 3}, {0x7e, true, 4}}},
		{"three switches", []source{{5, false, 2}, {0x7f, true, 3}, {0x7fff, false, 3}, {9, false, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRewriter()
			want := tt.sources[0].pid
			for si, s := range tt.sources {
				if si > 0 {
					r.Switch()
				}
				for _, f := range s.frames() {
					for _, p := range f.pkts() {
						od, _, err := rw(t, r, p)
						if err != nil {
							t.Fatalf("source %d pid %#x: %v", si, f.pid, err)
						}
						if od.PictureID != want {
							t.Fatalf("source %d pid %#x: out %#x, want %#x", si, f.pid, od.PictureID, want)
						}
					}
					want = (want + 1) & 0x7fff
				}
			}
		})
	}
}

// The RFC allows a sender to go on from a 7-bit PictureID of all ones to
// 15 bits.
func TestRewriterSevenBitsGrowingToFifteen(t *testing.T) {
	r := NewRewriter()
	frames := []fr{{pid: 0x7e, seven: true, key: true}, {pid: 0x7f, seven: true}, {pid: 0x80}, {pid: 0x81}}
	for i, f := range frames {
		od, _, err := rw(t, r, f.pkts()[0])
		if err != nil || od.PictureID != 0x7e+uint16(i) {
			t.Fatalf("frame %d: %#x, %v", i, od.PictureID, err)
		}
	}
}

func TestRewriterNeedsKeyframe(t *testing.T) {
	r := NewRewriter()
	if r.Started() {
		t.Fatal("started before any packet")
	}
	key := fr{pid: 10, key: true, n: 3}.pkts()
	steps := []struct {
		name string
		p    []byte
		want error
	}{
		{"inter frame first", fr{pid: 9}.pkts()[0], ErrNeedKeyframe},
		{"keyframe's second packet before its first", key[1], ErrNeedKeyframe},
		{"keyframe start code on partition 1", marshal(Descriptor{X: true, S: true, PID: 1, I: true, M: true, PictureID: 10}, keyData), ErrNeedKeyframe},
		{"keyframe", key[0], nil},
		{"keyframe's second packet", key[1], nil},
		{"inter frame", fr{pid: 11}.pkts()[0], nil},
	}
	for _, s := range steps {
		if _, _, err := rw(t, r, s.p); !errors.Is(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	if !r.Started() {
		t.Fatal("not started after a keyframe")
	}

	r.Switch()
	if r.Started() {
		t.Fatal("started right after Switch")
	}
	for _, p := range [][]byte{
		fr{pid: 12}.pkts()[0],  // the old source going on
		key[2],                 // an old retransmission
		fr{pid: 500}.pkts()[0], // the new source's inter frame
		fr{pid: 501, n: 2}.pkts()[1],
	} {
		if _, _, err := rw(t, r, p); !errors.Is(err, ErrNeedKeyframe) {
			t.Fatalf("after Switch: %v, want ErrNeedKeyframe", err)
		}
	}
	od, _, err := rw(t, r, fr{pid: 502, key: true}.pkts()[0])
	if err != nil || od.PictureID != 12 {
		t.Fatalf("new source's keyframe: %#x, %v; want 12", od.PictureID, err)
	}
	// The new source's pictures from before its keyframe are refused.
	if _, _, err := rw(t, r, fr{pid: 501, n: 2}.pkts()[1]); !errors.Is(err, ErrTooOld) {
		t.Fatalf("picture before the keyframe: %v", err)
	}
}

// layeredSource makes count frames of pattern 0,2,1,2 (libvpx mode 3's Y
// bits), PictureIDs from pid, TL0PICIDX from tl0, KEYIDX from keyidx (kept
// for the whole run, as after one keyframe), a keyframe first.
func layeredSource(pid uint16, tl0, keyidx uint8, count, pkts int) []fr {
	var out []fr
	tl0--
	for i := range count {
		p := libvpxMode3[i%4]
		if p.tid == 0 {
			tl0++
		}
		out = append(out, fr{pid: (pid + uint16(i)) & 0x7fff, key: i == 0, layered: true,
			tid: p.tid, y: p.y, tl0: tl0, kbit: true, keyidx: keyidx, n: pkts})
	}
	return out
}

// checkStream checks the output of forwarded frames: PictureIDs one
// apart, TL0PICIDX one more at each TID 0 frame and the same at the others.
type streamCheck struct {
	t        *testing.T
	pid, tl0 int
	keyidx   int
	frames   int
}

func (c *streamCheck) frame(od Descriptor) {
	c.t.Helper()
	c.frames++
	if c.pid >= 0 && int(od.PictureID) != (c.pid+1)&0x7fff {
		c.t.Errorf("PictureID %#x after %#x", od.PictureID, c.pid)
	}
	c.pid = int(od.PictureID)
	if !od.L {
		return
	}
	want := c.tl0
	if od.TID == 0 {
		want = (c.tl0 + 1) & 0xff
	}
	if c.tl0 >= 0 && int(od.TL0PICIDX) != want {
		c.t.Errorf("TID %d: TL0PICIDX %d after %d", od.TID, od.TL0PICIDX, c.tl0)
	}
	c.tl0 = int(od.TL0PICIDX)
}

func TestRewriterTL0PICIDXAndKEYIDX(t *testing.T) {
	r := NewRewriter()
	c := &streamCheck{t: t, pid: -1, tl0: -1}
	run := func(frames []fr, target func(i int) uint8, wantKey int) {
		t.Helper()
		for i, f := range frames {
			r.SetMaxTemporalLayer(target(i))
			var first Descriptor
			for j, p := range f.pkts() {
				od, _, err := rw(t, r, p)
				if errors.Is(err, ErrDropped) {
					continue
				}
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if j == 0 {
					first = od
					c.frame(od)
				} else if od.PictureID != first.PictureID || od.TL0PICIDX != first.TL0PICIDX || od.KEYIDX != first.KEYIDX {
					t.Fatalf("frame %d packet %d: %+v, first packet %+v", i, j, od, first)
				}
				if od.K && int(od.KEYIDX) != wantKey {
					t.Fatalf("frame %d: KEYIDX %d, want %d", i, od.KEYIDX, wantKey)
				}
			}
		}
	}
	// Source A, TL0PICIDX wrapping at 255: all layers, then only the
	// base, then two layers.
	run(layeredSource(1000, 250, 30&0x1f, 40, 2), func(i int) uint8 {
		switch {
		case i < 10:
			return 2
		case i < 25:
			return 0
		default:
			return 1
		}
	}, 30)
	if c.frames >= 40 || c.frames < 20 {
		t.Fatalf("%d frames forwarded: layers not dropped", c.frames)
	}
	// Source B, other numbers, base layer only: TL0PICIDX and KEYIDX go on
	// from A's.
	r.Switch()
	run(layeredSource(7, 3, 17, 12, 1), func(int) uint8 { return 0 }, 31)
	// Source C, without temporal fields: none written.
	r.Switch()
	for i, f := range (source{pid: 300, count: 4}).frames() {
		od, _, err := rw(t, r, f.pkts()[0])
		if err != nil || od.L || od.T || od.K {
			t.Fatalf("frame %d: %+v, %v", i, od, err)
		}
		c.frame(od)
	}
	// Source D, layered again: TL0PICIDX follows B's, KEYIDX wraps to 0.
	r.Switch()
	run(layeredSource(0x7ffa, 100, 5, 12, 1), func(int) uint8 { return MaxTID }, 0)
}

// A packet sent again (after a NACK) or late gets the same rewritten bytes
// as the first time, or is dropped again if its frame was.
func TestRewriterRetransmission(t *testing.T) {
	r := NewRewriter()
	type sent struct {
		in, out []byte
		err     error
	}
	var log []sent
	frames := layeredSource(0x7f00, 200, 0, 300, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, f := range frames {
		r.SetMaxTemporalLayer(uint8(i / 40 % 3))
		for _, p := range f.pkts() {
			_, out, err := rw(t, r, p)
			if err != nil && !errors.Is(err, ErrDropped) {
				t.Fatalf("frame %d: %v", i, err)
			}
			log = append(log, sent{p, out, err})
		}
		// Retransmissions of packets up to 100 frames back (of ring
		// 128), interleaved with the live stream.
		for range 3 {
			k := len(log) - 1 - rng.IntN(min(len(log), 300))
			s := log[k]
			_, out, err := rw(t, r, s.in)
			if !errors.Is(err, s.err) || !bytes.Equal(out, s.out) {
				t.Fatalf("frame %d: retransmission of packet %d: % x, %v; first time % x, %v",
					i, k, out, err, s.out, s.err)
			}
		}
	}
	// Far back: forgotten.
	if _, _, err := rw(t, r, log[len(log)-3*200].in); !errors.Is(err, ErrTooOld) {
		t.Fatalf("200 frames back: %v, want ErrTooOld", err)
	}
}

// Reordered and lost pictures: a lost picture leaves a gap the receiver
// can wait for, and is numbered into it if it comes; a picture arriving
// after a newer one is forwarded whatever its layer; a dropped picture
// leaves no gap.
func TestRewriterReorderingAndLoss(t *testing.T) {
	r := NewRewriter()
	r.SetMaxTemporalLayer(0)
	f := func(pid uint16, tid uint8) []byte {
		return fr{pid: pid, key: pid == 1, layered: true, tid: tid, tl0: 0}.pkts()[0]
	}
	steps := []struct {
		p    []byte
		want uint16 // output PictureID; 0: dropped
	}{
		{f(1, 0), 1},
		{f(3, 0), 3}, // 2 missing
		{f(2, 2), 2}, // late: forwarded in its place, though of layer 2
		{f(4, 1), 0}, // dropped: TID 1 > 0
		{f(5, 0), 4}, // no gap for 4
		{f(7, 0), 6}, // 6 lost: gap
		{f(8, 2), 0},
		{f(9, 0), 7},
		{f(6, 1), 5}, // 6 retransmitted: fills the gap
		{f(4, 1), 0}, // still dropped
		{f(2, 2), 2},
	}
	for i, s := range steps {
		od, _, err := rw(t, r, s.p)
		if s.want == 0 {
			if !errors.Is(err, ErrDropped) {
				t.Fatalf("step %d: %v, want ErrDropped", i, err)
			}
			continue
		}
		if err != nil || od.PictureID != s.want {
			t.Fatalf("step %d: %d, %v; want %d", i, od.PictureID, err, s.want)
		}
	}
}

func TestRewriterLongLoss(t *testing.T) {
	r := NewRewriter()
	for i, s := range []struct{ in, out uint16 }{{100, 100}, {101, 101}, {1101, 1101}, {1102, 1102}, {1000, 1000}, {975, 975}, {974, 0}, {900, 0}} {
		od, _, err := rw(t, r, fr{pid: s.in, key: i == 0}.pkts()[0])
		if s.out == 0 {
			if !errors.Is(err, ErrTooOld) {
				t.Fatalf("pid %d: %v, want ErrTooOld", s.in, err)
			}
			continue
		}
		if err != nil || od.PictureID != s.out {
			t.Fatalf("pid %d: %d, %v; want %d", s.in, od.PictureID, err, s.out)
		}
	}
}

// A source that starts again from low PictureIDs without a Switch is
// picked up at its keyframe.
func TestRewriterSourceRestart(t *testing.T) {
	r := NewRewriter()
	for i := range 5 {
		if _, _, err := rw(t, r, fr{pid: 5000 + uint16(i), key: i == 0}.pkts()[0]); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := rw(t, r, fr{pid: 0}.pkts()[0]); !errors.Is(err, ErrTooOld) {
		t.Fatalf("inter frame far back: %v", err)
	}
	od, _, err := rw(t, r, fr{pid: 1, key: true}.pkts()[0])
	if err != nil || od.PictureID != 5005 {
		t.Fatalf("keyframe far back: %d, %v; want 5005", od.PictureID, err)
	}
	od, _, err = rw(t, r, fr{pid: 2}.pkts()[0])
	if err != nil || od.PictureID != 5006 {
		t.Fatalf("next: %d, %v", od.PictureID, err)
	}
}

func TestRewriterDescriptorGrowth(t *testing.T) {
	tests := []struct {
		name string
		d    Descriptor
		grow int
	}{
		{"15-bit", Descriptor{X: true, S: true, I: true, M: true, PictureID: 5}, 0},
		{"7-bit", Descriptor{X: true, S: true, I: true, PictureID: 5}, 1},
		{"7-bit with everything", Descriptor{X: true, S: true, I: true, PictureID: 5, L: true, T: true, K: true}, 1},
		{"15-bit with KEYIDX only", Descriptor{X: true, S: true, I: true, M: true, PictureID: 5, K: true, KEYIDX: 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := marshal(tt.d, keyData)
			r := NewRewriter()
			od, out, err := rw(t, r, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in)+tt.grow || od.PictureID != 5 {
				t.Fatalf("%d bytes from %d, PictureID %d", len(out), len(in), od.PictureID)
			}
			// In place: the same result.
			buf := make([]byte, len(in), len(in)+3)
			copy(buf, in)
			r2 := NewRewriter()
			n, err := r2.Rewrite(buf[:cap(buf)], buf, mustParse(t, buf))
			if err != nil || !bytes.Equal(buf[:n], out) {
				t.Fatalf("in place: % x, %v; want % x", buf[:n], err, out)
			}
		})
	}
}

func TestRewriterErrors(t *testing.T) {
	key := fr{pid: 1, key: true}.pkts()[0]
	d := mustParse(t, key)
	r := NewRewriter()
	if _, err := r.Rewrite(make([]byte, len(key)-1), key, d); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
	for _, size := range []int{0, -1, len(key), len(key) + 1} {
		bad := d
		bad.Size = size
		if _, err := r.Rewrite(make([]byte, 100), key, bad); !errors.Is(err, ErrBadDescriptor) {
			t.Errorf("Size %d: %v", size, err)
		}
	}
	noPID := marshal(Descriptor{S: true}, keyData)
	if _, err := r.Rewrite(make([]byte, 100), noPID, mustParse(t, noPID)); !errors.Is(err, ErrNoPictureID) {
		t.Errorf("no PictureID: %v", err)
	}
}

func TestRewriterAllocatesNothing(t *testing.T) {
	r := NewRewriter()
	frames := layeredSource(0, 0, 0, 1000, 1)
	pkts := make([][]byte, len(frames))
	ds := make([]Descriptor, len(frames))
	for i, f := range frames {
		pkts[i] = f.pkts()[0]
		ds[i] = mustParse(t, pkts[i])
	}
	buf := make([]byte, 1500)
	if _, err := r.Rewrite(buf, pkts[0], ds[0]); err != nil {
		t.Fatal(err)
	}
	i := 1
	n := testing.AllocsPerRun(500, func() {
		d, err := Parse(pkts[i])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = r.Rewrite(buf, pkts[i], d)
		_, _ = r.Rewrite(buf, pkts[i-1], ds[i-1]) // and a retransmission
		i++
	})
	if n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}
