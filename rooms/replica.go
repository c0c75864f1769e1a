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

// ApplyReplica merges one replica received from another node (see
// ApplyReplicas) and reports whether it changed the store.
func (s *Store) ApplyReplica(rep Replica) (changed bool, err error) {
	names, err := s.ApplyReplicas([]Replica{rep})
	return len(names) > 0, err
}

// ApplyReplicas merges replicas received from other nodes, in one bbolt
// transaction (one fsync) for the whole batch, and returns the names whose
// room or tombstone changed, once the change is on disk. A replica replaces
// the local room or tombstone only if it wins the merge rule (claim.beats):
// a newer version, or the same version with a tombstone or a greater
// record. Several replicas of one name in a batch end as if applied one
// after the other. An ad-hoc room of the same name is replaced, as Create
// would.
//
// A replica that does not validate is skipped: the others are applied,
// and the returned error joins one error per refused replica, each
// wrapping ErrInvalid. If the write itself fails, nothing changes (neither
// disk nor memory) and changed is nil.
func (s *Store) ApplyReplicas(reps []Replica) (changed []string, err error) {
	// Decode outside the lock: joins and local writes need not wait for it.
	best := make(map[string]claim, len(reps))
	order := make([]string, 0, len(reps))
	var refused []error
	for _, rep := range reps {
		c, err := decodeReplica(rep)
		if err != nil {
			refused = append(refused, err)
			continue
		}
		cur, seen := best[rep.Name]
		if !seen {
			order = append(order, rep.Name)
		}
		if !seen || c.beats(cur) {
			best[rep.Name] = c
		}
	}
	invalid := errors.Join(refused...)

	s.wmu.Lock()
	defer s.wmu.Unlock()
	winners := make([]claim, 0, len(order))
	for _, name := range order {
		if c := best[name]; c.beats(s.claimOf(name, c.v)) {
			winners = append(winners, c)
		}
	}
	if len(winners) == 0 {
		return nil, invalid
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		roomsB, tombs := tx.Bucket(bucketRooms), tx.Bucket(bucketTombstones)
		for _, c := range winners {
			key := []byte(c.room.Name)
			if c.deleted {
				data, err := json.Marshal(tombstone(c.v))
				if err != nil {
					return err
				}
				if err := roomsB.Delete(key); err != nil {
					return err
				}
				if err := tombs.Put(key, data); err != nil {
					return err
				}
				continue
			}
			if err := tombs.Delete(key); err != nil {
				return err
			}
			if err := roomsB.Put(key, c.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("rooms: store %d replicas: %w", len(winners), err), invalid)
	}
	s.mu.Lock()
	changed = make([]string, len(winners))
	for i, c := range winners {
		name := c.room.Name
		changed[i] = name
		if c.deleted {
			delete(s.persistent, name)
			s.tombstones[name] = c.v
			continue
		}
		s.persistent[name] = c.room
		delete(s.tombstones, name)
		delete(s.ephemeral, name)
	}
	s.mu.Unlock()
	return changed, invalid
}

// claim is one side of the merge rule: a replica, or what the store holds
// for a name.
type claim struct {
	present bool // false: the store holds nothing of that name
	v       Version
	deleted bool
	room    Definition // Name always set; the rest for a room only
	data    []byte     // a room's stored record (its canonical encoding)
}

// beats reports whether c replaces o. This is the merge rule, the one
// place it is written: the greater version wins. Two claims with the very
// same version can still differ (two servers that ran alone, from before
// versions existed, then joined one cluster): then a tombstone beats a
// room, and between two rooms the greater stored record, byte for byte,
// so that every node picks the same one. Equal claims do not beat each
// other, so applying a replica twice changes nothing the second time.
func (c claim) beats(o claim) bool {
	switch {
	case !o.present:
		return c.present
	case c.v != o.v:
		return o.v.Less(c.v)
	case c.deleted || o.deleted:
		return c.deleted && !o.deleted
	}
	return bytes.Compare(c.data, o.data) > 0
}

// decodeReplica checks a replica from a peer and turns it into a claim.
// The error wraps ErrInvalid.
func decodeReplica(rep Replica) (claim, error) {
	if err := ValidateName(rep.Name); err != nil {
		return claim{}, err
	}
	c := claim{present: true, v: rep.Version(), deleted: rep.Deleted, room: Definition{Name: rep.Name}}
	if rep.Deleted {
		if len(rep.Data) != 0 {
			return claim{}, fmt.Errorf("%w: tombstone of %q carries data", ErrInvalid, rep.Name)
		}
		return c, nil
	}
	room, err := decodeRecord([]byte(rep.Name), rep.Data)
	if err != nil {
		return claim{}, fmt.Errorf("%w: replica of %q: %v", ErrInvalid, rep.Name, err)
	}
	room.Version = c.v // the envelope's version is authoritative
	if c.data, err = json.Marshal(toRecord(room)); err != nil {
		return claim{}, fmt.Errorf("%w: replica of %q: %v", ErrInvalid, rep.Name, err)
	}
	c.room = room
	return c, nil
}

// claimOf is what the store holds for name. The stored record is encoded
// only when the rule needs it (a rival claim of the same version v).
// Callers hold wmu.
func (s *Store) claimOf(name string, v Version) claim {
	if r, ok := s.persistent[name]; ok {
		c := claim{present: true, v: r.Version, room: r}
		if c.v == v {
			c.data, _ = json.Marshal(toRecord(r)) // a Definition always marshals
		}
		return c
	}
	if tv, ok := s.tombstones[name]; ok {
		return claim{present: true, v: tv, deleted: true, room: Definition{Name: name}}
	}
	return claim{}
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
