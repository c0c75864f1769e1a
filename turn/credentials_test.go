package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit"
)

func TestCredentialsFormat(t *testing.T) {
	clock := testkit.NewClockAt(time.Now())
	cfg := testConfig()
	cfg.Now = clock.Now
	s := startServer(t, cfg)
	user, pass := s.Credentials("p123:x", 90*time.Second)
	want := strconv.FormatInt(clock.Now().Add(90*time.Second).Unix(), 10) + ":p123:x"
	if user != want {
		t.Errorf("username %q, want %q", user, want)
	}
	mac := hmac.New(sha1.New, testSecret)
	mac.Write([]byte(user))
	if pass != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("password %q is not base64(HMAC-SHA1(secret, username))", pass)
	}
	user, _ = s.Credentials("p", 0)
	exp, _, _ := strings.Cut(user, ":")
	if e, _ := strconv.ParseInt(exp, 10, 64); e != clock.Now().Add(DefaultCredentialTTL).Unix() {
		t.Errorf("ttl 0: username %q, want the default TTL", user)
	}
}

func TestParseUsername(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		username string
		id       string
		err      error
	}{
		{"1700000000:alice", "alice", nil}, // expires this second: still valid
		{"1800000000:alice:bob", "alice:bob", nil},
		{"1699999999:alice", "", errExpiredUsername},
		{"0:alice", "", errExpiredUsername},
		{"alice", "", errMalformedUsername},
		{"1800000000", "", errMalformedUsername},
		{"1800000000:", "", errMalformedUsername},
		{":alice", "", errMalformedUsername},
		{"+1800000000:alice", "", errMalformedUsername},
		{"-1:alice", "", errMalformedUsername},
		{" 1800000000:alice", "", errMalformedUsername},
		{"18e9:alice", "", errMalformedUsername},
		{"99999999999999999999:alice", "", errMalformedUsername},
		{"1800000000:" + strings.Repeat("a", 600), "", errMalformedUsername},
		{"", "", errMalformedUsername},
	}
	for _, c := range cases {
		id, err := parseUsername(c.username, now)
		if id != c.id || err != c.err {
			t.Errorf("parseUsername(%q) = %q, %v; want %q, %v", c.username, id, err, c.id, c.err)
		}
	}
}

// Forged, foreign, expired and malformed credentials are refused with 401,
// over UDP and TCP.
func TestAuthRefused(t *testing.T) {
	clock := testkit.NewClockAt(time.Now())
	cfg := testConfig()
	cfg.Now = clock.Now
	s := startServer(t, cfg)
	valid, validPass := s.Credentials("alice", time.Hour)
	expiry := strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10)
	expired := strconv.FormatInt(clock.Now().Add(-time.Second).Unix(), 10) + ":alice"
	otherSecret := []byte("another secret, 32 bytes long!!!")
	cases := []struct {
		name, user, pass string
	}{
		{"forged password", valid, base64.StdEncoding.EncodeToString(make([]byte, 20))},
		{"password of another user", valid, restPassword(testSecret, expiry+":bob")},
		{"wrong secret", valid, restPassword(otherSecret, valid)},
		{"expired", expired, restPassword(testSecret, expired)},
		{"no expiry", "alice", restPassword(testSecret, "alice")},
		{"bad expiry", "soon:alice", restPassword(testSecret, "soon:alice")},
		{"empty id", expiry + ":", restPassword(testSecret, expiry+":")},
		{"empty password", valid, ""},
	}
	for _, tr := range []transport{overUDP, overTCP} {
		for _, c := range cases {
			t.Run(string(tr)+"/"+c.name, func(t *testing.T) {
				before := s.Stats().AuthFailures
				_, err := allocate(t, dialClient(t, s, tr, c.user, c.pass))
				if code := turnCode(err); code != 401 {
					t.Fatalf("Allocate: %v (code %d), want 401 Unauthorized", err, code)
				}
				if got := s.Stats().AuthFailures - before; got != 1 {
					t.Errorf("AuthFailures grew by %d, want 1", got)
				}
			})
		}
	}
	if _, err := allocate(t, dialClient(t, s, overUDP, valid, validPass)); err != nil {
		t.Errorf("valid credentials: %v", err)
	}
	if s.Stats().Allocations != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

// Credentials minted by one node are accepted by another sharing the secret
// (a cluster), and refused by a node with another secret.
func TestCredentialsAcrossNodes(t *testing.T) {
	a := startServer(t, testConfig())
	b := startServer(t, testConfig())
	cfg := testConfig()
	cfg.Secret = []byte("a different secret of 32 bytes!!")
	other := startServer(t, cfg)
	user, pass := a.Credentials("alice", time.Hour)
	if _, err := allocate(t, dialClient(t, b, overUDP, user, pass)); err != nil {
		t.Errorf("node b: %v", err)
	}
	if _, err := allocate(t, dialClient(t, other, overUDP, user, pass)); turnCode(err) != 401 {
		t.Errorf("node with another secret: %v, want 401", err)
	}
}

// A source that keeps failing is still served when it presents valid
// credentials, over any transport: there is no failure budget to spend
// (see authHandler), so nobody can lock a participant out.
func TestAuthFailuresNeverLockOut(t *testing.T) {
	s := startServer(t, testConfig())
	user, pass := s.Credentials("alice", time.Hour)
	const failures = 50
	for i := range failures {
		if _, err := allocate(t, dialClient(t, s, overUDP, user, "forged")); turnCode(err) != 401 {
			t.Fatalf("forged attempt %d: %v, want 401", i, err)
		}
	}
	for _, tr := range []transport{overUDP, overTCP} {
		if _, err := allocate(t, dialClient(t, s, tr, user, pass)); err != nil {
			t.Fatalf("valid credentials over %s after %d failures from the same address: %v", tr, failures, err)
		}
	}
	if st := s.Stats(); st.AuthFailures != failures || st.AllocationsTotal != 2 {
		t.Errorf("stats %+v, want %d failures and 2 allocations", st, failures)
	}
}
