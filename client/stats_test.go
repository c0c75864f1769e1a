package client

import (
	"testing"

	"github.com/pion/rtp"
)

func TestSlotStatsSequence(t *testing.T) {
	st := &slotState{s: SlotStats{BySource: map[uint32]uint64{}}}
	feed := func(seq uint16, csrc ...uint32) {
		st.record(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, CSRC: csrc}, Payload: make([]byte, 10)})
	}
	// Continuous across the wrap-around.
	for seq := uint16(65530); seq != 5; seq++ {
		feed(seq, 42)
	}
	s := st.snapshot()
	if s.Packets != 11 || s.Gaps != 0 || s.Reordered != 0 || s.LastSeq != 4 || s.Bytes != 110 || s.BySource[42] != 11 {
		t.Fatalf("continuous: %+v", s)
	}
	feed(7)  // 5 and 6 missing
	feed(5)  // late: fills one hole
	feed(5)  // duplicate
	feed(7)  // duplicate of the newest
	feed(20) // 8..19 missing
	s = st.snapshot()
	if s.Gaps != 1+12 || s.Reordered != 1 || s.Duplicates != 2 || s.LastSeq != 20 || s.BySource[0] != 5 {
		t.Fatalf("after holes: %+v", s)
	}
	// The snapshot is a copy.
	s.BySource[42] = 0
	if st.snapshot().BySource[42] != 11 {
		t.Error("snapshot shares its map")
	}
}
