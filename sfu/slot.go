package sfu

import (
	"math/rand/v2"

	"github.com/pion/rtp"
)

// slotState is the output state of one (subscriber, slot) pair: it turns the
// packets of whoever speaks in the slot into one continuous RTP stream.
// Guarded by the room slot's mutex. The header lives here, not on the
// stack, so handing &hdr to pion does not allocate.
type slotState struct {
	w       StreamWriter // nil until bound
	ssrc    uint32
	pt      uint8
	levelID uint8 // subscriber's audio-level extension id, 0 = none

	started  bool
	lastSeq  uint16 // highest sequence number written
	lastTS   uint32 // its timestamp
	lastWall int64  // nanotime it was written
	source   uint32 // current speaker's Source
	epoch    uint32 // current speaker's gate epoch
	firstUp  uint16 // first upstream sequence number of this run
	seqDelta uint16 // out = upstream + delta, within one run
	tsDelta  uint32

	// Recent runs, for mapping NACKed sequence numbers back to publisher
	// packets (nack.go). segs[segHead] is the current run.
	segs    [4]segment
	segHead uint8

	packets, octets uint32 // sent on this stream, for sender reports
	nextSR          int64  // nanotime of the next sender report

	rtpOut
}

// rtpOut is an RTP header about to be written, with room for its CSRC and
// audio level, so that handing &hdr to pion allocates nothing.
type rtpOut struct {
	hdr   rtp.Header
	csrc  [1]uint32
	ext   [1]rtp.Extension
	level [1]byte
}

// segment is one run of a speaker in a slot: from out sequence number start,
// out = upstream + seqDelta.
type segment struct {
	pub      *Participant
	epoch    uint32
	start    uint16
	seqDelta uint16
	tsDelta  uint32
}

const frameTicks = opusClockRate / 50 // 20 ms at 48 kHz

func (st *slotState) bind(w StreamWriter, ssrc uint32, pt, levelID uint8) {
	st.w, st.ssrc, st.pt, st.levelID = w, ssrc, pt, levelID
	if !st.started {
		// Random initial sequence number and timestamp (RFC 3550).
		st.lastSeq = uint16(rand.Uint32())
		st.lastTS = rand.Uint32()
	}
}

// rewrite prepares st.hdr for an upstream packet of source (publisher pub)
// in gate epoch epoch, arriving at now. It reports false if the packet must
// not be sent (a late packet from before the current run).
//
// A new run starts when the speaker or its epoch changes: the sequence
// number continues at lastSeq+1 and the timestamp advances by the wall time
// elapsed since the last packet (at least one 20 ms frame), so gating and
// switching never leave holes. Within a run, upstream deltas pass through
// unchanged: real upstream loss stays a hole, as it should.
func (st *slotState) rewrite(pub *Participant, source, epoch uint32, h *rtp.Header, level uint8, hasLevel bool, now int64) bool {
	marker := h.Marker
	if !st.started || source != st.source || epoch != st.epoch {
		outSeq := st.lastSeq + 1
		outTS := st.lastTS
		if st.started {
			elapsed := uint32(max(frameTicks, (now-st.lastWall)*opusClockRate/1e9))
			outTS += elapsed
		}
		st.started, st.source, st.epoch = true, source, epoch
		st.firstUp = h.SequenceNumber
		st.seqDelta = outSeq - h.SequenceNumber
		st.tsDelta = outTS - h.Timestamp
		st.segHead = (st.segHead + 1) % uint8(len(st.segs))
		st.segs[st.segHead] = segment{pub: pub, epoch: epoch, start: outSeq, seqDelta: st.seqDelta, tsDelta: st.tsDelta}
		marker = true
	} else if seqBefore(h.SequenceNumber, st.firstUp) {
		return false
	} else if d := h.SequenceNumber - st.firstUp; d > maxLateUp && d < 0x8000 {
		// Keep the guard close behind the live stream: after 32768
		// packets (11 minutes of speech) a fixed firstUp would look like
		// it lies ahead, and every packet of a long turn would be dropped.
		st.firstUp = h.SequenceNumber - maxLateUp
	}
	seq := h.SequenceNumber + st.seqDelta
	ts := h.Timestamp + st.tsDelta
	if seqBefore(st.lastSeq, seq) {
		st.lastSeq, st.lastTS, st.lastWall = seq, ts, now
	}
	st.fill(st.ssrc, st.pt, st.levelID, seq, ts, marker, source, level, hasLevel)
	return true
}

// fill writes every field of o.hdr: a packet of stream ssrc (payload type
// pt, audio-level extension levelID, 0 = none) whose CSRC is source.
func (o *rtpOut) fill(ssrc uint32, pt, levelID uint8, seq uint16, ts uint32, marker bool, source uint32, level uint8, hasLevel bool) {
	h := fillHeader(&o.hdr, &o.csrc, o.ext[:], ssrc, pt, seq, ts, marker, source)
	if hasLevel && levelID != 0 {
		o.level[0] = level
		_ = h.SetExtension(levelID, o.level[:])
	}
}

// fillHeader writes every field of h, without extensions yet: a packet of
// stream ssrc whose CSRC is source. csrc and ext are the header's own
// storage, so that SetExtension and the CSRC list allocate nothing.
func fillHeader(h *rtp.Header, csrc *[1]uint32, ext []rtp.Extension, ssrc uint32, pt uint8, seq uint16, ts uint32, marker bool, source uint32) *rtp.Header {
	h.Version = 2
	h.Padding = false
	h.PaddingSize = 0
	h.Marker = marker
	h.PayloadType = pt
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = ssrc
	csrc[0] = source
	h.CSRC = csrc[:]
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = ext[:0]
	return h
}

// seqBefore reports whether sequence number a comes before b (mod 2^16).
func seqBefore(a, b uint16) bool { return int16(a-b) < 0 }

// maxLateUp is how far behind the newest packet of a run a late upstream
// packet may still be forwarded (4096 packets: over a minute of audio).
const maxLateUp = 4096

// forward writes one packet of pub into slot i of every other subscriber.
func (r *Room) forward(pub *Participant, i int, epoch uint32, pkt *rtp.Packet, level uint8, hasLevel bool, now int64) {
	stats := &r.engine.stats
	if pub.cache == nil { // only the publisher's reader forwards its packets
		pub.cache = new(packetCache)
	}
	pub.cache.put(&pkt.Header, pkt.Payload, epoch, level, hasLevel)
	s := &r.slots[i]
	var sent, bytes, failed uint64
	s.mu.Lock()
	if s.owner != pub {
		s.mu.Unlock()
		if r.currentMode() == ModeOpen {
			stats.noSlot.Add(1)
		} else {
			stats.gated.Add(1)
		}
		return
	}
	f := r.engine.newFanout() // only for a packet that goes out
	defer r.engine.fanoutDone(f, now)
	for _, sub := range r.subscribers() {
		if sub == pub || !sub.connected.Load() {
			continue
		}
		st := &sub.out[i]
		if st.w == nil || !st.rewrite(pub, pub.source, epoch, &pkt.Header, level, hasLevel, now) {
			continue
		}
		if _, err := f.write(st.w, &st.hdr, pkt.Payload); err != nil {
			failed++
			continue
		}
		size := st.hdr.MarshalSize() + len(pkt.Payload)
		sent++
		bytes += uint64(size)
		st.packets++
		st.octets += uint32(len(pkt.Payload))
		sub.countSent(size) // for its video estimate, if it has video
		st.maybeSendSR(sub, now)
	}
	s.mu.Unlock()
	if sent > 0 {
		stats.packetsOut.Add(sent)
		stats.bytesOut.Add(bytes)
	}
	if failed > 0 {
		stats.writeError.Add(failed)
	}
}
