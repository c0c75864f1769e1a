// Package turn is Palabre's bundled TURN server, built on pion/turn.
//
// Participants behind restrictive NATs and firewalls reach the SFU through
// it: UDP and TCP on one port (3478 by default), optionally TLS. It knows
// nothing of rooms; the signaling layer hands each participant credentials
// and URLs once it has joined a room.
//
// # Ephemeral credentials
//
// There is no user database. Credentials follow the TURN REST scheme:
// username = "<expiry unix seconds>:<id>", password =
// base64(HMAC-SHA1(secret, username)). Any node holding the shared secret
// can mint and check them, they expire by themselves, and a leaked one is
// worth little. Expired, malformed and forged credentials are refused;
// valid ones are always served, however many failures their source had
// before. (A failure budget per source protects nothing here, since an
// HMAC cannot be guessed online, and it let a flood from many addresses,
// or spoofed UDP from a victim's, lock honest participants out.) Failures
// are counted (Stats) and logged in bounded volume.
//
// # Relay policy
//
// A TURN server relays packets from its own address to any peer the client
// names. Left open, it is a door into the operator's network: a
// participant could reach the host's loopback services, the LAN behind it,
// the cloud metadata service at 169.254.169.254, all with the server's
// address as the source. So the relay refuses every peer that is not a
// public unicast address — loopback, private, CGNAT, link-local,
// multicast, reserved, documentation ranges and their IPv6 equivalents,
// including the forms that hide an IPv4 address (IPv4-mapped, NAT64, 6to4,
// Teredo) — except the server's own media addresses, since the SFU shares
// the host, and the exceptions the operator allows. See Policy.PeerAllowed.
// RFC 6062 TCP relays, which browsers never use, are off by default.
//
// # Quotas
//
// Allocations are capped per credential id and per client IP, TCP and TLS
// connections per client IP, so one participant cannot exhaust the relay
// ports or the server's memory. A TCP or TLS connection must carry an
// allocation within Config.ConnAuthTimeout (10 s) of being accepted or of
// losing its allocation, and one that carries an allocation is closed
// after Config.ConnIdleTimeout without traffic (see deadline.go).
//
// # Logs and metrics
//
// Repeated events (auth failures, refused allocations, connections…) are
// logged in bounded volume, one summary line per kind and
// Config.LogInterval at most; Stats counts every one of them.
package turn
