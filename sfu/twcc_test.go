package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// twccWriter records each packet's transport-wide sequence number and
// when it was written.
type twccWriter struct {
	mu   sync.Mutex
	id   uint8
	seqs []uint16
	at   []time.Time
}

func (w *twccWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := h.GetExtension(w.id); len(b) == 2 {
		w.seqs = append(w.seqs, uint16(b[0])<<8|uint16(b[1]))
		w.at = append(w.at, time.Now())
	}
	return h.MarshalSize() + len(payload), nil
}

// take returns what was written since the last call.
func (w *twccWriter) take() ([]uint16, []time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, a := w.seqs, w.at
	w.seqs, w.at = nil, nil
	return s, a
}

// A receiver's transport feedback (built by pion's own TWCC recorder, as
// a pion receiver sends it): while the link's delay stays flat nothing is
// cut; when its queue grows (the link fell below what is sent), the
// estimate falls to what got through, before any loss is reported.
func TestTransportFeedbackCutsOnDelay(t *testing.T) {
	v, a, rx, s := cameraAndReceiver(t, 1)
	const extID = 5
	w := &twccWriter{id: extID}
	vo := &rx.vout[0]
	vo.mu.Lock()
	vo.w, vo.twID = w, extID
	vo.mu.Unlock()

	rec := twcc.NewRecorder(1)
	offset := 40 * time.Second // the receiver's clock runs apart
	var queue time.Duration    // the link's queueing delay
	var delivered int
	// feedback sends 100 ms of frames and the receiver's feedback about
	// them; grow is how much the link's queue grows per 100 ms.
	now := v.e.nanotime()
	feedback := func(grow time.Duration) {
		for range 3 {
			send(a, s, 0, now)
			now += int64(time.Second / 30)
		}
		seqs, at := w.take()
		if len(seqs) == 0 {
			t.Fatal("no packet numbered on the slot")
		}
		for i, sq := range seqs {
			queue += grow / time.Duration(len(seqs))
			rec.Record(vo.ssrc, sq, at[i].Add(offset+queue).UnixMicro())
			delivered++
		}
		pkts := rec.BuildFeedbackPacket()
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			t.Fatal(err)
		}
		(*peerHandler)(rx).RTCP(vo.ssrc, b)
	}
	wall := func() time.Time { return v.e.wallAt(v.e.nanotime()) }

	for range 10 {
		feedback(0)
	}
	st := v.e.Stats()
	if st.TransportFeedback < 10 {
		t.Fatalf("%d transport feedback packets read, want 10", st.TransportFeedback)
	}
	if st.DelayCuts != 0 {
		t.Fatalf("flat delay: %d cuts", st.DelayCuts)
	}
	before := rx.va.est.Estimate(wall())
	// The queue grows by 60 ms every 100 ms: the link carries 40 % of
	// what is sent.
	for range 3 {
		feedback(60 * time.Millisecond)
	}
	if st := v.e.Stats(); st.DelayCuts == 0 {
		t.Fatalf("queue at %v and growing: no cut (estimate %d)", queue, rx.va.est.Estimate(wall()))
	}
	if after := rx.va.est.Estimate(wall()); after >= before {
		t.Errorf("estimate %d after the cut, %d before", after, before)
	}
	if delivered == 0 {
		t.Fatal("nothing recorded")
	}
}

// Transport feedback naming packets the server never sent, or truncated,
// changes nothing and costs a bounded walk.
func TestTransportFeedbackBadInput(t *testing.T) {
	v, _, rx, _ := cameraAndReceiver(t, 1)
	ssrc := rx.vout[0].ssrc
	huge := &rtcp.TransportLayerCC{
		SenderSSRC: 1, MediaSSRC: ssrc, BaseSequenceNumber: 100, PacketStatusCount: 65535,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 8191},
		},
	}
	for range 8191 {
		huge.RecvDeltas = append(huge.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250})
	}
	b, err := huge.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	before := rx.va.est.Estimate(v.e.wallAt(v.e.nanotime()))
	for _, in := range [][]byte{b, b[:len(b)/2], b[:16]} {
		(*peerHandler)(rx).RTCP(ssrc, in)
	}
	if got := rx.va.est.Estimate(v.e.wallAt(v.e.nanotime())); got != before {
		t.Errorf("estimate moved from %d to %d on feedback about nothing sent", before, got)
	}
	if st := v.e.Stats(); st.DelayCuts != 0 {
		t.Errorf("%d delay cuts", st.DelayCuts)
	}
}
