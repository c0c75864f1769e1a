package rooms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Version orders the writes of one room across the nodes of a cluster:
// the write with the greater Version wins (last writer wins). Clock is a
// hybrid logical clock (Unix nanoseconds, pushed past every version seen);
// Node, the id of the node that wrote, breaks ties so that every node
// picks the same winner.
type Version struct {
	Clock uint64
	Node  string
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool {
	if v.Clock != w.Clock {
		return v.Clock < w.Clock
	}
	return v.Node < w.Node
}

// Replica is one entry of the replicated room registry: a persistent room
// (Data is its stored record, password and organizer hashes included) or
// a tombstone (Deleted, no Data) that keeps a deleted room from coming
// back through a node that has not heard of the deletion yet.
type Replica struct {
	Name    string
	Clock   uint64
	Node    string
	Deleted bool
	Data    []byte
}

// Version returns the replica's version.
func (r Replica) Version() Version { return Version{Clock: r.Clock, Node: r.Node} }

// TombstoneTTL is how long a deletion is remembered. A node that was away
// for longer may bring a deleted room back (docs/cluster.md).
const TombstoneTTL = 30 * 24 * time.Hour

var bucketTombstones = []byte("tombstones")

type tombstone struct {
	Clock uint64 `json:"clock"`
	Node  string `json:"node"`
}

// SetReplication makes the Store part of a replicated registry: stamp
// gives the version of each local write (nil: wall-clock nanoseconds, no
// node), and published, if not nil, receives every local write of a
// persistent room (create, update, delete) once it is on disk, in the
// order of the writes. published runs under the Store's write lock: it
// must not call the Store. Call SetReplication before the Store is used.
func (s *Store) SetReplication(stamp func() Version, published func(Replica)) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.stampVersion, s.published = stamp, published
}

// nextVersion returns the version of a local write to a room whose
// current version (room or tombstone) is prev: always newer than prev,
// even if this node's clock is behind the writer of prev. Callers hold wmu.
func (s *Store) nextVersion(prev Version) Version {
	var v Version
	if s.stampVersion != nil {
		v = s.stampVersion()
	} else {
		v = Version{Clock: uint64(s.now().UnixNano())}
	}
	if !prev.Less(v) {
		v.Clock = prev.Clock + 1
	}
	return v
}

// currentVersion is the version of name's room or tombstone, zero if
// none. Callers hold wmu.
func (s *Store) currentVersion(name string) Version {
	if r, ok := s.persistent[name]; ok {
		return r.Version
	}
	return s.tombstones[name]
}

// publish hands a local write to the replication hook. Callers hold wmu.
func (s *Store) publish(r Definition) {
	if s.published == nil {
		return
	}
	data, err := json.Marshal(toRecord(r))
	if err != nil {
		return // a Definition always marshals
	}
	s.published(Replica{Name: r.Name, Clock: r.Version.Clock, Node: r.Version.Node, Data: data})
}

func (s *Store) publishDeletion(name string, v Version) {
	if s.published != nil {
		s.published(Replica{Name: name, Clock: v.Clock, Node: v.Node, Deleted: true})
	}
}

// Replicas returns every persistent room and every tombstone, sorted by
// name: the full state a node sends to a peer.
func (s *Store) Replicas() []Replica {
	s.mu.RLock()
	out := make([]Replica, 0, len(s.persistent)+len(s.tombstones))
	for _, r := range s.persistent {
		data, err := json.Marshal(toRecord(r))
		if err != nil {
			continue
		}
		out = append(out, Replica{Name: r.Name, Clock: r.Version.Clock, Node: r.Version.Node, Data: data})
	}
	for name, v := range s.tombstones {
		out = append(out, Replica{Name: name, Clock: v.Clock, Node: v.Node, Deleted: true})
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Replica) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ApplyReplica merges a replica received from another node: it replaces
// the local room or tombstone only if its version is newer, and reports
// whether it did. A replica that does not validate is refused with an
// error wrapping ErrInvalid and changes nothing. An ad-hoc room of the same
// name is replaced, as Create would.
func (s *Store) ApplyReplica(rep Replica) (changed bool, err error) {
	if err := ValidateName(rep.Name); err != nil {
		return false, err
	}
	v := rep.Version()
	var room Definition
	if !rep.Deleted {
		room, err = decodeRecord([]byte(rep.Name), rep.Data)
		if err != nil {
			return false, fmt.Errorf("%w: replica of %q: %v", ErrInvalid, rep.Name, err)
		}
		room.Version = v // the envelope's version is authoritative
	} else if len(rep.Data) != 0 {
		return false, fmt.Errorf("%w: tombstone of %q carries data", ErrInvalid, rep.Name)
	}

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.wins(rep) {
		return false, nil
	}
	if rep.Deleted {
		if err := s.writeTombstone(rep.Name, v); err != nil {
			return false, err
		}
		s.mu.Lock()
		delete(s.persistent, rep.Name)
		s.tombstones[rep.Name] = v
		s.mu.Unlock()
		return true, nil
	}
	if err := s.put(room); err != nil {
		return false, fmt.Errorf("rooms: store replica %q: %w", rep.Name, err)
	}
	s.mu.Lock()
	s.persistent[rep.Name] = room
	delete(s.tombstones, rep.Name)
	delete(s.ephemeral, rep.Name)
	s.mu.Unlock()
	return true, nil
}

// wins reports whether rep replaces what this store holds for its name:
// a newer version, or the same version with different content (two
// servers that ran alone, both from before versions existed, then joined
// one cluster). Then a tombstone beats a room, and between two rooms the
// greater stored record, byte for byte: every node picks the same one.
// Callers hold wmu.
func (s *Store) wins(rep Replica) bool {
	v, cur := rep.Version(), s.currentVersion(rep.Name)
	if cur != v {
		return cur.Less(v)
	}
	room, isRoom := s.persistent[rep.Name]
	_, isTomb := s.tombstones[rep.Name]
	switch {
	case !isRoom && !isTomb:
		return true // nothing here (a zero version)
	case rep.Deleted:
		return isRoom
	case isTomb:
		return false
	}
	mine, err := json.Marshal(toRecord(room))
	return err == nil && bytes.Compare(rep.Data, mine) > 0
}

// writeTombstone removes name's room from disk and records its deletion,
// in one transaction. Callers hold wmu.
func (s *Store) writeTombstone(name string, v Version) error {
	data, err := json.Marshal(tombstone(v))
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketRooms).Delete([]byte(name)); err != nil {
			return err
		}
		return tx.Bucket(bucketTombstones).Put([]byte(name), data)
	})
	if err != nil {
		return fmt.Errorf("rooms: delete %q: %w", name, err)
	}
	return nil
}

// loadTombstones reads the tombstones bucket inside Open's transaction,
// dropping those older than TombstoneTTL.
func (s *Store) loadTombstones(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketTombstones)
	if err != nil {
		return err
	}
	oldest := uint64(s.now().Add(-TombstoneTTL).UnixNano())
	var expired [][]byte
	err = b.ForEach(func(k, v []byte) error {
		var t tombstone
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("corrupt tombstone %q: %w", k, err)
		}
		if t.Clock < oldest {
			expired = append(expired, slices.Clone(k))
			return nil
		}
		s.tombstones[string(k)] = Version(t)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range expired {
		if err := b.Delete(k); err != nil {
			return errors.Join(fmt.Errorf("drop expired tombstone %q", k), err)
		}
	}
	return nil
}
