package turn

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// The N+1th allocation is refused with 486 Allocation Quota Reached;
// freeing one allows another.
func TestAllocationQuotas(t *testing.T) {
	cases := []struct {
		name    string
		perUser int
		perIP   int
		// user returns the credential id of the i-th allocation.
		user func(i int) string
	}{
		{"per user", 2, 100, func(int) string { return "alice" }},
		{"per IP", 100, 3, func(i int) string { return "user" + strconv.Itoa(i) }},
	}
	for _, c := range cases {
		for _, tr := range []transport{overUDP, overTCP} {
			t.Run(c.name+"/"+string(tr), func(t *testing.T) {
				cfg := testConfig()
				cfg.MaxAllocationsPerUser, cfg.MaxAllocationsPerIP = c.perUser, c.perIP
				s := startServer(t, cfg)
				limit := min(c.perUser, c.perIP)
				var relays []net.PacketConn
				for i := range limit {
					// Fresh credentials each time: the quota is per id,
					// not per username (whose expiry varies).
					user, pass := s.Credentials(c.user(i), time.Duration(i+1)*time.Hour)
					relay, err := allocate(t, dialClient(t, s, tr, user, pass))
					if err != nil {
						t.Fatalf("allocation %d: %v", i, err)
					}
					relays = append(relays, relay)
				}
				user, pass := s.Credentials(c.user(limit), time.Hour)
				if _, err := allocate(t, dialClient(t, s, tr, user, pass)); turnCode(err) != 486 {
					t.Fatalf("allocation %d: %v, want 486 Allocation Quota Reached", limit, err)
				}
				if got := s.Stats().QuotaRefused; got != 1 {
					t.Errorf("QuotaRefused = %d, want 1", got)
				}
				_ = relays[0].Close()
				testkit.Eventually(t, 5*time.Second, "the freed allocation", func() bool { return s.Stats().Allocations == int64(limit-1) })
				if _, err := allocate(t, dialClient(t, s, tr, user, pass)); err != nil {
					t.Fatalf("allocation after freeing one: %v", err)
				}
				if _, err := allocate(t, dialClient(t, s, tr, user, pass)); turnCode(err) != 486 {
					t.Fatalf("allocation over quota again: %v, want 486", err)
				}
			})
		}
	}
}

// Another user, or the same user from elsewhere, is not held by a full
// per-user quota.
func TestQuotaIsPerUser(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationsPerUser = 1
	s := startServer(t, cfg)
	user, pass := s.Credentials("alice", time.Hour)
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err != nil {
		t.Fatal(err)
	}
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); turnCode(err) != 486 {
		t.Fatalf("second allocation of alice: %v, want 486", err)
	}
	user, pass = s.Credentials("bob", time.Hour)
	if _, err := allocate(t, dialClient(t, s, overUDP, user, pass)); err != nil {
		t.Fatalf("bob: %v", err)
	}
}

func TestQuotasBookkeeping(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ip1, ip2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	q := newQuotas(2, 3)
	type step struct {
		op      string // reserve, created, deleted, advance
		user    string
		ip      netip.Addr
		ok      bool // for reserve
		advance time.Duration
		byUser  int // counts of user and ip after the step
		byIP    int
	}
	steps := []step{
		{op: "reserve", user: "a", ip: ip1, ok: true, byUser: 1, byIP: 1},
		{op: "created", user: "a", ip: ip1, byUser: 1, byIP: 1},
		{op: "reserve", user: "a", ip: ip1, ok: true, byUser: 2, byIP: 2},  // pending: counts already
		{op: "reserve", user: "a", ip: ip2, ok: false, byUser: 2, byIP: 0}, // user full
		{op: "reserve", user: "b", ip: ip1, ok: true, byUser: 1, byIP: 3},
		{op: "reserve", user: "c", ip: ip1, ok: false, byUser: 0, byIP: 3}, // IP full
		// The pending reservations of a and b never turn into allocations
		// (failed): they expire.
		{op: "advance", advance: pendingTTL + time.Second},
		{op: "reserve", user: "c", ip: ip1, ok: true, byUser: 1, byIP: 2},
		{op: "deleted", user: "a", ip: ip1, byUser: 0, byIP: 1},
		{op: "deleted", user: "z", ip: ip2, byUser: 0, byIP: 0}, // never below zero
		// An allocation whose reservation expired is still counted.
		{op: "created", user: "d", ip: ip2, byUser: 1, byIP: 1},
		{op: "created", user: "c", ip: ip1, byUser: 1, byIP: 1},
		{op: "advance", advance: pendingTTL + time.Second},
		{op: "reserve", user: "c", ip: ip1, ok: true, byUser: 2, byIP: 2}, // c's live one stayed
	}
	for i, st := range steps {
		switch st.op {
		case "reserve":
			if ok, _ := q.reserve(st.user, st.ip, now); ok != st.ok {
				t.Fatalf("step %d: reserve(%s, %v) = %v", i, st.user, st.ip, ok)
			}
		case "created":
			q.created(st.user, st.ip)
		case "deleted":
			q.deleted(st.user, st.ip)
		case "advance":
			now = now.Add(st.advance)
			continue
		}
		if u, ip := q.counts(st.user, st.ip); u != st.byUser || ip != st.byIP {
			t.Fatalf("step %d (%s %s %v): counts %d, %d; want %d, %d", i, st.op, st.user, st.ip, u, ip, st.byUser, st.byIP)
		}
	}
}
