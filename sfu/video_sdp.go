package sfu

import (
	"fmt"
	"strconv"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

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

// addSimulcastRecv adds to the offer's camera m-line (mid) what pion as
// offerer does not write: the RIDs it receives and a=simulcast:recv, so that
// a browser sends its camera as three simulcast layers.
func addSimulcastRecv(text, mid string) (string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(text); err != nil {
		return "", fmt.Errorf("sfu: own offer: %w", err)
	}
	found := false
	for _, m := range d.MediaDescriptions {
		if v, _ := m.Attribute("mid"); v != mid {
			continue
		}
		for _, rid := range []string{"f", "h", "q"} {
			m.WithValueAttribute("rid", rid+" recv")
		}
		m.WithValueAttribute("simulcast", "recv "+simulcastRecvRIDs)
		found = true
	}
	if !found {
		return "", fmt.Errorf("sfu: own offer: no m-line %q", mid)
	}
	b, err := d.Marshal()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// registerVideo adds VP8 and the video header extensions to m.
func registerVideo(m *webrtc.MediaEngine) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:  webrtc.MimeTypeVP8,
			ClockRate: videoClockRate,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"},
				{Type: "transport-cc"},
			},
		},
		PayloadType: vp8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	for _, uri := range []string{absSendTimeURI, midURI, ridURI, repairedRIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	// Transport-wide sequence numbers on what the server sends only
	// (twcc.go): on a camera m-line the browser would number its packets
	// and wait for feedback the server does not send.
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: transportCCURI},
		webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverDirectionSendonly)
}
