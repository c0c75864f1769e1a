package rooms

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DBFile is the name of the bbolt file inside the data directory.
const DBFile = "palabre.db"

var bucketRooms = []byte("rooms")

// ErrLocked is returned by Open when another process holds the database:
// one data directory serves one server at a time.
var ErrLocked = errors.New("file is locked: the data directory is in use by another palabre process")

// openTimeout bounds the wait for bbolt's file lock, so that a second process
// on the same data directory fails with a clear error instead of hanging.
var openTimeout = time.Second

// Options configure a Store.
type Options struct {
	Hash HashParams       // zero value = production defaults
	Now  func() time.Time // nil = time.Now
	// MaxEphemeral caps the number of ad-hoc rooms held at once (anyone can
	// create one by joining a free name). 0 = 10000.
	MaxEphemeral int
}

// DefaultMaxEphemeral is the ad-hoc room cap used when Options.MaxEphemeral is 0.
const DefaultMaxEphemeral = 10000

// Store holds room definitions: persistent rooms in bbolt with an in-memory
// cache, and ephemeral (ad-hoc) rooms in memory only. It is safe for
// concurrent use.
type Store struct {
	db           *bolt.DB
	params       HashParams
	now          func() time.Time
	maxEphemeral int
	sem          chan struct{} // bounds concurrent argon2 computations

	// wmu serializes mutations of persistent rooms, and is held across the
	// bbolt write so that memory and disk change in the same order. It is
	// separate from mu so that readers (joins) never wait for an fsync.
	wmu sync.Mutex
	// mu guards the maps. persistent is changed only with wmu and mu both
	// held (so a holder of wmu alone may read it); ephemeral only with mu.
	// A name is never in both maps at the end of a critical section.
	mu         sync.RWMutex
	persistent map[string]Definition
	ephemeral  map[string]Definition
	tombstones map[string]Version // deleted persistent rooms (replication)

	// Replication hooks (SetReplication), read and called under wmu.
	stampVersion func() Version
	published    func(Replica)

	testHookArgon func() // called inside the argon2 semaphore (tests)
}

// record is the stored form of a persistent room. Field names are part of
// the file format: change them only with a new version.
type record struct {
	V               int       `json:"v"`
	Name            string    `json:"name"`
	Mode            Mode      `json:"mode"`
	MaxParticipants int       `json:"max_participants"`
	MaxSpeakers     int       `json:"max_speakers"`
	Locked          bool      `json:"locked"`
	NoChat          bool      `json:"no_chat,omitempty"` // added in format 1, absent is false
	Lobby           bool      `json:"lobby,omitempty"`   // added in format 1, absent is false
	Video           Video     `json:"video,omitempty"`   // added in format 1, absent is the mode's default
	MaxCameras      int       `json:"max_cameras,omitempty"`
	PasswordHash    string    `json:"password_hash,omitempty"`
	OrganizerHash   string    `json:"organizer_hash,omitempty"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
	Clock           uint64    `json:"clock,omitempty"` // Version.Clock
	Node            string    `json:"node,omitempty"`  // Version.Node
}

const recordVersion = 1

func toRecord(r Definition) record {
	return record{
		V: recordVersion, Name: r.Name, Mode: r.Mode,
		MaxParticipants: r.MaxParticipants, MaxSpeakers: r.MaxSpeakers, Locked: r.Locked,
		NoChat: r.NoChat, Lobby: r.Lobby, Video: r.Video, MaxCameras: r.MaxCameras,
		PasswordHash: r.PasswordHash, OrganizerHash: r.OrganizerHash,
		Created: r.Created, Updated: r.Updated,
		Clock: r.Version.Clock, Node: r.Version.Node,
	}
}

func decodeRecord(key, data []byte) (Definition, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Definition{}, err
	}
	if rec.V != recordVersion {
		return Definition{}, fmt.Errorf("unsupported format version %d (this palabre reads %d)", rec.V, recordVersion)
	}
	if rec.Name != string(key) {
		return Definition{}, fmt.Errorf("name %q does not match key", rec.Name)
	}
	r := Definition{
		Name: rec.Name, Mode: rec.Mode,
		MaxParticipants: rec.MaxParticipants, MaxSpeakers: rec.MaxSpeakers, Locked: rec.Locked,
		NoChat: rec.NoChat, Lobby: rec.Lobby, Video: rec.Video, MaxCameras: rec.MaxCameras,
		PasswordHash: rec.PasswordHash, OrganizerHash: rec.OrganizerHash,
		Created: rec.Created, Updated: rec.Updated,
		Version: Version{Clock: rec.Clock, Node: rec.Node},
	}
	if r.MaxSpeakers == 0 {
		// normalize would fill the default; a stored room always has one.
		return Definition{}, errors.New("max_speakers missing")
	}
	if err := normalize(&r); err != nil {
		return Definition{}, err
	}
	return r, nil
}

// Open opens the store in dir, creating dir (0700) and dir/palabre.db (0600)
// if needed, and loads every persistent room. A corrupt entry makes Open fail
// with an error naming it: data is never dropped silently.
func Open(dir string, opts Options) (*Store, error) {
	params := opts.Hash.withDefaults()
	if err := params.check(); err != nil {
		return nil, fmt.Errorf("rooms: hash parameters: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("rooms: create data directory: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("rooms: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("rooms: open %s: %w", path, err)
	}
	s := &Store{
		db:           db,
		params:       params,
		now:          opts.Now,
		maxEphemeral: opts.MaxEphemeral,
		sem:          make(chan struct{}, runtime.NumCPU()),
		persistent:   make(map[string]Definition),
		ephemeral:    make(map[string]Definition),
		tombstones:   make(map[string]Version),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxEphemeral <= 0 {
		s.maxEphemeral = DefaultMaxEphemeral
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRooms)
		if err != nil {
			return err
		}
		err = b.ForEach(func(k, v []byte) error {
			r, err := decodeRecord(k, v)
			if err != nil {
				return fmt.Errorf("corrupt room entry %q in %s: %w", k, path, err)
			}
			s.persistent[r.Name] = r
			return nil
		})
		if err != nil {
			return err
		}
		return s.loadTombstones(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rooms: load: %w", err)
	}
	return s, nil
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error { return s.db.Close() }

// stamp returns the current time without monotonic reading, in UTC, as it
// will read back from disk.
func (s *Store) stamp() time.Time { return s.now().Round(0).UTC() }

// put writes r to bbolt, dropping any tombstone of its name. Callers hold
// wmu.
func (s *Store) put(r Definition) error {
	data, err := json.Marshal(toRecord(r))
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTombstones).Delete([]byte(r.Name)); err != nil {
			return err
		}
		return tx.Bucket(bucketRooms).Put([]byte(r.Name), data)
	})
}

func notFound(name string) error { return fmt.Errorf("%w: %q", ErrNotFound, name) }

// Create validates spec, hashes the password (argon2id) and a fresh organizer
// secret, persists the room and returns it with the secret in clear: show it
// once to the organizer, only its SHA-256 is kept. It returns ErrExists if a
// persistent room has the name; an ephemeral room of that name is replaced.
func (s *Store) Create(spec Spec) (Definition, string, error) {
	r, err := validateSpec(spec)
	if err != nil {
		return Definition{}, "", err
	}
	// Fail fast before the expensive hash; checked again under the lock.
	if s.existsPersistent(r.Name) {
		return Definition{}, "", fmt.Errorf("%w: %q", ErrExists, r.Name)
	}
	if r.PasswordHash, err = s.hashPassword(spec.Password); err != nil {
		return Definition{}, "", err
	}
	secret, hash, err := newOrganizerSecret()
	if err != nil {
		return Definition{}, "", err
	}
	r.OrganizerHash = hash

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, ok := s.persistent[r.Name]; ok {
		return Definition{}, "", fmt.Errorf("%w: %q", ErrExists, r.Name)
	}
	r.Created = s.stamp()
	r.Updated = r.Created
	r.Version = s.nextVersion(s.versionBeforeCreate(r.Name))
	if err := s.put(r); err != nil {
		return Definition{}, "", fmt.Errorf("rooms: store %q: %w", r.Name, err)
	}
	s.mu.Lock()
	s.persistent[r.Name] = r
	delete(s.ephemeral, r.Name)
	delete(s.tombstones, r.Name)
	s.mu.Unlock()
	s.publish(r)
	return r, secret, nil
}

// versionBeforeCreate is the version a new persistent room named name must
// beat: its tombstone's, or that of the ad-hoc room it replaces (whose
// live room keeps only newer definitions). Callers hold wmu.
func (s *Store) versionBeforeCreate(name string) Version {
	v := s.currentVersion(name)
	s.mu.RLock()
	e, ok := s.ephemeral[name]
	s.mu.RUnlock()
	if ok && v.Less(e.Version) {
		v = e.Version
	}
	return v
}

func (s *Store) existsPersistent(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.persistent[name]
	return ok
}

// Get returns the persistent or ephemeral room called name, or ErrNotFound.
func (s *Store) Get(name string) (Definition, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.persistent[name]; ok {
		return r, nil
	}
	if r, ok := s.ephemeral[name]; ok {
		return r, nil
	}
	return Definition{}, notFound(name)
}

// Adhoc returns the room called name, creating an ephemeral open room (mode
// defaults, no password, no organizer) if none exists. It validates the name
// and returns ErrTooMany when Options.MaxEphemeral ad-hoc rooms exist.
func (s *Store) Adhoc(name string) (Definition, error) {
	if err := ValidateName(name); err != nil {
		return Definition{}, err
	}
	if r, err := s.Get(name); err == nil {
		return r, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.persistent[name]; ok {
		return r, nil
	}
	if r, ok := s.ephemeral[name]; ok {
		return r, nil
	}
	if len(s.ephemeral) >= s.maxEphemeral {
		return Definition{}, ErrTooMany
	}
	now := s.stamp()
	r := Definition{
		Name:        name,
		Mode:        ModeOpen,
		MaxSpeakers: ModeOpen.DefaultMaxSpeakers(),
		Ephemeral:   true,
		Created:     now,
		Updated:     now,
	}
	s.ephemeral[name] = r
	return r, nil
}

// DropEphemeral forgets the ephemeral room called name (call it when the room
// empties). It does nothing for persistent or unknown rooms.
func (s *Store) DropEphemeral(name string) {
	s.mu.Lock()
	delete(s.ephemeral, name)
	s.mu.Unlock()
}

// Update applies fn to a copy of the room called name, re-validates the
// result (MaxSpeakers 0 becomes the mode's default), sets Updated and stores
// it: written to disk first unless the room is ephemeral. An error from fn
// aborts the update and is returned as is. fn must not change Name or
// Ephemeral, and must not call the Store (it runs under the Store's lock).
func (s *Store) Update(name string, fn func(*Definition) error) (Definition, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if cur, ok := s.persistent[name]; ok {
		r, err := apply(cur, fn)
		if err != nil {
			return Definition{}, err
		}
		r.Updated = s.stamp()
		r.Version = s.nextVersion(cur.Version)
		if err := s.put(r); err != nil {
			return Definition{}, fmt.Errorf("rooms: store %q: %w", name, err)
		}
		s.mu.Lock()
		s.persistent[name] = r
		s.mu.Unlock()
		s.publish(r)
		return r, nil
	}
	// Ephemeral rooms change under mu alone (Adhoc and DropEphemeral do not
	// take wmu), so read-modify-write under mu.
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.ephemeral[name]
	if !ok {
		return Definition{}, notFound(name)
	}
	r, err := apply(cur, fn)
	if err != nil {
		return Definition{}, err
	}
	r.Updated = s.stamp()
	// Not replicated, but versioned all the same: the live room keeps only
	// the newest of the definitions it is handed.
	r.Version = s.nextVersion(cur.Version)
	s.ephemeral[name] = r
	return r, nil
}

func apply(cur Definition, fn func(*Definition) error) (Definition, error) {
	r := cur
	if err := fn(&r); err != nil {
		return Definition{}, err
	}
	if r.Name != cur.Name {
		return Definition{}, fmt.Errorf("%w: a room cannot be renamed", ErrInvalid)
	}
	if r.Ephemeral != cur.Ephemeral {
		return Definition{}, fmt.Errorf("%w: a room cannot change between ad-hoc and persistent (use Create)", ErrInvalid)
	}
	r.Created = cur.Created
	r.Version = cur.Version
	if err := normalize(&r); err != nil {
		return Definition{}, err
	}
	return r, nil
}

// SetPassword hashes password and stores it as the room's password; ""
// removes the password.
func (s *Store) SetPassword(name, password string) (Definition, error) {
	return s.Edit(name, Change{Password: &password})
}

// RotateOrganizerSecret gives a persistent room a fresh organizer secret,
// returned in clear; the old one stops working. Ad-hoc rooms have no
// organizer and return an error wrapping ErrInvalid.
func (s *Store) RotateOrganizerSecret(name string) (Definition, string, error) {
	secret, hash, err := newOrganizerSecret()
	if err != nil {
		return Definition{}, "", err
	}
	r, err := s.Update(name, func(r *Definition) error {
		if r.Ephemeral {
			return fmt.Errorf("%w: ad-hoc room %q has no organizer", ErrInvalid, name)
		}
		r.OrganizerHash = hash
		return nil
	})
	if err != nil {
		return Definition{}, "", err
	}
	return r, secret, nil
}

// Put stores r as given (after validation), replacing any room of that name
// and keeping r's timestamps, as a new local write (a fresh Version). It is
// meant for restoring backups, where the hashes come from elsewhere;
// replication between nodes uses ApplyReplica. An ephemeral r only replaces
// an ephemeral room or nothing.
func (s *Store) Put(r Definition) error {
	if err := normalize(&r); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if r.Ephemeral {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.persistent[r.Name]; ok {
			return fmt.Errorf("%w: %q", ErrExists, r.Name)
		}
		s.ephemeral[r.Name] = r
		return nil
	}
	r.Version = s.nextVersion(s.versionBeforeCreate(r.Name))
	if err := s.put(r); err != nil {
		return fmt.Errorf("rooms: store %q: %w", r.Name, err)
	}
	s.mu.Lock()
	s.persistent[r.Name] = r
	delete(s.ephemeral, r.Name)
	delete(s.tombstones, r.Name)
	s.mu.Unlock()
	s.publish(r)
	return nil
}

// Delete removes the room called name (from disk too if persistent), or
// returns ErrNotFound.
func (s *Store) Delete(name string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if cur, ok := s.persistent[name]; ok {
		// A tombstone, so that the deletion wins over older copies of the
		// room that other nodes may still send.
		v := s.nextVersion(cur.Version)
		if err := s.writeTombstone(name, v); err != nil {
			return err
		}
		s.mu.Lock()
		delete(s.persistent, name)
		s.tombstones[name] = v
		s.mu.Unlock()
		s.publishDeletion(name, v)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ephemeral[name]; !ok {
		return notFound(name)
	}
	delete(s.ephemeral, name)
	return nil
}

// List returns all rooms, persistent and ephemeral, sorted by name.
func (s *Store) List() []Definition {
	s.mu.RLock()
	out := make([]Definition, 0, len(s.persistent)+len(s.ephemeral))
	for _, r := range s.persistent {
		out = append(out, r)
	}
	for _, r := range s.ephemeral {
		out = append(out, r)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Definition) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ErrClaimed is ClaimAdhoc's answer for an ad-hoc room that already has
// an organizer.
var ErrClaimed = errors.New("ad-hoc room already has an organizer")

// ClaimAdhoc gives the ad-hoc room called name an organizer secret, for
// whoever opened it: they are its organizer for its life (as on Jitsi),
// and come back as such with the secret, returned in clear. It returns
// ErrClaimed if the room has an organizer already, an error wrapping
// ErrInvalid if the room is persistent, ErrNotFound if there is none.
func (s *Store) ClaimAdhoc(name string) (Definition, string, error) {
	secret, hash, err := newOrganizerSecret()
	if err != nil {
		return Definition{}, "", err
	}
	d, err := s.Update(name, func(d *Definition) error {
		switch {
		case !d.Ephemeral:
			return fmt.Errorf("%w: %q is not an ad-hoc room", ErrInvalid, name)
		case d.OrganizerHash != "":
			return ErrClaimed
		}
		d.OrganizerHash = hash
		return nil
	})
	if err != nil {
		return Definition{}, "", err
	}
	return d, secret, nil
}
