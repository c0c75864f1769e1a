package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

func TestToneSource(t *testing.T) {
	src := NewToneSource([]byte("abc"), 33)
	start := time.Now()
	for i := range uint64(5) {
		p, level, dur, err := src.NextFrame()
		if err != nil || level != 33 || dur != 20*time.Millisecond || len(p) != ToneFrameBytes {
			t.Fatalf("frame %d: %d bytes, level %d, %v, %v", i, len(p), level, dur, err)
		}
		n, sent, ok := ParseToneFrame(p, []byte("abc"))
		if !ok || n != i || sent.Before(start.Add(-time.Millisecond)) || time.Since(sent) > time.Second {
			t.Fatalf("frame %d parses as %d %v %v", i, n, sent, ok)
		}
		if _, _, ok := ParseToneFrame(p, []byte("abd")); ok {
			t.Error("parsed with another tag")
		}
	}
	long := bytes.Repeat([]byte("x"), 100)
	p, _, _, _ := NewToneSource(long, 0).NextFrame()
	if n, _, ok := ParseToneFrame(p, long); len(p) != 116 || !ok || n != 0 {
		t.Errorf("long tag: %d bytes, %v", len(p), ok)
	}
	if _, _, ok := ParseToneFrame([]byte("abc"), []byte("abc")); ok {
		t.Error("parsed a short payload")
	}
}

func TestOpusPacketDuration(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		p    []byte
		want time.Duration
	}{
		{[]byte{0 << 3}, 10 * ms},    // SILK NB 10 ms
		{[]byte{1 << 3}, 20 * ms},    // SILK NB 20 ms
		{[]byte{3<<3 | 1}, 120 * ms}, // SILK 60 ms, two frames
		{[]byte{9 << 3, 0}, 20 * ms}, // SILK WB 20 ms
		{[]byte{12 << 3}, 10 * ms},   // Hybrid 10 ms
		{[]byte{15<<3 | 2}, 40 * ms}, // Hybrid 20 ms, two frames
		{[]byte{16 << 3}, 2500 * time.Microsecond},
		{[]byte{31 << 3}, 20 * ms},      // CELT FB 20 ms
		{[]byte{31<<3 | 3, 3}, 60 * ms}, // code 3, three frames
		{[]byte{28<<3 | 3, 0x85}, 12500 * time.Microsecond},
	} {
		got, err := OpusPacketDuration(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("OpusPacketDuration(%x) = %v %v, want %v", tc.p, got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, {31<<3 | 3}, {31<<3 | 3, 0}, {31<<3 | 3, 7}} {
		if d, err := OpusPacketDuration(bad); err == nil {
			t.Errorf("OpusPacketDuration(%x) = %v, want an error", bad, d)
		}
	}
}

// readAll drains a source, at most 1000 frames.
func readAll(t *testing.T, src Source) (payloads [][]byte, levels []uint8, durs []time.Duration) {
	t.Helper()
	for range 1000 {
		p, level, dur, err := src.NextFrame()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, bytes.Clone(p))
		levels = append(levels, level)
		durs = append(durs, dur)
	}
	t.Fatal("endless source")
	return
}

func TestOggSourceFromPionWriter(t *testing.T) {
	frames := [][]byte{
		append([]byte{31 << 3}, bytes.Repeat([]byte{1}, 60)...),    // CELT 20 ms
		append([]byte{1 << 3}, bytes.Repeat([]byte{2}, 40)...),     // SILK 20 ms
		append([]byte{31<<3 | 1}, bytes.Repeat([]byte{3}, 300)...), // 2 x 20 ms, > 255 bytes
		{31 << 3}, // DTX
		append([]byte{16<<3 | 3, 3}, bytes.Repeat([]byte{4}, 30)...), // 3 x 2.5 ms
	}
	want := []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
		20 * time.Millisecond, 7500 * time.Microsecond}
	var buf bytes.Buffer
	w, err := oggwriter.NewWith(&buf, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: f}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	src, err := NewOggSource(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	payloads, levels, durs := readAll(t, src)
	if len(payloads) != len(frames) {
		t.Fatalf("%d frames, want %d", len(payloads), len(frames))
	}
	for i := range frames {
		wantLevel := uint8(DefaultOggLevel)
		if len(frames[i]) <= 2 {
			wantLevel = 127
		}
		if !bytes.Equal(payloads[i], frames[i]) || durs[i] != want[i] || levels[i] != wantLevel {
			t.Errorf("frame %d: %d bytes, %v, level %d; want %d bytes, %v, level %d",
				i, len(payloads[i]), durs[i], levels[i], len(frames[i]), want[i], wantLevel)
		}
	}

	src, err = NewOggSourceWithLevel(bytes.NewReader(buf.Bytes()), 12)
	if err != nil {
		t.Fatal(err)
	}
	if _, level, _, _ := src.NextFrame(); level != 12 {
		t.Errorf("level %d, want 12", level)
	}
}

// oggPage builds one Ogg page with the given lacing values and payload.
func oggPage(serial, seq uint32, flags byte, lacing []byte, payload []byte) []byte {
	h := make([]byte, 27)
	copy(h, "OggS")
	h[5] = flags
	binary.LittleEndian.PutUint32(h[14:], serial)
	binary.LittleEndian.PutUint32(h[18:], seq)
	h[26] = byte(len(lacing))
	binary.LittleEndian.PutUint32(h[22:], oggCRC(h, lacing, payload))
	return append(append(h, lacing...), payload...)
}

// lacingOf returns the lacing values of whole packets.
func lacingOf(packets ...[]byte) []byte {
	var l []byte
	for _, p := range packets {
		n := len(p)
		for n >= 255 {
			l = append(l, 255)
			n -= 255
		}
		l = append(l, byte(n))
	}
	return l
}

func opusHead() []byte {
	h := []byte("OpusHead")
	h = append(h, 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0)
	return h
}

func TestOggSourceHandCrafted(t *testing.T) {
	const opus, other = 7, 9
	head, tags := opusHead(), append([]byte("OpusTags"), 0, 0, 0, 0, 0, 0, 0, 0)
	a := append([]byte{31 << 3}, bytes.Repeat([]byte{0xa}, 20)...)
	b := append([]byte{1 << 3}, bytes.Repeat([]byte{0xb}, 30)...)
	big := append([]byte{31 << 3}, bytes.Repeat([]byte{0xc}, 400)...) // spans two pages
	c := []byte{31<<3 | 2, 1, 2, 3}

	var file []byte
	// A non-Opus stream starts first; it is ignored.
	file = append(file, oggPage(other, 0, 0x02, lacingOf([]byte("\x80theora")), []byte("\x80theora"))...)
	file = append(file, oggPage(opus, 0, 0x02, lacingOf(head), head)...)
	file = append(file, oggPage(opus, 1, 0, lacingOf(tags), tags)...)
	// Two packets, then the first 255 bytes of big (lacing 255: continues).
	l := append(lacingOf(a, b), 255)
	file = append(file, oggPage(opus, 2, 0, l, append(append(append([]byte{}, a...), b...), big[:255]...))...)
	file = append(file, oggPage(other, 1, 0, lacingOf([]byte("noise")), []byte("noise"))...)
	// The rest of big (continued flag), an empty packet, then c; end of stream.
	rest := big[255:]
	cut := len(file) // the last page of the stream starts here
	l = append([]byte{byte(len(rest))}, 0)
	l = append(l, lacingOf(c)...)
	file = append(file, oggPage(opus, 3, 0x01|0x04, l, append(append([]byte{}, rest...), c...))...)
	// After the end of stream: ignored.
	file = append(file, oggPage(opus, 4, 0, lacingOf(a), a)...)

	src, err := NewOggSource(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	payloads, _, durs := readAll(t, src)
	wantP := [][]byte{a, b, big, c}
	wantD := []time.Duration{20, 20, 20, 40}
	if len(payloads) != len(wantP) {
		t.Fatalf("%d packets, want %d", len(payloads), len(wantP))
	}
	for i := range wantP {
		if !bytes.Equal(payloads[i], wantP[i]) || durs[i] != wantD[i]*time.Millisecond {
			t.Errorf("packet %d: %d bytes %v, want %d bytes %v", i, len(payloads[i]), durs[i],
				len(wantP[i]), wantD[i]*time.Millisecond)
		}
	}

	// A truncated file ends the stream cleanly.
	src, err = NewOggSource(bytes.NewReader(file[:cut+40]))
	if err != nil {
		t.Fatal(err)
	}
	if payloads, _, _ := readAll(t, src); len(payloads) != 2 {
		t.Errorf("truncated file: %d packets, want 2", len(payloads))
	}

	// A corrupt page is an error.
	bad := bytes.Clone(file)
	bad[cut+40] ^= 0xff
	src, err = NewOggSource(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, _, err := src.NextFrame()
		if err == nil {
			continue
		}
		if !errors.Is(err, errOggPage) {
			t.Errorf("corrupt page: %v", err)
		}
		break
	}

	for name, data := range map[string][]byte{
		"empty":    nil,
		"not ogg":  []byte("RIFF....WAVEfmt some bytes that are not an ogg file at all"),
		"no opus":  oggPage(other, 0, 0x02, lacingOf([]byte("\x80theora")), []byte("\x80theora")),
		"no tags":  oggPage(opus, 0, 0x02, lacingOf(head), head),
		"bad head": oggPage(opus, 0, 0x02, lacingOf([]byte("OpusHead")), []byte("OpusHead")),
	} {
		if _, err := NewOggSource(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

type countSource struct{ n int }

func (s *countSource) NextFrame() ([]byte, uint8, time.Duration, error) {
	if s.n == 0 {
		return nil, 0, 0, io.EOF
	}
	s.n--
	return []byte{31 << 3, 1, 2}, 10, 5 * time.Millisecond, nil
}

// A finite source ends by itself; the next one continues the RTP stream.
func TestPublishFiniteSources(t *testing.T) {
	c := dialFake(t, startFake(t, nil), Options{})
	c.rtpMu.Lock()
	seq0 := c.seq
	c.rtpMu.Unlock()
	if err := c.Publish(&countSource{n: 5}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.PublishDone():
	case <-time.After(5 * time.Second):
		t.Fatal("the source did not end")
	}
	if err := c.Publish(&countSource{n: 3}); err != nil {
		t.Fatalf("publish after the end of the previous source: %v", err)
	}
	<-c.PublishDone()
	if n, b := c.SentPackets(); n != 8 || b != 24 {
		t.Errorf("sent %d packets, %d bytes", n, b)
	}
	c.rtpMu.Lock()
	defer c.rtpMu.Unlock()
	if c.seq != seq0+8 || c.nextAt.IsZero() {
		t.Errorf("sequence number %d after 8 packets from %d", c.seq, seq0)
	}
}
