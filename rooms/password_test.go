package rooms

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = HashParams{Memory: 1024, Time: 1, Threads: 1}

func TestHashAndCheckPassword(t *testing.T) {
	s := openTest(t, t.TempDir())
	hash, err := s.hashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(hash) {
		t.Fatalf("hash %q is not the expected PHC form", hash)
	}
	r := Definition{PasswordHash: hash}
	tests := []struct {
		pw   string
		want bool
	}{
		{"s3cret", true},
		{"s3cret ", false},
		{"S3cret", false},
		{"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false},
	}
	for _, tt := range tests {
		if got := s.CheckPassword(r, tt.pw); got != tt.want {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
	if !s.CheckPassword(Definition{}, "anything") {
		t.Error("room without password refused a join")
	}
	if s.CheckPassword(Definition{PasswordHash: "garbage"}, "") {
		t.Error("unparsable hash accepted")
	}
	// Same password, fresh salt.
	hash2, _ := s.hashPassword("s3cret")
	if hash2 == hash {
		t.Error("two hashes of the same password are equal: salt not random")
	}
}

// A hash made with other parameters still verifies: they live in the string.
func TestCheckPasswordOtherParams(t *testing.T) {
	s1 := openTest(t, t.TempDir())
	s1.params = HashParams{Memory: 2048, Time: 2, Threads: 2, KeyLen: 16, SaltLen: 8}
	hash, err := s1.hashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, t.TempDir())
	if !s2.CheckPassword(Definition{PasswordHash: hash}, "pw") {
		t.Errorf("hash %q not verified by a store with other parameters", hash)
	}
}

func TestParsePHC(t *testing.T) {
	const salt, hash = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	tests := []struct {
		in string
		ok bool
	}{
		{"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash, true},
		{"$argon2id$v=19$t=2,p=1,m=19456$" + salt + "$" + hash, true},
		{"", false},
		{"plain", false},
		{"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + hash, false},
		{"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2,p=1,p=1$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2,x=1$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + hash, false}, // 4 GiB
		{"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + "aGFzaA", false}, // 4-byte key
		{"$argon2id$v=19$m=19456,t=2,p=1$!!$" + hash, false},
		{"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash + "$", false},
	}
	for _, tt := range tests {
		_, err := parsePHC(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parsePHC(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestHashParamsCheck(t *testing.T) {
	tests := []struct {
		p  HashParams
		ok bool
	}{
		{HashParams{}, true}, // defaults
		{cheap, true},
		{HashParams{Memory: 1 << 30}, false},
		{HashParams{Time: 100}, false},
		{HashParams{KeyLen: 4}, false},
		{HashParams{SaltLen: 4}, false},
		{HashParams{Memory: 8, Threads: 4}, false},
	}
	for _, tt := range tests {
		s, err := Open(t.TempDir(), Options{Hash: tt.p})
		if err == nil {
			s.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("Open with %+v = %v, want ok=%v", tt.p, err, tt.ok)
		}
	}
	if got := (HashParams{}).withDefaults(); got != DefaultHashParams {
		t.Errorf("zero params -> %+v, want %+v", got, DefaultHashParams)
	}
}

func TestCheckOrganizer(t *testing.T) {
	secret, hash, err := newOrganizerSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(secret) {
		t.Fatalf("secret %q is not 22 base64url characters", secret)
	}
	wrong := secret[:21] + "A"
	if wrong == secret {
		wrong = secret[:21] + "B"
	}
	s := &Store{}
	r := Definition{OrganizerHash: hash}
	tests := []struct {
		name   string
		r      Definition
		secret string
		want   bool
	}{
		{"right", r, secret, true},
		{"wrong", r, wrong, false},
		{"empty secret", r, "", false},
		{"no organizer", Definition{}, secret, false},
		{"no organizer, empty secret", Definition{}, "", false},
		{"hash as secret", r, hash, false},
	}
	for _, tt := range tests {
		if got := s.CheckOrganizer(tt.r, tt.secret); got != tt.want {
			t.Errorf("%s: CheckOrganizer = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckPasswordConcurrencyBounded(t *testing.T) {
	s := openTest(t, t.TempDir())
	hash, err := s.hashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	const limit = 2
	s.sem = make(chan struct{}, limit)
	var cur, peak atomic.Int32
	s.testHookArgon = func() {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // let the others pile up
		cur.Add(-1)
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if !s.CheckPassword(Definition{PasswordHash: hash}, "pw") {
				t.Error("right password refused")
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p < 1 || p > limit {
		t.Errorf("peak concurrent argon2 runs = %d, want 1..%d", p, limit)
	}
}
