package sfu

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// RTCP sender and receiver reports, without tickers.
//
// pion's report interceptors run two ticker goroutines per PeerConnection
// (and allocate per packet read). Reports only matter while media flows,
// so here they ride on the media: the microphone reader sends a receiver
// report at most once per reportInterval when a packet arrives, and the
// fan-out sends a sender report for a (subscriber, slot) stream at most once
// per interval when it writes to it. An idle participant costs nothing.

const reportInterval = int64(time.Second)

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// receiverStats are the RFC 3550 (A.3, A.8) reception statistics of the
// microphone stream, kept by the reader goroutine.
type receiverStats struct {
	started    bool
	ssrc       uint32
	baseSeq    uint32
	maxSeq     uint16
	cycles     uint32
	received   uint32
	expPrior   uint32
	recvPrior  uint32
	transit    int32
	jitter16   uint32 // jitter × 16
	nextReport int64
	clock      int64 // RTP clock rate; 0: Opus's
}

// update accounts for one packet arriving at now.
func (s *receiverStats) update(h *rtp.Header, now int64) {
	clock := s.clock
	if clock == 0 {
		clock = opusClockRate
	}
	arrival := int32(uint32(now * clock / 1e9))
	transit := arrival - int32(h.Timestamp)
	if !s.started || h.SSRC != s.ssrc {
		*s = receiverStats{
			started: true, ssrc: h.SSRC, baseSeq: uint32(h.SequenceNumber), maxSeq: h.SequenceNumber,
			received: 1, transit: transit, nextReport: now + reportInterval/2, clock: s.clock,
		}
		return
	}
	if d := h.SequenceNumber - s.maxSeq; d != 0 && d < 0x8000 {
		if h.SequenceNumber < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = h.SequenceNumber
	}
	s.received++
	d := transit - s.transit
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter16 += uint32(d) - (s.jitter16+8)>>4
}

// due reports whether a report is due at now, and if so schedules the next.
func (s *receiverStats) due(now int64) bool {
	if now < s.nextReport {
		return false
	}
	s.nextReport = now + reportInterval
	return true
}

// report builds the reception report block and starts a new interval. lsr
// and dlsr come from the last sender report of the publisher.
func (s *receiverStats) report(lsr, dlsr uint32) rtcp.ReceptionReport {
	extMax := s.cycles + uint32(s.maxSeq)
	expected := extMax - s.baseSeq + 1
	lost := min(max(int64(expected)-int64(s.received), 0), 0x7fffff)
	expInterval := expected - s.expPrior
	lostInterval := int64(expInterval) - int64(s.received-s.recvPrior)
	s.expPrior, s.recvPrior = expected, s.received
	var fraction uint8
	if expInterval != 0 && lostInterval > 0 {
		fraction = uint8(min(lostInterval<<8/int64(expInterval), 255))
	}
	return rtcp.ReceptionReport{
		SSRC: s.ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: extMax, Jitter: s.jitter16 >> 4,
		LastSenderReport: lsr, Delay: dlsr,
	}
}

// units65536 converts nanotime to 1/65536 s, the unit of DLSR.
func units65536(ns int64) uint32 { return uint32(ns * 65536 / 1e9) }

// maybeSendRR sends a receiver report for the microphone if one is due.
// Reader goroutine only.
func (p *Participant) maybeSendRR(now int64) {
	if p.rd.stats.due(now) {
		p.sendRR(&p.rd.stats, p.lastSR.Load(), now)
	}
}

// sendRR sends the receiver report of one incoming stream; sr is its last
// sender report as noteSenderReport keeps it.
func (p *Participant) sendRR(s *receiverStats, sr uint64, now int64) {
	var lsr, dlsr uint32
	if sr != 0 {
		lsr = uint32(sr >> 32)
		dlsr = units65536(now) - uint32(sr)
	}
	err := p.tr.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{
		SSRC:    p.slotSSRC[0],
		Reports: []rtcp.ReceptionReport{s.report(lsr, dlsr)},
	}})
	if err != nil {
		p.log.Debug("receiver report", "err", err)
	}
}

// noteSenderReport remembers the publisher's last sender report (the middle
// 32 bits of its NTP time, and when it arrived) for LSR/DLSR.
func (p *Participant) noteSenderReport(b []byte) {
	const sr = 200
	if len(b) < 16 || b[1] != sr {
		return
	}
	middle := binary.BigEndian.Uint32(b[10:14])
	p.lastSR.Store(uint64(middle)<<32 | uint64(units65536(p.engine.nanotime())))
}

// maybeSendSR sends a sender report for sub's stream st if one is due.
// Called by the fan-out holding the slot's mutex, after a write at now.
func (st *slotState) maybeSendSR(sub *Participant, now int64) {
	if now < st.nextSR {
		return
	}
	st.nextSR = now + reportInterval
	sub.sendSR(st.ssrc, st.lastTS+uint32((now-st.lastWall)*opusClockRate/1e9), st.packets, st.octets)
}

// sendSR sends a sender report for one of sub's streams, whose RTP time
// is now rtpTime.
func (sub *Participant) sendSR(ssrc, rtpTime, packets, octets uint32) {
	err := sub.tr.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{
		SSRC: ssrc, NTPTime: ntpTime(time.Now()), RTPTime: rtpTime, PacketCount: packets, OctetCount: octets,
	}})
	if err != nil {
		sub.log.Debug("sender report", "err", err)
	}
}
