// Package rtc is a server-side WebRTC transport written on pion's
// primitives (pion/stun, pion/dtls, pion/srtp, pion/sdp) instead of pion's
// PeerConnection: ICE-lite on one UDP socket, DTLS over a virtual
// connection, SRTP contexts used in place, batched sends, one timer wheel.
// See the design below and, for the figures, docs/performance.md.
//
// (The full design notes are being written; see engine.go for the entry
// points: NewEngine, Engine.NewConn, Conn.Offer, ParseDescription,
// Conn.SetRemote, Conn.WriteRTP, Engine.NewBatch, Engine.Dial.)
package rtc
