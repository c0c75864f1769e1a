package turn

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

// Fuzz targets for what the TURN server decodes from the network: the
// USERNAME and REALM of every authenticated request, and the password
// check pion makes with the key we give it. Seed corpora are in
// testdata/fuzz/.

// FuzzParseUsername: any USERNAME is either refused with one of the two
// errors, or is "<digits, not expired>:<non-empty id>" within the size
// limit, and the id returned is what follows the first colon.
func FuzzParseUsername(f *testing.F) {
	for _, u := range []string{"1800000000:alice", "1700000000:a:b", "0:x", "18e9:x", ":x", "x:", "", "+1:x", "99999999999999999999:x", "٣:x"} {
		f.Add(u, int64(1_700_000_000))
	}
	f.Fuzz(func(t *testing.T, username string, now int64) {
		id, err := parseUsername(username, time.Unix(now, 0))
		if err != nil {
			if !errors.Is(err, errMalformedUsername) && !errors.Is(err, errExpiredUsername) || id != "" {
				t.Fatalf("parseUsername(%q) = %q, %v", username, id, err)
			}
			return
		}
		expiry, rest, ok := strings.Cut(username, ":")
		if !ok || rest != id || id == "" || expiry == "" || len(expiry) > 19 || len(username) > maxUsernameLen {
			t.Fatalf("parseUsername(%q) accepted: id %q", username, id)
		}
		for _, c := range []byte(expiry) {
			if c < '0' || c > '9' {
				t.Fatalf("parseUsername(%q) accepted a non-digit expiry", username)
			}
		}
		if e, err := strconv.ParseInt(expiry, 10, 64); err != nil || e < now {
			t.Fatalf("parseUsername(%q) accepted an expiry before %d", username, now)
		}
	})
}

// FuzzCredentials: what Credentials hands out is accepted by the same
// server, for any id of reasonable size and any ttl, and the password is
// base64 of a 20-byte HMAC-SHA1.
func FuzzCredentials(f *testing.F) {
	f.Add("alice", int64(3600))
	f.Add("p:1:2", int64(0))
	f.Add("é", int64(-5))
	f.Add("x", int64(1)<<40)
	s := &Server{secret: testSecret, now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
	f.Fuzz(func(t *testing.T, id string, ttlSeconds int64) {
		ttl := time.Duration(ttlSeconds%(100*365*24*3600)) * time.Second // up to a century
		user, pass := s.Credentials(id, ttl)
		raw, err := base64.StdEncoding.DecodeString(pass)
		if err != nil || len(raw) != 20 {
			t.Fatalf("password %q is not base64 of 20 bytes: %v", pass, err)
		}
		if pass != restPassword(s.secret, user) {
			t.Fatal("password is not restPassword(username)")
		}
		got, err := parseUsername(user, s.now())
		switch {
		case id == "" || len(user) > maxUsernameLen:
			if err == nil {
				t.Fatalf("username %q accepted", user)
			}
		case err != nil || got != id:
			t.Fatalf("Credentials(%q, %v) = %q, refused: %q, %v", id, ttl, user, got, err)
		}
	})
}

// FuzzAuthHandler plays pion's side: a request signed with arbitrary
// USERNAME, REALM and password is accepted exactly when the realm is ours,
// the username parses and the password is the HMAC of the username; any
// refusal is counted once.
func FuzzAuthHandler(f *testing.F) {
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Unix(1_700_000_000, 0) }
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	good := "1800000000:alice"
	f.Add(good, DefaultRealm, restPassword(testSecret, good))
	f.Add(good, DefaultRealm, "wrong")
	f.Add(good, "other", restPassword(testSecret, good))
	f.Add("1600000000:alice", DefaultRealm, restPassword(testSecret, "1600000000:alice"))
	f.Add("alice", DefaultRealm, "")
	f.Add("", "", "")
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	f.Fuzz(func(t *testing.T, username, realm, password string) {
		msg, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
			stun.NewUsername(username), stun.NewRealm(realm), stun.NewLongTermIntegrity(username, realm, password))
		if err != nil {
			t.Skip("not encodable as STUN attributes:", err) // too long: pion would not get that far
		}
		before := s.Stats().AuthFailures
		userID, key, ok := s.authHandler(&pturn.RequestAttributes{Username: username, Realm: realm, SrcAddr: src, Method: stun.MethodAllocate})
		accepted := ok && stun.MessageIntegrity(key).Check(msg) == nil
		id, perr := parseUsername(username, s.now())
		want := realm == DefaultRealm && perr == nil && hmac.Equal([]byte(password), []byte(restPassword(testSecret, username)))
		if accepted != want {
			t.Fatalf("user %q realm %q password %q: accepted %v, want %v", username, realm, password, accepted, want)
		}
		if ok && userID != id {
			t.Fatalf("user id %q, want %q", userID, id)
		}
		if failures := s.Stats().AuthFailures - before; ok == (failures != 0) || failures > 1 {
			t.Fatalf("ok %v and %d failures counted", ok, failures)
		}
		// Whatever the input, nothing is refused on account of the past:
		// valid credentials go through.
		if _, _, ok := s.authHandler(&pturn.RequestAttributes{Username: good, Realm: DefaultRealm, SrcAddr: src}); !ok {
			t.Fatal("valid credentials refused")
		}
	})
}
