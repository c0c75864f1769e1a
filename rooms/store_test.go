package rooms

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"palabre/internal/testkit"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	return openTestOpts(t, dir, Options{})
}

func openTestOpts(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Hash == (HashParams{}) {
		opts.Hash = cheap
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawValue reads the stored bytes of a room straight from bbolt.
func rawValue(t *testing.T, s *Store, name string) []byte {
	t.Helper()
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketRooms).Get([]byte(name)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr error
		want    Definition // checked: Mode, MaxParticipants, MaxSpeakers, HasPassword
		hasPw   bool
	}{
		{name: "defaults", spec: Spec{Name: "a"}, want: Definition{Mode: ModeOpen, MaxSpeakers: 3}},
		{name: "ptt", spec: Spec{Name: "b", Mode: ModePTT}, want: Definition{Mode: ModePTT, MaxSpeakers: 1}},
		{name: "moderated", spec: Spec{Name: "c", Mode: ModeModerated}, want: Definition{Mode: ModeModerated, MaxSpeakers: 1}},
		{name: "all set", spec: Spec{Name: "d", Mode: ModePTT, Password: "pw", MaxParticipants: 500, MaxSpeakers: 2},
			want: Definition{Mode: ModePTT, MaxParticipants: 500, MaxSpeakers: 2}, hasPw: true},
		{name: "limits at max", spec: Spec{Name: "e", MaxParticipants: MaxParticipantsLimit, MaxSpeakers: MaxSpeakersLimit, Password: strings.Repeat("p", MaxPasswordLen)},
			want: Definition{Mode: ModeOpen, MaxParticipants: MaxParticipantsLimit, MaxSpeakers: MaxSpeakersLimit}, hasPw: true},
		{name: "bad name", spec: Spec{Name: "Bad"}, wantErr: ErrInvalid},
		{name: "bad mode", spec: Spec{Name: "f", Mode: "loud"}, wantErr: ErrInvalid},
		{name: "negative participants", spec: Spec{Name: "f", MaxParticipants: -1}, wantErr: ErrInvalid},
		{name: "too many participants", spec: Spec{Name: "f", MaxParticipants: MaxParticipantsLimit + 1}, wantErr: ErrInvalid},
		{name: "too many speakers", spec: Spec{Name: "f", MaxSpeakers: 9}, wantErr: ErrInvalid},
		{name: "negative speakers", spec: Spec{Name: "f", MaxSpeakers: -1}, wantErr: ErrInvalid},
		{name: "long password", spec: Spec{Name: "f", Password: strings.Repeat("p", MaxPasswordLen+1)}, wantErr: ErrInvalid},
		{name: "exists", spec: Spec{Name: "a"}, wantErr: ErrExists},
	}
	clock := testkit.NewClock()
	s := openTestOpts(t, t.TempDir(), Options{Now: clock.Now})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, secret, err := s.Create(tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Create = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tt.spec.Name || r.Mode != tt.want.Mode || r.MaxParticipants != tt.want.MaxParticipants ||
				r.MaxSpeakers != tt.want.MaxSpeakers || r.HasPassword() != tt.hasPw || r.Ephemeral || r.Locked {
				t.Errorf("Create = %+v", r)
			}
			if !r.Created.Equal(clock.Now()) || !r.Updated.Equal(clock.Now()) {
				t.Errorf("timestamps %v %v, want %v", r.Created, r.Updated, clock.Now())
			}
			if len(secret) != 22 || !s.CheckOrganizer(r, secret) {
				t.Errorf("organizer secret %q does not check", secret)
			}
			if tt.hasPw && !s.CheckPassword(r, tt.spec.Password) {
				t.Error("password does not check")
			}
			got, err := s.Get(r.Name)
			if err != nil || got != r {
				t.Errorf("Get = %+v, %v; want %+v", got, err, r)
			}
		})
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func TestSecretsNotStoredInClear(t *testing.T) {
	s := openTest(t, t.TempDir())
	const pw = "correct-horse-battery-staple"
	r, secret, err := s.Create(Spec{Name: "secret-room", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawValue(t, s, "secret-room")
	if len(raw) == 0 {
		t.Fatal("room not stored")
	}
	for _, clear := range []string{pw, secret} {
		if bytes.Contains(raw, []byte(clear)) {
			t.Errorf("stored value %s contains %q in clear", raw, clear)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["v"] != float64(1) || rec["password_hash"] != r.PasswordHash || rec["organizer_hash"] != r.OrganizerHash {
		t.Errorf("stored record %s", raw)
	}
	if !strings.HasPrefix(r.PasswordHash, "$argon2id$") || r.OrganizerHash != organizerHash(secret) {
		t.Errorf("room hashes %q %q", r.PasswordHash, r.OrganizerHash)
	}
}

func TestUpdate(t *testing.T) {
	clock := testkit.NewClock()
	s := openTestOpts(t, t.TempDir(), Options{Now: clock.Now})
	orig, _, err := s.Create(Spec{Name: "room", Mode: ModePTT})
	if err != nil {
		t.Fatal(err)
	}
	errFn := errors.New("fn says no")
	tests := []struct {
		name    string
		fn      func(*Definition) error
		wantErr error
		check   func(Definition) bool
	}{
		{"lock", func(r *Definition) error { r.Locked = true; return nil }, nil,
			func(r Definition) bool { return r.Locked }},
		{"mode and speakers", func(r *Definition) error { r.Mode = ModeOpen; r.MaxSpeakers = 5; return nil }, nil,
			func(r Definition) bool { return r.Mode == ModeOpen && r.MaxSpeakers == 5 && r.Locked }},
		{"speakers 0 = mode default", func(r *Definition) error { r.Mode = ModeModerated; r.MaxSpeakers = 0; return nil }, nil,
			func(r Definition) bool { return r.Mode == ModeModerated && r.MaxSpeakers == 1 }},
		{"fn error", func(r *Definition) error { r.Locked = false; return errFn }, errFn, nil},
		{"bad mode", func(r *Definition) error { r.Mode = "x"; return nil }, ErrInvalid, nil},
		{"bad speakers", func(r *Definition) error { r.MaxSpeakers = 9; return nil }, ErrInvalid, nil},
		{"bad participants", func(r *Definition) error { r.MaxParticipants = -5; return nil }, ErrInvalid, nil},
		{"rename", func(r *Definition) error { r.Name = "other"; return nil }, ErrInvalid, nil},
		{"make ephemeral", func(r *Definition) error { r.Ephemeral = true; return nil }, ErrInvalid, nil},
		{"bad password hash", func(r *Definition) error { r.PasswordHash = "pw"; return nil }, ErrInvalid, nil},
		{"bad organizer hash", func(r *Definition) error { r.OrganizerHash = "xyz"; return nil }, ErrInvalid, nil},
		{"created kept", func(r *Definition) error { r.Created = time.Time{}; r.MaxParticipants = 10; return nil }, nil,
			func(r Definition) bool { return r.Created.Equal(orig.Created) && r.MaxParticipants == 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Get("room")
			clock.Advance(time.Minute)
			r, err := s.Update("room", tt.fn)
			after, _ := s.Get("room")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Update = %v, want %v", err, tt.wantErr)
				}
				if after != before {
					t.Errorf("failed update changed the room: %+v -> %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(r) || r != after {
				t.Errorf("Update = %+v, stored %+v", r, after)
			}
			if !r.Updated.Equal(clock.Now()) {
				t.Errorf("Updated = %v, want %v", r.Updated, clock.Now())
			}
		})
	}
	if _, err := s.Update("missing", func(*Definition) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update(missing) = %v, want ErrNotFound", err)
	}
}

func TestPasswordSetCheckRemove(t *testing.T) {
	s := openTest(t, t.TempDir())
	if _, _, err := s.Create(Spec{Name: "r", Password: "one"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		set     string // new password
		try     string
		wantHas bool
		want    bool
	}{
		{"two", "two", true, true},
		{"two", "one", true, false},
		{"three", "", true, false},
		{"", "", false, true},
		{"", "anything", false, true},
		{"four", "four", true, true},
	}
	for i, st := range steps {
		r, err := s.SetPassword("r", st.set)
		if err != nil {
			t.Fatalf("step %d: SetPassword: %v", i, err)
		}
		if r.HasPassword() != st.wantHas {
			t.Errorf("step %d: HasPassword = %v", i, r.HasPassword())
		}
		got, _ := s.Get("r")
		if ok := s.CheckPassword(got, st.try); ok != st.want {
			t.Errorf("step %d: CheckPassword(%q) = %v, want %v", i, st.try, ok, st.want)
		}
	}
	if _, err := s.SetPassword("missing", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(missing) = %v", err)
	}
	if _, err := s.SetPassword("r", strings.Repeat("x", MaxPasswordLen+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetPassword(too long) = %v", err)
	}
}

func TestRotateOrganizerSecret(t *testing.T) {
	s := openTest(t, t.TempDir())
	_, old, err := s.Create(Spec{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	r, fresh, err := s.RotateOrganizerSecret("r")
	if err != nil {
		t.Fatal(err)
	}
	if s.CheckOrganizer(r, old) || !s.CheckOrganizer(r, fresh) {
		t.Error("rotation did not replace the secret")
	}
	if _, err := s.Adhoc("adhoc"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RotateOrganizerSecret("adhoc"); !errors.Is(err, ErrInvalid) {
		t.Errorf("rotate on ad-hoc room = %v, want ErrInvalid", err)
	}
}

func TestDeleteAndList(t *testing.T) {
	s := openTest(t, t.TempDir())
	for _, n := range []string{"c", "a", "b"} {
		if _, _, err := s.Create(Spec{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Adhoc("ab"); err != nil {
		t.Fatal(err)
	}
	names := func() string {
		var ns []string
		for _, r := range s.List() {
			ns = append(ns, r.Name)
		}
		return strings.Join(ns, ",")
	}
	if got := names(); got != "a,ab,b,c" {
		t.Errorf("List = %s", got)
	}
	for _, tt := range []struct {
		name    string
		wantErr error
		left    string
	}{
		{"b", nil, "a,ab,c"},
		{"b", ErrNotFound, "a,ab,c"},
		{"ab", nil, "a,c"},
		{"zz", ErrNotFound, "a,c"},
	} {
		if err := s.Delete(tt.name); !errors.Is(err, tt.wantErr) {
			t.Errorf("Delete(%q) = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got := names(); got != tt.left {
			t.Errorf("after Delete(%q): List = %s, want %s", tt.name, got, tt.left)
		}
	}
	if raw := rawValue(t, s, "b"); raw != nil {
		t.Errorf("deleted room still on disk: %s", raw)
	}
	// A deleted name can be created again.
	if _, _, err := s.Create(Spec{Name: "b"}); err != nil {
		t.Errorf("re-create: %v", err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Hash: cheap})
	if err != nil {
		t.Fatal(err)
	}
	_, secretA, err := s.Create(Spec{Name: "alpha", Mode: ModeModerated, Password: "pw-a", MaxParticipants: 42, MaxSpeakers: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Update("alpha", func(r *Definition) error { r.Locked = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	b, secretB, err := s.Create(Spec{Name: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Adhoc("gamma"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	want := map[string]struct {
		r      Definition
		secret string
		pw     string
	}{"alpha": {a, secretA, "pw-a"}, "beta": {b, secretB, ""}}
	list := s.List()
	if len(list) != len(want) {
		t.Fatalf("after reopen List = %+v", list)
	}
	for _, got := range list {
		w := want[got.Name]
		if !sameRoom(got, w.r) {
			t.Errorf("after reopen %+v, want %+v", got, w.r)
		}
		if !s.CheckOrganizer(got, w.secret) {
			t.Errorf("%s: organizer secret lost", got.Name)
		}
		if !s.CheckPassword(got, w.pw) || (w.pw != "" && s.CheckPassword(got, "wrong")) {
			t.Errorf("%s: password hash lost", got.Name)
		}
	}
	if _, err := s.Get("gamma"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ephemeral room survived reopen: %v", err)
	}
}

// sameRoom compares rooms with time.Equal for the timestamps.
func sameRoom(a, b Definition) bool {
	if !a.Created.Equal(b.Created) || !a.Updated.Equal(b.Updated) {
		return false
	}
	a.Created, a.Updated, b.Created, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestEphemeral(t *testing.T) {
	s := openTestOpts(t, t.TempDir(), Options{MaxEphemeral: 3})
	r, err := s.Adhoc("chat")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Ephemeral || r.Mode != ModeOpen || r.MaxSpeakers != 3 || r.HasPassword() || r.OrganizerHash != "" || r.MaxParticipants != 0 {
		t.Errorf("Adhoc = %+v", r)
	}
	if raw := rawValue(t, s, "chat"); raw != nil {
		t.Errorf("ephemeral room written to disk: %s", raw)
	}
	if r2, err := s.Adhoc("chat"); err != nil || r2 != r {
		t.Errorf("second Adhoc = %+v, %v; want the same room", r2, err)
	}
	if _, err := s.Adhoc("Bad Name"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Adhoc(bad name) = %v", err)
	}
	if s.CheckOrganizer(r, "") || s.CheckOrganizer(r, "anything") {
		t.Error("ad-hoc room has an organizer")
	}

	// Update works in memory and stays off disk.
	if _, err := s.Update("chat", func(r *Definition) error { r.Mode = ModePTT; r.MaxSpeakers = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("chat"); got.Mode != ModePTT || got.MaxSpeakers != 1 || !got.Ephemeral {
		t.Errorf("after update %+v", got)
	}
	if raw := rawValue(t, s, "chat"); raw != nil {
		t.Errorf("ephemeral room written to disk on update: %s", raw)
	}

	// Dropped when empty.
	s.DropEphemeral("chat")
	if _, err := s.Get("chat"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DropEphemeral Get = %v", err)
	}

	// Cap on the number of ad-hoc rooms.
	for _, n := range []string{"e1", "e2", "e3"} {
		if _, err := s.Adhoc(n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Adhoc("e4"); !errors.Is(err, ErrTooMany) {
		t.Errorf("Adhoc over the cap = %v, want ErrTooMany", err)
	}
	s.DropEphemeral("e3")
	if _, err := s.Adhoc("e4"); err != nil {
		t.Errorf("Adhoc after a drop: %v", err)
	}
}

func TestCreateReplacesEphemeral(t *testing.T) {
	s := openTest(t, t.TempDir())
	if _, err := s.Adhoc("x"); err != nil {
		t.Fatal(err)
	}
	r, secret, err := s.Create(Spec{Name: "x", Mode: ModePTT})
	if err != nil {
		t.Fatalf("Create over an ad-hoc room: %v", err)
	}
	got, err := s.Get("x")
	if err != nil || got != r || got.Ephemeral || !s.CheckOrganizer(got, secret) {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if len(s.List()) != 1 {
		t.Errorf("List = %+v", s.List())
	}
	// Adhoc now returns the persistent room; DropEphemeral leaves it alone.
	if a, err := s.Adhoc("x"); err != nil || a != r {
		t.Errorf("Adhoc = %+v, %v", a, err)
	}
	s.DropEphemeral("x")
	if _, err := s.Get("x"); err != nil {
		t.Errorf("DropEphemeral removed a persistent room: %v", err)
	}
	if raw := rawValue(t, s, "x"); raw == nil {
		t.Error("persistent room not on disk")
	}
}

func TestPut(t *testing.T) {
	dir := t.TempDir()
	src := openTest(t, t.TempDir())
	r, secret, err := src.Create(Spec{Name: "rep", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	dst := openTest(t, dir)
	if _, err := dst.Adhoc("rep"); err != nil {
		t.Fatal(err)
	}
	if err := dst.Put(r); err != nil {
		t.Fatal(err)
	}
	got, _ := dst.Get("rep")
	if !r.Version.Less(got.Version) {
		t.Errorf("Put kept version %+v, want a newer one than %+v", got.Version, r.Version)
	}
	got.Version = r.Version
	if got != r || !dst.CheckPassword(got, "pw") || !dst.CheckOrganizer(got, secret) {
		t.Errorf("Put then Get = %+v", got)
	}
	if err := dst.Put(Definition{Name: "bad", Mode: "x", MaxSpeakers: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Put(invalid) = %v", err)
	}
	if err := dst.Put(Definition{Name: "rep", Mode: ModeOpen, Ephemeral: true}); !errors.Is(err, ErrExists) {
		t.Errorf("Put(ephemeral over persistent) = %v", err)
	}
}

func TestCorruptEntryFailsOpen(t *testing.T) {
	valid := func(mod func(*record)) []byte {
		rec := toRecord(Definition{Name: "k", Mode: ModeOpen, MaxSpeakers: 3})
		if mod != nil {
			mod(&rec)
		}
		b, _ := json.Marshal(rec)
		return b
	}
	tests := []struct {
		name  string
		key   string
		value []byte
		ok    bool
	}{
		{"valid", "k", valid(nil), true},
		{"not json", "k", []byte("{oops"), false},
		{"version 2", "k", valid(func(r *record) { r.V = 2 }), false},
		{"no version", "k", []byte(`{"name":"k","mode":"open","max_speakers":3}`), false},
		{"key mismatch", "other", valid(nil), false},
		{"bad mode", "k", valid(func(r *record) { r.Mode = "loud" }), false},
		{"bad speakers", "k", valid(func(r *record) { r.MaxSpeakers = 0 }), false},
		{"bad key", "K!", valid(func(r *record) { r.Name = "K!" }), false},
		{"bad hash", "k", valid(func(r *record) { r.PasswordHash = "x" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bucketRooms)
				if err != nil {
					return err
				}
				return b.Put([]byte(tt.key), tt.value)
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{Hash: cheap})
			if tt.ok {
				if err != nil {
					t.Fatalf("Open = %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a corrupt entry")
			}
			if !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Errorf("error %q does not name the key %q", err, tt.key)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	start := time.Now()
	s2, err := Open(dir, Options{Hash: cheap})
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another palabre process") {
		t.Errorf("error %q is not clear", err)
	}
	if d := time.Since(start); d > 10*openTimeout {
		t.Errorf("second Open took %v", d)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	openTest(t, dir)
	for path, want := range map[string]uint32{dir: 0o700, filepath.Join(dir, DBFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := uint32(fi.Mode().Perm()); got != want {
			t.Errorf("%s mode %o, want %o", path, got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := openTest(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 8 {
		name := string(rune('a' + i))
		wg.Go(func() {
			for range 20 {
				if _, err := s.Adhoc(name); err != nil {
					t.Error(err)
				}
				s.Get(name)
				s.List()
				s.DropEphemeral(name)
			}
		})
		wg.Go(func() {
			if _, _, err := s.Create(Spec{Name: name + "-p"}); err != nil {
				t.Error(err)
			}
			for range 10 {
				if _, err := s.Update(name+"-p", func(r *Definition) error { r.Locked = !r.Locked; return nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(s.List()); n != 8 {
		t.Errorf("List has %d rooms, want 8", n)
	}
}

// The opener of an ad-hoc room claims it once; the secret makes them its
// organizer; persistent rooms cannot be claimed.
func TestClaimAdhoc(t *testing.T) {
	s := openTest(t, t.TempDir())
	if _, err := s.Adhoc("open-door"); err != nil {
		t.Fatal(err)
	}
	d, secret, err := s.ClaimAdhoc("open-door")
	if err != nil || secret == "" || !s.CheckOrganizer(d, secret) {
		t.Fatalf("claim: %+v %q %v", d, secret, err)
	}
	if _, _, err := s.ClaimAdhoc("open-door"); !errors.Is(err, ErrClaimed) {
		t.Errorf("second claim: %v, want ErrClaimed", err)
	}
	if _, _, err := s.Create(Spec{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClaimAdhoc("kept"); !errors.Is(err, ErrInvalid) {
		t.Errorf("claim of a persistent room: %v, want ErrInvalid", err)
	}
	if _, _, err := s.ClaimAdhoc("nowhere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim of no room: %v, want ErrNotFound", err)
	}
	s.DropEphemeral("open-door")
	if d, _ := s.Adhoc("open-door"); d.OrganizerHash != "" {
		t.Error("a reopened ad-hoc room kept its old organizer")
	}
}
