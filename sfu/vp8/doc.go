// Package vp8 is the VP8 RTP payload format (RFC 7741) as the SFU needs it
// to forward video without decoding it.
//
// A receiver's video slot is fed, over time, by different publishers and by
// different simulcast layers of one publisher, and it may get only some of
// a layer's temporal layers. The decoder at the other end must nevertheless
// see one continuous VP8 stream. The SFU rewrites SSRC, sequence numbers and
// timestamps itself; this package does the VP8 part:
//
//   - Parse reads the payload descriptor (PictureID, TL0PICIDX, TID, Y,
//     KEYIDX, the start-of-frame bits), bounds-checked, allocation-free.
//   - IsKeyframe and KeyframeSize recognise the first packet of a keyframe,
//     where a slot may change source or spatial layer, and read its
//     dimensions.
//   - InLayer, CanSwitchUp and TemporalFilter decide which temporal layers
//     pass: down at any frame, up only at layer sync (Y) frames, one layer
//     at a time, or at a keyframe.
//   - Rewriter, one per (receiver, slot), applies that filter and rewrites
//     each forwarded packet's descriptor so that PictureID, TL0PICIDX and
//     KEYIDX run on across source switches (Switch, then a keyframe) and
//     dropped frames, and come out the same for a packet sent again after
//     a NACK as the first time.
//
// What the SFU does with it, per packet of a publisher's layer and per
// receiver slot fed by it: Parse once; Rewrite into the outgoing buffer; on
// ErrDropped, close the sequence-number gap (the packet is not sent); on
// ErrNeedKeyframe, ask the publisher's layer for a keyframe (PLI, throttled
// per publisher layer) and send nothing. When the slot changes source, call
// Switch and send nothing until the new source's keyframe comes through.
// The allocator sets each slot's temporal layer with SetMaxTemporalLayer.
//
// The sequence numbers are the SFU's: a packet the Rewriter drops must not
// leave a hole downstream. Pictures are decided when first seen in order,
// so the packets of a dropped picture that arrive in order can be closed
// over; one arriving after a sequence gap (its neighbour lost upstream)
// cannot be told apart from the lost one, and is best replaced by a
// padding packet, or its number left to the receiver's NACK to give up on.
package vp8
