// Package rtc is a server-side WebRTC transport of Palabre's own, written
// on pion's primitives (pion/stun, pion/dtls, pion/srtp, pion/sdp) instead
// of pion's PeerConnection, the way mediasoup and Jitsi Videobridge are
// built (issue 16).
//
// # Why
//
// A pion PeerConnection per participant costs about 330 KB and 14
// goroutines while idle (ICE agent, DTLS, SRTP sessions, muxes, their
// timers), and its write path walks about ten objects per packet (SRTP
// session, mux endpoint, ICE connection with a select, candidate pair, UDP
// mux) before one sendto. A server that forwards the same packet to
// thousands of listeners needs neither: it needs, per participant, keys and
// an address, and per packet, an encryption and a share of a sendmmsg.
//
// # Design
//
//   - One UDP socket per engine, one reader goroutine per socket
//     (socket.go). The first byte of a datagram tells STUN, DTLS and
//     SRTP/SRTCP apart (RFC 7983).
//   - ICE-lite (ice.go): the server sends no checks; it answers the
//     client's (MESSAGE-INTEGRITY with the connection's password,
//     FINGERPRINT, XOR-MAPPED-ADDRESS). STUN is demultiplexed by the local
//     ufrag (USERNAME), everything else by the remote address a valid check
//     came from. A check with USE-CANDIDATE (browsers keep it on their
//     selected pair when the remote is lite) moves the media to its
//     address; one without moves it only if the selected address has been
//     silent for 6 s (a NAT rebinding, a client without nomination).
//     Consent is the client's checks: disconnected after 10 s without
//     one, failed after 30 s (RFC 7675).
//   - ICE-TCP, passive (tcp.go; RFC 6544, RFC 4571 framing), optional
//     (Config.TCPAddr): one listening port, a reader goroutine per
//     accepted stream. A stream's first valid check binds it to its
//     connection for good (no address lookup, nothing in byAddr); admit's
//     rules make it the connection's path, which is then a stream instead
//     of a UDP address: every write (media, DTLS, a Batch's packets) goes
//     over it at once, framed, under the stream's lock, within 100 ms. A
//     write that fails closes the stream (a half-written frame cannot be
//     resumed); a closed stream that was the path clears it, so consent
//     expires as for a silent UDP path unless a check selects another.
//   - Host candidates (Engine.Candidates): the bound address, or the
//     announced ones (Config.Announce: a 1:1 NAT, a socket bound to every
//     interface), with the UDP port and the ICE-TCP port (tcptype
//     passive, a lower priority, as pion writes it).
//   - DTLS (dtls.go): pion/dtls over a virtual net.PacketConn that the
//     reader feeds and that writes to the selected address; one ECDSA
//     certificate per engine (cert.go). The SRTP keys are exported with
//     srtp's ExtractSessionKeysFromDTLS. pion's dtls.Conn (two goroutines)
//     lives only for the handshake and, as DTLS server, until the client
//     shows it got the last flight (its first SRTP or SRTCP, even one that
//     came before the keys) or 30 s: a client that lost the last flight
//     sends its own again meanwhile, and gets it again. Then it is closed
//     detached (its close_notify is not sent): nothing of DTLS remains.
//   - SRTP (srtp.go): one srtp.Context per direction. The reader decrypts
//     in place in its buffer and hands the packet to the connection's
//     Handler; senders encrypt in place, in a Batch's buffer or a pooled
//     one. Replays are refused (window of 512); SSRCs are budgeted before
//     decryption (16 RTP and 16 RTCP per connection, announced ones first):
//     a peer holds the keys, so it could otherwise make the engine keep
//     state for every SSRC it invents.
//   - Batched sends (batch.go): a fan-out encrypts into a Batch and flushes
//     it at its end; Flush sends with sendmmsg (x/net ipv4/ipv6
//     WriteBatch), 64 datagrams a call. No timer flushes.
//   - One timer wheel (wheel.go) for every connection: connection
//     timeouts, consent, the DTLS grace, the client mode's checks. A
//     connection has one intrusive entry for its earliest deadline.
//   - SDP (sdp.go, offer.go): Description is written with Marshal and read
//     with ParseDescription on pion/sdp: ICE credentials, fingerprint,
//     setup role, candidates, and per media section codecs (payload types,
//     fmtp, feedback), header extension ids, SSRCs and FID groups, rids and
//     simulcast. Everything a client writes is bounded. Test vectors are
//     real answers of Chromium and Firefox (testdata, written by e2e's
//     OwnTransport scenario).
//   - A client mode (client.go): the other side on the same primitives,
//     ICE controlling (every check nominates), DTLS client, for tests and
//     a light load generator. A client connection has a socket and so a
//     reader goroutine of its own (the server tells participants apart by
//     address).
//
// # What a participant costs
//
// Per server connection, while idle: the Conn (ICE credentials, up to 4
// addresses, SSRC sets, state), two srtp.Contexts with their per-SSRC
// states, an entry in two maps and in the wheel. No goroutine, no Go
// timer, no buffer: the engine's goroutines are its reader and its wheel,
// whatever the number of participants (and the ICE-TCP listener's, with a
// reader and about 7 KiB of buffers per open stream: a participant on TCP
// costs those, streams are few and bounded). Work per idle participant: one
// check answered every few seconds (two HMAC-SHA1, one sendto) and one
// wheel firing every 10 s. Measured: TestIdleScale (docs/performance.md,
// "Own media plane").
//
// # Hostile peers
//
// STUN is judged cheapest first (header, ufrag lookup, then the HMAC),
// and nothing is created before a check with valid integrity: a flood of
// random ufrags costs a map lookup per packet and no allocation
// (TestSTUNFlood). A participant's valid checks may add addresses at a
// bounded rate (4, then 2 a second), at most 4 at once; an address another
// connection heard a check from in the last 30 s is not taken over (source
// addresses can be spoofed). DTLS and media come only from validated
// addresses; the DTLS queue of a handshake is bounded.
//
// ICE-TCP streams cost a goroutine and a socket, and anyone may open one:
// at most Config.MaxTCP (1024) open, 8 per IPv4 address or IPv6 /64
// (more are reset at once), 4 bound to one connection. A stream's first
// frame must be an authentic check (known ufrag, FINGERPRINT,
// MESSAGE-INTEGRITY) within 5 s: anything else first, or a frame over
// 1500 bytes at any time, closes it; a flood of random ufrags costs one
// stream each and leaves nothing (TestTCPSTUNFlood). A stream is paid
// from its connection's new-address budget. A peer that stops reading
// holds a writer 100 ms once: that write closes its stream.
//
// # Concurrency
//
// Each reader (the UDP socket's, each ICE-TCP stream's) owns its scratch.
// A connection's receive state (SSRC sets, the in-context, rate budgets,
// the selected path's last sign of life, DTLS feeding) is under its
// receive lock, Conn.rx, taken by whichever reader handles one of its
// packets, for that packet: a browser checks its UDP and TCP pairs at
// once, so two readers may have packets for one connection. On the UDP
// path the lock is uncontended (a lock and an unlock per packet, no
// allocation); answers to checks are sent after it is released (a TCP
// write may wait). Its UDP addresses are the UDP reader's alone (and
// under Engine.mu with the maps). A connection's send context is under
// its outMu, so any goroutine may send. Handler methods are called from a
// reader (packets: under the receive lock, so one at a time per
// connection), the wheel or a handshake goroutine (states), with no lock
// of the engine held, and must not block.
//
// Entry points: NewEngine, Engine.NewConn, Conn.Offer, ParseDescription,
// CheckAnswer, Conn.SetRemote, Conn.WriteRTP, Conn.WriteRTCP,
// Engine.NewBatch, Conn.Close, Conn.PathKind; the client mode's
// Engine.Dial, Conn.Answer.
package rtc
