package vp8

// MaxTID is the highest temporal layer index the descriptor can carry (TID
// has 2 bits). As a target it means "every layer".
const MaxTID = 3

// Temporal layers. A VP8 encoder with temporal scalability tags each frame
// with its layer (TID) so that dropping the frames of the layers above some
// maxTID leaves a stream that decodes, at a lower frame rate: a frame only
// references frames of its own layer or below. Going down is therefore
// possible at any frame. Going up is not: a frame of layer t may reference
// an earlier frame of layer t (or of a layer between the base and t) that was
// dropped. libwebrtc, for example, has its TL1 frames reference the golden
// buffer that the previous TL1 frame updated, across the TL0 frame between
// them, so a TID 0 frame is not in general a place to start a higher layer.
//
// The place to go up is a layer sync frame (Y=1), which depends only on base
// layer frames (RFC 7741 §4.2): forwarding of layer t may start at a frame
// of layer t with Y set. Layers are added one at a time: a Y frame of layer
// t is a switch point only when layers 0..t-1 are already forwarded,
// because a later, non-sync frame of layer t may reference frames of the
// layers in between. A keyframe is a switch point to any layer: it resets
// every reference buffer.
//
// All of this assumes what libwebrtc does whenever it encodes temporal
// layers: error-resilient encoding, where no frame carries its entropy
// (probability) updates over to the next. Without it, dropping a TL2 frame
// corrupts the TL0 frame after it even though that frame does not reference
// it: the test vector tl3.ivf showed exactly that until it was encoded with
// libvpx's error resilience on.

// InLayer reports whether the packet belongs to temporal layer maxTID or
// below. A packet without a TID (T=0) belongs to the base layer.
func InLayer(d *Descriptor, maxTID uint8) bool {
	return !d.T || d.TID <= maxTID
}

// CanSwitchUp reports whether a stream that forwards layers 0..cur may
// start forwarding layer cur+1 at this packet's frame: it is a keyframe
// (keyframe is IsKeyframe of the frame's first packet), or a frame of layer
// cur+1 with the layer sync bit set.
func CanSwitchUp(d *Descriptor, keyframe bool, cur uint8) bool {
	if keyframe {
		return true
	}
	return d.T && d.Y && d.TID == cur+1
}

// TemporalFilter decides, frame by frame, which temporal layers of one
// stream pass: those up to a current layer that follows a target, down at
// once, up only at switch points (see CanSwitchUp). Its zero value passes
// the base layer only; it is not safe for concurrent use.
type TemporalFilter struct {
	target, cur uint8
}

// SetTarget sets the highest layer wanted (MaxTID for all of them).
// Going down takes effect at the next frame; going up, at switch points.
func (f *TemporalFilter) SetTarget(maxTID uint8) {
	f.target = min(maxTID, MaxTID)
}

// Target returns the highest layer wanted.
func (f *TemporalFilter) Target() uint8 { return f.target }

// Current returns the highest layer passing now.
func (f *TemporalFilter) Current() uint8 { return f.cur }

// Frame moves the current layer towards the target if this frame allows it
// and reports whether the frame passes. It must be called once per frame,
// in frame order (with the first packet seen of each new frame); keyframe
// tells whether that packet begins a keyframe, which always passes.
func (f *TemporalFilter) Frame(d *Descriptor, keyframe bool) bool {
	switch {
	case keyframe:
		// A keyframe references nothing and resets every buffer.
		f.cur = f.target
		return true
	case f.target < f.cur:
		f.cur = f.target
	case f.target > f.cur && CanSwitchUp(d, false, f.cur):
		f.cur++
	}
	return InLayer(d, f.cur)
}
