package vp8

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInLayer(t *testing.T) {
	tests := []struct {
		d    Descriptor
		max  uint8
		want bool
	}{
		{Descriptor{}, 0, true}, // no TID: base layer
		{Descriptor{T: true, TID: 0}, 0, true},
		{Descriptor{T: true, TID: 1}, 0, false},
		{Descriptor{T: true, TID: 1}, 1, true},
		{Descriptor{T: true, TID: 3}, 2, false},
		{Descriptor{T: true, TID: 3}, MaxTID, true},
	}
	for _, tt := range tests {
		if got := InLayer(&tt.d, tt.max); got != tt.want {
			t.Errorf("InLayer(%+v, %d) = %v", tt.d, tt.max, got)
		}
	}
}

func TestCanSwitchUp(t *testing.T) {
	tests := []struct {
		name string
		d    Descriptor
		key  bool
		cur  uint8
		want bool
	}{
		{"keyframe", Descriptor{T: true}, true, 0, true},
		{"sync frame of the next layer", Descriptor{T: true, TID: 1, Y: true}, false, 0, true},
		{"non-sync frame of the next layer", Descriptor{T: true, TID: 1}, false, 0, false},
		{"sync frame two layers up", Descriptor{T: true, TID: 2, Y: true}, false, 0, false},
		{"TID 0 frame", Descriptor{T: true, TID: 0}, false, 0, false},
		{"TID 0 frame with Y", Descriptor{T: true, TID: 0, Y: true}, false, 0, false},
		{"sync frame of layer 2 from 1", Descriptor{T: true, TID: 2, Y: true}, false, 1, true},
		{"no TID", Descriptor{}, false, 0, false},
	}
	for _, tt := range tests {
		if got := CanSwitchUp(&tt.d, tt.key, tt.cur); got != tt.want {
			t.Errorf("%s: CanSwitchUp = %v", tt.name, got)
		}
	}
}

func TestTemporalFilter(t *testing.T) {
	type step struct {
		target  int // -1: unchanged
		tid     uint8
		y, key  bool
		forward bool
		cur     uint8
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"down at once, at any frame", []step{
			{MaxTID, 0, false, true, true, 3},
			{-1, 2, true, false, true, 3},
			{1, 2, false, false, false, 1},
			{-1, 1, false, false, true, 1},
			{0, 1, true, false, false, 0},
			{-1, 0, false, false, true, 0},
		}},
		{"up only at a sync frame of the next layer", []step{
			{0, 0, false, true, true, 0},
			{2, 2, true, false, false, 0}, // sync, but two layers up
			{-1, 1, false, false, false, 0},
			{-1, 0, false, false, true, 0}, // TID 0 is no switch point
			{-1, 2, false, false, false, 0},
			{-1, 1, true, false, true, 1}, // sync of layer 1
			{-1, 2, false, false, false, 1},
			{-1, 0, false, false, true, 1},
			{-1, 2, true, false, true, 2}, // sync of layer 2
			{-1, 1, false, false, true, 2},
			{-1, 2, false, false, true, 2},
		}},
		{"up at a keyframe, to the target", []step{
			{0, 0, false, true, true, 0},
			{-1, 1, true, false, false, 0},
			{2, 0, false, true, true, 2},
			{-1, 2, false, false, true, 2},
		}},
		{"target above the layers present", []step{
			{MaxTID, 0, false, true, true, 3},
			{-1, 1, false, false, true, 3},
		}},
		{"no TID: always passes", []step{
			{0, 0, false, true, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f TemporalFilter
			for i, s := range tt.steps {
				if s.target >= 0 {
					f.SetTarget(uint8(s.target))
				}
				d := Descriptor{T: tt.name != "no TID: always passes", TID: s.tid, Y: s.y}
				if got := f.Frame(&d, s.key); got != s.forward || f.Current() != s.cur {
					t.Errorf("step %d: forward %v cur %d, want %v %d", i, got, f.Current(), s.forward, s.cur)
				}
			}
		})
	}
}

// A reference model of a temporal pattern, to tell whether a filtered
// stream decodes as the full one does. VP8 has three reference buffers.
const (
	last = 1 << iota
	golden
	altref
)

type frameRefs struct {
	tid     uint8
	y, n    bool
	refs    int // buffers read
	updates int // buffers written
}

// libvpxMode3 is ffmpeg's ts_layering_mode=3 (what tl3.ivf is encoded
// with): TID 0,2,1,2; TL1 reads LAST and writes GOLDEN, the second TL2
// reads GOLDEN; TL2 frames write nothing.
var libvpxMode3 = []frameRefs{
	{0, false, false, last, last},
	{2, true, true, last, 0},
	{1, true, false, last, golden},
	{2, false, true, golden, 0},
}

// webrtc2 is a two-layer pattern in the manner of libwebrtc's: each TL1
// frame but the first of the cycle reads the GOLDEN buffer that the previous
// TL1 frame wrote, across a TL0 frame.
var webrtc2 = []frameRefs{
	{0, false, false, last, last},
	{1, true, false, last, golden},
	{0, false, false, last, last},
	{1, false, false, last | golden, golden},
	{0, false, false, last, last},
	{1, false, false, last | golden, golden},
	{0, false, false, last, last},
	{1, false, false, last | golden, golden},
}

// patternFrame gives frame i's place in a pattern restarted at keyframes
// (keys[i]); a keyframe reads nothing and writes every buffer.
func patternFrame(pattern []frameRefs, keys []bool, i int) (frameRefs, bool) {
	since := 0
	for j := i; j > 0 && !keys[j]; j-- {
		since++
	}
	if keys[i] {
		return frameRefs{updates: last | golden | altref}, true
	}
	return pattern[since%len(pattern)], false
}

// decodes runs the model: forwarded says which frames the receiver gets;
// it returns the forwarded frames that would not decode as in the full
// stream (reading a buffer that holds something else, or a bad frame).
func decodes(pattern []frameRefs, keys []bool, forwarded []bool) (bad []int) {
	var enc, dec [3]int // frame index+1 in each buffer; 0: nothing, -1: garbage
	for i := range keys {
		f, _ := patternFrame(pattern, keys, i)
		ok := true
		for b := range 3 {
			if f.refs&(1<<b) != 0 && dec[b] != enc[b] {
				ok = false
			}
		}
		for b := range 3 {
			if f.updates&(1<<b) != 0 {
				enc[b] = i + 1
				if forwarded[i] {
					dec[b] = i + 1
					if !ok {
						dec[b] = -1
					}
				}
			}
		}
		if forwarded[i] && !ok {
			bad = append(bad, i)
		}
	}
	return bad
}

// schedule is when the target layer changes, by frame index.
var schedule = map[int]uint8{0: 2, 5: 0, 13: 1, 21: 2, 27: 0, 33: 2, 41: 1, 47: 2, 55: 0, 57: 1}

// filterFrames runs a decision function over a pattern with schedule.
func filterFrames(pattern []frameRefs, keys []bool, decide func(target uint8, d *Descriptor, key bool) bool) []bool {
	fwd := make([]bool, len(keys))
	var target uint8
	for i := range keys {
		if t, ok := schedule[i]; ok {
			target = t
		}
		f, key := patternFrame(pattern, keys, i)
		d := Descriptor{T: true, TID: f.tid, Y: f.y, N: f.n}
		fwd[i] = decide(target, &d, key)
	}
	return fwd
}

// The filter's switching rule keeps every forwarded frame decodable, on
// libvpx's pattern and on a libwebrtc-like one; switching up at TID 0
// frames, or at any frame, does not (the model bites).
func TestTemporalFilterDecodes(t *testing.T) {
	keys := make([]bool, 60)
	keys[0], keys[30] = true, true
	for _, p := range []struct {
		name    string
		pattern []frameRefs
	}{{"libvpx mode 3", libvpxMode3}, {"libwebrtc-like 2 layers", webrtc2}} {
		var f TemporalFilter
		fwd := filterFrames(p.pattern, keys, func(target uint8, d *Descriptor, key bool) bool {
			f.SetTarget(target)
			return f.Frame(d, key)
		})
		if bad := decodes(p.pattern, keys, fwd); len(bad) > 0 {
			t.Errorf("%s: frames %v would not decode", p.name, bad)
		}
		n := 0
		for _, b := range fwd {
			if b {
				n++
			}
		}
		if n == len(fwd) || n < len(fwd)/3 {
			t.Errorf("%s: %d of %d frames forwarded: the schedule does not exercise the filter", p.name, n, len(fwd))
		}
	}

	// Naive rules, for contrast: up at any frame.
	anyFrame := func(target uint8, d *Descriptor, key bool) bool { return InLayer(d, target) }
	if bad := decodes(webrtc2, keys, filterFrames(webrtc2, keys, anyFrame)); len(bad) == 0 {
		t.Error("switching up at any frame passes the model: it does not test the rule")
	}
	// Up at TID 0 frames.
	var cur uint8
	atTL0 := func(target uint8, d *Descriptor, key bool) bool {
		if key || target < cur || d.TID == 0 {
			cur = target
		}
		return InLayer(d, cur)
	}
	if bad := decodes(webrtc2, keys, filterFrames(webrtc2, keys, atTL0)); len(bad) == 0 {
		t.Error("switching up at TID 0 passes the model on the libwebrtc-like pattern")
	}
}

// tl3Layer gives the temporal fields of tl3.ivf's frames.
func tl3Layer(keys []bool) func(i int) (uint8, bool, bool) {
	return func(i int) (uint8, bool, bool) {
		f, _ := patternFrame(libvpxMode3, keys, i)
		return f.tid, f.y, f.n
	}
}

// The real 3-layer stream, packetized with temporal fields, through a
// Rewriter whose target moves up and down: the forwarded frames decode (by
// the model and, where ffmpeg is installed, by libvpx, frame for frame
// identical to the full stream), and the output's PictureIDs and
// TL0PICIDX run on without a gap, across the 15-bit and 8-bit wraps.
func TestRewriterRealTemporalLayers(t *testing.T) {
	frames := readIVF(t, "tl3.ivf")
	keys := readKeys(t, "tl3.keys")
	pkts := layered(frames, 200, 0x7ff0, 250, tl3Layer(keys))

	r := NewRewriter()
	buf := make([]byte, 1500)
	fwd := make([]bool, len(frames))
	var outFrames [][]byte // forwarded frames, rebuilt from the output
	var outIdx []int
	var lastPID, lastTL0 int = -1, -1
	for _, p := range pkts {
		if tgt, ok := schedule[p.frame]; ok && p.first {
			r.SetMaxTemporalLayer(tgt)
		}
		d := mustParse(t, p.payload)
		n, err := r.Rewrite(buf, p.payload, d)
		if err == ErrDropped {
			if fwd[p.frame] {
				t.Fatalf("frame %d: some packets dropped, some not", p.frame)
			}
			continue
		}
		if err != nil {
			t.Fatalf("frame %d: %v", p.frame, err)
		}
		od := mustParse(t, buf[:n])
		if !od.I || !od.M || !od.L || !od.T || od.TID != d.TID || od.Y != d.Y || od.S != d.S || od.N != d.N {
			t.Fatalf("frame %d: output descriptor %+v from %+v", p.frame, od, d)
		}
		if p.first {
			fwd[p.frame] = true
			if lastPID >= 0 && int(od.PictureID) != (lastPID+1)&0x7fff {
				t.Errorf("frame %d: PictureID %#x after %#x", p.frame, od.PictureID, lastPID)
			}
			lastPID = int(od.PictureID)
			want := lastTL0
			if d.TID == 0 {
				want = (lastTL0 + 1) & 0xff
			}
			if lastTL0 >= 0 && int(od.TL0PICIDX) != want {
				t.Errorf("frame %d (TID %d): TL0PICIDX %d after %d", p.frame, d.TID, od.TL0PICIDX, lastTL0)
			}
			lastTL0 = int(od.TL0PICIDX)
			outFrames = append(outFrames, nil)
			outIdx = append(outIdx, p.frame)
		} else if !fwd[p.frame] || int(od.PictureID) != lastPID {
			t.Fatalf("frame %d: continuation packet with PictureID %#x, frame's %#x", p.frame, od.PictureID, lastPID)
		}
		k := len(outFrames) - 1
		outFrames[k] = append(outFrames[k], buf[od.Size:n]...)
	}
	for k, f := range outFrames {
		if !bytes.Equal(f, frames[outIdx[k]]) {
			t.Fatalf("frame %d: data changed by rewriting", outIdx[k])
		}
	}
	if bad := decodes(libvpxMode3, keys, fwd); len(bad) > 0 {
		t.Errorf("frames %v would not decode", bad)
	}
	if lastPID >= 0x7ff0 {
		t.Errorf("PictureIDs did not wrap (last %#x)", lastPID)
	}
	t.Logf("%d of %d frames forwarded", len(outFrames), len(frames))

	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Log("no ffmpeg: decoding by libvpx not checked")
		return
	}
	want := readLines(t, "tl3.framemd5")
	got := decodeMD5(t, ffmpeg, outFrames)
	if len(got) != len(outFrames) {
		t.Fatalf("ffmpeg decoded %d frames of %d", len(got), len(outFrames))
	}
	for k := range got {
		if got[k] != want[outIdx[k]] {
			t.Errorf("frame %d decodes differently from the full stream", outIdx[k])
		}
	}
}

// decodeMD5 decodes frames with ffmpeg and returns each frame's MD5.
func decodeMD5(t *testing.T, ffmpeg string, frames [][]byte) []string {
	t.Helper()
	var b bytes.Buffer
	h := make([]byte, 32)
	copy(h, "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], "VP80")
	binary.LittleEndian.PutUint16(h[12:], 320)
	binary.LittleEndian.PutUint16(h[14:], 240)
	binary.LittleEndian.PutUint32(h[16:], 30)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(len(frames)))
	b.Write(h)
	for i, f := range frames {
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		b.Write(fh)
		b.Write(f)
	}
	name := filepath.Join(t.TempDir(), "out.ivf")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error",
		"-i", name, "-fps_mode", "passthrough", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	var sums []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ",")
		sums = append(sums, strings.TrimSpace(f[len(f)-1]))
	}
	return sums
}
