package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"palabre/sfu/alloc"
	"palabre/sfu/vp8"
)

// Publishers' video (docs/video.md): each camera layer (simulcast by RID)
// and the screen is a videoLayer, made by the first packet of its stream.
// Its reader goroutine (the Transport's, one per stream) parses the VP8
// descriptor once, keeps the packet in the layer's cache (shared by every
// receiver: NACKs, and a recent keyframe for a receiver switching to it),
// and fans it out to the receivers' video slots that forward it or wait to
// switch to it (videoslot.go).

// videoCacheSize is the number of packets a video layer keeps: more than a
// second at full resolution, enough for a NACK round trip and for the
// packets since a recent keyframe.
const videoCacheSize = 256

// videoPayloadRoom is the payload size a cache entry is made for.
const videoPayloadRoom = 1232

// Keyframes: a layer is asked for one (PLI) at most once per pliInterval;
// a receiver switching to a layer is served from its cache when its last
// keyframe is at most keyframeReuse old and every packet since is there.
const (
	pliInterval   = int64(500 * time.Millisecond)
	keyframeReuse = int64(500 * time.Millisecond)
	// layerStale: a layer that sent nothing for this long is not chosen.
	layerStale = int64(2 * time.Second)
)

// videoLayer is one incoming video stream of a publisher.
type videoLayer struct {
	pub     *Participant
	kind    StreamKind // StreamCamera or StreamScreen
	spatial int        // camera: 0 quarter … 2 full; screen: 0
	ssrc    atomic.Uint32
	lastPkt atomic.Int64  // nanotime of the last packet; 0: none yet
	lastPLI atomic.Int64  // nanotime of the last keyframe request
	lastSR  atomic.Uint64 // as Participant.lastSR, for this layer's reports

	// rate[t] is the smoothed bitrate of temporal layers 0..t, bits/s.
	rate [alloc.NumTemporal]atomic.Int64

	cache videoCache

	// The reader goroutine's own.
	pkt      rtp.Packet
	nack     upstreamNACK
	stats    receiverStats
	rd       rateMeter
	scratch  [1600]byte // rewritten payload, one receiver at a time
	scratch2 [1600]byte // a cached packet being replayed
	replay   rtp.Packet
}

// videoCache is a layer's recent packets, by sequence number.
type videoCache struct {
	mu     sync.Mutex
	e      [videoCacheSize]cachedVideo
	keySeq uint16 // first packet of the latest keyframe…
	keyAt  int64  // …and when it arrived (0: none)
}

type cachedVideo struct {
	valid   bool
	marker  bool
	seq     uint16
	ts      uint32
	payload []byte // reused; grows to the largest payload seen
}

func (c *videoCache) put(h *rtp.Header, payload []byte, key bool, now int64) {
	c.mu.Lock()
	e := &c.e[h.SequenceNumber%videoCacheSize]
	e.valid, e.marker, e.seq, e.ts = true, h.Marker, h.SequenceNumber, h.Timestamp
	if cap(e.payload) < len(payload) {
		// Room for any packet of a browser's MTU at once: the entry
		// does not grow again when a larger one lands in it.
		e.payload = make([]byte, 0, max(len(payload), videoPayloadRoom))
	}
	e.payload = append(e.payload[:0], payload...)
	if key {
		c.keySeq, c.keyAt = h.SequenceNumber, now
	}
	c.mu.Unlock()
}

// getLocked copies packet seq into h and buf, if the cache has it.
func (c *videoCache) getLocked(seq uint16, h *rtp.Header, buf []byte) ([]byte, bool) {
	e := &c.e[seq%videoCacheSize]
	if !e.valid || e.seq != seq || len(e.payload) > len(buf) {
		return nil, false
	}
	h.SequenceNumber, h.Timestamp, h.Marker = seq, e.ts, e.marker
	return buf[:copy(buf, e.payload)], true
}

// rateMeter measures a layer's bitrate per temporal layer over windows of
// rateWindow, smoothed.
type rateMeter struct {
	start int64
	bytes [alloc.NumTemporal]int64
}

const rateWindow = int64(500 * time.Millisecond)

func (m *rateMeter) add(l *videoLayer, tid uint8, n int, now int64) {
	if m.start == 0 {
		m.start = now
	}
	m.bytes[min(int(tid), alloc.NumTemporal-1)] += int64(n)
	el := now - m.start
	if el < rateWindow {
		return
	}
	var cum int64
	for t := range m.bytes {
		cum += m.bytes[t]
		bps := cum * 8 * 1e9 / el
		old := l.rate[t].Load()
		if old == 0 {
			l.rate[t].Store(bps)
		} else {
			l.rate[t].Store((3*old + bps) / 4)
		}
		m.bytes[t] = 0
	}
	m.start = now
}

// rates are the layer's measured rates for the allocator, in one row;
// temporal layers never seen cost the same as those below.
func (l *videoLayer) rates(row *[alloc.NumTemporal]int) {
	for t := range row {
		row[t] = int(l.rate[t].Load())
		if t > 0 && row[t] < row[t-1] {
			row[t] = row[t-1]
		}
	}
}

// fresh reports whether the layer sent something lately.
func (l *videoLayer) fresh(now int64) bool {
	if l == nil {
		return false
	}
	at := l.lastPkt.Load()
	return at != 0 && now-at < layerStale
}

// layer returns (making it on the first packet) p's video layer for in.
// Only in's reader goroutine makes it.
func (p *Participant) layer(in *InStream) *videoLayer {
	var slot *atomic.Pointer[videoLayer]
	switch {
	case in.Kind == StreamScreen:
		slot = &p.screenIn
	case in.Kind == StreamCamera && in.Layer >= 0 && in.Layer < len(p.camIn):
		slot = &p.camIn[in.Layer]
	default:
		return nil
	}
	if l := slot.Load(); l != nil {
		return l
	}
	l := &videoLayer{pub: p, kind: in.Kind, spatial: in.Layer}
	l.stats.clock = videoClockRate
	slot.Store(l)
	p.log.Debug("video track", "kind", in.Kind, "layer", in.Layer, "ssrc", in.SSRC)
	return l
}

// handleVideo takes one packet of a camera layer or the screen: receiver
// statistics, upstream NACKs, the shared cache, then the fan-out if the
// publisher said its camera (or screen) is on.
func (p *Participant) handleVideo(in *InStream, raw []byte, now int64) {
	l := p.layer(in)
	if l == nil {
		return
	}
	st := &p.engine.stats
	st.packetsIn.Add(1)
	st.bytesIn.Add(uint64(len(raw)))
	if err := l.pkt.Unmarshal(raw); err != nil {
		return
	}
	pkt := &l.pkt
	l.ssrc.Store(pkt.SSRC)
	if was := l.lastPkt.Swap(now); was == 0 || now-was > layerStale {
		p.room.videoLayerChanged(p) // its receivers may choose it now
	}
	l.stats.update(&pkt.Header, now)
	on := p.videoOn(in.Kind)
	if seqs := l.nack.observe(pkt.SequenceNumber, now, on); len(seqs) > 0 {
		p.sendNACK(pkt.SSRC, seqs)
	}
	if l.stats.due(now) {
		p.sendRR(&l.stats, l.lastSR.Load(), now)
	}
	if len(pkt.Payload) == 0 {
		// Padding only (a browser probing its bandwidth): nothing to
		// forward, but its sequence number must leave no hole downstream.
		if on {
			p.room.forwardVideo(l, pkt, nil, false, now)
		}
		return
	}
	d, err := vp8.Parse(pkt.Payload)
	if err != nil {
		st.videoBad.Add(1)
		return
	}
	key := vp8.IsKeyframe(pkt.Payload)
	l.cache.put(&pkt.Header, pkt.Payload, key, now)
	l.rd.add(l, d.TID, len(raw), now)
	if !on {
		st.videoOff.Add(1)
		return
	}
	if l.kind == StreamCamera {
		p.sendDemand(now)
	}
	p.room.forwardVideo(l, pkt, &d, key, now)
}

// videoOn reports whether p said (camera_on, screen_on) that it sends kind.
func (p *Participant) videoOn(kind StreamKind) bool {
	if kind == StreamScreen {
		return p.screenOn.Load()
	}
	return p.cameraOn.Load()
}

// requestKeyframe asks l's publisher for a keyframe (PLI), at most once
// per pliInterval per layer.
func (l *videoLayer) requestKeyframe(now int64) {
	last := l.lastPLI.Load()
	if now-last < pliInterval && last != 0 || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	p := l.pub
	ssrc := l.ssrc.Load()
	if ssrc == 0 || p.tr == nil {
		return
	}
	p.engine.stats.pli.Add(1)
	if err := p.tr.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: p.slotSSRC[0], MediaSSRC: ssrc}}); err != nil {
		p.log.Debug("pli", "err", err)
	}
}
