package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"palabre/sfu/alloc"
)

// Layer choice per receiver (package alloc, wired as its doc says): one
// Estimator fed by what is sent to the receiver and by its REMBs and
// receiver reports, one Allocator run when the receiver's slots, wishes or
// sources change, on its RTCP, and at least every allocInterval from the
// fan-out. Audio is never touched: its bitrate is reserved first. Each
// slot then gets a target layer (spatial switched at a keyframe, temporal
// at the next switch point) or is paused.
//
// Per publisher, about every second, the REMB it is sent is what its most
// demanding receivers take (alloc.Demand), so that nobody encodes a layer
// no one receives.

const (
	allocInterval = int64(500 * time.Millisecond)
	rembInterval  = int64(time.Second)
	// audioReserve is what one audio slot carrying a voice may take
	// (Opus and headers): reserved before any video.
	audioReserve = 40_000
	// nominalScreen stands for a screen share's rate until it is measured.
	nominalScreen = 1_500_000
)

// videoAlloc is one receiver's estimate and allocation state.
type videoAlloc struct {
	est  *alloc.Estimator
	tw   *twccSender  // transport-wide numbers of the video slots' packets
	next atomic.Int64 // nanotime of the next periodic allocation

	// A probe's padding (padding.go): until padUntil (nanotime), padBps
	// bits/s on a video slot that forwards nothing.
	padUntil atomic.Int64
	padBps   atomic.Int64
	padMu    sync.Mutex
	padFrom  int64 // nanotime the padding owed is counted from

	mu      sync.Mutex
	a       alloc.Allocator
	slots   []alloc.Slot
	outs    []*videoOut // slots[k] is outs[k]
	layers  [][alloc.NumSpatial]*videoLayer
	ordered []*videoOut
	ranks   []int // ordered[k]'s rank
}

func newVideoAlloc(n int) *videoAlloc {
	return &videoAlloc{
		est:     alloc.NewEstimator(),
		tw:      &twccSender{},
		slots:   make([]alloc.Slot, 0, n),
		outs:    make([]*videoOut, 0, n),
		layers:  make([][alloc.NumSpatial]*videoLayer, n),
		ordered: make([]*videoOut, 0, n),
		ranks:   make([]int, n),
	}
}

// voices is the number of audio slots carrying a voice now.
func (r *Room) voices() int {
	n := 0
	for i := range r.slots {
		s := &r.slots[i]
		s.mu.Lock()
		if s.owner != nil {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// wallAt converts the Engine's nanotime to a time.Time (monotonic).
func (e *Engine) wallAt(now int64) time.Time { return e.start.Add(time.Duration(now)) }

// countSent counts bytes sent to p (audio, video, padding) for its
// estimate.
func (p *Participant) countSent(n int) {
	if p.va != nil {
		p.va.est.OnSent(n, time.Time{})
	}
}

// maybeAllocate runs the periodic allocation if it is due; one caller wins.
func (p *Participant) maybeAllocate(now int64) {
	va := p.va
	if va == nil {
		return
	}
	next := va.next.Load()
	if now < next || !va.next.CompareAndSwap(next, now+allocInterval) {
		return
	}
	p.allocate(now)
}

// allocate chooses every video slot's layer for p.
func (p *Participant) allocate(now int64) {
	va := p.va
	if va == nil {
		return
	}
	va.next.Store(now + allocInterval)
	t := p.engine.wallAt(now)
	va.mu.Lock()
	defer va.mu.Unlock()

	// Priority: the screen slot first when it carries a share, then the
	// camera slots by their source's rank in the room's order.
	va.ordered = va.ordered[:0]
	v := len(p.vout) - 1
	va.ordered = append(va.ordered, &p.vout[v])
	for j := range v {
		va.ordered = append(va.ordered, &p.vout[j])
	}
	for k, vo := range va.ordered {
		vo.mu.Lock()
		va.ranks[k] = vo.rank
		vo.mu.Unlock()
	}
	for a := 2; a < len(va.ordered); a++ {
		for b := a; b > 1 && va.ranks[b] < va.ranks[b-1]; b-- {
			va.ordered[b], va.ordered[b-1] = va.ordered[b-1], va.ordered[b]
			va.ranks[b], va.ranks[b-1] = va.ranks[b-1], va.ranks[b]
		}
	}

	va.slots, va.outs = va.slots[:0], va.outs[:0]
	for k, vo := range va.ordered {
		vo.mu.Lock()
		s := alloc.Slot{ID: vo.allocID(), Wish: vo.wish}
		layers := &va.layers[k]
		*layers = [alloc.NumSpatial]*videoLayer{}
		if src := vo.src; src != nil && src.videoOn(vo.kind()) && vo.rw != nil {
			sourceRates(src, vo.screen, layers, &s.Rates, now)
			cur := vo.cur.Load()
			for i, l := range layers {
				if l != nil && l == cur {
					s.Current = alloc.L(i, int(min(vo.rw.TemporalLayer(), alloc.NumTemporal-1)))
				}
			}
		}
		vo.mu.Unlock()
		va.slots = append(va.slots, s)
		va.outs = append(va.outs, vo)
	}
	va.est.Sample(t)
	res := va.a.Allocate(t, alloc.Input{
		Estimate: va.est.Estimate(t),
		CanProbe: va.est.CanProbe(t),
		Audio:    audioReserve * p.room.voices(),
		Slots:    va.slots,
		Sent:     va.est.Sent(),
		FromLoss: va.est.Source(t) != alloc.SourceREMB,
	})
	if res.Probe.Bps > 0 {
		va.startPadding(res.Probe.Bps, now)
	}
	for k, tg := range res.Targets {
		vo := va.outs[k]
		var l *videoLayer
		tid := uint8(alloc.NumTemporal - 1)
		if tg.Layer != alloc.Off {
			s := tg.Layer.Spatial()
			l = va.layers[k][s]
			tid = uint8(tg.Layer.Temporal())
			// A layer the publisher suspended (nobody took it) comes back
			// once the demand asks for it again (sendDemand reads target):
			// meanwhile forward the best layer below that flows.
			for ; s > 0 && !va.layers[k][s].fresh(now); s-- {
				if below := va.layers[k][s-1]; below.fresh(now) {
					l = below
				}
			}
		}
		vo.target.Store(int32(tg.Layer))
		vo.mu.Lock()
		if res.Steep && vo.cur.Load() != l {
			// The link overflows: stop the layer it can no longer
			// carry now, not at the lower layer's keyframe.
			vo.cur.Store(nil)
		}
		vo.setTarget(l, tid, now)
		vo.mu.Unlock()
	}
}

func (vo *videoOut) kind() StreamKind {
	if vo.screen {
		return StreamScreen
	}
	return StreamCamera
}

// allocID is the slot's stable id for the allocator's hysteresis.
func (vo *videoOut) allocID() int {
	if vo.screen {
		return MaxVideoSlots
	}
	return vo.index
}

// sourceRates fills the layers src offers on a camera slot (or its screen)
// and their rates: measured, or nominal for layers not measured yet.
// Layers that stopped keep their place and last rate (package alloc
// needs them to ask for them again), as long as one layer flows.
func sourceRates(src *Participant, screen bool, layers *[alloc.NumSpatial]*videoLayer, rates *alloc.Rates, now int64) {
	if screen {
		l := src.screenIn.Load()
		if l == nil || !l.fresh(now) {
			return
		}
		layers[0] = l
		l.rates(&rates[0])
		if rates[0][0] <= 0 {
			rates[0] = [alloc.NumTemporal]int{nominalScreen, nominalScreen, nominalScreen}
		}
		return
	}
	// The layers present, lowest first, on spatial 0, 1, 2: a camera
	// without simulcast has one layer, spatial 0.
	flowing := false
	for i := range src.camIn {
		if l := src.camIn[i].Load(); l != nil && l.fresh(now) {
			flowing = true
		}
	}
	if !flowing {
		return
	}
	s := 0
	for i := range src.camIn {
		l := src.camIn[i].Load()
		if l == nil {
			continue
		}
		layers[s] = l
		l.rates(&rates[s])
		if rates[s][0] <= 0 {
			rates[s] = alloc.NominalCamera[i]
		}
		s++
	}
}

// sendDemand sends p, a publisher, the REMB its receivers call for, about
// once per rembInterval (from one of its camera readers).
func (p *Participant) sendDemand(now int64) {
	next := p.nextREMB.Load()
	if now < next || !p.nextREMB.CompareAndSwap(next, now+rembInterval) {
		return
	}
	var layers [alloc.NumSpatial]*videoLayer
	var rates alloc.Rates
	sourceRates(p, false, &layers, &rates, now)
	var ssrcs []uint32
	for s, l := range layers {
		if l == nil {
			continue
		}
		ssrcs = append(ssrcs, l.ssrc.Load())
		// What a layer costs when it flows: its measured rate is too low
		// while the encoder holds it back for want of bandwidth, and a
		// demand from that rate would keep it held back for good.
		for t := range rates[s] {
			rates[s][t] = max(rates[s][t], alloc.NominalCamera[l.spatial][t])
		}
	}
	if len(ssrcs) == 0 {
		return
	}
	var takes []alloc.Layer
	for _, sub := range p.room.subscribers() {
		for j := range sub.vout {
			vo := &sub.vout[j]
			if vo.screen {
				continue
			}
			if cur := vo.want.Load(); cur != nil && cur.pub == p {
				takes = append(takes, alloc.Layer(vo.target.Load()))
			}
		}
	}
	bps := alloc.Demand(&rates, takes, 0)
	err := p.tr.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
		SenderSSRC: p.slotSSRC[0], Bitrate: float32(bps), SSRCs: ssrcs,
	}})
	if err != nil {
		p.log.Debug("remb", "err", err)
	}
}
