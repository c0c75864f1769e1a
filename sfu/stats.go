package sfu

import "sync/atomic"

// Stats are counters summed over all rooms of an Engine since it started.
type Stats struct {
	Rooms        int // live rooms
	Participants int // live participants

	PacketsIn  uint64 // RTP packets received from publishers
	BytesIn    uint64 // their size (RTP header and payload)
	PacketsOut uint64 // RTP packets written to subscribers, retransmissions included
	BytesOut   uint64 // their size (RTP header and payload)
	Retransmit uint64 // packets re-sent in answer to a NACK (also in PacketsOut)

	// Packets not forwarded, by reason. The first three count publisher
	// packets, WriteError counts failed writes to one subscriber.
	DropGated      uint64 // push-to-talk/moderated: sender does not hold the floor
	DropMuted      uint64 // sender muted by the server
	DropNoSlot     uint64 // open room: sender has no slot (not voice-active, or slots full)
	DropWriteError uint64 // the write to one subscriber failed
}

// counters are the Engine's live statistics. The fan-out adds once per
// publisher packet, not once per subscriber.
type counters struct {
	packetsIn, bytesIn   atomic.Uint64
	packetsOut, bytesOut atomic.Uint64
	retransmit           atomic.Uint64
	gated, muted, noSlot atomic.Uint64
	writeError           atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		PacketsIn:      c.packetsIn.Load(),
		BytesIn:        c.bytesIn.Load(),
		PacketsOut:     c.packetsOut.Load(),
		BytesOut:       c.bytesOut.Load(),
		Retransmit:     c.retransmit.Load(),
		DropGated:      c.gated.Load(),
		DropMuted:      c.muted.Load(),
		DropNoSlot:     c.noSlot.Load(),
		DropWriteError: c.writeError.Load(),
	}
}
