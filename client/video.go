package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"palabre/sfu/vp8"
	"palabre/signaling/proto"
)

// Video (docs/video.md). A client that joins with JoinRequest.WantVideo
// gets an offer with video m-lines: it answers with a camera track (three
// simulcast layers by RID, or one) and a screen track, sends nothing on
// them until PublishCamera / PublishScreen, and reads the camera slots and
// the screen slot, counting what arrives (VideoStats).

// VP8PayloadType is the payload type Palabre uses for VP8.
const VP8PayloadType = 96

// Header extensions of video.
const (
	midURI         = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ridURI         = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	repairedRIDURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
	absSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
)

var vp8Codec = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
	RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"}},
}

// cameraRIDs are the simulcast layers, lowest first.
var cameraRIDs = []string{"q", "h", "f"}

// registerVideo adds VP8 and the video extensions to a MediaEngine.
func registerVideo(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: VP8PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	for _, uri := range []string{absSendTimeURI, midURI, ridURI, repairedRIDURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return nil
}

// videoOut is one of the client's upstream video tracks (a camera layer or
// the screen).
type videoOut struct {
	track  *webrtc.TrackLocalStaticRTP
	rid    string
	sender *webrtc.RTPSender
	mid    string

	mu         sync.Mutex
	seq        uint16
	ts         uint32
	midID      uint8
	ridID      uint8
	wantKey    bool // a PLI or FIR arrived: jump to the next keyframe
	keyReqs    uint64
	sentFrames uint64
}

// videoState is the video half of a Client.
type videoState struct {
	cameraLayers int         // as negotiated: 0 (no video), 1 or 3
	camera       []*videoOut // lowest layer first
	screen       *videoOut

	vpubMu sync.Mutex
	vpub   [2]*videoPublish // camera, screen

	vslotsMu sync.Mutex
	vslots   map[videoKey]*videoSlotState
	occupant map[videoKey]proto.VideoSlot
	ssrcs    []uint32 // of the video slots received so far
	offered  []uint32 // of the video slots the offer announces
	onVideo  func(screen bool, slot int, p *rtp.Packet)
}

// joinVideo is what a join asked of video.
type joinVideo struct {
	want   bool
	layers int
}

func (j joinVideo) cameraLayers() int {
	if j.layers == 1 {
		return 1
	}
	return len(cameraRIDs)
}

type videoKey struct {
	screen bool
	slot   int
}

// hasVideo reports whether an offer carries video m-lines.
func hasVideo(sdp string) bool { return strings.Contains(sdp, "\nm=video ") }

// attachVideo adds the camera and screen tracks to the offered camera and
// screen m-lines (the first two video transceivers without a sender).
func (c *Client) attachVideo(pc *webrtc.PeerConnection) error {
	c.vslotsMu.Lock()
	layers := c.join.cameraLayers()
	c.vslotsMu.Unlock()
	id := "palabre-go"
	var cam []*videoOut
	for k := range layers {
		rid := ""
		opts := []func(*webrtc.TrackLocalStaticRTP){}
		if layers > 1 {
			rid = cameraRIDs[k]
			opts = append(opts, webrtc.WithRTPStreamID(rid))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "camera", id, opts...)
		if err != nil {
			return err
		}
		cam = append(cam, &videoOut{track: tr, rid: rid})
	}
	// The highest layer first: pion takes the first encoding as the track.
	sender, err := pc.AddTrack(cam[len(cam)-1].track)
	if err != nil {
		return fmt.Errorf("add the camera track: %w", err)
	}
	for k := len(cam) - 2; k >= 0; k-- {
		if err := sender.AddEncoding(cam[k].track); err != nil {
			return fmt.Errorf("add camera layer %s: %w", cam[k].rid, err)
		}
	}
	st, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "screen", id)
	if err != nil {
		return err
	}
	screen := &videoOut{track: st}
	if screen.sender, err = pc.AddTrack(st); err != nil {
		return fmt.Errorf("add the screen track: %w", err)
	}
	for _, o := range cam {
		o.sender = sender
	}
	c.vslotsMu.Lock()
	c.camera, c.screen, c.cameraLayers = cam, screen, layers
	c.vslotsMu.Unlock()
	for _, o := range append(cam, screen) {
		o.seq = uint16(time.Now().UnixNano())
		if c.goStart() {
			go c.readVideoRTCP(o)
		}
	}
	return nil
}

// noteVideoParams reads, after the answer, the extension ids and mids the
// upstream video tracks write.
func (c *Client) noteVideoParams(pc *webrtc.PeerConnection) {
	c.vslotsMu.Lock()
	outs := append(append([]*videoOut(nil), c.camera...), c.screen)
	c.vslotsMu.Unlock()
	for _, o := range outs {
		if o == nil {
			continue
		}
		mid := ""
		for _, t := range pc.GetTransceivers() {
			if t.Sender() == o.sender {
				mid = t.Mid()
			}
		}
		o.mu.Lock()
		o.mid = mid
		for _, h := range o.sender.GetParameters().HeaderExtensions {
			switch h.URI {
			case midURI:
				o.midID = uint8(h.ID)
			case ridURI:
				o.ridID = uint8(h.ID)
			}
		}
		o.mu.Unlock()
	}
}

// readVideoRTCP drains one upstream video stream's RTCP (so that pion's
// NACK responder sees it) and notes keyframe requests.
func (c *Client) readVideoRTCP(o *videoOut) {
	defer c.wg.Done()
	for {
		var pkts []rtcp.Packet
		var err error
		if o.rid == "" || o.rid == cameraRIDs[len(cameraRIDs)-1] {
			pkts, _, err = o.sender.ReadRTCP()
		} else {
			pkts, _, err = o.sender.ReadSimulcastRTCP(o.rid)
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				o.mu.Lock()
				o.wantKey = true
				o.keyReqs++
				o.mu.Unlock()
			}
		}
	}
}

// videoPublish is one running PublishCamera or PublishScreen.
type videoPublish struct {
	stop, done chan struct{}
}

// PublishCamera sends VP8 files on the camera track, in a loop, paced by
// their frame interval, until StopCamera or Close: one file per simulcast
// layer, lowest first (three when the client joined with CameraLayers 3,
// the default), or one file for a client that joined with CameraLayers 1.
// A keyframe request from the server makes a layer jump to its next
// keyframe. It does not send camera_on: call CameraOn too.
func (c *Client) PublishCamera(files ...*VP8File) error {
	c.vslotsMu.Lock()
	outs := c.camera
	c.vslotsMu.Unlock()
	if len(outs) == 0 {
		return ErrNoVideo
	}
	if len(files) != len(outs) {
		return fmt.Errorf("palabre client: %d files for %d camera layers", len(files), len(outs))
	}
	return c.publishVideo(0, outs, files)
}

// PublishScreen sends a VP8 file on the screen track (see PublishCamera).
func (c *Client) PublishScreen(file *VP8File) error {
	c.vslotsMu.Lock()
	out := c.screen
	c.vslotsMu.Unlock()
	if out == nil {
		return ErrNoVideo
	}
	return c.publishVideo(1, []*videoOut{out}, []*VP8File{file})
}

// StopCamera stops PublishCamera (and waits for it); StopScreen likewise.
func (c *Client) StopCamera() { c.stopVideo(0) }
func (c *Client) StopScreen() { c.stopVideo(1) }

// ErrNoVideo: the media connection has no video (join with WantVideo, on
// a server with video, and wait for the offer to be answered).
var ErrNoVideo = errors.New("palabre client: no video on this connection")

func (c *Client) publishVideo(k int, outs []*videoOut, files []*VP8File) error {
	c.vpubMu.Lock()
	defer c.vpubMu.Unlock()
	if p := c.vpub[k]; p != nil {
		select {
		case <-p.done:
		default:
			return ErrPublishing
		}
	}
	if !c.goStart() {
		return ErrClosed
	}
	p := &videoPublish{stop: make(chan struct{}), done: make(chan struct{})}
	c.vpub[k] = p
	go func() {
		defer c.wg.Done()
		defer close(p.done)
		c.runVideo(outs, files, p.stop)
	}()
	return nil
}

func (c *Client) stopVideo(k int) {
	c.vpubMu.Lock()
	defer c.vpubMu.Unlock()
	if p := c.vpub[k]; p != nil {
		close(p.stop)
		<-p.done
		c.vpub[k] = nil
	}
}

// runVideo sends one frame of every layer per interval (the first file's).
func (c *Client) runVideo(outs []*videoOut, files []*VP8File, stop <-chan struct{}) {
	pay := make([]codecs.VP8Payloader, len(outs))
	for k := range pay {
		pay[k].EnablePictureID = true
	}
	next := make([]int, len(outs))
	tick := time.NewTicker(files[0].Interval)
	defer tick.Stop()
	for {
		for k, o := range outs {
			f := files[k]
			o.mu.Lock()
			if o.wantKey {
				o.wantKey = false
				next[k] = f.nextKey(next[k])
			}
			o.mu.Unlock()
			c.writeFrame(o, &pay[k], f.Frames[next[k]], f.Interval)
			next[k] = (next[k] + 1) % len(f.Frames)
		}
		select {
		case <-stop:
			return
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// writeFrame packetizes one frame and writes it, with the mid and rid
// extensions by which the server tells the layers apart.
func (c *Client) writeFrame(o *videoOut, pay *codecs.VP8Payloader, frame []byte, interval time.Duration) {
	payloads := pay.Payload(1200, frame)
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, p := range payloads {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: VP8PayloadType, SequenceNumber: o.seq,
			Timestamp: o.ts, Marker: i == len(payloads)-1}, Payload: p}
		if o.midID != 0 && o.mid != "" {
			_ = pkt.Header.SetExtension(o.midID, []byte(o.mid))
		}
		if o.ridID != 0 && o.rid != "" {
			_ = pkt.Header.SetExtension(o.ridID, []byte(o.rid))
		}
		o.seq++
		if err := o.track.WriteRTP(&pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			c.log.Debug("video write", "err", err)
		}
	}
	o.sentFrames++
	o.ts += uint32(interval * 90000 / time.Second)
}

// KeyframeRequests counts the keyframe requests (PLI, FIR) the server sent
// for the camera layers (lowest first), then the screen.
func (c *Client) KeyframeRequests() []uint64 {
	c.vslotsMu.Lock()
	outs := append(append([]*videoOut(nil), c.camera...), c.screen)
	c.vslotsMu.Unlock()
	var n []uint64
	for _, o := range outs {
		if o != nil {
			o.mu.Lock()
			n = append(n, o.keyReqs)
			o.mu.Unlock()
		}
	}
	return n
}

// videoSlotOf maps a downstream video track to its slot: msid track id
// "camera-N" or "screen".
func videoSlotOf(tr *webrtc.TrackRemote) (videoKey, bool) {
	if tr.ID() == "screen" {
		return videoKey{screen: true}, true
	}
	if n, ok := strings.CutPrefix(tr.ID(), "camera-"); ok {
		if k, err := strconv.Atoi(n); err == nil && k >= 0 && k < proto.MaxVideoSlots {
			return videoKey{slot: k}, true
		}
	}
	return videoKey{}, false
}

// readVideoSlot reads one downstream video slot until the connection ends.
func (c *Client) readVideoSlot(k videoKey, tr *webrtc.TrackRemote) {
	st := c.videoSlot(k)
	c.vslotsMu.Lock()
	c.ssrcs = append(c.ssrcs, uint32(tr.SSRC()))
	c.vslotsMu.Unlock()
	buf := make([]byte, 1600)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		st.record(&p)
		c.vslotsMu.Lock()
		fn := c.onVideo
		c.vslotsMu.Unlock()
		if fn != nil {
			fn(k.screen, k.slot, &p)
		}
	}
}

func (c *Client) videoSlot(k videoKey) *videoSlotState {
	c.vslotsMu.Lock()
	defer c.vslotsMu.Unlock()
	if c.vslots == nil {
		c.vslots = make(map[videoKey]*videoSlotState)
	}
	st := c.vslots[k]
	if st == nil {
		st = &videoSlotState{}
		c.vslots[k] = st
	}
	return st
}

// OnVideoRTP sets fn to be called for every RTP packet received on a video
// slot, from that slot's reader; p is valid only during the call.
func (c *Client) OnVideoRTP(fn func(screen bool, slot int, p *rtp.Packet)) {
	c.vslotsMu.Lock()
	c.onVideo = fn
	c.vslotsMu.Unlock()
}

// VideoSlotStats counts what arrived on one video slot.
type VideoSlotStats struct {
	Packets   uint64
	Bytes     uint64 // RTP payload bytes
	Frames    uint64 // frames begun (first packets of a picture)
	Keyframes uint64
	// PictureGaps counts frames whose picture ID does not follow the
	// previous frame's: a decoder would see a lost frame.
	PictureGaps uint64
	SeqGaps     uint64 // sequence numbers skipped
	// Sources lists the publishers (CSRC) the slot carried, in order,
	// each change once (at most 64).
	Sources       []uint32
	LastPictureID uint16
	Width, Height int // of the last keyframe
	LastAt        time.Time
}

type videoSlotState struct {
	mu      sync.Mutex
	s       VideoSlotStats
	started bool
	lastSeq uint16
}

func (st *videoSlotState) record(p *rtp.Packet) {
	d, err := vp8.Parse(p.Payload)
	st.mu.Lock()
	defer st.mu.Unlock()
	s := &st.s
	s.Packets++
	s.Bytes += uint64(len(p.Payload))
	s.LastAt = time.Now()
	if len(p.CSRC) > 0 && (len(s.Sources) == 0 || s.Sources[len(s.Sources)-1] != p.CSRC[0]) && len(s.Sources) < 64 {
		s.Sources = append(s.Sources, p.CSRC[0])
	}
	if st.started && int16(p.SequenceNumber-st.lastSeq) > 1 {
		s.SeqGaps += uint64(p.SequenceNumber - st.lastSeq - 1)
	}
	if !st.started || int16(p.SequenceNumber-st.lastSeq) > 0 {
		st.lastSeq = p.SequenceNumber
	}
	if err != nil || !d.FrameStart() {
		st.started = true
		return
	}
	if st.started && s.Frames > 0 && d.PictureID != (s.LastPictureID+1)&0x7fff && d.PictureID != s.LastPictureID {
		s.PictureGaps++
	}
	if d.PictureID != s.LastPictureID || s.Frames == 0 {
		s.Frames++
	}
	s.LastPictureID = d.PictureID
	st.started = true
	if vp8.IsKeyframe(p.Payload) {
		s.Keyframes++
		if w, h, ok := vp8.KeyframeSize(p.Payload); ok {
			s.Width, s.Height = w, h
		}
	}
}

// VideoStats returns what arrived on camera slot slot (or the screen
// slot, slot 0) so far.
func (c *Client) VideoStats(screen bool, slot int) VideoSlotStats {
	st := c.videoSlot(videoKey{screen: screen, slot: slot})
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Sources = append([]uint32(nil), s.Sources...)
	return s
}

// VideoSlot is the server's last word (video_slot) on who a slot carries.
func (c *Client) VideoSlot(screen bool, slot int) proto.VideoSlot {
	c.vslotsMu.Lock()
	defer c.vslotsMu.Unlock()
	return c.occupant[videoKey{screen: screen, slot: slot}]
}

// noteVideoSlot keeps a video_slot event.
func (c *Client) noteVideoSlot(v *proto.VideoSlot) {
	if v == nil {
		return
	}
	c.vslotsMu.Lock()
	defer c.vslotsMu.Unlock()
	if c.occupant == nil {
		c.occupant = make(map[videoKey]proto.VideoSlot)
	}
	c.occupant[videoKey{screen: v.Kind == proto.VideoScreen, slot: v.Slot}] = *v
}

// SendREMB tells the server, as a browser's receive-side estimator would
// (RTCP REMB), that the client's link carries bps: the server's layer
// choice for this client follows it. A REMB stands for a few seconds:
// send one about every second. The video slots that received nothing yet
// are not named. Like Chromium's, it goes in a compound packet after a
// receiver report.
func (c *Client) SendREMB(bps uint64) error {
	c.vslotsMu.Lock()
	ssrcs := append([]uint32(nil), c.ssrcs...)
	if len(ssrcs) == 0 {
		// Nothing received yet: the slots the offer announces, so that
		// the server knows the link before the first layer is chosen.
		ssrcs = append(ssrcs, c.offered...)
	}
	c.vslotsMu.Unlock()
	c.pcMu.Lock()
	pc := c.pc
	c.pcMu.Unlock()
	if pc == nil || len(ssrcs) == 0 {
		return ErrNoVideo
	}
	return pc.WriteRTCP([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: ssrcs[0] ^ 1}, // no report blocks: any sender SSRC of ours
		&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps), SSRCs: ssrcs},
	})
}

// CameraOn says that the client sends its camera (see PublishCamera).
func (c *Client) CameraOn(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeCameraOn})
}

// CameraOff says it no longer does.
func (c *Client) CameraOff(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeCameraOff})
}

// ScreenOn says that the client shares its screen (see PublishScreen).
func (c *Client) ScreenOn(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeScreenOn})
}

// ScreenOff says it no longer does.
func (c *Client) ScreenOff(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeScreenOff})
}

// VideoWish tells the server what the client wants of its video slots.
func (c *Client) VideoWish(ctx context.Context, wishes ...proto.VideoWish) error {
	return c.do(ctx, proto.Message{Type: proto.TypeVideoWish, Wishes: wishes})
}

// SetVideo (organizers) allows video in the room, or makes it audio only.
func (c *Client) SetVideo(ctx context.Context, on bool) error {
	t := proto.TypeVideoOff
	if on {
		t = proto.TypeVideoOn
	}
	return c.do(ctx, proto.Message{Type: t})
}

// SetCameras (organizers) caps the cameras on at once.
func (c *Client) SetCameras(ctx context.Context, n int) error {
	return c.do(ctx, proto.Message{Type: proto.TypeSetCameras, MaxCameras: n})
}

// noteOfferedVideo records the SSRCs of the video slots the server's offer
// announces (its sendonly video m-lines), for SendREMB.
func (c *Client) noteOfferedVideo(offer string) {
	var parsed sdp.SessionDescription
	if parsed.UnmarshalString(offer) != nil {
		return
	}
	var ssrcs []uint32
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		if _, send := m.Attribute("sendonly"); !send {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key != "ssrc" {
				continue
			}
			f, _, _ := strings.Cut(a.Value, " ")
			if v, err := strconv.ParseUint(f, 10, 32); err == nil && !slices.Contains(ssrcs, uint32(v)) {
				ssrcs = append(ssrcs, uint32(v))
			}
		}
	}
	c.vslotsMu.Lock()
	c.offered = ssrcs
	c.vslotsMu.Unlock()
}
