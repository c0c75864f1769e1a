package rtc

import "sync/atomic"

// Stats are the engine's counters since it started. The Drop* counters
// count datagrams the reader dropped, by reason.
type Stats struct {
	Conns      int // live (not closed) connections
	Handshakes uint64
	// HandshakeFailures counts DTLS handshakes that failed or timed out.
	HandshakeFailures uint64
	PacketsIn         uint64 // SRTP and SRTCP packets decrypted
	PacketsOut        uint64 // SRTP and SRTCP packets sent
	BytesOut          uint64
	Checks            uint64 // valid ICE checks answered (server) or answers received (client)
	AddressChanges    uint64 // the selected remote address moved
	SendErrors        uint64

	DropUnknownUfrag  uint64 // STUN for a ufrag no connection has
	DropBadIntegrity  uint64 // STUN whose MESSAGE-INTEGRITY or FINGERPRINT is wrong
	DropMalformed     uint64 // not STUN, DTLS, RTP or RTCP, or unparsable
	DropUnknownAddr   uint64 // DTLS or media from an address no valid check came from
	DropAddress       uint64 // a valid check from a new address that was not admitted
	DropDTLS          uint64 // DTLS outside a handshake, or its queue full
	DropSSRC          uint64 // media from an SSRC past the connection's budget
	DropAuth          uint64 // SRTP/SRTCP that failed authentication (or before the keys)
	DropReplay        uint64 // SRTP/SRTCP replayed or too old
	DropNotConnected  uint64 // media for a connection without keys
	DropWrongSocket   uint64 // a client socket's datagram from another address
	DropRetransmitted uint64 // STUN responses to no pending check (client)
	DropFlood         uint64 // packets past their connection's Rates
	DropTCP           uint64 // ICE-TCP connections refused (past MaxTCP, or maxTCPPerIP from one IP)
}

type counters struct {
	handshakes, handshakeFailures                              atomic.Uint64
	packetsIn, packetsOut, bytesOut, checks, addrChanges       atomic.Uint64
	sendErrors                                                 atomic.Uint64
	unknownUfrag, badIntegrity, malformed, unknownAddr, addr   atomic.Uint64
	dtls, ssrc, auth, replay, notConnected, wrongSocket, stray atomic.Uint64
	flood, tcpRefused                                          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Handshakes:        c.handshakes.Load(),
		HandshakeFailures: c.handshakeFailures.Load(),
		PacketsIn:         c.packetsIn.Load(),
		PacketsOut:        c.packetsOut.Load(),
		BytesOut:          c.bytesOut.Load(),
		Checks:            c.checks.Load(),
		AddressChanges:    c.addrChanges.Load(),
		SendErrors:        c.sendErrors.Load(),
		DropUnknownUfrag:  c.unknownUfrag.Load(),
		DropBadIntegrity:  c.badIntegrity.Load(),
		DropMalformed:     c.malformed.Load(),
		DropUnknownAddr:   c.unknownAddr.Load(),
		DropAddress:       c.addr.Load(),
		DropDTLS:          c.dtls.Load(),
		DropSSRC:          c.ssrc.Load(),
		DropAuth:          c.auth.Load(),
		DropReplay:        c.replay.Load(),
		DropNotConnected:  c.notConnected.Load(),
		DropWrongSocket:   c.wrongSocket.Load(),
		DropRetransmitted: c.stray.Load(),
		DropFlood:         c.flood.Load(),
		DropTCP:           c.tcpRefused.Load(),
	}
}
