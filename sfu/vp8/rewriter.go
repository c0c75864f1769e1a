package vp8

import "errors"

// Errors returned by Rewriter.Rewrite. ErrDropped and ErrNeedKeyframe are
// decisions, not failures: the packet is not to be sent.
var (
	// ErrDropped: the packet belongs to a frame of a temporal layer that
	// is not forwarded (now, or when the frame was first seen).
	ErrDropped = errors.New("vp8: frame dropped (temporal layer)")
	// ErrNeedKeyframe: after Switch (or before the first keyframe) only
	// the first packet of a keyframe may start the stream. The caller
	// should ask the source for one (PLI).
	ErrNeedKeyframe = errors.New("vp8: waiting for a keyframe")
	// ErrTooOld: the packet's picture is older than the pictures
	// remembered (or from before the keyframe that started the stream).
	ErrTooOld = errors.New("vp8: picture too old to rewrite")
	// ErrNoPictureID: the packet has no PictureID. Browsers always send
	// one; so does pion's VP8Payloader with EnablePictureID.
	ErrNoPictureID = errors.New("vp8: no PictureID in the payload descriptor")
	// ErrShortBuffer: dst cannot hold the rewritten payload.
	ErrShortBuffer = errors.New("vp8: destination buffer too short")
	// ErrBadDescriptor: the descriptor does not fit the payload.
	ErrBadDescriptor = errors.New("vp8: descriptor does not match the payload")
)

// ringSize is how many pictures a Rewriter remembers, so that a packet
// arriving late (reordered, or sent again after a NACK) gets the same
// rewritten PictureID as the rest of its picture: 128 pictures is 4 s at
// 30 frames per second, beyond any useful retransmission.
const ringSize = 128

// Picture IDs of dropped frames: gaps closed.
//
// When the Rewriter drops a frame of a temporal layer, the next frame
// forwarded gets the PictureID the dropped one would have had: the output
// numbers the forwarded frames with no gap. A gap would look like a lost
// frame to the receiver. libwebrtc's VP8 reference finder (RtpVp8RefFinder)
// keeps the missing picture IDs as "not yet received" and holds back
// (stashes) every later frame of a higher layer that would reference across
// them, until they come or age out: dropping TL2 with gaps would stall the
// TL1 frames. Only genuinely lost pictures must leave a gap, so that the
// receiver waits for their retransmission.
//
// Galène (packetmap, with codecs.RewritePacket) and LiveKit (codecmunger's
// VP8) both close the gaps, and both face the same difficulty: whether a
// picture is dropped must be decided once and the same way for all of its
// packets, retransmissions included. Here a picture is decided when the
// first of its packets arrives that is newer than every picture seen so
// far, and the decision is kept in a ring indexed by input PictureID. The
// pictures skipped over (lost or reordered ones, whose layer is unknown)
// are reserved as forwarded, with their own output IDs: if they show up
// later they are sent whatever their layer, as LiveKit does, since dropping
// them then would leave a gap that can no longer be closed. Sending one
// frame of a layer above the target costs a little bandwidth and decodes.
//
// TL0PICIDX needs no such care within a source: the base layer is never
// dropped, so it stays continuous by itself. It, KEYIDX and the PictureID
// are only renumbered when the source changes (Switch), so that the first
// keyframe of the new source follows the last picture of the old one.

// Rewriter rewrites the VP8 payload descriptors of one outgoing stream (one
// receiver's video slot) so that the receiver sees one continuous VP8
// stream across source switches, dropped temporal layers, reordering and
// retransmissions. It also decides which temporal layers are forwarded.
//
// Output descriptors always carry a 15-bit PictureID (so the descriptor
// grows by one byte over an input with a 7-bit one); TL0PICIDX, TID/Y and
// KEYIDX are written when the input has them. Inputs without a PictureID
// are refused (ErrNoPictureID): their pictures could not be told apart.
//
// A new Rewriter (or one after Switch) forwards nothing until the first
// packet of a keyframe. Use NewRewriter (a zero Rewriter forwards the base
// temporal layer only); a Rewriter is not safe for concurrent use. Packets of a source from before the latest Switch cannot
// be rewritten any more (ErrNeedKeyframe or ErrTooOld): NACKs for them can
// be ignored, the new source's keyframe replaces them.
type Rewriter struct {
	filter TemporalFilter

	started bool // a source is being forwarded
	ever    bool // some source has been forwarded: continuity applies

	inMax   int64 // highest unwrapped input PictureID seen of the source
	nextOut int64 // output PictureID of the next picture forwarded
	tl0Off  uint8 // out TL0PICIDX = in - tl0Off
	keyOff  uint8 // out KEYIDX = in - keyOff (mod 32)
	lastTL0 uint8 // output TL0PICIDX of the newest picture
	lastKey uint8 // output KEYIDX of the newest picture

	ring *[ringSize]picture // allocated at the first keyframe
}

// picture is what a Rewriter remembers of an input picture.
type picture struct {
	in    int64 // unwrapped input PictureID (tag: which picture is here)
	out   uint16
	state uint8
}

const (
	unknown uint8 = iota
	forwarded
	dropped
)

// NewRewriter returns a Rewriter that forwards every temporal layer and
// waits for a keyframe.
func NewRewriter() *Rewriter {
	r := &Rewriter{}
	r.filter.SetTarget(MaxTID)
	return r
}

// Switch tells the Rewriter that the packets to come are from another
// source (another publisher, or another simulcast layer of it): the next
// packet forwarded must be the first of a keyframe of the new source, and
// its PictureID, TL0PICIDX and KEYIDX will follow the last ones sent.
func (r *Rewriter) Switch() {
	r.started = false
}

// Started reports whether a source is being forwarded (a keyframe was
// accepted since the last Switch).
func (r *Rewriter) Started() bool { return r.started }

// SetMaxTemporalLayer sets the highest temporal layer to forward (MaxTID
// for all): down at the next frame, up at the next switch point.
func (r *Rewriter) SetMaxTemporalLayer(tid uint8) { r.filter.SetTarget(tid) }

// TemporalLayer returns the highest temporal layer forwarded now.
func (r *Rewriter) TemporalLayer() uint8 { return r.filter.Current() }

// OutputSize returns the length of the payload Rewrite makes of a payload
// of length n whose descriptor is d.
func OutputSize(d *Descriptor, n int) int {
	return outDescriptorSize(d) + n - d.Size
}

func outDescriptorSize(d *Descriptor) int {
	s := 4 // required byte, X byte, 15-bit PictureID
	if d.L {
		s++
	}
	if d.T || d.K {
		s++
	}
	return s
}

// Rewrite writes into dst the payload to send for payload, an RTP payload
// of the current source whose descriptor d was parsed by Parse, and returns
// its length. dst may be payload's own buffer (same start) if it has room
// for the byte the descriptor may grow by. When the packet is not to
// be sent, Rewrite returns an error, ErrDropped and ErrNeedKeyframe being
// the expected ones. It allocates nothing (after the first keyframe).
//
// Every packet of the source, first transmissions and retransmissions in
// whatever order, goes through Rewrite: the packets of a picture all get the
// same output descriptor.
func (r *Rewriter) Rewrite(dst, payload []byte, d Descriptor) (int, error) {
	if d.Size <= 0 || d.Size >= len(payload) {
		return 0, ErrBadDescriptor
	}
	if !d.I {
		return 0, ErrNoPictureID
	}
	key := d.FrameStart() && keyframeData(payload[d.Size:])

	var out uint16
	switch {
	case !r.started:
		if !key {
			return 0, ErrNeedKeyframe
		}
		out = r.start(&d)
	default:
		ext := r.unwrap(&d)
		switch {
		case ext > r.inMax:
			var ok bool
			out, ok = r.newPicture(&d, ext, key)
			if !ok {
				return 0, ErrDropped
			}
		case r.inMax-ext >= ringSize:
			if !key {
				return 0, ErrTooOld
			}
			// Far behind the pictures remembered: the source
			// started again from lower PictureIDs without a
			// Switch. Its keyframe starts it anew.
			out = r.start(&d)
		default:
			p := &r.ring[ext&(ringSize-1)]
			if p.in != ext || p.state == unknown {
				return 0, ErrTooOld
			}
			if p.state == dropped {
				return 0, ErrDropped
			}
			out = p.out
		}
	}
	return r.write(dst, payload, &d, out)
}

// unwrap extends d's 7- or 15-bit PictureID to the int64 nearest to the
// highest one seen, so that the comparisons below need no modular care.
func (r *Rewriter) unwrap(d *Descriptor) int64 {
	mod := int64(1) << d.pictureIDBits()
	diff := (int64(d.PictureID) - r.inMax) & (mod - 1)
	if diff >= mod/2 {
		diff -= mod
	}
	return r.inMax + diff
}

// start begins forwarding a source at the keyframe d and returns the
// keyframe's output PictureID.
func (r *Rewriter) start(d *Descriptor) uint16 {
	if r.ring == nil {
		r.ring = new([ringSize]picture)
	} else {
		clear(r.ring[:])
	}
	ext := int64(d.PictureID)
	if !r.ever {
		// The first source keeps its numbers.
		r.nextOut = ext
		r.lastTL0 = d.TL0PICIDX - 1
		r.lastKey = (d.KEYIDX - 1) & 0x1f
	}
	if d.L {
		r.tl0Off = d.TL0PICIDX - (r.lastTL0 + 1)
	}
	if d.K {
		r.keyOff = (d.KEYIDX - (r.lastKey + 1)) & 0x1f
	}
	r.started, r.ever = true, true
	r.inMax = ext - 1
	out, _ := r.newPicture(d, ext, true)
	return out
}

// newPicture decides the fate of the picture ext, newer than every one
// seen, and of the pictures skipped over before it; it returns the
// picture's output PictureID and whether it is forwarded.
func (r *Rewriter) newPicture(d *Descriptor, ext int64, key bool) (uint16, bool) {
	// Pictures skipped over: reserved as forwarded (see above). Only
	// those the ring can hold are remembered, but all are numbered, so
	// that a long loss still shows as a gap of its length.
	first := max(r.inMax+1, ext-ringSize+1)
	r.nextOut += first - (r.inMax + 1)
	for p := first; p < ext; p++ {
		r.ring[p&(ringSize-1)] = picture{in: p, out: uint16(r.nextOut) & 0x7fff, state: forwarded}
		r.nextOut++
	}
	r.inMax = ext
	if d.L {
		r.lastTL0 = d.TL0PICIDX - r.tl0Off
	}
	if d.K {
		r.lastKey = (d.KEYIDX - r.keyOff) & 0x1f
	}
	p := &r.ring[ext&(ringSize-1)]
	if !r.filter.Frame(d, key) {
		*p = picture{in: ext, state: dropped}
		return 0, false
	}
	out := uint16(r.nextOut) & 0x7fff
	*p = picture{in: ext, out: out, state: forwarded}
	r.nextOut++
	return out, true
}

// write assembles the output payload: the rewritten descriptor, then the
// VP8 data, moved first since dst may overlap payload.
func (r *Rewriter) write(dst, payload []byte, d *Descriptor, out uint16) (int, error) {
	size := outDescriptorSize(d)
	n := size + len(payload) - d.Size
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	copy(dst[size:n], payload[d.Size:])

	b := byte(0x80) | d.PID&0x07
	if d.N {
		b |= 0x20
	}
	if d.S {
		b |= 0x10
	}
	dst[0] = b
	b = 0x80
	if d.L {
		b |= 0x40
	}
	if d.T {
		b |= 0x20
	}
	if d.K {
		b |= 0x10
	}
	dst[1] = b
	dst[2] = 0x80 | byte(out>>8)&0x7f
	dst[3] = byte(out)
	i := 4
	if d.L {
		dst[i] = d.TL0PICIDX - r.tl0Off
		i++
	}
	if d.T || d.K {
		b = 0
		if d.T {
			b = (d.TID & 0x03) << 6
			if d.Y {
				b |= 0x20
			}
		}
		if d.K {
			b |= (d.KEYIDX - r.keyOff) & 0x1f
		}
		dst[i] = b
	}
	return n, nil
}
