package sfu

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// pionTransport is the Transport on a pion PeerConnection: the Engine's
// shared UDP/TCP muxes under the guard (guard.go), the SRTP buffer factory
// that hands RTCP over synchronously (buffers.go), and one reader goroutine
// per incoming track.
type pionTransport struct {
	e      *Engine
	h      Handler
	layout Layout
	pc     *webrtc.PeerConnection
	guard  *peerGuard // what the network may send us (guard.go)
	mids   []string   // of the offer's media sections, in order
	// outSSRC[out] is the SSRC pion gave each sender; written once in
	// open, before any RTCP can arrive.
	outSSRC []uint32
	// unknownRTCP counts the RTCP streams pion opened for SSRCs that are
	// neither ours nor announced (buffers.go).
	unknownRTCP atomic.Int32

	mu       sync.Mutex // answer, readers
	answered bool
	closing  bool
	reading  uint16         // incoming streams read: bit Kind*3+Layer
	wg       sync.WaitGroup // the reader goroutines

	candMu       sync.Mutex // remote candidates; may be held calling pion
	remoteSet    bool
	pendingCands []webrtc.ICECandidateInit
	candidates   int // accepted: in the answer, queued and added
}

// openPion is the OpenTransport of the pion PeerConnection.
func openPion(e *Engine, l Layout, h Handler, onCandidate func(webrtc.ICECandidateInit)) (Transport, string, error) {
	cert, err := e.certificate()
	if err != nil {
		return nil, "", err
	}
	t := &pionTransport{e: e, h: h, layout: l, outSSRC: make([]uint32, l.Outs())}
	pg, ufrag, pwd := e.guard.add()
	t.guard = pg
	if l.VideoSlots > 0 {
		pg.allowVideo()
	}
	pc, err := e.api(t, ufrag, pwd).NewPeerConnection(webrtc.Configuration{
		Certificates:  []webrtc.Certificate{cert},
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		e.guard.remove(pg)
		return nil, "", err
	}
	t.pc = pc
	offer, err := t.offer(onCandidate)
	if err != nil {
		_ = t.Close()
		return nil, "", err
	}
	return t, offer, nil
}

// offer adds the transceivers of the layout and makes the offer.
func (t *pionTransport) offer(onCandidate func(webrtc.ICECandidateInit)) (string, error) {
	pc := t.pc
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return "", err
	}
	for i := range t.layout.AudioSlots {
		if err := t.addSlot(i, webrtc.RTPCodecTypeAudio, "slot-"+strconv.Itoa(i)); err != nil {
			return "", err
		}
	}
	if t.layout.VideoSlots > 0 {
		// The camera and the screen, then the camera slots and the screen slot.
		for range 2 {
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
				webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return "", err
			}
		}
		for j := range t.layout.VideoSlots {
			if err := t.addSlot(t.layout.cameraOut(j), webrtc.RTPCodecTypeVideo, cameraSlotID(j)); err != nil {
				return "", err
			}
		}
		if err := t.addSlot(t.layout.screenOut(), webrtc.RTPCodecTypeVideo, screenSlotID); err != nil {
			return "", err
		}
	}

	pc.OnTrack(t.onTrack)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && onCandidate != nil {
			onCandidate(c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(t.onConnectionState)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	for _, tr := range pc.GetTransceivers() {
		t.mids = append(t.mids, tr.Mid())
	}
	// Host candidates on the shared socket are known at once; waiting puts
	// them in the offer too, so a client that misses the trickle still works.
	select {
	case <-gathered:
	case <-time.After(2 * time.Second):
	}
	sdp := pc.LocalDescription().SDP
	if t.layout.VideoSlots > 0 {
		return addSimulcastRecv(sdp, t.mids[t.layout.cameraIn()])
	}
	return sdp, nil
}

// addSlot adds the sendonly transceiver of outgoing stream out.
func (t *pionTransport) addSlot(out int, kind webrtc.RTPCodecType, id string) error {
	tr, err := t.pc.AddTransceiverFromTrack(&slotTrack{t: t, out: out, id: id, kind: kind},
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	enc := tr.Sender().GetParameters().Encodings
	if len(enc) == 0 {
		return fmt.Errorf("sfu: %s: no encoding", id)
	}
	t.outSSRC[out] = uint32(enc[0].SSRC)
	return nil
}

func (t *pionTransport) OutSSRC(out int) uint32 { return t.outSSRC[out] }

// SetAnswer applies the client's SDP answer. It fails if the answer was
// already set or is invalid; a malformed answer can be retried, but one
// that pion rejected half-way leaves the connection unusable.
func (t *pionTransport) SetAnswer(sdp string) error {
	t.mu.Lock()
	if t.answered {
		t.mu.Unlock()
		return ErrAnswered
	}
	info, err := validateAnswer(sdp, t.mids, t.layout)
	if err != nil {
		t.mu.Unlock()
		if errors.Is(err, errAnswerCandidates) {
			t.e.stats.candidate.Add(1)
		}
		return fmt.Errorf("sfu: answer: %w", err)
	}
	t.answered = true // held across the call so a concurrent second answer fails
	t.mu.Unlock()
	// Before pion applies it: SRTP can flow as soon as it has.
	t.guard.announce(info.ssrcs)

	err = t.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		// Retry is possible only if pion did not apply it half-way.
		retry := t.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer
		t.mu.Lock()
		t.answered = !retry
		t.mu.Unlock()
		return fmt.Errorf("sfu: answer: %w", err)
	}

	t.candMu.Lock()
	defer t.candMu.Unlock()
	t.remoteSet = true
	t.candidates += info.candidates
	for _, c := range t.pendingCands {
		if err := t.pc.AddICECandidate(c); err != nil {
			t.e.log.Debug("queued candidate rejected", "err", err)
		}
	}
	t.pendingCands = nil
	return nil
}

// AddCandidate adds a remote candidate, queued until the answer; at most
// maxRemoteCandidates with those of the answer.
func (t *pionTransport) AddCandidate(c webrtc.ICECandidateInit) error {
	t.candMu.Lock()
	defer t.candMu.Unlock()
	if t.candidates >= maxRemoteCandidates {
		t.e.stats.candidate.Add(1)
		return ErrTooManyCandidates
	}
	t.candidates++
	if !t.remoteSet {
		t.pendingCands = append(t.pendingCands, c)
		return nil
	}
	return t.pc.AddICECandidate(c)
}

func (t *pionTransport) WriteRTCP(pkts []rtcp.Packet) error { return t.pc.WriteRTCP(pkts) }

// Close closes the PeerConnection and waits for the readers.
func (t *pionTransport) Close() error {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	err := t.pc.GracefulClose()
	t.wg.Wait()
	t.e.guard.remove(t.guard)
	return err
}

// Kind reads the kind off the selected candidate pair: a relayed remote
// candidate means TURN, else the pair's protocol.
func (t *pionTransport) Kind() ConnKind {
	for _, tr := range t.pc.GetTransceivers() {
		sender := tr.Sender()
		if sender == nil || sender.Transport() == nil {
			continue
		}
		pair, err := sender.Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil || pair.Remote == nil {
			continue
		}
		switch {
		case pair.Remote.Typ == webrtc.ICECandidateTypeRelay:
			return ConnRelay
		case pair.Remote.Protocol == webrtc.ICEProtocolTCP:
			return ConnTCP
		}
		return ConnUDP
	}
	return ConnUDP
}

// onConnectionState runs in a fresh goroutine per change (pion's way), so
// changes may be seen out of order: it tells the current state.
func (t *pionTransport) onConnectionState(webrtc.PeerConnectionState) {
	switch t.pc.ConnectionState() {
	case webrtc.PeerConnectionStateConnected:
		t.h.State(ConnConnected)
	case webrtc.PeerConnectionStateDisconnected:
		t.h.State(ConnDisconnected)
	case webrtc.PeerConnectionStateFailed:
		t.h.State(ConnFailed)
	case webrtc.PeerConnectionStateClosed:
		t.h.State(ConnClosed)
	}
}

// onTrack reads one incoming track in pion's OnTrack goroutine: the first
// audio track is the microphone; video tracks are the camera's layers (by
// RID) and the screen, told apart by their m-line. One reader per stream:
// a track for a stream already read is ignored.
func (t *pionTransport) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	in := &InStream{SSRC: uint32(tr.SSRC())}
	switch {
	case tr.Kind() == webrtc.RTPCodecTypeAudio:
		in.Kind = StreamMicrophone
		for _, h := range rcv.GetParameters().HeaderExtensions {
			if h.URI == audioLevelURI {
				in.AudioLevelID = uint8(h.ID)
			}
		}
	case t.layout.VideoSlots == 0:
		return
	default:
		in.Kind = StreamScreen
		for i, x := range t.pc.GetTransceivers() {
			if x.Receiver() == rcv && i == t.layout.cameraIn() {
				in.Kind = StreamCamera
			}
		}
		if in.Kind == StreamCamera {
			in.Layer = ridLayer(tr.RID())
			if in.Layer < 0 {
				return
			}
		}
	}
	bit := uint16(1) << (int(in.Kind)*len(cameraRIDs) + in.Layer)
	t.mu.Lock()
	if t.closing || t.reading&bit != 0 {
		t.mu.Unlock()
		return
	}
	t.reading |= bit
	t.wg.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				t.e.log.Debug("track reader stops", "err", err)
			}
			return
		}
		t.h.RTP(in, buf[:n])
	}
}

// ridLayer maps a camera layer's RID to its layer, -1 if unknown; a camera
// without simulcast has no RID and one layer, 0.
func ridLayer(rid string) int {
	if rid == "" {
		return 0
	}
	for i, r := range cameraRIDs {
		if r == rid {
			return i
		}
	}
	return -1
}

// slotTrack is the TrackLocal behind one outgoing stream: Bind hands the
// negotiated writer and parameters to the Handler.
type slotTrack struct {
	t    *pionTransport
	out  int
	id   string
	kind webrtc.RTPCodecType
}

func (s *slotTrack) ID() string                { return s.id }
func (s *slotTrack) RID() string               { return "" }
func (s *slotTrack) StreamID() string          { return streamID }
func (s *slotTrack) Kind() webrtc.RTPCodecType { return s.kind }

func (s *slotTrack) Unbind(webrtc.TrackLocalContext) error {
	s.t.h.Unbound(s.out)
	return nil
}

// Bind passes the writer, SSRC, payload type and extension ids negotiated
// for this stream.
func (s *slotTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	mime := webrtc.MimeTypeOpus
	if s.kind == webrtc.RTPCodecTypeVideo {
		mime = webrtc.MimeTypeVP8
	}
	var codec *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, mime) {
			codec = &c
			break
		}
	}
	if codec == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	o := OutStream{Writer: ctx.WriteStream(), SSRC: uint32(ctx.SSRC()), PayloadType: uint8(codec.PayloadType)}
	for _, h := range ctx.HeaderExtensions() {
		switch h.URI {
		case audioLevelURI:
			o.AudioLevelID = uint8(h.ID)
		case absSendTimeURI:
			o.AbsSendTimeID = uint8(h.ID)
		case transportCCURI:
			o.TransportCCID = uint8(h.ID)
		}
	}
	s.t.h.Bound(s.out, o)
	return *codec, nil
}
