package sfu

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"palabre/sfu/rtc"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rtcTransport is the Transport on the media plane of our own (package
// sfu/rtc, issue 16): ICE-lite, DTLS and SRTP on pion's primitives, one
// shared reader, no goroutine per participant. RTCOpener makes its
// OpenTransport, which every Engine uses (plane_rtc.go; the design: see
// docs/performance.md, "Own media plane").
//
// It plays the part of pion's PeerConnection for the forwarding logic:
//   - the offer is the Layout's m-lines, as the pion plane wrote them,
//     with the rtc engine's ICE-lite credentials and host candidate;
//   - the answer is checked by validateAnswer (answer.go's bounds), then
//     parsed and matched with rtc's; each outgoing stream is Bound with
//     the payload type and extension ids of its answered m-line once the
//     connection is up;
//   - incoming RTP is told apart as pion did: the first audio SSRC is the
//     microphone, video SSRCs go to the camera (its layer by RID) or the
//     screen by the m-line the answer announced them in, or the mid
//     extension; one SSRC per stream;
//   - incoming RTCP (a compound) is given once for each SSRC it is about,
//     as pion's SRTCP session does, with the same bound on the SSRCs that
//     are neither ours nor announced (maxUnknownRTCP).
type rtcTransport struct {
	e       *Engine
	h       Handler
	layout  Layout
	conn    *rtc.Conn
	outSSRC []uint32
	writers []rtcWriter

	mu sync.Mutex
	// offer is the offer until the answer comes; then lines keep what
	// the reader and bind need of the answer, and nothing of either
	// description stays (a parsed description's strings share its text:
	// keeping one keeps it all, for as long as the participant stays).
	offer    *rtc.Description
	answered bool
	lines    []answerLine // by m-line
	bound    bool
	cands    int
	closing  atomic.Bool
	failed   atomic.Bool
	levelID  uint8 // the microphone's audio-level extension id
	midExtID uint8 // the video m-lines' mid and rid extension ids
	ridExtID uint8

	// The reader's: the incoming streams, by SSRC.
	ins      [maxRTCIn]rtcIn
	nin      int
	taken    uint16 // streams read: bit Kind*3+Layer
	unknown  [maxUnknownRTCP]uint32
	nunknown int
}

const maxRTCIn = 16 // the rtc engine's own SSRC budget

// answerLine is what the transport keeps of one m-line of the answer.
type answerLine struct {
	ssrcs []uint32 // announced
	mid   string
	// The outgoing stream's, if its codec was answered (bind).
	ok                     bool
	pt                     uint8
	levelID, absID, twccID uint8
}

// answerLines takes what the transport keeps of answer d.
func answerLines(d *rtc.Description) []answerLine {
	lines := make([]answerLine, len(d.Media))
	for i := range d.Media {
		m := &d.Media[i]
		l := &lines[i]
		l.ssrcs = slices.Clip(slices.Clone(m.SSRCs))
		l.mid = strings.Clone(m.MID)
		name := "opus"
		if m.Kind == "video" {
			name = "VP8"
		}
		if c := m.Codec(name); c != nil && !m.Rejected {
			l.ok, l.pt = true, c.PayloadType
		}
		l.levelID, l.absID, l.twccID = m.ExtensionID(audioLevelURI), m.ExtensionID(absSendTimeURI), m.ExtensionID(transportCCURI)
	}
	return lines
}

// announces reports whether an m-line of the answer announced ssrc.
func (t *rtcTransport) announces(ssrc uint32) bool {
	return slices.ContainsFunc(t.lines, func(l answerLine) bool { return slices.Contains(l.ssrcs, ssrc) })
}

type rtcIn struct {
	ssrc uint32
	in   *InStream // nil: an SSRC that is no stream of ours (ignored)
}

// rtcWriter is the StreamWriter of one outgoing stream.
type rtcWriter struct{ t *rtcTransport }

func (w *rtcWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if h.Padding && h.PaddingSize > 0 && len(payload) == 0 {
		return w.writePadding(h)
	}
	if err := w.t.conn.WriteRTP(h, payload); err != nil {
		return 0, err
	}
	return h.MarshalSize() + len(payload), nil
}

// writePadding writes a padding-only packet: rtc.Conn writes the payload
// as given, so the padding goes in it.
func (w *rtcWriter) writePadding(h *rtp.Header) (int, error) {
	var pad [255]byte
	n := h.PaddingSize
	pad[n-1] = n
	if err := w.t.conn.WriteRTP(h, pad[:n]); err != nil {
		return 0, err
	}
	return h.MarshalSize() + int(n), nil
}

// RTCOpener returns the OpenTransport of the rtc engine re: each
// participant's connection is one of re's.
func RTCOpener(re *rtc.Engine) OpenTransport {
	return func(e *Engine, l Layout, h Handler, _ func(webrtc.ICECandidateInit)) (Transport, string, error) {
		return openRTC(e, re, l, h)
	}
}

func openRTC(e *Engine, re *rtc.Engine, l Layout, h Handler) (Transport, string, error) {
	t := &rtcTransport{e: e, h: h, layout: l, outSSRC: make([]uint32, l.Outs())}
	t.writers = make([]rtcWriter, l.Outs())
	for i := range t.writers {
		t.writers[i].t = t
	}
	seen := map[uint32]bool{0: true}
	for i := range t.outSSRC {
		for seen[t.outSSRC[i]] {
			var b [4]byte
			_, _ = rand.Read(b[:])
			t.outSSRC[i] = binary.BigEndian.Uint32(b[:])
		}
		seen[t.outSSRC[i]] = true
	}
	c, err := re.NewConn(t)
	if err != nil {
		return nil, "", err
	}
	t.conn = c
	if l.VideoSlots > 0 {
		c.SetRates(rtc.VideoRates)
	}
	offer := c.Offer(t.media())
	text, err := offer.Marshal()
	if err != nil {
		c.Close()
		return nil, "", err
	}
	t.offer = offer
	return t, text, nil
}

// The offer's codecs and header extension ids (the answer's are used).
var (
	rtcOpus = rtc.Codec{PayloadType: opusPayloadType, Name: "opus", ClockRate: opusClockRate, Channels: 2,
		Fmtp: "minptime=10;useinbandfec=1", Feedback: []string{"nack"}}
	rtcVP8 = rtc.Codec{PayloadType: vp8PayloadType, Name: "VP8", ClockRate: videoClockRate,
		Feedback: []string{"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"}}
	rtcAudioExt = []rtc.Extension{{ID: 1, URI: audioLevelURI}}
	rtcVideoExt = []rtc.Extension{{ID: 2, URI: absSendTimeURI}, {ID: 3, URI: midURI}, {ID: 4, URI: ridURI}, {ID: 5, URI: repairedRIDURI}}
	// The slots (sendonly) also carry transport-wide sequence numbers
	// (twcc.go); a camera m-line does not (the browser would wait for feedback).
	rtcSlotExt = append(rtcVideoExt[:len(rtcVideoExt):len(rtcVideoExt)], rtc.Extension{ID: 6, URI: transportCCURI})
)

// media is the Layout's m-lines, in transport.go's order (Layout).
func (t *rtcTransport) media() []rtc.Media {
	l := t.layout
	var ms []rtc.Media
	add := func(kind string, dir rtc.Direction, out int, track string) *rtc.Media {
		m := rtc.Media{Kind: kind, MID: strconv.Itoa(len(ms)), Direction: dir, RTCPMux: true}
		if kind == "audio" {
			m.Codecs, m.Extensions = []rtc.Codec{rtcOpus}, rtcAudioExt
		} else {
			m.Codecs, m.Extensions, m.RTCPRsize = []rtc.Codec{rtcVP8}, rtcVideoExt, true
			if dir == rtc.SendOnly {
				m.Extensions = rtcSlotExt
			}
		}
		if out >= 0 {
			m.SSRCs, m.CNAME, m.StreamID, m.TrackID = []uint32{t.outSSRC[out]}, streamID, streamID, track
		}
		ms = append(ms, m)
		return &ms[len(ms)-1]
	}
	add("audio", rtc.RecvOnly, -1, "")
	for i := range l.AudioSlots {
		add("audio", rtc.SendOnly, i, "slot-"+strconv.Itoa(i))
	}
	if l.VideoSlots > 0 {
		cam := add("video", rtc.RecvOnly, -1, "")
		cam.RIDs = []rtc.RID{{ID: "f", Direction: "recv"}, {ID: "h", Direction: "recv"}, {ID: "q", Direction: "recv"}}
		cam.Simulcast = "recv " + simulcastRecvRIDs
		add("video", rtc.RecvOnly, -1, "")
		for j := range l.VideoSlots {
			add("video", rtc.SendOnly, l.cameraOut(j), cameraSlotID(j))
		}
		add("video", rtc.SendOnly, l.screenOut(), screenSlotID)
	}
	return ms
}

// outMLine is the m-line index of outgoing stream out.
func (t *rtcTransport) outMLine(out int) int {
	if out < t.layout.AudioSlots {
		return 1 + out
	}
	return 1 + t.layout.AudioSlots + 2 + (out - t.layout.AudioSlots)
}

func (t *rtcTransport) OutSSRC(out int) uint32 { return t.outSSRC[out] }

// SetAnswer checks the answer (answer.go's bounds, then rtc's parse)
// and gives it to the connection.
func (t *rtcTransport) SetAnswer(text string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.answered {
		return ErrAnswered
	}
	mids := make([]string, len(t.offer.Media))
	for i, m := range t.offer.Media {
		mids[i] = m.MID
	}
	info, err := validateAnswer(text, mids, t.layout)
	if err != nil {
		if errors.Is(err, errAnswerCandidates) {
			t.e.stats.candidate.Add(1)
		}
		return fmt.Errorf("sfu: answer: %w", err)
	}
	d, err := rtc.ParseDescription(text)
	if err == nil {
		err = rtc.CheckAnswer(t.offer, d)
	}
	if err != nil {
		return fmt.Errorf("sfu: answer: %w", err)
	}
	remote := rtc.RemoteFrom(d)
	remote.SSRCs = info.ssrcs
	if err := t.conn.SetRemote(remote); err != nil {
		return fmt.Errorf("sfu: answer: %w", err)
	}
	t.answered, t.offer = true, nil
	t.lines = answerLines(d)
	t.levelID = d.Media[0].ExtensionID(audioLevelURI)
	if t.layout.VideoSlots > 0 {
		cam := &d.Media[t.layout.cameraIn()]
		t.midExtID, t.ridExtID = cam.ExtensionID(midURI), cam.ExtensionID(ridURI)
	}
	t.cands = info.candidates
	return nil
}

// AddCandidate counts trickled candidates (an ICE-lite server learns the
// client's addresses from its checks and needs none).
func (t *rtcTransport) AddCandidate(webrtc.ICECandidateInit) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cands >= maxRemoteCandidates {
		t.e.stats.candidate.Add(1)
		return ErrTooManyCandidates
	}
	t.cands++
	return nil
}

func (t *rtcTransport) WriteRTCP(pkts []rtcp.Packet) error {
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	return t.conn.WriteRTCP(b)
}

// Kind: the selected path's (ICE-TCP, or UDP). A client relayed by the node's own TURN
// server reaches the media socket from one of its relays' addresses
// (Engine.SetRelayCheck); one relayed by another TURN server is not told
// apart from a direct one.
func (t *rtcTransport) Kind() ConnKind {
	switch {
	case t.conn.PathKind() == rtc.PathTCP:
		return ConnTCP
	case t.e.isRelay(t.conn.RemoteAddr()):
		return ConnRelay
	}
	return ConnUDP
}

// Close closes the connection; when it returns no Handler call is in
// progress (rtc.Conn.Close) and the outgoing streams are unbound.
func (t *rtcTransport) Close() error {
	t.closing.Store(true)
	t.conn.Close()
	t.mu.Lock()
	bound := t.bound
	t.bound = false
	t.mu.Unlock()
	if bound {
		for out := range t.outSSRC {
			t.h.Unbound(out)
		}
	}
	return nil
}

// StateChanged is rtc's: states become the Handler's; the first time the
// connection is up, the outgoing streams are bound.
func (t *rtcTransport) StateChanged(_ *rtc.Conn, s rtc.State) {
	switch s {
	case rtc.StateConnected:
		t.bind()
		t.h.State(ConnConnected)
	case rtc.StateDisconnected:
		t.h.State(ConnDisconnected)
	case rtc.StateFailed:
		t.h.State(ConnFailed)
	case rtc.StateClosed:
		if !t.closing.Load() {
			t.h.State(ConnClosed) // the peer closed DTLS
		}
	}
}

func (t *rtcTransport) bind() {
	t.mu.Lock()
	if t.bound || !t.answered {
		t.mu.Unlock()
		return
	}
	t.bound = true
	lines := t.lines
	t.mu.Unlock()
	for out := range t.outSSRC {
		l := &lines[t.outMLine(out)]
		if !l.ok {
			continue
		}
		t.h.Bound(out, OutStream{
			Writer: &t.writers[out], SSRC: t.outSSRC[out], PayloadType: l.pt,
			AudioLevelID: l.levelID, AbsSendTimeID: l.absID, TransportCCID: l.twccID,
		})
	}
}

// HandleRTP is rtc's (the reader goroutine): the packet goes to the
// Handler with the stream its SSRC belongs to.
func (t *rtcTransport) HandleRTP(_ *rtc.Conn, p *rtp.Packet, raw []byte) {
	var in *InStream
	found := false
	for i := range t.nin {
		if t.ins[i].ssrc == p.SSRC {
			in, found = t.ins[i].in, true
			break
		}
	}
	if !found {
		in = t.classify(p)
		if t.nin < maxRTCIn {
			t.ins[t.nin] = rtcIn{ssrc: p.SSRC, in: in}
			t.nin++
		}
	}
	if in != nil {
		t.h.RTP(in, raw)
	}
}

// classify finds the stream of a new SSRC, nil if it is none of ours or
// its stream is already read from another SSRC.
func (t *rtcTransport) classify(p *rtp.Packet) *InStream {
	t.mu.Lock()
	answered, lines := t.answered, t.lines
	levelID, midID, ridID := t.levelID, t.midExtID, t.ridExtID
	t.mu.Unlock()
	if !answered {
		return nil
	}
	mline := -1
	for i, l := range lines {
		if slices.Contains(l.ssrcs, p.SSRC) {
			mline = i
		}
	}
	if mline < 0 && midID != 0 {
		if mid := p.GetExtension(midID); mid != nil {
			for i, l := range lines {
				if l.mid == string(mid) {
					mline = i
				}
			}
		}
	}
	in := &InStream{SSRC: p.SSRC}
	switch {
	case mline == 0 || (mline < 0 && p.PayloadType == opusPayloadType):
		in.Kind, in.AudioLevelID = StreamMicrophone, levelID
	case t.layout.VideoSlots == 0 || mline < 0:
		return nil
	case mline == t.layout.cameraIn():
		in.Kind = StreamCamera
		rid := ""
		if ridID != 0 {
			rid = string(p.GetExtension(ridID))
		}
		if in.Layer = ridLayer(rid); in.Layer < 0 {
			return nil
		}
	case mline == t.layout.cameraIn()+1:
		in.Kind = StreamScreen
	default:
		return nil
	}
	bit := uint16(1) << (int(in.Kind)*len(cameraRIDs) + in.Layer)
	if t.taken&bit != 0 {
		return nil
	}
	t.taken |= bit
	return in
}

// HandleRTCP is rtc's: the compound goes to the Handler once for each
// SSRC it is about, as pion's SRTCP session does.
func (t *rtcTransport) HandleRTCP(_ *rtc.Conn, b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	var done [16]uint32
	n := 0
	for _, pkt := range pkts {
		for _, ssrc := range pkt.DestinationSSRC() {
			if slices.Contains(done[:n], ssrc) {
				continue
			}
			if n < len(done) {
				done[n] = ssrc
				n++
			}
			if !t.knownRTCP(ssrc) {
				continue
			}
			t.h.RTCP(ssrc, b)
		}
	}
}

// knownRTCP: our SSRCs, the announced ones and the first maxUnknownRTCP
// others; past those the participant is hostile (it could make us keep
// state for any number of SSRCs: pion would).
func (t *rtcTransport) knownRTCP(ssrc uint32) bool {
	if slices.Contains(t.outSSRC, ssrc) {
		return true
	}
	for i := range t.nin {
		if t.ins[i].ssrc == ssrc {
			return true
		}
	}
	t.mu.Lock()
	announced := t.announces(ssrc)
	t.mu.Unlock()
	if announced || slices.Contains(t.unknown[:t.nunknown], ssrc) {
		return true
	}
	if t.nunknown < len(t.unknown) {
		t.unknown[t.nunknown] = ssrc
		t.nunknown++
		t.e.stats.unknownSSRC.Add(1)
		return true
	}
	if t.failed.CompareAndSwap(false, true) {
		t.e.stats.closedHostile.Add(1)
		t.h.Fail(ErrHostileMedia)
	}
	return false
}

// maxUnknownRTCP is the number of SSRCs a participant's RTCP may be about
// that are neither the server's nor announced in its answer (an honest
// client names only those and its own, plus a few it did not announce:
// its receiver reports'); past it the participant is closed as hostile.
const maxUnknownRTCP = 16

// ErrHostileMedia is the error ParticipantClosed reports for a participant
// closed for its RTCP (see maxUnknownRTCP).
var ErrHostileMedia = errors.New("sfu: participant closed: RTCP about too many unknown SSRCs")

// maxAnnouncedSSRCs is the number of SSRCs an answer may announce: the
// microphone, and some browsers announce one per receiving m-line.
const maxAnnouncedSSRCs = 16

// ridLayer is the simulcast layer of a RID ("" for a camera sent without
// simulcast: layer 0), -1 for a RID not offered.
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
