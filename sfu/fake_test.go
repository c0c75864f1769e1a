package sfu

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// A fake room: real Engine, Room and Participants (each with a real,
// never-answered PeerConnection), whose slot streams write to fakeWriters
// instead of pion. It runs the real packet handling code without a
// network: for fuzzing and for exact checks of the NACK budget.

// fakeWriter records the packets written to one slot stream.
type fakeWriter struct {
	mu   sync.Mutex
	seqs []uint16
	keep bool // record sequence numbers (else count only)
	n    int
	last rtp.Header // the last header written (its CSRC copied)
	csrc []uint32
}

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	w.n++
	w.csrc = append(w.csrc[:0], h.CSRC...)
	w.last = *h
	w.last.CSRC = w.csrc
	if w.keep {
		w.seqs = append(w.seqs, h.SequenceNumber)
	}
	w.mu.Unlock()
	return h.MarshalSize() + len(payload), nil
}

func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *fakeWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

type fakeRoom struct {
	e    *Engine
	room *Room
	pub  *Participant
	subs []*Participant
	w    [][]*fakeWriter // w[sub][slot]
}

// newFakeRoom joins a publisher holding the floor (slot 0) and n
// subscribers, all "connected" through fake writers.
func newFakeRoom(t testing.TB, n int) *fakeRoom {
	t.Helper()
	e := newTestEngine(t, 3)
	f := &fakeRoom{e: e, room: e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)}
	part := func(id string) *Participant {
		p, _, err := f.room.Join(ParticipantConfig{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Leave)
		return p
	}
	f.pub = part("pub")
	f.pub.rd = &reader{levelID: 1}
	f.pub.connected.Store(true) // as far as the floor is concerned
	for k := range n {
		sub := part(fmt.Sprintf("sub%d", k))
		ws := make([]*fakeWriter, len(sub.out))
		for i := range sub.out {
			ws[i] = &fakeWriter{keep: true}
			mu := &f.room.slots[i].mu
			mu.Lock()
			sub.out[i].bind(ws[i], sub.slotSSRC[i], opusPayloadType, 1)
			sub.out[i].nextSR = 1 << 62 // no sender reports: the PeerConnection is not connected
			mu.Unlock()
		}
		sub.connected.Store(true)
		f.subs = append(f.subs, sub)
		f.w = append(f.w, ws)
	}
	if err := f.room.RequestFloor(f.pub, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// packet is a publisher packet with an audio level, as a client sends it.
func fakePacket(seq uint16) []byte {
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: seq, Timestamp: uint32(seq) * frameTicks, SSRC: 0xabc},
		Payload: make([]byte, 40),
	}
	if err := p.Header.SetExtension(1, []byte{0x80 | 20}); err != nil {
		panic(err)
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// nack is the RTCP NACK of seqs on sub's slot i, as pion delivers it.
func (f *fakeRoom) nack(sub *Participant, i int, seqs ...uint16) []byte {
	b, err := (&rtcp.TransportLayerNack{MediaSSRC: sub.slotSSRC[i], Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// The forwarding path and the NACK path allocate nothing per packet.
func TestForwardAndResendAllocateNothing(t *testing.T) {
	f := newFakeRoom(t, 10)
	now := f.e.nanotime() // fixed: no receiver report falls due
	seq := uint16(0)
	raw := fakePacket(0)
	send := func() {
		binary.BigEndian.PutUint16(raw[2:4], seq)
		binary.BigEndian.PutUint32(raw[4:8], uint32(seq)*frameTicks)
		f.pub.handle(raw, now)
		seq++
	}
	for range 300 { // every cache entry and buffer grown
		send()
	}
	for _, ws := range f.w {
		for _, w := range ws {
			w.keep = false
		}
	}
	if n := mallocs(1000, send); n > 5 { // a few from pion's idle goroutines
		t.Errorf("forwarding: %d allocations for 1000 packets to 10 listeners", n)
	}
	sub := f.subs[0]
	last := f.w[0][0].seqs[0] + seq - 1
	// Resent or refused (budget, repeat): either way nothing allocated.
	pkt := f.nack(sub, 0, last-3, last-1)
	nack := func() { sub.handleRTCP(0, pkt) }
	nack() // the first NACK allocates the listener's resend state
	before := f.e.Stats().Retransmit
	if n := mallocs(1000, nack); n > 5 {
		t.Errorf("NACK handling: %d allocations for 1000 NACKs", n)
	}
	st := f.e.Stats()
	t.Logf("NACK path: %d resent, %d refused as repeats", st.Retransmit, st.DropNACKRepeat)
	if st.Retransmit == before && st.DropNACKRepeat == 0 {
		t.Errorf("the NACKs did nothing: %+v", f.e.Stats())
	}
}

// mallocs counts the heap allocations of the whole process while f runs n
// times (testing.AllocsPerRun rounds down to whole allocations per run).
func mallocs(n int, f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return b.Mallocs - a.Mallocs
}

// A listener gets resendBurst packets at once, then one per packet
// forwarded to it; a packet is resent at most once per resendRepeatMS.
func TestNACKBudget(t *testing.T) {
	f := newFakeRoom(t, 2)
	now := f.e.nanotime()
	for i := range 60 {
		f.pub.handle(fakePacket(uint16(i)), now)
	}
	sub, w := f.subs[0], f.w[0][0]
	out := w.seqs[len(w.seqs)-40:] // the last 40 slot sequence numbers
	before := w.count()
	st0 := f.e.Stats()
	sub.handleRTCP(0, f.nack(sub, 0, out[:34]...))
	if got := w.count() - before; got != resendBurst {
		t.Errorf("first NACK of 34: %d resent, want %d", got, resendBurst)
	}
	st := f.e.Stats()
	if d := st.DropNACKRate - st0.DropNACKRate; d != 34-resendBurst {
		t.Errorf("DropNACKRate +%d, want %d", d, 34-resendBurst)
	}
	// Again at once: all repeats, none resent.
	before = w.count()
	sub.handleRTCP(0, f.nack(sub, 0, out[:resendBurst]...))
	if got := w.count() - before; got != 0 {
		t.Errorf("repeated NACK: %d resent", got)
	}
	if d := f.e.Stats().DropNACKRepeat - st.DropNACKRepeat; d != resendBurst {
		t.Errorf("DropNACKRepeat +%d, want %d", d, resendBurst)
	}
	// Ten packets forwarded earn ten resends.
	for i := range 10 {
		f.pub.handle(fakePacket(uint16(60+i)), now)
	}
	before = w.count()
	sub.handleRTCP(0, f.nack(sub, 0, out[34:]...)) // 6 never resent
	sub.handleRTCP(0, f.nack(sub, 0, out[30:34]...))
	if got := w.count() - before; got != 10 {
		t.Errorf("after 10 packets: %d resent, want 10", got)
	}
	// The other listener's budget is its own.
	w1 := f.w[1][0]
	before = w1.count()
	f.subs[1].handleRTCP(0, f.nack(f.subs[1], 0, w1.seqs[len(w1.seqs)-20:]...))
	if got := w1.count() - before; got != 20 {
		t.Errorf("other listener: %d resent, want 20", got)
	}
}
