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

	// Hostile or broken input refused by the media plane before it could
	// cost the server anything. An honest client causes none of these,
	// except DropCandidate for candidates it cannot be reached at
	// (a private address named to a public server).
	//
	// DropUnknownSSRC: RTP and RTCP packets from an SSRC the participant
	// did not announce in its answer, beyond the budget (16 each way,
	// announced ones first), dropped before SRTP; plus RTCP about SSRCs
	// that are neither the server's nor announced (see ClosedHostile).
	DropUnknownSSRC uint64
	// DropFlood: packets from a participant beyond its rates (RTP 200/s,
	// 1,500/s with video; RTCP, DTLS and checks together 100/s, 200/s
	// with video), dropped before they are decrypted.
	DropFlood uint64
	// DropUnknownSource: media packets from a source address that no
	// participant's ICE check has come from.
	DropUnknownSource uint64
	// DropICECheck: ICE checks (STUN binding requests) refused: unknown
	// ufrag, bad message integrity, source address outside the address
	// policy, or a new source address beyond the participant's budget (8
	// at once, then one per 10 s). DropTCP: ICE-TCP connections refused
	// (past 1,024 open, or 8 from one IP).
	DropICECheck uint64
	DropTCP      uint64
	// DropCandidate: remote candidates refused (AddCandidate errors, and
	// answers with too many candidates): unparsable, not an IP address,
	// outside the address policy, or beyond 20 per participant.
	DropCandidate uint64
	// DropNACKRate: NACKed packets not resent because the listener's
	// resend budget for that slot (the slot's own packet rate) was spent.
	DropNACKRate uint64
	// DropNACKRepeat: NACKed packets not resent because they were resent
	// to that listener less than 100 ms before.
	DropNACKRepeat uint64
	// ClosedHostile: participants closed because their RTCP named more
	// unknown SSRCs than an honest client does (state would be kept for
	// each, and they are encrypted so cannot be dropped earlier).
	ClosedHostile uint64

	// Video: packets of a publisher whose camera (or screen) is off, or
	// whose VP8 payload descriptor does not parse, not forwarded; and the
	// keyframe requests (PLI) sent to publishers.
	DropVideoOff, DropVideoBad uint64
	KeyframeRequests           uint64
	// KeyframeReuse: video slots switched to a layer from its cached
	// recent keyframe instead of waiting for a new one.
	KeyframeReuse uint64
	// PaddingPackets: padding-only packets sent to probe receivers'
	// links (padding.go).
	PaddingPackets uint64
	// TransportFeedback: transport-wide congestion control feedback
	// packets read from receivers (twcc.go); DelayCuts: the times one of
	// them saw a receiver's link queue filling and cut its estimate.
	TransportFeedback, DelayCuts uint64

	// Participants whose media connection is up, by how it reaches the
	// server (gauges).
	ConnectedUDP, ConnectedTCP, ConnectedRelay int64
	// Media connections that failed: before ever coming up (ICE found no
	// path), or after (the network went away).
	NeverConnected, ConnectionLost uint64

	// FanoutTime: how long each forwarded audio packet stayed in the
	// server, until its last copy left (fanouttime.go).
	FanoutTime FanoutTime
}

// counters are the Engine's live statistics. The fan-out adds once per
// publisher packet, not once per subscriber.
type counters struct {
	packetsIn, bytesIn   atomic.Uint64
	packetsOut, bytesOut atomic.Uint64
	retransmit           atomic.Uint64
	gated, muted, noSlot atomic.Uint64
	writeError           atomic.Uint64

	unknownSSRC, unknownSource atomic.Uint64
	flood                      atomic.Uint64
	iceCheck, candidate        atomic.Uint64
	nackRate, nackRepeat       atomic.Uint64
	closedHostile              atomic.Uint64
	videoOff, videoBad, pli    atomic.Uint64
	keyframeReuse              atomic.Uint64
	padding                    atomic.Uint64
	transportFeedback          atomic.Uint64
	delayCuts                  atomic.Uint64

	connected                      [connKinds]atomic.Int64
	neverConnected, connectionLost atomic.Uint64
	fanoutTime                     fanoutHist
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

		DropUnknownSSRC:   c.unknownSSRC.Load(),
		DropFlood:         c.flood.Load(),
		DropUnknownSource: c.unknownSource.Load(),
		DropICECheck:      c.iceCheck.Load(),
		DropCandidate:     c.candidate.Load(),
		DropNACKRate:      c.nackRate.Load(),
		DropNACKRepeat:    c.nackRepeat.Load(),
		ClosedHostile:     c.closedHostile.Load(),
		DropVideoOff:      c.videoOff.Load(),
		DropVideoBad:      c.videoBad.Load(),
		KeyframeRequests:  c.pli.Load(),
		KeyframeReuse:     c.keyframeReuse.Load(),
		PaddingPackets:    c.padding.Load(),
		TransportFeedback: c.transportFeedback.Load(),
		DelayCuts:         c.delayCuts.Load(),

		ConnectedUDP:   c.connected[ConnUDP].Load(),
		ConnectedTCP:   c.connected[ConnTCP].Load(),
		ConnectedRelay: c.connected[ConnRelay].Load(),
		NeverConnected: c.neverConnected.Load(),
		ConnectionLost: c.connectionLost.Load(),
		FanoutTime:     c.fanoutTime.snapshot(),
	}
}
