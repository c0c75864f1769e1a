// Package cluster lets Palabre nodes form a pool: membership and failure
// detection over an encrypted gossip protocol (hashicorp/memberlist), node
// metadata (public URL, capacity, load, draining), the placement of rooms
// on nodes, and the replicated registry of room definitions.
//
// Placement is weighted rendezvous hashing of the room name over the alive
// nodes that are not draining. A room that is live (has participants) on a
// node stays there until it empties: every node announces its live rooms,
// and a live room's holder wins over the hash. If two nodes hold the same
// room (a race, or a healed partition), the one with more participants
// keeps it and the other moves its participants.
//
// The registry is a last-writer-wins map with tombstones. This package
// moves its entries between nodes (direct sends and gossip on every local
// write, full-state exchange on join and periodically) and keeps a hybrid logical
// clock for versions; storing and merging is the Registry's job (package
// rooms). The package touches no media and knows no room semantics.
package cluster
