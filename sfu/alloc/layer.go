package alloc

import "strconv"

// NumSpatial and NumTemporal bound the layers a source can offer: simulcast
// quarter, half and full resolution (spatial 0, 1, 2), each with up to three
// VP8 temporal layers (temporal 0, 1, 2: about 7.5, 15 and 30 frames/s).
const (
	NumSpatial  = 3
	NumTemporal = 3
)

// Layer is what a slot forwards: one (spatial, temporal) pair, or [Off].
//
// Layers are numbered along the ladder the allocator climbs, spatial first:
// S0T0 < S0T1 < S0T2 < S1T0 < … < S2T2, so that comparing two Layers with <
// compares them in that order. The zero value is Off, so an unset Current
// means "nothing forwarded yet".
type Layer int8

// Off is "nothing": a paused slot, or a slot that forwards nothing yet.
const Off Layer = 0

// MaxLayer is the highest layer, S2T2.
const MaxLayer = Layer(NumSpatial * NumTemporal)

// L returns the layer (spatial, temporal), or Off if either is out of range.
func L(spatial, temporal int) Layer {
	if spatial < 0 || spatial >= NumSpatial || temporal < 0 || temporal >= NumTemporal {
		return Off
	}
	return Layer(spatial*NumTemporal + temporal + 1)
}

// Valid reports whether l is Off or one of the nine layers.
func (l Layer) Valid() bool { return l >= Off && l <= MaxLayer }

// Spatial returns l's spatial layer, -1 for Off.
func (l Layer) Spatial() int {
	if l <= Off || l > MaxLayer {
		return -1
	}
	return (int(l) - 1) / NumTemporal
}

// Temporal returns l's temporal layer, -1 for Off.
func (l Layer) Temporal() int {
	if l <= Off || l > MaxLayer {
		return -1
	}
	return (int(l) - 1) % NumTemporal
}

func (l Layer) String() string {
	if l == Off {
		return "off"
	}
	if !l.Valid() {
		return "Layer(" + strconv.Itoa(int(l)) + ")"
	}
	return "S" + strconv.Itoa(l.Spatial()) + "T" + strconv.Itoa(l.Temporal())
}

// Rates are the measured bitrates of one source's layers, in bits/s:
// Rates[s][t] is what forwarding spatial layer s with temporal layers 0..t
// costs (cumulative, so Rates[s][t] ≥ Rates[s][t-1]). Zero (or less) means
// the layer does not exist. A source without temporal layers has only
// Rates[s][0]; a source with one encoding (a screen share, a camera without
// simulcast) has only spatial 0.
//
// A layer that the source has but that is not flowing right now (a
// simulcast encoding the publisher suspended because no one took it, see
// [Demand]) must keep a rate, its last measured one or a [NominalCamera]
// one: a layer at zero cannot be allocated, so it would never be asked for
// again.
//
// Measured rates should be smoothed over a second or two by the caller: a
// kept layer whose rate jumps above the budget is shed at once.
type Rates [NumSpatial][NumTemporal]int

// NominalCamera is what a VP8 simulcast camera typically sends (Chrome at
// 720p: 150, 500 and 1,500 kbit/s, temporal layers taking 40, 60 and 100 %
// of each): a stand-in for layers not measured yet.
var NominalCamera = Rates{
	{60_000, 90_000, 150_000},
	{200_000, 300_000, 500_000},
	{600_000, 900_000, 1_500_000},
}

// At returns the rate of layer l, 0 for Off or a layer the source lacks.
func (r *Rates) At(l Layer) int {
	if l <= Off || l > MaxLayer {
		return 0
	}
	v := r[l.Spatial()][l.Temporal()]
	if v < 0 {
		return 0
	}
	return v
}

// Has reports whether the source offers layer l.
func (r *Rates) Has(l Layer) bool { return r.At(l) > 0 }

// top returns the highest temporal layer spatial layer s offers and its
// rate, or (-1, 0) if the source lacks s.
func (r *Rates) top(s int) (int, int) {
	for t := NumTemporal - 1; t >= 0; t-- {
		if r[s][t] > 0 {
			return t, r[s][t]
		}
	}
	return -1, 0
}

// Wish is what a receiver asks of one slot (the protocol's video_wish).
type Wish uint8

const (
	// WishOff: send nothing (hidden tile, audio-only mode). The zero value.
	WishOff Wish = iota
	// WishLow: a small tile; at most the lowest spatial layer, any
	// temporal layer.
	WishLow
	// WishHigh: a large tile; any layer the link allows.
	WishHigh
)

func (w Wish) String() string {
	switch w {
	case WishOff:
		return "off"
	case WishLow:
		return "low"
	case WishHigh:
		return "high"
	}
	return "Wish(" + strconv.Itoa(int(w)) + ")"
}

// maxSpatial returns the highest spatial layer w allows, -1 for none.
func (w Wish) maxSpatial() int {
	switch w {
	case WishLow:
		return 0
	case WishHigh:
		return NumSpatial - 1
	}
	return -1
}
