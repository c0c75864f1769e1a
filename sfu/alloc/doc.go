// Package alloc decides how much video each receiver gets: a bandwidth
// estimate per receiver, an allocator that turns it into a layer per video
// slot, and the demand each publisher is told to encode for. It is pure
// logic: no network, no pion, no goroutines; the media plane feeds it
// RTCP-derived numbers and applies its answers.
//
// # The model
//
// A receiver has a few downstream video slots (docs/video.md): camera
// slots carrying the floor holders and recent speakers, and a screen slot.
// Each slot's source offers up to nine layers, simulcast spatial layers 0,
// 1, 2 (quarter, half, full resolution) times VP8 temporal layers 0, 1, 2
// (about 7.5, 15, 30 frames/s), each with a measured bitrate ([Rates]).
// The receiver wishes, per slot, off, low (the lowest spatial layer is
// enough) or high ([Wish]).
//
//	RTCP from the receiver ──▶ Estimator ──▶ Estimate, CanProbe
//	                                              │
//	slots in priority order, wishes, rates ──▶ Allocator ──▶ per slot: layer or paused,
//	audio bitrate                                            keyframe wanted; probe
//	                                                                 │
//	every receiver's targets for one source ──▶ Demand ──▶ REMB to the publisher
//
// # Estimate
//
// [Estimator]: the receiver's REMB (Chrome computes it from abs-send-time)
// when one is fresh; otherwise a loss-based estimate from its receiver
// reports, the libwebrtc / Galène loss controller: grow 8 % per second
// below 2 % loss (only while the estimate is actually being used), hold up
// to 10 %, cut by half the loss above; and, with no REMB to tell
// congestion by delay, loss that appears while the estimate is used brings
// it down to what got through. Heavy loss (above 10 %) brings any estimate,
// a fresh REMB too, down to what got through in one report; a probe that
// got through without loss raises a loss-based estimate to what it sent.
// (Chromium sends no REMB at all while it has no sending video stream: a
// participant with the camera off is judged by loss alone.)
// A delay signal comes first when the receiver sends transport-wide
// feedback ([DelayDetector]): a queue building on its link holds the
// estimate, and a queue that keeps growing (the link fell below what is
// sent) cuts it to 85 % of what arrived, before the queue overflows and
// the loss reaches the audio ([Estimator.OnDelay]).
// Bounded to 30 kbit/s .. 10 Mbit/s, starting at 600 kbit/s.
// pion/interceptor's GCC is not used: it overshoots (no
// application-limited detection).
//
// # Allocation
//
// [Allocator] (its pure core is [Plan]): audio first, its bitrate taken
// off the estimate and never touched. Then the slots in priority order:
// every wanted slot first gets its lowest layer (many small tiles beat one
// big one), then each climbs, in priority order, one step at a time while
// the budget allows. What does not fit is paused. Hysteresis: a layer is
// kept as long as the estimate covers it and dropped at once when it does
// not; anything new must fit with 15 % headroom in the lowest estimate of
// the last 3 s, and waits 3 s after a layer was dropped, longer (up to 60
// s) after each upgrade that did not hold. Shedding drops temporal layers
// before a spatial one; climbing never lowers the frame rate. A change of
// spatial layer is only a target: the caller asks for a keyframe
// ([Target.Keyframe]) and switches when it arrives.
//
// When an upgrade waits on an estimate that only more traffic can raise
// (a REMB follows what it receives; the loss-based estimate grows only
// while used), the allocator proposes a probe ([Probe]): send, as
// padding for a second, what brings the rate sent up to what the upgrade
// needs, adding at most a quarter of the estimate (up to 1.5 × a
// loss-based estimate when the video is paused: only more than it tests
// it); not during an upgrade's first 3 s; at most every 5 s, backing off
// to 30 s while probes fail. A steep shed ([Result.Steep]) tells the
// caller to stop the layers it drops at once.
//
// # Publisher demand
//
// [Demand]: the REMB sent to a publisher is what its encodings up to the
// highest spatial layer any receiver takes cost, plus 15 %, plus its
// audio, with the lowest layer always kept flowing: a simulcast encoder
// drops the encodings nobody receives.
//
// # Wiring
//
// Per receiver, one [Estimator] and one [Allocator]:
//
//   - every RTP packet sent to it: Estimator.OnSent (padding included);
//   - every REMB from it: Estimator.OnREMB; every receiver report:
//     Estimator.OnLoss with the worst fraction lost of its video blocks;
//   - every transport feedback from it: the arrival of each packet
//     numbered to DelayDetector.Packet, then DelayDetector.Done, whose
//     answer goes to Estimator.OnDelay (and, if it cut, allocate at once);
//   - every 250..500 ms, and when its slots, wishes or the sources' rates
//     change: Estimator.Sample, then Allocator.Allocate with the estimate,
//     CanProbe, Sent, whether the estimate is loss-based, the audio
//     bitrate sent to it and its slots in priority order (Current being
//     what each slot really forwards); then forward each slot's target
//     temporal layer at once, ask for a keyframe of the target spatial
//     layer where Keyframe is set and switch at that keyframe, and send
//     the probe if there is one.
//
// Per publisher, about every second: [Demand] over the targets every
// receiver has for its camera (and its screen), as the REMB sent to it.
//
// Rates come from the forwarding path: per source, spatial layer and
// temporal layer, smoothed over a second or two, cumulative over the
// temporal layers, with the last known (or [NominalCamera]) value kept for
// encodings that stopped.
package alloc
