package sfu

import (
	"encoding/binary"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"palabre/internal/pionlog"
	"palabre/internal/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv("SFU_CHILD") == "1" {
		runChildServer() // see measure_test.go
		return
	}
	if os.Getenv("SFU_ATTACKER") == "1" {
		runAttacker() // see attacker_test.go
		return
	}
	if n := os.Getenv("SFU_SINK"); n != "" {
		runSink(n) // see floor_bench_test.go
		return
	}
	goleak.VerifyTestMain(m)
}

// testLogger discards logs unless SFU_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("SFU_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestEngine(t testing.TB, slots int) *Engine {
	t.Helper()
	e, err := NewEngine(Config{MediaAddr: "127.0.0.1:0", Slots: slots, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	kind    string // "slot", "floor", "closed"
	slot    int
	id      string
	source  uint32
	holders []string
	err     error
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) SlotChanged(slot int, id string, source uint32) {
	r.add(event{kind: "slot", slot: slot, id: id, source: source})
}

func (r *recorder) FloorChanged(holders []string) {
	r.add(event{kind: "floor", holders: slices.Clone(holders)})
}

func (r *recorder) ParticipantClosed(id string, err error) {
	r.add(event{kind: "closed", id: id, err: err})
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) has(match func(event) bool) bool {
	for _, e := range r.all() {
		if match(e) {
			return true
		}
	}
	return false
}

// clientAPI is the pion API of the test clients: loopback only, no mDNS,
// Opus with the audio-level extension, no interceptors (so received
// sequence numbers are exactly what the server sent).
var clientAPI = sync.OnceValue(func() *webrtc.API {
	se := loopbackSettings()
	// Tests NACK packets that did arrive: let the duplicates through.
	se.DisableSRTPReplayProtection(true)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: opusClockRate, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}},
		},
		PayloadType: opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
})

// loopbackSettings are the test clients' settings: loopback only, no mDNS.
func loopbackSettings() webrtc.SettingEngine {
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(testLogger())}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool {
		ifi, err := net.InterfaceByName(name)
		return err == nil && ifi.Flags&net.FlagLoopback != 0
	})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return se
}

// rxPacket is one packet a test client received.
type rxPacket struct {
	seq     uint16
	ts      uint32
	marker  bool
	csrc    []uint32
	counter uint32 // the sender's packet counter, from the payload
	at      time.Time
}

// testClient plays the browser: it answers the server's offer, publishes a
// microphone track and records what it receives on each slot.
type testClient struct {
	t    testing.TB
	id   string
	room *Room
	part *Participant
	pc   *webrtc.PeerConnection
	mic  *webrtc.TrackLocalStaticRTP
	sndr *webrtc.RTPSender // the microphone's

	levelID           uint8
	negotiationNeeded atomic.Int32
	connected         chan struct{}
	connectedOnce     sync.Once

	mu          sync.Mutex
	remoteSet   bool
	pendingCand []webrtc.ICECandidateInit
	sigStates   []webrtc.SignalingState
	recv        map[string][]rxPacket // by track id ("slot-0", …)
	slotSSRC    map[string]uint32
	receivers   map[string]*webrtc.RTPReceiver
	closed      bool
	quiet       bool // read and discard (benchmarks)
	readers     sync.WaitGroup

	// sending
	level    atomic.Uint32 // RFC 6464 level of the packets sent
	sendMu   sync.Mutex
	seq      uint16
	ts       uint32
	counter  uint32
	sentAt   []time.Time // by counter
	stopSend chan struct{}
	sendDone chan struct{}
}

// join connects a new test client to room (trickling candidates in
// process) and waits until both sides are connected.
func join(t testing.TB, room *Room, id string) *testClient {
	t.Helper()
	return joinClient(newClient(t, room, id))
}

// joinQuiet is join for a client that discards what it receives.
func joinQuiet(t testing.TB, room *Room, id string) *testClient {
	t.Helper()
	c := newClient(t, room, id)
	c.mu.Lock()
	c.quiet = true
	c.mu.Unlock()
	return joinClient(c)
}

func joinClient(c *testClient) *testClient {
	t, id := c.t, c.id
	t.Helper()
	if err := c.part.SetAnswer(c.answer()); err != nil {
		t.Fatalf("%s: SetAnswer: %v", id, err)
	}
	c.waitConnected()
	return c
}

// newClient joins the room and applies the offer, without answering.
func newClient(t testing.TB, room *Room, id string) *testClient {
	t.Helper()
	c := &testClient{
		t: t, id: id, room: room,
		connected: make(chan struct{}),
		recv:      make(map[string][]rxPacket),
		slotSSRC:  make(map[string]uint32),
		receivers: make(map[string]*webrtc.RTPReceiver),
	}
	pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c.pc = pc
	t.Cleanup(c.close)
	pc.OnNegotiationNeeded(func() { c.negotiationNeeded.Add(1) })
	pc.OnSignalingStateChange(func(s webrtc.SignalingState) {
		c.mu.Lock()
		c.sigStates = append(c.sigStates, s)
		c.mu.Unlock()
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			c.connectedOnce.Do(func() { close(c.connected) })
		}
	})
	pc.OnTrack(c.onTrack)

	part, offer, err := room.Join(ParticipantConfig{ID: id, OnCandidate: c.addRemoteCandidate})
	if err != nil {
		t.Fatalf("%s: Join: %v", id, err)
	}
	c.part = part
	if err := pc.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.remoteSet = true
	for _, cand := range c.pendingCand {
		_ = pc.AddICECandidate(cand)
	}
	c.pendingCand = nil
	c.mu.Unlock()

	mic, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", id)
	if err != nil {
		t.Fatal(err)
	}
	c.mic = mic
	sender, err := pc.AddTrack(mic)
	if err != nil {
		t.Fatal(err)
	}
	c.sndr = sender
	if trs := pc.GetTransceivers(); len(trs) != room.engine.Slots()+1 || trs[0].Sender() != sender {
		t.Fatalf("%s: the microphone did not reuse the offered recvonly transceiver", id)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			_ = part.AddCandidate(cand.ToJSON())
		}
	})
	c.level.Store(127)
	return c
}

// answer creates and sets the client's answer and returns its SDP.
func (c *testClient) answer() string {
	c.t.Helper()
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		c.t.Fatal(err)
	}
	for _, h := range c.pc.GetTransceivers()[0].Sender().GetParameters().HeaderExtensions {
		if h.URI == audioLevelURI {
			c.levelID = uint8(h.ID)
		}
	}
	if c.levelID == 0 {
		c.t.Fatalf("%s: audio level extension not negotiated", c.id)
	}
	return answer.SDP
}

func (c *testClient) waitConnected() {
	c.t.Helper()
	select {
	case <-c.connected:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("%s: client not connected", c.id)
	}
	testkit.Eventually(c.t, 5*time.Second, c.id+": server side connected", c.part.Connected)
}

func (c *testClient) addRemoteCandidate(cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.remoteSet {
		c.pendingCand = append(c.pendingCand, cand)
		return
	}
	_ = c.pc.AddICECandidate(cand)
}

func (c *testClient) onTrack(t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.readers.Add(1)
	c.slotSSRC[t.ID()] = uint32(t.SSRC())
	c.receivers[t.ID()] = rcv
	quiet := c.quiet
	c.mu.Unlock()
	defer c.readers.Done()
	if quiet {
		var buf [1500]byte
		for {
			if _, _, err := t.Read(buf[:]); err != nil {
				return
			}
		}
	}
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		rx := rxPacket{seq: p.SequenceNumber, ts: p.Timestamp, marker: p.Marker, csrc: slices.Clone(p.CSRC), at: time.Now()}
		if len(p.Payload) >= 4 {
			rx.counter = binary.BigEndian.Uint32(p.Payload)
		}
		c.mu.Lock()
		c.recv[t.ID()] = append(c.recv[t.ID()], rx)
		c.mu.Unlock()
	}
}

// received returns the packets received on a slot track.
func (c *testClient) received(track string) []rxPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recv[track])
}

// tracks returns the ids of the slot tracks that received packets.
func (c *testClient) tracks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.recv))
	for id := range c.recv {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// from returns the packets received (on any slot) whose CSRC is source.
func (c *testClient) from(source uint32) []rxPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []rxPacket
	for _, pkts := range c.recv {
		for _, p := range pkts {
			if len(p.csrc) == 1 && p.csrc[0] == source {
				out = append(out, p)
			}
		}
	}
	return out
}

// total is the number of packets received on all slots.
func (c *testClient) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, pkts := range c.recv {
		n += len(pkts)
	}
	return n
}

// startTalking sends a packet every 20 ms with the current level until
// stopTalking. The payload starts with a packet counter.
func (c *testClient) startTalking(level uint8) {
	c.level.Store(uint32(level))
	c.stopSend = make(chan struct{})
	c.sendDone = make(chan struct{})
	go func() {
		defer close(c.sendDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			c.sendOne()
			select {
			case <-c.stopSend:
				return
			case <-tick.C:
			}
		}
	}()
}

func (c *testClient) stopTalking() {
	if c.stopSend != nil {
		close(c.stopSend)
		<-c.sendDone
		c.stopSend = nil
	}
}

func (c *testClient) sendOne() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	payload := make([]byte, 24)
	binary.BigEndian.PutUint32(payload, c.counter)
	pkt := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: c.seq, Timestamp: c.ts},
		Payload: payload,
	}
	if err := pkt.Header.SetExtension(c.levelID, []byte{byte(c.level.Load())}); err != nil {
		c.t.Error(err)
	}
	c.sentAt = append(c.sentAt, time.Now())
	_ = c.mic.WriteRTP(pkt)
	c.seq++
	c.ts += 960
	c.counter++
}

// sent is the number of packets sent so far (the next counter).
func (c *testClient) sent() uint32 {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.counter
}

func (c *testClient) sentTime(counter uint32) time.Time {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.sentAt[counter]
}

func (c *testClient) close() {
	c.stopTalking()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	_ = c.pc.GracefulClose()
	c.readers.Wait()
}

// joinAll joins clients with the given ids.
func joinAll(t testing.TB, room *Room, ids ...string) []*testClient {
	t.Helper()
	cs := make([]*testClient, len(ids))
	for i, id := range ids {
		cs[i] = join(t, room, id)
	}
	return cs
}
