package rooms

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id parameters used for new password hashes.
// Existing hashes carry their own parameters and keep verifying when these
// change. Zero fields take the production defaults (OWASP: 19 MiB, 2 passes,
// 1 thread, 32-byte key, 16-byte salt); tests may use cheaper values such as
// Memory 1024, Time 1.
type HashParams struct {
	Memory          uint32 // KiB
	Time            uint32 // passes
	Threads         uint8
	KeyLen, SaltLen uint32 // bytes
}

// DefaultHashParams are the production argon2id parameters.
var DefaultHashParams = HashParams{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Bounds on argon2id parameters, both ours and those parsed from stored
// hashes. Hashes may arrive from other cluster nodes, so a corrupt or hostile
// one must not make a single check allocate gigabytes or run for minutes.
const (
	maxHashMemory  = 256 << 10 // KiB (256 MiB)
	maxHashTime    = 16
	maxHashThreads = 16
	minKeyLen      = 16
	maxKeyLen      = 64
	minSaltLen     = 8
	maxSaltLen     = 64
)

func (p HashParams) withDefaults() HashParams {
	d := DefaultHashParams
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	return p
}

func (p HashParams) check() error {
	switch {
	case p.Threads < 1 || p.Threads > maxHashThreads:
		return fmt.Errorf("argon2 threads %d out of range 1..%d", p.Threads, maxHashThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxHashMemory:
		return fmt.Errorf("argon2 memory %d KiB out of range %d..%d", p.Memory, 8*uint32(p.Threads), maxHashMemory)
	case p.Time < 1 || p.Time > maxHashTime:
		return fmt.Errorf("argon2 time %d out of range 1..%d", p.Time, maxHashTime)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2 key length %d out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2 salt length %d out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	}
	return nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params     HashParams
	salt, hash []byte
}

// PHC strings use standard base64 without padding.
var b64 = base64.RawStdEncoding

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.hash))
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash" and checks its
// parameters against the bounds above.
func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, errors.New("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("algorithm %q, want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var m, t, p uint64
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return h, fmt.Errorf("bad parameter %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("bad parameter %q", kv)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			if n > 255 {
				return h, fmt.Errorf("bad parameter %q", kv)
			}
			p = n
		default:
			return h, fmt.Errorf("unknown parameter %q", k)
		}
		seen++
	}
	if seen != 3 || m == 0 || t == 0 || p == 0 {
		return h, errors.New("want parameters m, t and p")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return h, fmt.Errorf("bad salt encoding: %v", err)
	}
	hash, err := b64.DecodeString(parts[5])
	if err != nil {
		return h, fmt.Errorf("bad hash encoding: %v", err)
	}
	h = phc{
		params: HashParams{Memory: uint32(m), Time: uint32(t), Threads: uint8(p),
			KeyLen: uint32(len(hash)), SaltLen: uint32(len(salt))},
		salt: salt,
		hash: hash,
	}
	if err := h.params.check(); err != nil {
		return phc{}, err
	}
	return h, nil
}

// argon2Key runs argon2id holding a slot of s.sem: each computation allocates
// Memory KiB, so the number running at once is what bounds memory use.
func (s *Store) argon2Key(password string, salt []byte, p HashParams) []byte {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	if s.testHookArgon != nil {
		s.testHookArgon()
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// hashPassword returns the PHC string for password, or "" for "".
func (s *Store) hashPassword(password string) (string, error) {
	if password == "" {
		return "", nil
	}
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("%w: password is %d bytes long, at most %d allowed", ErrInvalid, len(password), MaxPasswordLen)
	}
	salt := make([]byte, s.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := phc{params: s.params, salt: salt, hash: s.argon2Key(password, salt, s.params)}
	return h.String(), nil
}

// CheckPassword verifies password against r.PasswordHash in constant time.
// It returns true if r has no password, and false if the stored hash cannot be
// parsed. At most runtime.NumCPU() argon2 computations run at once; callers
// beyond that wait. Rate limiting is the caller's job (package admission).
func (s *Store) CheckPassword(r Definition, password string) bool {
	if r.PasswordHash == "" {
		return true
	}
	// Nothing longer can have been set; refusing early reveals only the
	// public length limit.
	if len(password) > MaxPasswordLen {
		return false
	}
	h, err := parsePHC(r.PasswordHash)
	if err != nil {
		return false
	}
	got := s.argon2Key(password, h.salt, h.params)
	return subtle.ConstantTimeCompare(got, h.hash) == 1
}

// newOrganizerSecret returns a fresh secret (128 bits from crypto/rand,
// base64url without padding: 22 characters) and its hex SHA-256.
func newOrganizerSecret() (secret, hash string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, organizerHash(secret), nil
}

func organizerHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CheckOrganizer reports whether secret is r's organizer secret, comparing
// SHA-256(secret) with r.OrganizerHash in constant time. It is false when r
// has no organizer or secret is "". A plain hash is enough here (no argon2):
// the secret is 128 random bits, not something a person chose.
func (s *Store) CheckOrganizer(r Definition, secret string) bool {
	if r.OrganizerHash == "" || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(organizerHash(secret)), []byte(r.OrganizerHash)) == 1
}
