package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Source produces the upstream audio, one Opus frame (packet) per call.
type Source interface {
	// NextFrame returns the next Opus packet, its RFC 6464 audio level
	// (0 loudest … 127 silence) and its duration. The payload may be
	// reused by the next call. io.EOF ends the source.
	NextFrame() (payload []byte, level uint8, dur time.Duration, err error)
}

// ToneFrameBytes is the payload size of a tone frame (unless its tag is
// longer than ToneFrameBytes-16).
const ToneFrameBytes = 80

// toneFrameDuration is the duration of a tone frame.
const toneFrameDuration = 20 * time.Millisecond

type toneSource struct {
	tag   []byte
	level uint8
	n     uint64
	buf   []byte
}

// NewToneSource returns an endless source of synthetic Opus-sized frames
// of 20 ms, for tests and load tests: each payload is tag, then the frame
// counter (8 bytes, big-endian, from 0), then the time NextFrame was called
// (8 bytes, big-endian UnixNano), padded with zeros to ToneFrameBytes.
// ParseToneFrame reads them back. The payload is not decodable Opus.
func NewToneSource(tag []byte, level uint8) Source {
	size := max(ToneFrameBytes, len(tag)+16)
	return &toneSource{tag: bytes.Clone(tag), level: level, buf: make([]byte, size)}
}

func (s *toneSource) NextFrame() ([]byte, uint8, time.Duration, error) {
	clear(s.buf)
	k := copy(s.buf, s.tag)
	binary.BigEndian.PutUint64(s.buf[k:], s.n)
	binary.BigEndian.PutUint64(s.buf[k+8:], uint64(time.Now().UnixNano()))
	s.n++
	return s.buf, s.level, toneFrameDuration, nil
}

// ParseToneFrame reads back a frame of NewToneSource(tag, …): its counter
// and when it was made. ok is false when payload is not such a frame.
func ParseToneFrame(payload, tag []byte) (counter uint64, sent time.Time, ok bool) {
	if len(payload) < len(tag)+16 || !bytes.HasPrefix(payload, tag) {
		return 0, time.Time{}, false
	}
	p := payload[len(tag):]
	counter = binary.BigEndian.Uint64(p)
	sent = time.Unix(0, int64(binary.BigEndian.Uint64(p[8:])))
	return counter, sent, true
}

// DefaultOggLevel is the audio level NewOggSource gives to its frames
// (about -30 dBov: talking).
const DefaultOggLevel = 30

// maxOpusPacket bounds one packet read from an Ogg file.
const maxOpusPacket = 1 << 20

type oggSource struct {
	r       *bufio.Reader
	level   uint8
	head    *oggreader.OggHeader
	serial  uint32
	locked  bool // serial is the Opus stream's
	eos     bool
	packets [][]byte // complete packets of the current page
	partial []byte   // a packet continued on the next page
	cont    bool     // partial is meaningful
	skip    bool     // drop the continuation of a packet whose start was lost
	hdr     [27]byte
	lacing  [255]byte
}

// NewOggSource reads real Opus from an Ogg/Opus file (RFC 7845): the first
// Opus logical stream, packet by packet. Each frame's duration comes from
// the packet's TOC byte (RFC 6716 section 3.1). The level is a constant,
// DefaultOggLevel, except for DTX packets of at most 2 bytes, which are
// silence (127): Opus packets say nothing cheap about loudness. Empty and
// undecodable packets are skipped.
//
// OpusHead is parsed with pion's oggreader; pages are split into packets
// here, since oggreader returns whole page payloads and encoders put many
// packets in one page.
func NewOggSource(r io.Reader) (Source, error) {
	return NewOggSourceWithLevel(r, DefaultOggLevel)
}

// NewOggSourceWithLevel is NewOggSource with another constant level.
func NewOggSourceWithLevel(r io.Reader, level uint8) (Source, error) {
	o := &oggSource{r: bufio.NewReader(r), level: min(level, 127)}
	p, err := o.nextPacket()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("no Opus stream")
		}
		return nil, fmt.Errorf("ogg/opus: %w", err)
	}
	if o.head, err = oggreader.ParseOpusHead(p); err != nil {
		return nil, fmt.Errorf("ogg/opus: OpusHead: %w", err)
	}
	p, err = o.nextPacket()
	if err != nil {
		return nil, fmt.Errorf("ogg/opus: reading OpusTags: %w", err)
	}
	if !bytes.HasPrefix(p, []byte("OpusTags")) {
		return nil, errors.New("ogg/opus: the second packet is not OpusTags")
	}
	return o, nil
}

func (o *oggSource) NextFrame() ([]byte, uint8, time.Duration, error) {
	for {
		p, err := o.nextPacket()
		if err != nil {
			return nil, 0, 0, err
		}
		dur, err := OpusPacketDuration(p)
		if err != nil {
			continue // empty (lost) or malformed packet
		}
		level := o.level
		if len(p) <= 2 {
			level = 127
		}
		return p, level, dur, nil
	}
}

func (o *oggSource) nextPacket() ([]byte, error) {
	for len(o.packets) == 0 {
		if o.eos {
			return nil, io.EOF
		}
		if err := o.readPage(); err != nil {
			return nil, err
		}
	}
	p := o.packets[0]
	o.packets[0] = nil
	o.packets = o.packets[1:]
	return p, nil
}

var errOggPage = errors.New("ogg/opus: corrupt page")

// readPage reads one Ogg page and queues the packets it completes. The end
// of the file, even in the middle of a page, ends the stream.
func (o *oggSource) readPage() error {
	if _, err := io.ReadFull(o.r, o.hdr[:]); err != nil {
		return eofOf(err)
	}
	h := o.hdr[:]
	if string(h[:4]) != "OggS" || h[4] != 0 {
		return errOggPage
	}
	flags := h[5]
	serial := binary.LittleEndian.Uint32(h[14:18])
	nseg := int(h[26])
	lacing := o.lacing[:nseg]
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return eofOf(err)
	}
	size := 0
	for _, v := range lacing {
		size += int(v)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(o.r, payload); err != nil {
		return eofOf(err)
	}
	if oggCRC(h, lacing, payload) != binary.LittleEndian.Uint32(h[22:26]) {
		return fmt.Errorf("%w: checksum mismatch", errOggPage)
	}

	if !o.locked {
		// Lock onto the first logical stream that is Opus.
		if flags&0x02 == 0 || !bytes.HasPrefix(payload, []byte("OpusHead")) {
			return nil
		}
		o.serial, o.locked = serial, true
	}
	if serial != o.serial {
		return nil
	}
	if flags&0x04 != 0 {
		o.eos = true
	}

	continued := flags&0x01 != 0
	cur := o.partial
	switch {
	case continued && !o.cont:
		o.skip = true // its beginning is not ours
	case !continued && o.cont:
		cur = nil // the continuation never came
		o.skip = false
	}
	o.partial, o.cont = nil, false
	pos := 0
	for _, v := range lacing {
		if !o.skip {
			cur = append(cur, payload[pos:pos+int(v)]...)
			if len(cur) > maxOpusPacket {
				return fmt.Errorf("ogg/opus: packet larger than %d bytes", maxOpusPacket)
			}
		}
		pos += int(v)
		if v < 255 {
			if !o.skip {
				if cur == nil {
					cur = []byte{}
				}
				o.packets = append(o.packets, cur)
			}
			cur, o.skip = nil, false
		}
	}
	if nseg > 0 && lacing[nseg-1] == 255 {
		o.partial, o.cont = cur, true
	}
	return nil
}

func eofOf(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}

var oggCRCTable = func() *[256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}()

// oggCRC is the page checksum, computed with the checksum field as zero.
func oggCRC(header, lacing, payload []byte) uint32 {
	var crc uint32
	update := func(b byte) { crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b] }
	for i, b := range header {
		if i >= 22 && i < 26 {
			b = 0
		}
		update(b)
	}
	for _, b := range lacing {
		update(b)
	}
	for _, b := range payload {
		update(b)
	}
	return crc
}

// OpusPacketDuration returns the duration of an Opus packet from its TOC
// byte and, for code 3 packets, its frame count (RFC 6716 section 3.1).
func OpusPacketDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, errors.New("opus: empty packet")
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]time.Duration{10, 20, 40, 60}[config&3] * time.Millisecond
	case config < 16: // Hybrid: 10, 20 ms
		frame = [2]time.Duration{10, 20}[config&1] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]time.Duration{2500, 5000, 10000, 20000}[config&3] * time.Microsecond
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, errors.New("opus: code 3 packet without a frame count")
		}
		frames = int(p[1] & 0x3f)
		if frames == 0 {
			return 0, errors.New("opus: code 3 packet with no frames")
		}
	}
	d := time.Duration(frames) * frame
	if d > 120*time.Millisecond {
		return 0, fmt.Errorf("opus: packet of %v exceeds 120 ms", d)
	}
	return d, nil
}
