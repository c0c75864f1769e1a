package client

import (
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"palabre/internal/pionlog"
	"palabre/internal/testkit"
	"palabre/signaling/proto"
)

// fakePeer is the server side of the media: a real pion PeerConnection
// that offers like Palabre does (one recvonly m-line for the client's
// microphone, then sendonly "slot-N" tracks) and trickles its candidates,
// here all of them before the offer to exercise the client's queue.
type fakePeer struct {
	t     *testing.T
	s     *session
	pc    *webrtc.PeerConnection
	slots []*webrtc.TrackLocalStaticRTP

	audioLevelID int // in the offer
	up           chan *rtp.Packet

	mu         sync.Mutex
	answers    []string
	clientCand []string
	remoteSet  bool
}

// fakeExtensions are registered before the audio level, so that its
// offered id is not the one the client would pick itself.
var fakeExtensions = []string{
	"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	"urn:ietf:params:rtp-hdrext:toffset",
}

func newFakePeer(t *testing.T, s *session, slots int) *fakePeer {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111},
		webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	for _, uri := range append(fakeExtensions, AudioLevelURI) {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	setLoopbackOnly(&se)
	se.LoggerFactory = pionlog.Factory(discardLogger())
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	fp := &fakePeer{t: t, s: s, pc: pc, up: make(chan *rtp.Packet, 4096)}
	s.onClose(func() { pc.Close() })

	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	for i := range slots {
		track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "slot-"+strconv.Itoa(i), "palabre")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(track,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		fp.slots = append(fp.slots, track)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case fp.up <- p:
			default:
			}
		}
	})
	return fp
}

var extmapRe = regexp.MustCompile(`a=extmap:(\d+) ` + regexp.QuoteMeta(AudioLevelURI))

// offer makes an offer and sends it; on the first one, the candidates
// are sent before the offer.
func (fp *fakePeer) offer(candidatesFirst bool) {
	t := fp.t
	var (
		cmu   sync.Mutex
		cands []webrtc.ICECandidateInit
	)
	if candidatesFirst {
		fp.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				cmu.Lock()
				cands = append(cands, c.ToJSON())
				cmu.Unlock()
			}
		})
	}
	offer, err := fp.pc.CreateOffer(nil)
	if err != nil {
		t.Error(err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(fp.pc)
	if err := fp.pc.SetLocalDescription(offer); err != nil {
		t.Error(err)
		return
	}
	if m := extmapRe.FindStringSubmatch(offer.SDP); m != nil {
		fp.audioLevelID, _ = strconv.Atoi(m[1])
	}
	if candidatesFirst {
		select {
		case <-gathered:
		case <-time.After(5 * time.Second):
			t.Error("server gathering timed out")
		}
		cmu.Lock()
		if len(cands) == 0 {
			t.Error("the server gathered no candidate")
		}
		for _, c := range cands {
			fp.s.send(proto.Message{Type: proto.TypeCandidate, Candidate: &proto.Candidate{
				Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
			}})
		}
		cmu.Unlock()
	}
	fp.s.send(proto.Message{Type: proto.TypeOffer, SDP: offer.SDP})
}

func (fp *fakePeer) handle(m proto.Message) {
	switch m.Type {
	case proto.TypeAnswer:
		if err := fp.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			fp.t.Errorf("server: set answer: %v", err)
			fp.s.send(proto.ErrorReply(m.ID, proto.CodeBadState, err.Error()))
			return
		}
		fp.mu.Lock()
		fp.answers = append(fp.answers, m.SDP)
		fp.remoteSet = true
		fp.mu.Unlock()
		fp.s.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
	case proto.TypeCandidate:
		fp.mu.Lock()
		ok := fp.remoteSet
		fp.clientCand = append(fp.clientCand, m.Candidate.Candidate)
		fp.mu.Unlock()
		if !ok {
			fp.t.Errorf("client candidate before its answer: %s", m.Candidate.Candidate)
			return
		}
		if err := fp.pc.AddICECandidate(webrtc.ICECandidateInit{
			Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
			SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment,
		}); err != nil {
			fp.t.Errorf("server: add candidate: %v", err)
		}
	}
}

func (fp *fakePeer) snapshot() (answers, cands []string) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return append([]string(nil), fp.answers...), append([]string(nil), fp.clientCand...)
}

// sendOnSlot writes an RTP stream with CSRC source on a slot until stop.
func (fp *fakePeer) sendOnSlot(slot int, source uint32, stop <-chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 65500, Timestamp: 1234, CSRC: []uint32{source}},
		Payload: make([]byte, 60),
	}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		_ = fp.slots[slot].WriteRTP(p)
		p.SequenceNumber++
		p.Timestamp += 960
	}
}

func TestMediaWithRealPeer(t *testing.T) {
	const source = 42
	peers := make(chan *fakePeer, 1)
	stop := make(chan struct{})
	var srv *fakePeer // the handler's
	fs := startFake(t, func(s *session, m proto.Message) {
		switch m.Type {
		case proto.TypeJoin:
			s.standard(m)
			srv = newFakePeer(t, s, 3)
			srv.offer(true)
			peers <- srv
			fp := srv
			s.fs.goSession(func() { fp.sendOnSlot(1, source, stop) })
			s.onClose(func() {
				select {
				case <-stop:
				default:
					close(stop)
				}
			})
		case proto.TypeAnswer, proto.TypeCandidate:
			srv.handle(m)
		default:
			s.standard(m)
		}
	})

	c := dialFake(t, fs, Options{})
	if !c.loopback {
		t.Fatal("a 127.0.0.1 server did not select loopback-only ICE")
	}
	var onRTP [3]atomic.Uint64
	c.OnRTP(func(slot int, p *rtp.Packet) {
		if slot >= 0 && slot < 3 && len(p.CSRC) == 1 && p.CSRC[0] == source {
			onRTP[slot].Add(1)
		}
	})
	ctx := testCtx(t, 20*time.Second)
	if _, err := c.Join(ctx, JoinRequest{Room: "r", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("media: %v", err)
	}
	fp := <-peers

	// The answer: microphone m-line sendonly, slots recvonly; candidates
	// after it, all on loopback.
	answers, cands := fp.snapshot()
	if len(answers) != 1 {
		t.Fatalf("%d answers", len(answers))
	}
	sections := strings.Split(answers[0], "\nm=")[1:]
	if len(sections) != 4 {
		t.Fatalf("answer has %d m-lines, want 4", len(sections))
	}
	for i, sec := range sections {
		want := "a=recvonly"
		if i == 0 {
			want = "a=sendonly"
		}
		if !strings.Contains(sec, want) {
			t.Errorf("answer m-line %d is not %s:\n%s", i, want, sec)
		}
	}
	if len(cands) == 0 {
		t.Error("the client trickled no candidate")
	}
	for _, cand := range cands {
		f := strings.Fields(cand)
		if len(f) < 5 || net.ParseIP(f[4]) == nil || !net.ParseIP(f[4]).IsLoopback() {
			t.Errorf("client candidate not on loopback: %q", cand)
		}
	}

	// Upstream: the tone, with the negotiated audio-level id.
	if fp.audioLevelID == 0 || int(c.audioLevelID.Load()) != fp.audioLevelID {
		t.Fatalf("audio-level id: client %d, offer %d", c.audioLevelID.Load(), fp.audioLevelID)
	}
	if err := c.Publish(NewToneSource([]byte("tone"), 25)); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(NewToneSource([]byte("other"), 25)); !errors.Is(err, ErrPublishing) {
		t.Errorf("second Publish: %v, want ErrPublishing", err)
	}
	var prev *rtp.Packet
	var prevCounter uint64
	for i := range 25 {
		var p *rtp.Packet
		select {
		case p = <-fp.up:
		case <-time.After(5 * time.Second):
			t.Fatalf("server got %d packets of the tone", i)
		}
		ext := p.GetExtension(uint8(fp.audioLevelID))
		var lvl rtp.AudioLevelExtension
		if err := lvl.Unmarshal(ext); err != nil || lvl.Level != 25 || !lvl.Voice {
			t.Fatalf("packet %d: audio level %+v (%v), extension ids %v", i, lvl, err, p.GetExtensionIDs())
		}
		counter, sent, ok := ParseToneFrame(p.Payload, []byte("tone"))
		if !ok || time.Since(sent) > 5*time.Second || time.Since(sent) < 0 {
			t.Fatalf("packet %d: not a tone frame: %x", i, p.Payload)
		}
		if prev != nil {
			if counter != prevCounter+1 || p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp != prev.Timestamp+960 {
				t.Errorf("packet %d: counter %d seq %d ts %d after %d %d %d", i, counter, p.SequenceNumber, p.Timestamp,
					prevCounter, prev.SequenceNumber, prev.Timestamp)
			}
		} else if counter == 0 && !p.Marker {
			t.Error("first packet without the marker bit")
		}
		prev, prevCounter = p, counter
	}

	// Downstream: slot 1 carries source 42.
	testkit.Eventually(t, 5*time.Second, "slot 1 carries the source", func() bool {
		return c.Stats()[1].BySource[source] >= 25
	})
	st := c.Stats()
	if len(st) != 3 || st[0].Packets != 0 || st[2].Packets != 0 {
		t.Errorf("stats %+v", st)
	}
	if st[1].Gaps != 0 || st[1].Reordered != 0 || st[1].Bytes != 60*st[1].Packets {
		t.Errorf("slot 1 stats %+v", st[1])
	}
	if onRTP[1].Load() == 0 || onRTP[0].Load() != 0 {
		t.Errorf("OnRTP counts %d %d %d", onRTP[0].Load(), onRTP[1].Load(), onRTP[2].Load())
	}
	if n := c.Negotiations(); n != 1 {
		t.Errorf("%d negotiations, want 1", n)
	}

	// A second offer is answered too, and counted.
	fp.offer(false)
	testkit.Eventually(t, 5*time.Second, "the second offer is answered", func() bool {
		a, _ := fp.snapshot()
		return len(a) == 2
	})
	if n := c.Negotiations(); n != 2 {
		t.Errorf("%d negotiations, want 2", n)
	}
	before := c.Stats()[1].Packets
	testkit.Eventually(t, 5*time.Second, "audio still flows", func() bool { return c.Stats()[1].Packets > before+10 })

	c.StopPublishing()
	<-c.PublishDone()
	if c.Publishing() {
		t.Error("still publishing")
	}
	sent, _ := c.SentPackets()
	if sent < 25 {
		t.Errorf("sent %d packets", sent)
	}
	// Raw access keeps working without Publish.
	if err := c.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: []byte{1, 2, 3}}); err != nil {
		t.Error(err)
	}
	c.Close()
	if c.ConnectionState() != webrtc.PeerConnectionStateClosed {
		t.Errorf("state %s after close", c.ConnectionState())
	}
}

// A refused answer fails WaitConnected with the server's error; closing
// in the middle of the setup leaves nothing running (goleak).
func TestAnswerRefusedAndEarlyClose(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		switch m.Type {
		case proto.TypeJoin:
			s.standard(m)
			fp := newFakePeer(t, s, 2)
			fp.offer(false)
		case proto.TypeAnswer:
			s.send(proto.ErrorReply(m.ID, proto.CodeBadState, "no thanks"))
		case proto.TypeCandidate:
		default:
			s.standard(m)
		}
	})
	c := dialFake(t, fs, Options{LoopbackOnly: true})
	ctx := testCtx(t, 10*time.Second)
	if _, err := c.Join(ctx, JoinRequest{Room: "r", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	err := c.WaitConnected(ctx)
	var pe *proto.Error
	if !errors.As(err, &pe) || pe.Code != proto.CodeBadState {
		t.Fatalf("WaitConnected: %v, want the bad_state refusal", err)
	}

	c2 := dialFake(t, fs, Options{})
	if _, err := c2.Join(ctx, JoinRequest{Room: "r", Name: "n2"}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Publish(NewToneSource([]byte("x"), 0)); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if err := c2.WaitConnected(ctx); err == nil {
		t.Error("WaitConnected after Close succeeded")
	}
}

// With Options.OnOffer the client makes no PeerConnection: the server's
// offer goes to OnOffer, its result is the answer, trickled candidates
// are ignored, WaitConnected returns once the answer is accepted, and
// requests such as push-to-talk work as usual.
func TestOnOfferReplacesMedia(t *testing.T) {
	answers := make(chan string, 2)
	fs := startFake(t, func(s *session, m proto.Message) {
		switch m.Type {
		case proto.TypeJoin:
			s.standard(m)
			s.send(proto.Message{Type: proto.TypeCandidate, Candidate: &proto.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}})
			s.send(proto.Message{Type: proto.TypeOffer, SDP: "the offer"})
		case proto.TypeAnswer:
			answers <- m.SDP
			s.send(proto.Message{Type: proto.TypeAck, ID: m.ID})
		default:
			s.standard(m)
		}
	})
	var offers atomic.Int32
	c := dialFake(t, fs, Options{OnOffer: func(offer string) (string, error) {
		offers.Add(1)
		return "answer to " + offer, nil
	}})
	ctx := testCtx(t, 10*time.Second)
	if _, err := c.Join(ctx, JoinRequest{Room: "r", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-answers; got != "answer to the offer" {
		t.Errorf("the server got the answer %q", got)
	}
	if err := c.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if n := offers.Load(); n != 1 || c.ConnectionState() != webrtc.PeerConnectionStateNew {
		t.Errorf("OnOffer called %d times; connection state %v (no PeerConnection expected)", n, c.ConnectionState())
	}

	// An OnOffer error fails WaitConnected, and no answer is sent.
	c2 := dialFake(t, fs, Options{OnOffer: func(string) (string, error) { return "", errors.New("no thanks") }})
	if _, err := c2.Join(ctx, JoinRequest{Room: "r", Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := c2.WaitConnected(ctx); err == nil || !strings.Contains(err.Error(), "no thanks") {
		t.Errorf("WaitConnected: %v", err)
	}
	select {
	case a := <-answers:
		t.Errorf("an answer %q after OnOffer failed", a)
	default:
	}
}
