package sfu

import (
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The transport seam.
//
// The forwarding logic (slots, gate, NACK caches, video slots, allocator)
// sees a participant's media connection only through the small interfaces
// below, so that the connection under it can change without touching that
// logic (it did: a pion PeerConnection per participant was replaced by
// Palabre's own transport, transport_rtc.go on sfu/rtc):
//
//   - packets in: the Transport calls its Handler with each decrypted
//     incoming RTP packet (Handler.RTP) and RTCP packet (Handler.RTCP), and
//     with the connection's state;
//   - packets out: RTP goes out through the StreamWriter of each outgoing
//     stream, handed over with Handler.Bound once the stream is negotiated;
//     RTCP through Transport.WriteRTCP;
//   - negotiation: the Transport makes the one offer (OpenTransport, for a
//     Layout), takes the answer and trickled candidates;
//   - close: Transport.Close, after which the Handler is called no more.
//
// The forwarding path must stay allocation-free through it: a
// StreamWriter's WriteRTP may not keep h or payload after it returns.

// Layout is the set of m-lines a participant's offer carries, in order:
// the microphone (recvonly), AudioSlots sendonly audio slots; with
// VideoSlots > 0 also the camera (recvonly, simulcast f;h;q), the screen
// (recvonly), VideoSlots sendonly camera slots and one sendonly screen slot.
type Layout struct {
	AudioSlots int
	VideoSlots int // 0: audio only
}

// Outgoing stream numbers (the out argument of Handler.Bound and
// Transport.OutSSRC): audio slot i is i; with video, camera slot j is
// AudioSlots+j and the screen slot AudioSlots+VideoSlots.
func (l Layout) cameraOut(j int) int { return l.AudioSlots + j }
func (l Layout) screenOut() int      { return l.AudioSlots + l.VideoSlots }

// cameraIn is the m-line index of the camera (the screen's is one more).
func (l Layout) cameraIn() int { return 1 + l.AudioSlots }

// MediaKinds are the m-lines' media types, in order.
func (l Layout) MediaKinds() []string {
	kinds := make([]string, 1+l.AudioSlots, 1+l.Outs()+2)
	for i := range kinds {
		kinds[i] = "audio"
	}
	if l.VideoSlots > 0 {
		for range l.VideoSlots + 3 {
			kinds = append(kinds, "video")
		}
	}
	return kinds
}

// Outs is the number of outgoing streams.
func (l Layout) Outs() int {
	if l.VideoSlots == 0 {
		return l.AudioSlots
	}
	return l.AudioSlots + l.VideoSlots + 1
}

// StreamKind is what an incoming stream carries.
type StreamKind uint8

const (
	StreamMicrophone StreamKind = iota
	StreamCamera
	StreamScreen
)

// Simulcast layers of a camera, by RID: quarter, half and full resolution.
var cameraRIDs = [3]string{"q", "h", "f"}

// InStream is one incoming RTP stream. The Transport keeps it for the
// stream's life and passes the same pointer with every packet.
type InStream struct {
	Kind StreamKind
	// Layer is the simulcast layer of a camera stream: 0 (q, quarter
	// resolution) … 2 (f, full); a camera sent without simulcast is 0.
	Layer        int
	SSRC         uint32
	AudioLevelID uint8 // negotiated RFC 6464 extension id, 0 = none
}

// OutStream is one negotiated outgoing stream.
type OutStream struct {
	Writer        StreamWriter
	SSRC          uint32
	PayloadType   uint8
	AudioLevelID  uint8 // header extension ids; 0 = not negotiated
	AbsSendTimeID uint8
	TransportCCID uint8 // transport-wide sequence numbers (twcc.go)
}

// StreamWriter sends RTP packets on one outgoing stream. A padding-only
// packet comes with h.Padding set, h.PaddingSize its padding and an empty
// payload.
type StreamWriter interface {
	WriteRTP(h *rtp.Header, payload []byte) (int, error)
}

// ConnState is a media connection's state, as the Handler is told it.
type ConnState uint8

const (
	ConnConnected    ConnState = iota + 1 // up (first time or again)
	ConnDisconnected                      // nothing heard for a while; may come back
	ConnFailed                            // gone (ICE or DTLS failure)
	ConnClosed                            // closed by the peer
)

// Transport is one participant's media connection.
type Transport interface {
	// OutSSRC is outgoing stream out's SSRC, fixed when the offer is made.
	OutSSRC(out int) uint32
	// SetAnswer applies the client's answer to the offer.
	SetAnswer(sdp string) error
	// AddCandidate adds a remote candidate the client trickled (already
	// judged by the Engine's address policy).
	AddCandidate(c webrtc.ICECandidateInit) error
	// WriteRTCP sends RTCP to the client.
	WriteRTCP(pkts []rtcp.Packet) error
	// Kind tells how the connection reaches the server, once connected.
	Kind() ConnKind
	// Close closes the connection and waits until no Handler call is in
	// progress; the Handler is called no more after it returns.
	Close() error
}

// Handler is what a Transport delivers to: one participant of the media
// plane. Its methods are called from the Transport's goroutines.
type Handler interface {
	// Bound: outgoing stream out may now be written (Unbound: no more).
	Bound(out int, s OutStream)
	Unbound(out int)
	// RTP is one decrypted incoming RTP packet, valid during the call.
	// Calls for one InStream come from one goroutine at a time.
	RTP(in *InStream, raw []byte)
	// RTCP is one decrypted RTCP packet (one of a compound), valid during
	// the call; it is delivered once for each SSRC it is about (its
	// report blocks, the media SSRC of a feedback message, a REMB's list,
	// a sender report's sender), ssrc saying which.
	RTCP(ssrc uint32, b []byte)
	// State tells a change of the connection's state.
	State(s ConnState)
	// Fail: the peer broke the transport's bounds; it is to be closed.
	Fail(err error)
}

// OpenTransport makes a participant's Transport and its offer (SDP,
// carrying the local candidates; later ones go to onCandidate).
type OpenTransport func(e *Engine, l Layout, h Handler, onCandidate func(webrtc.ICECandidateInit)) (Transport, string, error)
