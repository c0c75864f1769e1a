package sfu

import "encoding/binary"

// peerHandler is a Participant as its Transport sees it (the Handler of
// transport.go): a conversion, so that these methods stay out of
// Participant's own API.
type peerHandler Participant

func (h *peerHandler) p() *Participant { return (*Participant)(h) }

// Bound stores the writer and parameters of one of p's slot streams.
func (h *peerHandler) Bound(out int, s OutStream) {
	p := h.p()
	if j := out - len(p.out); j >= 0 && j < len(p.vout) {
		p.bindVideo(j, s)
		return
	}
	if out < 0 || out >= len(p.out) {
		return
	}
	mu := &p.room.slots[out].mu
	mu.Lock()
	p.out[out].bind(s.Writer, s.SSRC, s.PayloadType, s.AudioLevelID)
	mu.Unlock()
}

// Unbound forgets the writer: the fan-out skips this stream from now on.
func (h *peerHandler) Unbound(out int) {
	p := h.p()
	if j := out - len(p.out); j >= 0 && j < len(p.vout) {
		vo := &p.vout[j]
		vo.mu.Lock()
		vo.w = nil
		vo.mu.Unlock()
		return
	}
	if out < 0 || out >= len(p.out) {
		return
	}
	mu := &p.room.slots[out].mu
	mu.Lock()
	p.out[out].w = nil
	mu.Unlock()
}

// RTP runs one packet of the microphone through the gate; the reader
// state is allocated with the first one (idle participants do not pay
// for it).
func (h *peerHandler) RTP(in *InStream, raw []byte) {
	p := h.p()
	if in.Kind != StreamMicrophone {
		if p.HasVideo() {
			p.handleVideo(in, raw, p.engine.nanotime())
		}
		return
	}
	if p.rd == nil {
		p.rd = &reader{levelID: in.AudioLevelID}
		p.log.Debug("microphone track", "ssrc", in.SSRC, "level_ext", in.AudioLevelID)
	}
	p.handle(raw, p.engine.nanotime())
}

// RTCP takes a compound RTCP packet delivered for ssrc (a transport hands
// a compound over once per SSRC its packets name): each packet in it is
// handled in the call for the SSRC it is about, so that nothing after the
// first packet of a compound is missed and nothing is handled twice.
func (h *peerHandler) RTCP(ssrc uint32, b []byte) {
	for len(b) >= 4 {
		n := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if n > len(b) {
			return
		}
		h.rtcpPacket(ssrc, b[:n])
		b = b[n:]
	}
}

// rtcpPacket: NACKs for a slot are answered from the publisher caches, the
// publisher's sender reports are noted for our receiver reports, the rest
// is dropped.
func (h *peerHandler) rtcpPacket(ssrc uint32, b []byte) {
	p := h.p()
	if len(b) >= 12 && b[1] == rtcpRTPFB && b[0]&0x1f == fmtTransportCC {
		// About the whole connection; taken in the call for the media
		// SSRC it names (the compound comes once per SSRC it names).
		if binary.BigEndian.Uint32(b[8:12]) == ssrc {
			p.handleTransportFeedback(b, p.engine.nanotime())
		}
		return
	}
	for i := range p.out {
		if p.slotSSRC[i] == ssrc {
			p.handleRTCP(i, b)
			return
		}
	}
	for j, s := range p.voutSSRC {
		if s == ssrc {
			p.handleVideoRTCP(&p.vout[j], b)
			return
		}
	}
	if p.HasVideo() && p.noteLayerSR(ssrc, b) {
		return
	}
	if len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) == ssrc {
		p.noteSenderReport(b) // the microphone's
	}
}

// State acts on the connection's current state.
func (h *peerHandler) State(s ConnState) {
	p := h.p()
	p.connected.Store(s == ConnConnected)
	switch s {
	case ConnConnected:
		p.log.Debug("media connected")
		p.noteConnected()
	case ConnDisconnected:
		// Nothing heard from the peer for a while: it may come back, but it
		// does not keep the floor meanwhile.
		p.room.ReleaseFloor(p)
	case ConnFailed, ConnClosed:
		err := ErrConnectionFailed
		state := "failed"
		if s == ConnClosed {
			err, state = ErrConnectionClosed, "closed"
		} else {
			p.mu.Lock()
			never := !p.everConnected
			p.mu.Unlock()
			if never {
				p.engine.stats.neverConnected.Add(1)
			} else {
				p.engine.stats.connectionLost.Add(1)
			}
		}
		p.fail(err, "media connection lost", "state", state)
	}
}

// Fail closes a participant that broke the transport's bounds.
func (h *peerHandler) Fail(err error) {
	h.p().fail(err, "participant closed", "err", err)
}
