package rtc

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"palabre/internal/pionlog"
	"palabre/internal/testkit"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger discards, or logs at debug level with RTC_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("RTC_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: pionlog.LevelTrace}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Logger = testLogger()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// recorder is a Handler that keeps copies of what it gets.
type recorder struct {
	mu     sync.Mutex
	rtp    []rtp.Packet
	rtcp   [][]byte
	states []State
	state  chan State // every state, non-blocking
}

func newRecorder() *recorder { return &recorder{state: make(chan State, 16)} }

func (r *recorder) HandleRTP(_ *Conn, p *rtp.Packet, _ []byte) {
	q := rtp.Packet{Header: p.Header.Clone(), Payload: bytes.Clone(p.Payload)}
	r.mu.Lock()
	r.rtp = append(r.rtp, q)
	r.mu.Unlock()
}

func (r *recorder) HandleRTCP(_ *Conn, pkt []byte) {
	r.mu.Lock()
	r.rtcp = append(r.rtcp, bytes.Clone(pkt))
	r.mu.Unlock()
}

func (r *recorder) StateChanged(_ *Conn, s State) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	select {
	case r.state <- s:
	default:
	}
}

func (r *recorder) packets() []rtp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Packet(nil), r.rtp...)
}

func (r *recorder) rtcpCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rtcp)
}

func (r *recorder) stateList() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]State(nil), r.states...)
}

// waitState waits until the connection is in state s.
func waitState(t testing.TB, c *Conn, s State, within time.Duration) {
	t.Helper()
	testkit.Eventually(t, within, "connection "+s.String(), func() bool { return c.State() == s })
}

const (
	opusPT   = 111
	levelExt = 1
)

var opus = Codec{PayloadType: opusPT, Name: "opus", ClockRate: 48000, Channels: 2,
	Fmtp: "minptime=10;useinbandfec=1", Feedback: []string{"nack"}}

// audioMedia is the audio part of Palabre's offer: the microphone
// (recvonly for the server) and slots sendonly sections with the given
// SSRCs.
func audioMedia(slotSSRCs ...uint32) []Media {
	ext := []Extension{{ID: levelExt, URI: ExtAudioLevel}}
	media := []Media{{Kind: "audio", MID: "0", Direction: RecvOnly, Codecs: []Codec{opus}, Extensions: ext, RTCPMux: true}}
	for i, ssrc := range slotSSRCs {
		mid := string(rune('1' + i))
		media = append(media, Media{
			Kind: "audio", MID: mid, Direction: SendOnly, Codecs: []Codec{opus}, Extensions: ext, RTCPMux: true,
			SSRCs: []uint32{ssrc}, CNAME: "palabre", StreamID: "palabre", TrackID: "slot-" + mid,
		})
	}
	return media
}

// pionAPI is a pion API for test clients: loopback only, no mDNS, Opus
// with the audio-level extension, no interceptors.
var pionAPI = sync.OnceValue(func() *webrtc.API { return newPionAPI(webrtc.NetworkTypeUDP4) })

// pionTCPAPI is pionAPI with ICE-TCP only (active candidates).
var pionTCPAPI = sync.OnceValue(func() *webrtc.API { return newPionAPI(webrtc.NetworkTypeTCP4) })

func newPionAPI(network webrtc.NetworkType) *webrtc.API {
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(testLogger())}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{network})
	se.SetInterfaceFilter(func(name string) bool {
		ifi, err := net.InterfaceByName(name)
		return err == nil && ifi.Flags&net.FlagLoopback != 0
	})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}},
		},
		PayloadType: opusPT,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ExtAudioLevel}, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
}

// pionClient is a real pion PeerConnection (a full ICE agent) answering
// the engine's offer, with a microphone track and a reader per received
// track.
type pionClient struct {
	pc        *webrtc.PeerConnection
	mic       *webrtc.TrackLocalStaticRTP
	answer    string
	connected chan struct{}
	mu        sync.Mutex
	got       []rtp.Packet
	wg        sync.WaitGroup
}

func newPionClient(t testing.TB, offer string) *pionClient {
	t.Helper()
	return newPionClientOn(t, pionAPI(), offer)
}

func newPionClientOn(t testing.TB, api *webrtc.API, offer string) *pionClient {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pionClient{pc: pc, connected: make(chan struct{})}
	t.Cleanup(p.close)
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(p.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.wg.Add(1)
		defer p.wg.Done()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.got = append(p.got, *pkt)
			p.mu.Unlock()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	p.mic, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(p.mic); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	p.answer = pc.LocalDescription().SDP
	return p
}

func (p *pionClient) received() []rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Packet(nil), p.got...)
}

func (p *pionClient) close() {
	_ = p.pc.Close()
	p.wg.Wait()
}

// serverConn creates a server connection, its offer (audio: the
// microphone and the given slots) and returns the offer's SDP.
func serverConn(t testing.TB, e *Engine, h Handler, slots ...uint32) (*Conn, *Description, string) {
	t.Helper()
	c, err := e.NewConn(h)
	if err != nil {
		t.Fatal(err)
	}
	offer := c.Offer(audioMedia(slots...))
	text, err := offer.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return c, offer, text
}

// applyAnswer parses and checks an answer and gives it to c.
func applyAnswer(t testing.TB, c *Conn, offer *Description, answer string) *Description {
	t.Helper()
	d, err := ParseDescription(answer)
	if err != nil {
		t.Fatalf("answer: %v\n%s", err, answer)
	}
	if err := CheckAnswer(offer, d); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRemote(RemoteFrom(d)); err != nil {
		t.Fatal(err)
	}
	return d
}

// clientPair is a server connection and a client-mode connection to it.
type clientPair struct {
	server, client   *Conn
	sh, ch           *recorder
	offer, answer    *Description
	micSSRC          uint32
	slotSSRC         uint32
	serverE, clientE *Engine
}

// dialPair connects a client-mode connection of ce to a new server
// connection of se, as signaling would: the offer parsed by the client,
// its answer parsed by the server. It waits until both are connected.
func dialPair(t testing.TB, se, ce *Engine) *clientPair {
	t.Helper()
	return dialPairWith(t, se, ce, func(r *recorder) Handler { return r })
}

// dialPairWith is dialPair with the server connection's Handler made by
// wrap around the recorder.
func dialPairWith(t testing.TB, se, ce *Engine, wrap func(*recorder) Handler) *clientPair {
	t.Helper()
	p := &clientPair{sh: newRecorder(), ch: newRecorder(), micSSRC: 0xA11CE, slotSSRC: 0x5107, serverE: se, clientE: ce}
	var offerSDP string
	p.server, p.offer, offerSDP = serverConn(t, se, wrap(p.sh), p.slotSSRC)
	offer, err := ParseDescription(offerSDP)
	if err != nil {
		t.Fatal(err)
	}
	if !offer.ICELite || len(offer.Candidates) != 1 {
		t.Fatalf("offer: ice-lite %v, candidates %v", offer.ICELite, offer.Candidates)
	}
	p.client, err = ce.Dial(offer.Candidates[0].Addr, RemoteFrom(offer), p.ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.client.Close)
	answerSDP, err := p.client.Answer(offer, map[string]uint32{"0": p.micSSRC}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p.answer = applyAnswer(t, p.server, p.offer, answerSDP)
	waitState(t, p.server, StateConnected, 10*time.Second)
	waitState(t, p.client, StateConnected, 10*time.Second)
	return p
}

// micPacket is the client's microphone packet number seq.
func (p *clientPair) micPacket(seq uint16) (*rtp.Header, []byte) {
	return &rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: p.micSSRC},
		[]byte{byte(seq), byte(seq >> 8), 1, 2, 3}
}
