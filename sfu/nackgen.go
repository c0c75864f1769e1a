package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// Upstream NACK generator.
//
// The server asks a publisher to resend lost packets (RFC 4585 generic
// NACK). This runs inside the microphone reader instead of pion's generator
// interceptor, which wakes every PeerConnection up ten times a second and
// re-NACKs a lost packet until it is 512 packets old. Here a gap is NACKed
// as soon as the packet after it arrives, retried a couple of times while
// packets keep arriving, and nothing at all runs while nothing arrives.
// Only publishers whose gate is open ask: gated packets are not worth a
// retransmission.

const (
	nackPending = 16                            // losses tracked at once
	nackMaxGap  = 16                            // longer gaps (>320 ms) are not worth asking for
	nackTries   = 3                             // NACKs per lost packet
	nackRetry   = int64(100 * time.Millisecond) // between two NACKs of one packet
)

type upstreamNACK struct {
	started bool
	high    uint16 // highest sequence number received
	seen    uint64 // bit k set: high-k was received
	pending [nackPending]pendingNACK
	n       int
	due     [nackPending]uint16 // scratch for observe's result
}

type pendingNACK struct {
	seq   uint16
	tries uint8
	next  int64 // nanotime of the next NACK
}

// observe records the arrival of seq at now and returns the sequence
// numbers to NACK now (valid until the next call). ask: new gaps may be
// NACKed.
func (g *upstreamNACK) observe(seq uint16, now int64, ask bool) []uint16 {
	if !g.started {
		g.started, g.high, g.seen = true, seq, 1
		return nil
	}
	switch d := int(int16(seq - g.high)); {
	case d >= 64:
		g.high, g.seen, g.n = seq, 1, 0 // a jump: start over
	case d > 0:
		g.seen = g.seen<<d | 1
		g.high = seq
		if ask && d-1 <= nackMaxGap {
			for k := d - 1; k >= 1 && g.n < nackPending; k-- {
				g.pending[g.n] = pendingNACK{seq: seq - uint16(k), next: now}
				g.n++
			}
		}
	case d < 0 && d > -64:
		g.seen |= 1 << -d // late or retransmitted
	}
	due := g.due[:0]
	keep := 0
	for _, p := range g.pending[:g.n] {
		k := g.high - p.seq
		if k >= 64 || g.seen&(1<<k) != 0 || p.tries >= nackTries {
			continue // recovered, too old, or given up
		}
		if now >= p.next {
			due = append(due, p.seq)
			p.tries++
			p.next = now + nackRetry
		}
		g.pending[keep] = p
		keep++
	}
	g.n = keep
	return due
}

// sendNACK asks the publisher (media SSRC ssrc) for seqs. Allocates, but
// only when packets were lost.
func (p *Participant) sendNACK(ssrc uint32, seqs []uint16) {
	err := p.tr.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		SenderSSRC: p.slotSSRC[0],
		MediaSSRC:  ssrc,
		Nacks:      rtcp.NackPairsFromSequenceNumbers(seqs),
	}})
	if err != nil {
		p.log.Debug("nack", "err", err)
	}
}
