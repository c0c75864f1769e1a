// Package sfu is Palabre's media plane: a selective forwarding unit for
// audio and video on a WebRTC transport of its own (package sfu/rtc, on
// pion's primitives).
//
// # One port, one offer
//
// An [Engine] owns an rtc engine: one UDP socket (and one ICE-TCP port)
// for every participant of every room, ICE-lite, one reader goroutine. The
// server is always the offerer and
// negotiates exactly once per participant: one recvonly audio m-line (the
// participant's microphone) followed by K sendonly audio m-lines, the slots.
// Nothing is ever renegotiated afterwards.
//
// # The transport seam
//
// The forwarding logic reaches a participant's connection only through
// Transport and Handler (transport.go): packets in, RTP per outgoing stream
// and RTCP out, negotiation, close. transport_rtc.go implements it on
// sfu/rtc (it replaced a pion PeerConnection per participant, issue 16,
// without touching slots, gate or NACK caches).
//
// # Why slots
//
// A subscriber does not get one track per other participant, it gets a fixed
// set of K downstream tracks ("slot-0" … "slot-K-1"). The room puts its current
// speakers into slots: the push-to-talk floor holders, or in open rooms the
// voice-active participants chosen from the RFC 6464 audio level. Each
// (subscriber, slot) pair keeps its own rewrite state so that the slot is one
// continuous RTP stream (own SSRC, sequence numbers without holes made by
// switching or gating, monotonic timestamps); the real speaker is named in the
// CSRC field and in [Observer.SlotChanged]. Consequences: joining or leaving a
// room of 500 touches nobody else's PeerConnection (no renegotiation storm),
// per-subscriber memory is constant, and the forwarding cost is
// O(speakers × listeners) instead of O(participants²).
//
// # Video
//
// A participant that joins with ParticipantConfig.Video (on an Engine with
// Config.VideoSlots) also gets, on the same one offer, a camera m-line
// (simulcast f;h;q) and a screen m-line to publish on, and V camera slots
// plus a screen slot to receive. The slots follow the floor holders and
// the recent speakers, each (receiver, slot) rewritten into one VP8 stream
// (package vp8) and switched at keyframes; package alloc chooses each
// receiver's layers from its estimate. See docs/video.md.
//
// # Why the gate is on the server
//
// In push-to-talk and moderated rooms a participant's packets are forwarded
// only while it holds the floor (and is not muted): a modified or buggy client
// that keeps sending cannot be heard. Because the "press" message can arrive
// after the first syllable, each publisher keeps a short pre-roll ring of its
// last gated packets and releases the last 300 ms of it when it gets the
// floor. Packets dropped by the gate never leave holes downstream: the slot
// rewriter rebases sequence numbers whenever the gate re-opens or the speaker
// changes.
//
// # Hostile clients
//
// A participant holds its own DTLS and SRTP keys and ICE password, so it
// can send anything the server will decrypt and answer. sfu/rtc bounds it
// before anything costs (its doc: "Hostile peers"): nothing is created
// before a check with valid integrity, new source addresses come 8 at
// once then one per 10 s, media only from those addresses, 16 SSRCs each
// way (announced ones first), packet-rate budgets before decryption; RTCP
// about too many unknown SSRCs closes the participant (transport_rtc.go).
// Remote candidates are judged by an
// address policy (policy.go, the TURN relay's ranges): a public server
// sends to public addresses only, and never dials TCP. A listener's NACKs
// are answered within the slot's own packet rate, once per packet per
// 100 ms (nack.go). What is refused is counted in [Stats].
//
// # Cost
//
// The forwarding path allocates nothing and takes no global lock: subscribers
// are a copy-on-write snapshot, one small mutex per (room, slot) serialises
// the writes of one packet to every subscriber's state for that slot, and each
// subscriber gets exactly one write.
//
// Idle participants must be cheap (thousands per node, most of them silent),
// so the package runs no goroutine or timer per participant:
//   - packets and RTCP are handed over by the rtc reader, decrypted in
//     place; a fan-out's packets leave in sendmmsg batches when it ends
//     (plane_rtc.go);
//   - NACKs from subscribers are answered from one small cache per publisher
//     shared by all its subscribers (nack.go), not from per-stream copies.
//   - Upstream NACKs and sender/receiver reports ride on the media path
//     (nackgen.go, reports.go): nothing runs while nothing is sent.
//
// Measured (TestMeasureIdleParticipant, server process alone, connected
// participants without media): docs/performance.md. With pion
// PeerConnections it was 14 goroutines, about 150 KiB of heap and 40 KiB
// of stacks per participant.
package sfu
