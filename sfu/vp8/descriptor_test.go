package vp8

import (
	"errors"
	"testing"

	"github.com/pion/rtp/codecs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Descriptor
	}{
		{"minimal", []byte{0x10, 0xaa},
			Descriptor{Size: 1, S: true}},
		{"continuation, partition 3, non-reference", []byte{0x23, 0xaa},
			Descriptor{Size: 1, N: true, PID: 3}},
		{"X without fields", []byte{0x90, 0x00, 0xaa},
			Descriptor{Size: 2, X: true, S: true}},
		{"7-bit PictureID", []byte{0x90, 0x80, 0x7f, 0xaa},
			Descriptor{Size: 3, X: true, S: true, I: true, PictureID: 0x7f}},
		{"15-bit PictureID", []byte{0x90, 0x80, 0xff, 0xfe, 0xaa},
			Descriptor{Size: 4, X: true, S: true, I: true, M: true, PictureID: 0x7ffe}},
		{"TL0PICIDX only", []byte{0x80, 0x40, 0x17, 0xaa},
			Descriptor{Size: 3, X: true, L: true, TL0PICIDX: 0x17}},
		{"TID and Y", []byte{0x80, 0x20, 0xa0 | 0x1f, 0xaa},
			Descriptor{Size: 3, X: true, T: true, TID: 2, Y: true}}, // KEYIDX bits ignored without K
		{"KEYIDX only", []byte{0x80, 0x10, 0xe0 | 0x15, 0xaa},
			Descriptor{Size: 3, X: true, K: true, KEYIDX: 0x15}}, // TID/Y ignored without T
		{"everything", []byte{0xb0, 0xf0, 0x81, 0x02, 0x33, 0x40 | 0x20 | 0x07, 0xaa},
			Descriptor{Size: 6, X: true, N: true, S: true, I: true, L: true, T: true, K: true,
				M: true, PictureID: 0x102, TL0PICIDX: 0x33, TID: 1, Y: true, KEYIDX: 7}},
		{"reserved bits set", []byte{0xff, 0x0f, 0xaa},
			Descriptor{Size: 2, X: true, N: true, S: true, PID: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrEmpty},
		{"empty", []byte{}, ErrEmpty},
		{"X byte missing", []byte{0x90}, ErrTruncated},
		{"PictureID missing", []byte{0x90, 0x80}, ErrTruncated},
		{"second PictureID byte missing", []byte{0x90, 0x80, 0x81}, ErrTruncated},
		{"TL0PICIDX missing", []byte{0x90, 0xc0, 0x01}, ErrTruncated},
		{"TID byte missing", []byte{0x90, 0xa0, 0x01}, ErrTruncated},
		{"KEYIDX byte missing", []byte{0x90, 0x10}, ErrTruncated},
		{"no data after minimal", []byte{0x10}, ErrNoData},
		{"no data after full", []byte{0x90, 0xf0, 0x81, 0x02, 0x33, 0x47}, ErrNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if d != (Descriptor{}) {
				t.Errorf("descriptor %+v returned with an error", d)
			}
		})
	}
}

// Every proper prefix of a full descriptor fails, and never panics.
func TestParseEveryTruncation(t *testing.T) {
	full := []byte{0xb0, 0xf0, 0x81, 0x02, 0x33, 0x47, 0xaa}
	for n := 0; n < len(full); n++ {
		if _, err := Parse(full[:n]); err == nil {
			t.Errorf("Parse of %d bytes succeeded", n)
		}
	}
	if _, err := Parse(full); err != nil {
		t.Fatal(err)
	}
}

// checkAgainstPion compares Parse with pion's VP8Packet.Unmarshal, which
// accepts a descriptor with no data after it (Parse does not).
func checkAgainstPion(t *testing.T, b []byte) {
	t.Helper()
	d, err := Parse(b)
	var p codecs.VP8Packet
	rest, perr := p.Unmarshal(b)
	pionOK := perr == nil && len(rest) > 0
	if (err == nil) != pionOK {
		t.Fatalf("% x: Parse err %v, pion err %v (rest %d)", b, err, perr, len(rest))
	}
	if err != nil {
		return
	}
	if d.Size != len(b)-len(rest) ||
		d.X != (p.X == 1) || d.N != (p.N == 1) || d.S != (p.S == 1) || d.PID != p.PID ||
		d.I != (p.I == 1) || d.L != (p.L == 1) || d.T != (p.T == 1) || d.K != (p.K == 1) ||
		d.PictureID != p.PictureID || d.TL0PICIDX != p.TL0PICIDX ||
		d.TID != p.TID || d.Y != (p.Y == 1) || d.KEYIDX != p.KEYIDX {
		t.Fatalf("% x: Parse %+v, pion %+v", b, d, p)
	}
}

func TestParseMatchesPionOnRealPackets(t *testing.T) {
	for _, p := range pionPackets(readIVF(t, "plain.ivf"), 300) {
		checkAgainstPion(t, p.payload)
	}
	frames := readIVF(t, "tl3.ivf")
	for _, p := range layered(frames, 300, 0x7ff0, 250, tl3Layer(readKeys(t, "tl3.keys"))) {
		checkAgainstPion(t, p.payload)
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	b := []byte{0xb0, 0xf0, 0x81, 0x02, 0x33, 0x47, 0xaa}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(b) }); n != 0 {
		t.Errorf("%v allocations per Parse", n)
	}
}
