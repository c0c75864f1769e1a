package vp8

import "errors"

// Errors returned by Parse.
var (
	ErrEmpty     = errors.New("vp8: empty payload")
	ErrTruncated = errors.New("vp8: payload descriptor truncated")
	ErrNoData    = errors.New("vp8: no VP8 data after the payload descriptor")
)

// Descriptor is the VP8 payload descriptor of RFC 7741 §4.2, the bytes
// before the VP8 data in every RTP packet:
//
//	      0 1 2 3 4 5 6 7
//	     +-+-+-+-+-+-+-+-+
//	     |X|R|N|S|R| PID | (required)
//	     +-+-+-+-+-+-+-+-+
//	X:   |I|L|T|K| RSV   | (optional)
//	     +-+-+-+-+-+-+-+-+
//	I:   |M| PictureID   | (optional)
//	     +-+-+-+-+-+-+-+-+
//	M:   | PictureID     | (15-bit PictureID when M=1)
//	     +-+-+-+-+-+-+-+-+
//	L:   |   TL0PICIDX   | (optional)
//	     +-+-+-+-+-+-+-+-+
//	T/K: |TID|Y| KEYIDX  | (optional)
//	     +-+-+-+-+-+-+-+-+
//
// Fields whose presence bit is clear are zero.
type Descriptor struct {
	// Size is the length of the descriptor in bytes: the VP8 data starts
	// at payload[Size].
	Size int

	X bool // extended control bits present
	N bool // non-reference frame: no other frame depends on it
	S bool // start of a VP8 partition
	// PID is the partition index (0–7); S and PID==0 mark the first
	// packet of a frame.
	PID uint8

	I bool // PictureID present
	L bool // TL0PICIDX present
	T bool // TID and Y present
	K bool // KEYIDX present

	M bool // PictureID is 15 bits (else 7)
	// PictureID is the frame's running index, 7 or 15 bits (see M).
	PictureID uint16
	// TL0PICIDX is the running index of the temporal base layer (TID 0)
	// frames, 8 bits: a frame with TID > 0 carries the one of the base
	// frame it follows.
	TL0PICIDX uint8
	TID       uint8 // temporal layer index, 0–3
	// Y (layer sync) says that the frame depends only on base layer
	// (TID 0) frames: forwarding of layer TID may start here.
	Y      bool
	KEYIDX uint8 // temporal key frame index, 5 bits
}

// Parse reads the payload descriptor at the start of an RTP payload.
// It checks every length and never panics. It fails on an empty payload, a
// descriptor cut short, and a packet with no VP8 data after the descriptor.
func Parse(payload []byte) (Descriptor, error) {
	var d Descriptor
	if len(payload) == 0 {
		return d, ErrEmpty
	}
	b := payload[0]
	d.X = b&0x80 != 0
	d.N = b&0x20 != 0
	d.S = b&0x10 != 0
	d.PID = b & 0x07
	i := 1
	if d.X {
		if len(payload) <= i {
			return Descriptor{}, ErrTruncated
		}
		b = payload[i]
		i++
		d.I = b&0x80 != 0
		d.L = b&0x40 != 0
		d.T = b&0x20 != 0
		d.K = b&0x10 != 0
		if d.I {
			if len(payload) <= i {
				return Descriptor{}, ErrTruncated
			}
			b = payload[i]
			i++
			d.M = b&0x80 != 0
			d.PictureID = uint16(b & 0x7f)
			if d.M {
				if len(payload) <= i {
					return Descriptor{}, ErrTruncated
				}
				d.PictureID = d.PictureID<<8 | uint16(payload[i])
				i++
			}
		}
		if d.L {
			if len(payload) <= i {
				return Descriptor{}, ErrTruncated
			}
			d.TL0PICIDX = payload[i]
			i++
		}
		if d.T || d.K {
			if len(payload) <= i {
				return Descriptor{}, ErrTruncated
			}
			b = payload[i]
			i++
			if d.T {
				d.TID = b >> 6
				d.Y = b&0x20 != 0
			}
			if d.K {
				d.KEYIDX = b & 0x1f
			}
		}
	}
	d.Size = i
	if len(payload) <= i {
		return Descriptor{}, ErrNoData
	}
	return d, nil
}

// FrameStart reports whether the packet is the first of a frame: the start
// (S) of partition 0.
func (d *Descriptor) FrameStart() bool {
	return d.S && d.PID == 0
}

// pictureIDBits is the number of bits of d's PictureID.
func (d *Descriptor) pictureIDBits() uint {
	if d.M {
		return 15
	}
	return 7
}
