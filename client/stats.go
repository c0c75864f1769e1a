package client

import (
	"maps"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// SlotStats counts what arrived on one audio slot.
type SlotStats struct {
	Packets uint64
	Bytes   uint64 // RTP payload bytes
	// Gaps counts the sequence numbers still missing (a hole filled by a
	// late packet within the last 64 is no longer counted).
	Gaps uint64
	// Reordered counts packets older than the newest one received.
	Reordered uint64
	// Duplicates counts packets received twice (within the last 64).
	Duplicates uint64
	LastSeq    uint16    // the newest sequence number
	LastAt     time.Time // arrival of the last packet
	// BySource counts packets per speaker: the packet's CSRC[0], which is
	// the participant's proto.Participant.Source (0: no CSRC).
	BySource map[uint32]uint64
}

// slotState is the live counters of one slot.
type slotState struct {
	mu      sync.Mutex
	s       SlotStats
	started bool
	window  uint64 // bit i: LastSeq-i was received
}

// record counts one packet.
func (st *slotState) record(p *rtp.Packet) {
	var src uint32
	if len(p.CSRC) > 0 {
		src = p.CSRC[0]
	}
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := &st.s
	s.Packets++
	s.Bytes += uint64(len(p.Payload))
	s.LastAt = now
	s.BySource[src]++
	seq := p.SequenceNumber
	if !st.started {
		st.started, s.LastSeq, st.window = true, seq, 1
		return
	}
	switch d := int16(seq - s.LastSeq); {
	case d > 0:
		s.Gaps += uint64(d - 1)
		if d >= 64 {
			st.window = 1
		} else {
			st.window = st.window<<uint(d) | 1
		}
		s.LastSeq = seq
	case d == 0:
		s.Duplicates++
	default:
		s.Reordered++
		back := -int(d)
		if back >= 64 {
			return
		}
		bit := uint64(1) << uint(back)
		if st.window&bit != 0 {
			s.Reordered--
			s.Duplicates++
			return
		}
		st.window |= bit
		if s.Gaps > 0 {
			s.Gaps--
		}
	}
}

func (st *slotState) snapshot() SlotStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.BySource = maps.Clone(st.s.BySource)
	return s
}

// slot returns the counters of slot i, creating them as needed.
func (c *Client) slot(i int) *slotState {
	c.slotsMu.Lock()
	defer c.slotsMu.Unlock()
	c.growSlots(i + 1)
	return c.slots[i]
}

func (c *Client) growSlots(n int) {
	for len(c.slots) < n {
		c.slots = append(c.slots, &slotState{s: SlotStats{BySource: map[uint32]uint64{}}})
	}
}

// Stats returns a copy of the counters of every audio slot: as many as
// the room's slots (room_info.slots of joined), or more if more arrived.
func (c *Client) Stats() []SlotStats {
	n := 0
	if j := c.Joined(); j != nil && j.RoomInfo != nil {
		n = j.RoomInfo.Slots
	}
	c.slotsMu.Lock()
	c.growSlots(n)
	slots := append([]*slotState(nil), c.slots...)
	c.slotsMu.Unlock()
	out := make([]SlotStats, len(slots))
	for i, st := range slots {
		out[i] = st.snapshot()
	}
	return out
}

// SlotCounter counts the packets of one audio slot exactly as the
// client's own slot readers do (Stats): for media that does not go
// through the client's PeerConnection (Options.OnOffer). Safe for
// concurrent use.
type SlotCounter struct{ st slotState }

// NewSlotCounter returns a counter with nothing counted.
func NewSlotCounter() *SlotCounter {
	return &SlotCounter{st: slotState{s: SlotStats{BySource: map[uint32]uint64{}}}}
}

// Record counts p.
func (c *SlotCounter) Record(p *rtp.Packet) { c.st.record(p) }

// Stats returns a copy of the counters.
func (c *SlotCounter) Stats() SlotStats { return c.st.snapshot() }
