package sfu

import (
	"encoding/binary"
	"slices"

	"github.com/pion/rtcp"
)

// RTCP about video: from receivers about their video slots (NACKs, PLI
// and FIR, receiver reports and REMB for their estimate), and sender
// reports from publishers about their layers.

// RTCP packet types and feedback formats.
const (
	rtcpSR, rtcpRR   = 200, 201
	rtcpRTPFB        = 205
	rtcpPSFB         = 206
	fmtNACK          = 1
	fmtTransportCC   = 15
	fmtPLI, fmtFIR   = 1, 4
	fmtAFB           = 15 // application layer feedback: REMB
	rembIdentifier   = 0x52454d42
	rtcpHeaderLength = 4
)

// bindVideo stores the writer of video slot j and, the first time, lets
// the room fill p's slots (after joined and the offer: the events follow).
func (p *Participant) bindVideo(j int, s OutStream) {
	vo := &p.vout[j]
	vo.mu.Lock()
	vo.bind(s)
	if p.va != nil {
		vo.tw = p.va.tw
	}
	vo.mu.Unlock()
	if p.videoReady.Swap(true) {
		return
	}
	// Not from here: Bind runs inside pion's SetRemoteDescription, and
	// the assignment asks publishers' connections for keyframes.
	p.engine.spawn(func() {
		r := p.room
		r.mu.Lock()
		if r.members[p.id] == p {
			r.order = r.cameraOrderLocked(r.order)
			r.assignReceiverLocked(p)
		}
		r.mu.Unlock()
		p.reallocate()
	})
}

// handleVideoRTCP takes one RTCP packet about p's video slot vo (pion
// delivers a packet once per SSRC it names: each is handled where it is
// addressed, or, when it concerns several slots, for the first).
func (p *Participant) handleVideoRTCP(vo *videoOut, b []byte) {
	if len(b) < 8 {
		return
	}
	now := p.engine.nanotime()
	switch pt, f := b[1], b[0]&0x1f; {
	case pt == rtcpRTPFB && f == fmtNACK && len(b) >= 12:
		if binary.BigEndian.Uint32(b[8:12]) == vo.ssrc {
			end := min((int(binary.BigEndian.Uint16(b[2:4]))+1)*4, len(b))
			p.retransmitVideo(vo, b[12:end])
		}
	case pt == rtcpPSFB && (f == fmtPLI || f == fmtFIR) && len(b) >= 12:
		// A receiver's decoder wants a keyframe: ask the source (at most
		// once per layer per pliInterval, whoever asks). The media SSRC
		// of a FIR is in its first FCI entry.
		media := b[8:12]
		if f == fmtFIR && len(b) >= 16 {
			media = b[12:16]
		}
		if binary.BigEndian.Uint32(media) != vo.ssrc {
			return
		}
		if l := vo.cur.Load(); l != nil {
			l.requestKeyframe(now)
		} else if l := vo.want.Load(); l != nil {
			l.requestKeyframe(now)
		}
	case pt == rtcpPSFB && f == fmtAFB:
		var remb rtcp.ReceiverEstimatedMaximumBitrate
		err := remb.Unmarshal(b)
		// One estimate for the whole connection: taken in the call for
		// the first of our video slots it names.
		if s := p.firstVideoSlot(remb.SSRCs); err != nil || s == 0 || s != vo.ssrc {
			return
		}
		p.va.est.OnREMB(uint64(remb.Bitrate), p.engine.wallAt(now))
		p.maybeAllocate(now)
	case pt == rtcpRR:
		p.noteVideoLoss(vo, b, now)
	}
}

// firstVideoSlot returns the first of ssrcs that is one of p's video
// slots, 0 if none is.
func (p *Participant) firstVideoSlot(ssrcs []uint32) uint32 {
	for _, s := range ssrcs {
		if slices.Contains(p.voutSSRC, s) {
			return s
		}
	}
	return 0
}

// noteVideoLoss feeds the estimate with the worst fraction lost of a
// receiver report's video blocks, once per report: in the call for the
// first video slot it names.
func (p *Participant) noteVideoLoss(vo *videoOut, b []byte, now int64) {
	var rr rtcp.ReceiverReport
	if rr.Unmarshal(b) != nil {
		return
	}
	first := true
	var worst uint8
	for _, rep := range rr.Reports {
		for j, s := range p.voutSSRC {
			if s != rep.SSRC {
				continue
			}
			if first && &p.vout[j] != vo {
				return // handled in the call for that slot
			}
			first = false
			worst = max(worst, rep.FractionLost)
		}
	}
	if first {
		return
	}
	p.va.est.OnLoss(worst, p.engine.wallAt(now))
	p.maybeAllocate(now)
}

// noteLayerSR keeps a publisher's sender report about one of its video
// layers (for that layer's receiver reports).
func (p *Participant) noteLayerSR(ssrc uint32, b []byte) bool {
	if len(b) < 16 || b[1] != rtcpSR || binary.BigEndian.Uint32(b[4:8]) != ssrc {
		return false
	}
	for _, l := range p.videoLayers() {
		if l != nil && l.ssrc.Load() == ssrc {
			middle := binary.BigEndian.Uint32(b[10:14])
			l.lastSR.Store(uint64(middle)<<32 | uint64(units65536(p.engine.nanotime())))
			return true
		}
	}
	return false
}

// videoLayers are p's incoming video layers (nil where none).
func (p *Participant) videoLayers() [len(cameraRIDs) + 1]*videoLayer {
	var out [len(cameraRIDs) + 1]*videoLayer
	for i := range p.camIn {
		out[i] = p.camIn[i].Load()
	}
	out[len(cameraRIDs)] = p.screenIn.Load()
	return out
}
