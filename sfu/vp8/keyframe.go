package vp8

// A VP8 frame starts with a 3-byte frame tag (RFC 6386 §9.1), whose lowest
// bit is P, the inter-frame bit: 0 for a keyframe. A keyframe's tag is
// followed by the start code 0x9d 0x01 0x2a and two 16-bit little-endian
// words, each a 14-bit dimension under a 2-bit scale:
//
//	offset 0-2  frame tag: P (bit 0), version (1-3), show_frame (4), size of partition 1 (5-23)
//	offset 3-5  0x9d 0x01 0x2a (keyframes only)
//	offset 6-7  width  | scale << 14
//	offset 8-9  height | scale << 14

// keyframeData reports whether data, the VP8 data of the first packet of a
// frame, begins a keyframe.
func keyframeData(data []byte) bool {
	return len(data) >= 6 && data[0]&0x01 == 0 &&
		data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a
}

// IsKeyframe reports whether payload, an RTP payload, is the first packet
// of a keyframe: the start of partition 0 (S=1, PID=0) whose frame tag has
// the inter-frame bit clear and is followed by the keyframe start code.
// Only that packet of a keyframe is reported: its other packets are not
// recognisable on their own.
func IsKeyframe(payload []byte) bool {
	d, err := Parse(payload)
	if err != nil || !d.FrameStart() {
		return false
	}
	return keyframeData(payload[d.Size:])
}

// KeyframeSize returns the dimensions, in pixels, that the keyframe whose
// first packet is payload declares; ok is false when payload is not the
// first packet of a keyframe or is too short to hold them. The scaling bits
// are left out.
func KeyframeSize(payload []byte) (w, h int, ok bool) {
	d, err := Parse(payload)
	if err != nil || !d.FrameStart() {
		return 0, 0, false
	}
	data := payload[d.Size:]
	if !keyframeData(data) || len(data) < 10 {
		return 0, 0, false
	}
	w = int(uint16(data[6])|uint16(data[7])<<8) & 0x3fff
	h = int(uint16(data[8])|uint16(data[9])<<8) & 0x3fff
	return w, h, true
}
