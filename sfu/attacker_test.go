package sfu

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"palabre/internal/testkit"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The hostile participant of the attack tests runs in a child process
// (SFU_ATTACKER=1): a real pion peer whose own state (one SRTP context
// entry per SSRC it invents, its CPU) must not count in the server's heap
// and CPU, which the test measures in its own process. It is driven by
// JSON lines on stdin, like the bare server of measure_test.go.

type attackRequest struct {
	Op       string        `json:"op"`
	SDP      string        `json:"sdp,omitempty"`
	N        int           `json:"n,omitempty"`    // packets
	Rate     int           `json:"rate,omitempty"` // packets per second
	Duration time.Duration `json:"duration,omitempty"`
	Seqs     int           `json:"seqs,omitempty"` // NACK: recent packets asked for
}

type attackReply struct {
	SDP      string `json:"sdp,omitempty"`
	Err      string `json:"err,omitempty"`
	Sent     int    `json:"sent,omitempty"`
	Received int    `json:"received,omitempty"` // slot-0 packets during the op
}

// runAttacker is the child's main.
func runAttacker() {
	a := &attackPeer{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req attackRequest
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		var rep attackReply
		var err error
		switch req.Op {
		case "answer":
			rep.SDP, err = a.answer(req.SDP)
		case "wait":
			err = a.waitConnected()
		case "rtp":
			rep.Sent, err = a.freshRTP(req.N, req.Rate)
		case "rtcp":
			rep.Sent, err = a.freshRTCP(req.N, req.Rate, false)
		case "rtcp-about":
			rep.Sent, err = a.freshRTCP(req.N, req.Rate, true)
		case "nack":
			rep.Sent, rep.Received, err = a.nackFlood(req.Rate, req.Duration, req.Seqs)
		case "recv":
			rep.Received = int(a.slot0N.Load())
		case "quit":
			if a.pc != nil {
				_ = a.pc.Close()
			}
			_ = out.Encode(rep)
			return
		default:
			err = fmt.Errorf("unknown op %q", req.Op)
		}
		if err != nil {
			rep.Err = err.Error()
		}
		if err := out.Encode(rep); err != nil {
			panic(err)
		}
	}
}

// rawTrack is a microphone track that writes whatever header it is given:
// the attacker picks its SSRCs.
type rawTrack struct {
	mu   sync.Mutex
	w    webrtc.TrackLocalWriter
	ssrc uint32 // announced in the answer
}

func (t *rawTrack) ID() string                { return "mic" }
func (t *rawTrack) RID() string               { return "" }
func (t *rawTrack) StreamID() string          { return "attacker" }
func (t *rawTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }
func (t *rawTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.w = nil
	t.mu.Unlock()
	return nil
}

func (t *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	t.mu.Lock()
	t.w = ctx.WriteStream()
	t.ssrc = uint32(ctx.SSRC())
	t.mu.Unlock()
	return ctx.CodecParameters()[0], nil
}

func (t *rawTrack) writer() webrtc.TrackLocalWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w
}

type attackPeer struct {
	pc        *webrtc.PeerConnection
	mic       *rawTrack
	connected chan struct{}
	slot0SSRC atomic.Uint32
	slot0Seq  atomic.Uint32 // last sequence number received on slot-0
	slot0N    atomic.Int64  // packets received on slot-0
}

func (a *attackPeer) answer(offer string) (string, error) {
	pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	a.pc = pc
	a.connected = make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(a.connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		var buf [1500]byte
		for {
			n, _, err := t.Read(buf[:])
			if err != nil {
				return
			}
			if t.ID() == "slot-0" && n >= 12 {
				a.slot0SSRC.Store(uint32(t.SSRC()))
				a.slot0Seq.Store(uint32(binary.BigEndian.Uint16(buf[2:4])))
				a.slot0N.Add(1)
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	a.mic = &rawTrack{}
	if _, err := pc.AddTrack(a.mic); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

func (a *attackPeer) waitConnected() error {
	select {
	case <-a.connected:
		return nil
	case <-time.After(15 * time.Second):
		return fmt.Errorf("not connected")
	}
}

// pace sleeps so that packet i of a run at rate per second leaves on time.
func pace(start time.Time, i, rate int) {
	if rate <= 0 {
		return
	}
	if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
		time.Sleep(d)
	}
}

// freshRTP sends n RTP packets, each with an SSRC never used before.
func (a *attackPeer) freshRTP(n, rate int) (int, error) {
	w := a.mic.writer()
	if w == nil {
		return 0, fmt.Errorf("microphone not bound")
	}
	payload := make([]byte, 40)
	base := rand.Uint32()
	start := time.Now()
	sent := 0
	for i := range n {
		h := rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960, SSRC: base + uint32(i)}
		if _, err := w.WriteRTP(&h, payload); err == nil {
			sent++
		}
		pace(start, i, rate)
	}
	return sent, nil
}

// freshRTCP sends n RTCP packets about fresh media SSRCs (receiver
// reports, NACKs and PLIs in turn), each from a fresh sender SSRC too, or
// all from the microphone's (announced) SSRC.
func (a *attackPeer) freshRTCP(n, rate int, oneSender bool) (int, error) {
	base := rand.Uint32()
	start := time.Now()
	sent := 0
	for i := range n {
		s := base + uint32(2*i)
		if oneSender {
			a.mic.mu.Lock()
			s = a.mic.ssrc
			a.mic.mu.Unlock()
		}
		var pkt rtcp.Packet
		switch i % 3 {
		case 0:
			pkt = &rtcp.ReceiverReport{SSRC: s, Reports: []rtcp.ReceptionReport{{SSRC: base + uint32(2*i) + 1}}}
		case 1:
			pkt = &rtcp.TransportLayerNack{SenderSSRC: s, MediaSSRC: base + uint32(2*i) + 1, Nacks: []rtcp.NackPair{{PacketID: 1}}}
		default:
			pkt = &rtcp.PictureLossIndication{SenderSSRC: s, MediaSSRC: base + uint32(2*i) + 1}
		}
		if err := a.pc.WriteRTCP([]rtcp.Packet{pkt}); err == nil {
			sent++
		}
		pace(start, i, rate)
	}
	return sent, nil
}

// nackFlood NACKs the last seqs packets received on slot-0, rate times a
// second for d, and counts the slot-0 packets received meanwhile.
func (a *attackPeer) nackFlood(rate int, d time.Duration, seqs int) (int, int, error) {
	ssrc := a.slot0SSRC.Load()
	if ssrc == 0 {
		return 0, 0, fmt.Errorf("nothing received on slot-0 yet")
	}
	before := a.slot0N.Load()
	start := time.Now()
	sent := 0
	list := make([]uint16, seqs)
	for i := 0; time.Since(start) < d; i++ {
		last := uint16(a.slot0Seq.Load())
		for k := range list {
			list[k] = last - uint16(seqs-1-k)
		}
		pkt := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(list)}
		if err := a.pc.WriteRTCP([]rtcp.Packet{pkt}); err == nil {
			sent++
		}
		pace(start, i, rate)
	}
	time.Sleep(100 * time.Millisecond) // the last answers
	return sent, int(a.slot0N.Load() - before), nil
}

// attacker is the test's handle on the child and its participant.
type attacker struct {
	t    *testing.T
	part *Participant
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *json.Decoder
}

// startAttacker starts the child, joins it to room as id and waits until
// it is connected.
func startAttacker(t *testing.T, room *Room, id string) *attacker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SFU_ATTACKER=1")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attacker{t: t, cmd: cmd, in: in, out: json.NewDecoder(out)}
	t.Cleanup(func() {
		a.call(attackRequest{Op: "quit"})
		_ = cmd.Wait()
	})
	part, offer, err := room.Join(ParticipantConfig{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	a.part = part
	ans := a.call(attackRequest{Op: "answer", SDP: offer.SDP})
	if err := part.SetAnswer(ans.SDP); err != nil {
		t.Fatalf("attacker answer: %v", err)
	}
	a.call(attackRequest{Op: "wait"})
	testkit.Eventually(t, 5*time.Second, "attacker connected on the server", part.Connected)
	return a
}

func (a *attacker) call(req attackRequest) attackReply {
	a.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := a.in.Write(append(b, '\n')); err != nil {
		a.t.Fatal(err)
	}
	var rep attackReply
	if err := a.out.Decode(&rep); err != nil {
		a.t.Fatal(err)
	}
	if rep.Err != "" {
		a.t.Fatalf("attacker %s: %s", req.Op, rep.Err)
	}
	return rep
}

// honest is the room every attack test runs against: one speaker holding
// the floor and talking throughout, three listeners.
type honest struct {
	t         *testing.T
	speaker   *testClient
	listeners []*testClient
}

func newHonest(t *testing.T, room *Room) *honest {
	t.Helper()
	cs := joinAll(t, room, "speaker", "l1", "l2", "l3")
	h := &honest{t: t, speaker: cs[0], listeners: cs[1:]}
	if err := room.RequestFloor(h.speaker.part, false); err != nil {
		t.Fatal(err)
	}
	h.speaker.startTalking(20)
	for _, l := range h.listeners {
		testkit.Eventually(t, 5*time.Second, l.id+" hears the speaker", func() bool { return len(l.from(h.speaker.part.Source())) >= 5 })
	}
	return h
}

// check stops the speaker and asserts that every listener received every
// packet it sent, and reports their p50/p99 latency.
func (h *honest) check() {
	h.t.Helper()
	h.speaker.stopTalking()
	sent := h.speaker.sent()
	for _, l := range h.listeners {
		testkit.Eventually(h.t, 5*time.Second, l.id+" receives the last packets", func() bool {
			return uint32(len(l.from(h.speaker.part.Source()))) >= sent
		})
	}
	time.Sleep(100 * time.Millisecond)
	for _, l := range h.listeners {
		got := make([]bool, sent)
		var lat []time.Duration
		for _, p := range l.from(h.speaker.part.Source()) {
			if p.counter < sent && !got[p.counter] {
				got[p.counter] = true
				lat = append(lat, p.at.Sub(h.speaker.sentTime(p.counter)))
			}
		}
		missing := 0
		for _, ok := range got {
			if !ok {
				missing++
			}
		}
		if missing > 0 {
			h.t.Errorf("%s lost %d of the speaker's %d packets", l.id, missing, sent)
		}
		p50, p99 := percentiles(lat)
		h.t.Logf("%s: %d packets, latency p50 %v p99 %v", l.id, sent, p50, p99)
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

// heapInUse is the live heap after two collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
