package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme
	"encoding/base64"
	"net/netip"
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
	cfg.AuthFailuresPerMinute = -1 // the rate limit has its own test
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

// After its failure budget is spent, a source is refused even with valid
// credentials; once the budget refills, valid credentials work again.
func TestAuthFailureRateLimit(t *testing.T) {
	clock := testkit.NewClockAt(time.Now())
	cfg := testConfig()
	cfg.Now = clock.Now // defaults: 10 failures per minute, burst 10
	s := startServer(t, cfg)
	user, pass := s.Credentials("alice", 24*time.Hour)

	for i := range DefaultAuthFailureBurst {
		if _, err := allocate(t, dialClient(t, s, overUDP, user, "forged")); turnCode(err) != 401 {
			t.Fatalf("forged attempt %d: %v, want 401", i, err)
		}
	}
	if got := s.Stats().AuthFailures; got != DefaultAuthFailureBurst {
		t.Fatalf("AuthFailures = %d, want %d", got, DefaultAuthFailureBurst)
	}
	// Budget spent: valid credentials are refused too, over any transport.
	for _, tr := range []transport{overUDP, overTCP} {
		if _, err := allocate(t, dialClient(t, s, tr, user, pass)); turnCode(err) != 401 {
			t.Fatalf("valid credentials over %s with the budget spent: %v, want 401", tr, err)
		}
	}
	st := s.Stats()
	if st.AuthThrottled != 2 || st.AuthFailures != DefaultAuthFailureBurst {
		t.Errorf("stats %+v: want 2 throttled and no new failure", st)
	}
	// The budget is per source: the test clients all come from 127.0.0.1.
	if !s.limiter.blocked(netip.MustParseAddr("127.0.0.1"), clock.Now()) || s.limiter.blocked(netip.MustParseAddr("127.0.0.3"), clock.Now()) {
		t.Error("the budget is not per source")
	}

	// One token back after 6 s (10 per minute).
	clock.Advance(6 * time.Second)
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err != nil {
		t.Fatalf("after a partial refill: %v", err)
	}
	// A failure spends it again…
	if _, err := allocate(t, dialClient(t, s, overUDP, user, "forged")); turnCode(err) != 401 {
		t.Fatal("forged attempt accepted")
	}
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); turnCode(err) != 401 {
		t.Fatalf("valid credentials with the budget spent again: %v, want 401", err)
	}
	// …and a minute refills it all.
	clock.Advance(time.Minute)
	for i := range 3 {
		if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err != nil {
			t.Fatalf("after refill, allocation %d: %v", i, err)
		}
	}
}

func TestFailureLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newFailureLimiter(60, 2) // one per second, burst 2
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	v6a, v6b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	v6c := netip.MustParseAddr("2001:db8:1:3::1")
	steps := []struct {
		fail    netip.Addr // a failure from this source first, if valid
		advance time.Duration
		check   netip.Addr
		blocked bool
	}{
		{check: a, blocked: false},
		{fail: a, check: a, blocked: false},
		{fail: a, check: a, blocked: true},
		{check: netip.MustParseAddr("::ffff:192.0.2.1"), blocked: true}, // mapped form, same source
		{check: b, blocked: false},
		{advance: time.Second, check: a, blocked: false},
		{fail: a, check: a, blocked: true},
		{fail: v6a, check: v6a, blocked: false},
		{fail: v6b, check: v6a, blocked: true}, // same /64
		{check: v6c, blocked: false},           // another /64
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		if st.fail.IsValid() {
			l.fail(st.fail, now)
		}
		if got := l.blocked(st.check, now); got != st.blocked {
			t.Errorf("step %d: blocked(%v) = %v, want %v", i, st.check, got, st.blocked)
		}
	}

	// Refilled sources are forgotten once the limiter grows.
	l = newFailureLimiter(60, 2)
	for i := range sweepAbove {
		l.fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now)
	}
	now = now.Add(time.Hour)
	l.fail(netip.MustParseAddr("10.1.0.0"), now)
	if got := l.tracked(); got != 1 {
		t.Errorf("%d sources tracked after the sweep, want 1", got)
	}

	// Disabled.
	l = newFailureLimiter(-1, 2)
	for range 10 {
		l.fail(a, now)
	}
	if l.blocked(a, now) {
		t.Error("disabled limiter blocks")
	}
}
