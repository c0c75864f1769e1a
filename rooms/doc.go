// Package rooms owns Palabre's room definitions ([Definition]): names, modes, limits,
// password rooms and organizer secrets, and their persistence.
//
// A [Store] keeps persistent rooms in a bbolt file (palabre.db in the data
// directory) with an in-memory cache in front of it, plus ephemeral ("ad-hoc")
// rooms that exist only in memory while somebody is in them. Every mutation is
// written through to bbolt before the cache changes, so a crash loses nothing
// that a caller was told had succeeded.
//
// Secrets are never stored in clear: room passwords are hashed with argon2id
// (PHC string form, so old hashes keep verifying when the parameters change)
// and organizer secrets, which are 128 random bits, are stored as their
// SHA-256. Password checks are bounded to runtime.NumCPU() concurrent argon2
// computations so that a burst of joins cannot exhaust memory.
//
// Rate limits on who may try a password live in package admission: this
// package is definitions and their persistence only.
//
// The package does no network I/O; the signaling layer calls into it.
package rooms
