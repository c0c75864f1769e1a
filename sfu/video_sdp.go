package sfu

import "strconv"

// Video in the offer (docs/video.md).

// Payload type and clock rate of VP8, the one video codec.
const (
	vp8PayloadType = 96
	videoClockRate = 90000
)

// Header extensions of video m-lines: abs-send-time for the receivers'
// REMB; mid and the RIDs to tell simulcast layers apart; on the slots
// (sendonly) transport-wide sequence numbers (twcc.go).
const (
	midURI            = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ridURI            = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	repairedRIDURI    = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
	maxVideoSlotsSFU  = 9 // the protocol's MaxVideoSlots
	screenSlotID      = "screen"
	cameraSlotIDBase  = "camera-"
	simulcastRecvRIDs = "f;h;q"
)

// MaxVideoSlots is the largest number of camera slots per participant.
const MaxVideoSlots = maxVideoSlotsSFU

// DefaultVideoSlots is the number of camera slots servers offer by default.
const DefaultVideoSlots = 4

func cameraSlotID(j int) string { return cameraSlotIDBase + strconv.Itoa(j) }
