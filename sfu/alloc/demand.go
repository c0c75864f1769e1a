package alloc

// The publisher demand's rules, in numbers.
const (
	// DemandMargin is added to the layers' rates: room for the encoder to
	// climb back to its own target when its rates were measured while it
	// was held lower.
	DemandMargin = 0.15
	// MinDemand is the least REMB a publisher of video is sent, audio
	// excluded, for when its lowest layer has no rate yet.
	MinDemand = 100_000
	// MaxDemand caps the REMB sent to a publisher.
	MaxDemand = MaxEstimate
)

// Demand returns the REMB to send to a publisher, bits/s: what its source
// (rates) must send for the layers its receivers take (takes: each
// receiver's target for this source, Off entries ignored), plus its audio
// bitrate.
//
// Let S be the highest spatial layer anyone takes. The video part is the
// sum, for spatial layers 0..S, of each one's rate with all its temporal
// layers, plus DemandMargin (15 %). If no one takes anything, S is the
// lowest spatial layer: the lowest layer keeps flowing, so that a receiver
// can start at once; and the video part is never below MinDemand. A
// simulcast encoder given that REMB drops the encodings above S, so nobody
// encodes a layer no one receives.
//
// The temporal layers taken do not lower the demand: a REMB cannot make an
// encoder drop a temporal layer, it only makes it encode that encoding at
// a lower bitrate; the rates measured then shrink, the allocator takes a
// higher temporal layer, the demand grows again, and the loop oscillates.
//
// The rates of encodings the publisher has stopped must stay known
// (measured earlier, or [NominalCamera]), or no receiver can be given them
// again and the demand never brings them back; see [Rates].
func Demand(rates *Rates, takes []Layer, audio int) int {
	top := -1
	for _, l := range takes {
		if l != Off && l.Valid() {
			top = max(top, l.Spatial())
		}
	}
	lowestS := -1
	for s := range NumSpatial {
		if _, r := rates.top(s); r > 0 {
			lowestS = s
			break
		}
	}
	top = max(top, lowestS)
	sum := 0
	for s := 0; s <= top && s < NumSpatial; s++ {
		_, r := rates.top(s)
		sum += r
	}
	video := max(int(float64(sum)*(1+DemandMargin)), MinDemand)
	return min(video+max(audio, 0), MaxDemand)
}
