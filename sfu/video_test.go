package sfu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"palabre/internal/testkit"
	"palabre/sfu/alloc"
	"palabre/sfu/vp8"
)

// Video through the real Room and Participants, the slot streams writing to
// videoWriters instead of pion (as fake_test.go does for audio), fed with
// real libvpx packets (sfu/vp8/testdata) as pion's VP8 payloader cuts them.

// videoWriter records what one video slot stream got.
type videoWriter struct {
	mu   sync.Mutex
	keep bool
	got  []videoRx
	n    int
}

type videoRx struct {
	seq    uint16
	ts     uint32
	csrc   uint32
	d      vp8.Descriptor
	key    bool
	marker bool
}

func (w *videoWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if w.keep {
		d, err := vp8.Parse(payload)
		if err != nil {
			panic(err)
		}
		w.got = append(w.got, videoRx{seq: h.SequenceNumber, ts: h.Timestamp, csrc: h.CSRC[0], d: d, key: vp8.IsKeyframe(payload), marker: h.Marker})
	}
	return h.MarshalSize() + len(payload), nil
}

func (w *videoWriter) packets() []videoRx {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]videoRx(nil), w.got...)
}

// vp8Stream is a publisher's camera layer: libvpx frames as RTP packets.
type vp8Stream struct {
	frames [][][]byte // payloads per frame
	seq    uint16
	ts     uint32
	ssrc   uint32
	next   int
}

func newVP8Stream(t testing.TB, ssrc uint32) *vp8Stream {
	t.Helper()
	f, err := os.Open("vp8/testdata/plain.ivf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	s := &vp8Stream{ssrc: ssrc, seq: uint16(ssrc), ts: ssrc * 7}
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s.frames = append(s.frames, pay.Payload(1200, fr))
	}
	return s
}

// frame returns the raw RTP packets of the next frame (looping).
func (s *vp8Stream) frame() [][]byte {
	payloads := s.frames[s.next%len(s.frames)]
	s.next++
	out := make([][]byte, len(payloads))
	for i, p := range payloads {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: vp8PayloadType, SequenceNumber: s.seq, Timestamp: s.ts,
			SSRC: s.ssrc, Marker: i == len(payloads)-1}, Payload: p}
		s.seq++
		b, err := pkt.Marshal()
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	s.ts += videoClockRate / 30
	return out
}

type videoRoom struct {
	e    *Engine
	room *Room
	obs  *videoRecorder
	w    map[*Participant][]*videoWriter
}

type videoRecorder struct {
	recorder
	vmu    sync.Mutex
	vslots []string // "receiver slot participant"
}

func (r *videoRecorder) VideoSlotChanged(receiver string, screen bool, slot int, id string, _ uint32) {
	r.vmu.Lock()
	r.vslots = append(r.vslots, fmt.Sprintf("%s %v %d %s", receiver, screen, slot, id))
	r.vmu.Unlock()
}

func newVideoRoom(t testing.TB, videoSlots int, mode Mode) *videoRoom {
	e := newVideoEngine(t, 3, videoSlots)
	obs := &videoRecorder{}
	return &videoRoom{e: e, room: e.NewRoom(RoomSettings{Mode: mode}, obs), obs: obs, w: map[*Participant][]*videoWriter{}}
}

// join adds a video participant whose slot streams are bound to
// videoWriters and that counts as connected.
func (v *videoRoom) join(t testing.TB, id string) *Participant {
	t.Helper()
	p, _, err := v.room.Join(ParticipantConfig{ID: id, Video: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Leave)
	p.connected.Store(true)
	ws := make([]*videoWriter, len(p.vout))
	for j := range p.vout {
		ws[j] = &videoWriter{keep: true}
		(*peerHandler)(p).Bound(len(p.out)+j, OutStream{Writer: ws[j], SSRC: p.voutSSRC[j], PayloadType: vp8PayloadType, AbsSendTimeID: 3, TransportCCID: 4})
		p.vout[j].nextSR = 1 << 62 // no sender reports: not connected
	}
	v.w[p] = ws
	return p
}

// source returns the participant slot j of p shows.
func source(p *Participant, j int) *Participant {
	vo := &p.vout[j]
	vo.mu.Lock()
	defer vo.mu.Unlock()
	return vo.src
}

// send feeds one frame of s as p's camera layer.
func send(p *Participant, s *vp8Stream, layer int, now int64) {
	in := &InStream{Kind: StreamCamera, Layer: layer, SSRC: s.ssrc}
	for _, raw := range s.frame() {
		p.handleVideo(in, raw, now)
	}
}

// checkVideoStream asserts that a slot's output is one VP8 stream:
// contiguous sequence numbers, increasing timestamps, picture IDs that
// follow one another, a keyframe first and at every change of source.
func checkVideoStream(t *testing.T, got []videoRx) {
	t.Helper()
	if len(got) == 0 {
		t.Fatal("nothing forwarded")
	}
	if !got[0].key {
		t.Error("the first packet forwarded is not a keyframe")
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if b.seq != a.seq+1 {
			t.Fatalf("packet %d: seq %d after %d", i, b.seq, a.seq)
		}
		if int32(b.ts-a.ts) < 0 {
			t.Fatalf("packet %d: timestamp goes back", i)
		}
		if b.d.FrameStart() && b.d.PictureID != (a.d.PictureID+1)&0x7fff {
			t.Fatalf("packet %d: picture id %d after %d", i, b.d.PictureID, a.d.PictureID)
		}
		if !b.d.FrameStart() && b.d.PictureID != a.d.PictureID {
			t.Fatalf("packet %d: picture id changes within a frame", i)
		}
		if b.csrc != a.csrc && !b.key {
			t.Fatalf("packet %d: source changes from %d to %d on a packet that is not a keyframe's first", i, a.csrc, b.csrc)
		}
	}
}

// A camera slot forwards its source from a keyframe on, then switches to
// another publisher at that one's keyframe when it takes the floor: one
// continuous stream (sequence numbers, timestamps, picture IDs), the CSRC
// naming the publisher, and a video_slot event for each assignment.
func TestVideoSlotFollowsTheFloor(t *testing.T) {
	v := newVideoRoom(t, 1, ModeFloor)
	a, b, rx := v.join(t, "a"), v.join(t, "b"), v.join(t, "rx")
	for _, p := range []*Participant{a, b} {
		if err := p.SetCamera(true); err != nil {
			t.Fatal(err)
		}
	}
	sa, sb := newVP8Stream(t, 0xa), newVP8Stream(t, 0xb)
	sb.next = 10 // b is mid-GOP when the slot switches to it
	testkit.Eventually(t, 5*time.Second, "rx's slot filled", func() bool { return source(rx, 0) != nil })
	if err := v.room.RequestFloor(a, false); err != nil {
		t.Fatal(err)
	}
	if got := source(rx, 0); got != a {
		t.Fatalf("rx's camera slot shows %v, want a (the floor holder)", got)
	}
	now := v.e.nanotime()
	for range 45 { // 1.5 s: a's keyframes at frames 0 and 30
		send(a, sa, 0, now)
		send(b, sb, 0, now)
		now += int64(time.Second / 30)
	}
	v.room.ReleaseFloor(a)
	if err := v.room.RequestFloor(b, false); err != nil {
		t.Fatal(err)
	}
	if got := source(rx, 0); got != b {
		t.Fatalf("after b took the floor rx's slot shows %v", got)
	}
	for range 40 {
		send(a, sa, 0, now)
		send(b, sb, 0, now)
		now += int64(time.Second / 30)
	}
	got := v.w[rx][0].packets()
	checkVideoStream(t, got)
	var sources []uint32
	for _, p := range got {
		if len(sources) == 0 || sources[len(sources)-1] != p.csrc {
			sources = append(sources, p.csrc)
		}
	}
	if len(sources) != 2 || sources[0] != a.Source() || sources[1] != b.Source() {
		t.Errorf("sources forwarded %v, want a (%d) then b (%d)", sources, a.Source(), b.Source())
	}
	// a and b see each other (a slot each), never themselves.
	if source(a, 0) != b || source(b, 0) != a {
		t.Errorf("a sees %v, b sees %v", source(a, 0), source(b, 0))
	}
	if n := len(v.w[a][1].packets()); n != 0 {
		t.Errorf("a's screen slot got %d packets with no share", n)
	}
	st := v.e.Stats()
	t.Logf("stats: %d keyframe requests, %d switches from a cached keyframe", st.KeyframeRequests, st.KeyframeReuse)
}

// cameraAndReceiver is a room of V camera slots where a's camera is on and
// fills rx's first slot; s is a's camera stream.
func cameraAndReceiver(t testing.TB, videoSlots int) (v *videoRoom, a, rx *Participant, s *vp8Stream) {
	t.Helper()
	v = newVideoRoom(t, videoSlots, ModeOpen)
	a, rx = v.join(t, "a"), v.join(t, "rx")
	if err := a.SetCamera(true); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "rx's slot filled", func() bool { return source(rx, 0) == a })
	return v, a, rx, newVP8Stream(t, 0xa)
}

// Wishes: off stops a slot's stream (and its bytes), high brings it back
// from the next keyframe; a camera turned off is no longer forwarded.
func TestVideoWishAndCameraOff(t *testing.T) {
	v, a, rx, s := cameraAndReceiver(t, 2)
	now := v.e.nanotime()
	frames := func(n int) int {
		before := v.w[rx][0].n
		for range n {
			send(a, s, 0, now)
			now += int64(time.Second / 30)
		}
		return v.w[rx][0].n - before
	}
	if n := frames(30); n == 0 {
		t.Fatal("positive control: nothing forwarded with the wish high")
	}
	if err := rx.SetVideoWish(false, 0, alloc.WishOff); err != nil {
		t.Fatal(err)
	}
	if n := frames(60); n != 0 {
		t.Errorf("wish off: %d packets forwarded", n)
	}
	if err := rx.SetVideoWish(false, 0, alloc.WishHigh); err != nil {
		t.Fatal(err)
	}
	if n := frames(60); n == 0 {
		t.Error("wish high again: nothing forwarded")
	}
	checkVideoStream(t, v.w[rx][0].packets())
	if err := a.SetCamera(false); err != nil {
		t.Fatal(err)
	}
	if n := frames(30); n != 0 {
		t.Errorf("camera off: %d packets forwarded", n)
	}
	if got := source(rx, 0); got != nil {
		t.Errorf("camera off: rx's slot still shows %v", got)
	}
	if v.e.Stats().DropVideoOff == 0 {
		t.Error("DropVideoOff not counted")
	}
}

// A receiver's NACK for a video packet is served from the publisher
// layer's shared cache, rewritten as it was first sent.
func TestVideoNACKFromCache(t *testing.T) {
	v, a, rx, s := cameraAndReceiver(t, 1)
	now := v.e.nanotime()
	for range 10 {
		send(a, s, 0, now)
		now += int64(time.Second / 30)
	}
	w := v.w[rx][0]
	got := w.packets()
	if len(got) < 10 {
		t.Fatalf("%d packets forwarded", len(got))
	}
	want := got[len(got)-5]
	nack, err := (&rtcp.TransportLayerNack{MediaSSRC: rx.voutSSRC[0], Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{want.seq})}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	before := v.e.Stats().Retransmit
	(*peerHandler)(rx).RTCP(rx.voutSSRC[0], nack)
	if v.e.Stats().Retransmit != before+1 {
		t.Fatal("the NACKed packet was not resent")
	}
	again := w.packets()[len(w.packets())-1]
	if again.seq != want.seq || again.ts != want.ts || again.d.PictureID != want.d.PictureID || again.csrc != want.csrc {
		t.Errorf("resent %+v, first sent %+v", again, want)
	}
	// At once again: a repeat, not resent.
	(*peerHandler)(rx).RTCP(rx.voutSSRC[0], nack)
	if st := v.e.Stats(); st.Retransmit != before+1 || st.DropNACKRepeat == 0 {
		t.Errorf("repeated NACK: %+v", st)
	}
}

// The video forwarding path allocates nothing per packet.
func TestVideoForwardAllocatesNothing(t *testing.T) {
	v := newVideoRoom(t, 2, ModeOpen)
	a := v.join(t, "a")
	var rxs []*Participant
	for k := range 5 {
		rxs = append(rxs, v.join(t, fmt.Sprintf("rx%d", k)))
	}
	if err := a.SetCamera(true); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "slots filled", func() bool { return source(rxs[4], 0) == a })
	s := newVP8Stream(t, 0xa)
	now := v.e.nanotime()
	for range 300 { // the cache ring filled (its buffers grown), first allocation done
		send(a, s, 0, now)
	}
	for _, p := range rxs {
		v.w[p][0].keep = false
	}
	in := &InStream{Kind: StreamCamera, SSRC: s.ssrc}
	var raws [][]byte
	for range 100 {
		raws = append(raws, s.frame()...)
	}
	// The least of three runs: pion's idle goroutines allocate now and
	// then, the more so on a loaded machine.
	n := uint64(1 << 62)
	for range 3 {
		k := 0
		n = min(n, mallocs(len(raws), func() {
			a.handleVideo(in, raws[k], now)
			k++
		}))
	}
	if n > 5 { // a few from pion's idle goroutines
		t.Errorf("video forwarding: %d allocations for %d packets to 5 receivers", n, len(raws))
	}
	if v.w[rxs[0]][0].n == 0 {
		t.Error("nothing forwarded")
	}
}

// abs-send-time runs on by the time elapsed, in 1/2^18 s, and wraps at 64 s.
func TestAbsSendTime(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		d    time.Duration
		want uint32
	}{
		{0, 0},
		{time.Second, 1 << 18},
		{250 * time.Millisecond, 1 << 16},
		{63 * time.Second, 63 << 18},
		{64 * time.Second, 0},
		{65*time.Second + 500*time.Millisecond, 3 << 17},
	} {
		// 1_800_000_000 s is a multiple of 64 s plus 0: check.
		if got := absSendTime(base.Add(c.d)) - absSendTime(base); got&0xffffff != c.want {
			t.Errorf("+%v: %#x, want %#x", c.d, got&0xffffff, c.want)
		}
	}
}

// Padding-only packets (a browser probing) are not forwarded and leave no
// hole in the slot's sequence numbers.
func TestVideoPaddingLeavesNoHole(t *testing.T) {
	v, a, rx, s := cameraAndReceiver(t, 1)
	now := v.e.nanotime()
	in := &InStream{Kind: StreamCamera, SSRC: s.ssrc}
	for k := range 20 {
		send(a, s, 0, now)
		if k%3 == 0 {
			pad := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: vp8PayloadType, SequenceNumber: s.seq, Timestamp: s.ts,
				SSRC: s.ssrc, Padding: true, PaddingSize: 200}, Payload: make([]byte, 0)}
			s.seq++
			raw, err := pad.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			a.handleVideo(in, raw, now)
		}
		now += int64(time.Second / 30)
	}
	checkVideoStream(t, v.w[rx][0].packets())
	if st := v.e.Stats(); st.DropVideoBad != 0 {
		t.Errorf("padding counted as bad: %+v", st)
	}
}
