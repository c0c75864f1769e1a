package admission

import (
	"net/netip"
	"testing"
	"time"

	"palabre/internal/testkit"
)

func TestIPKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
	}
	for _, tt := range tests {
		if got := ipKey(netip.MustParseAddr(tt.in)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("ipKey(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestGuardJoins(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{JoinsPerSecond: 2, JoinBurst: 5, Now: clock.Now})
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	for i := range 5 {
		if !g.AllowJoin(a) {
			t.Fatalf("join %d within burst refused", i)
		}
	}
	steps := []struct {
		advance time.Duration
		ip      netip.Addr
		want    bool
	}{
		{0, a, false},                      // burst spent
		{0, b, true},                       // other IP has its own budget
		{400 * time.Millisecond, a, false}, // 0.8 token
		{100 * time.Millisecond, a, true},  // 1 token after 0.5 s at 2/s
		{0, a, false},
		{time.Hour, a, true}, // refilled, but only to the burst
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if got := g.AllowJoin(st.ip); got != st.want {
			t.Errorf("step %d: AllowJoin(%s) = %v, want %v", i, st.ip, got, st.want)
		}
	}
	for range 4 {
		g.AllowJoin(a)
	}
	if g.AllowJoin(a) {
		t.Error("burst after a long pause exceeds JoinBurst")
	}
}

func TestGuardDefaults(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{Now: clock.Now})
	ip := netip.MustParseAddr("192.0.2.1")
	n := 0
	for g.AllowJoin(ip) {
		n++
	}
	if n != DefaultJoinBurst {
		t.Errorf("default join burst %d, want %d", n, DefaultJoinBurst)
	}
}

func TestGuardIPv6Prefix(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{JoinBurst: 3, Now: clock.Now})
	same := []string{"2001:db8:a:b::1", "2001:db8:a:b::2", "2001:db8:a:b:ffff:ffff:ffff:ffff"}
	for _, s := range same {
		if !g.AllowJoin(netip.MustParseAddr(s)) {
			t.Fatalf("join from %s refused", s)
		}
	}
	if g.AllowJoin(netip.MustParseAddr("2001:db8:a:b::99")) {
		t.Error("same /64 got more than the burst")
	}
	if !g.AllowJoin(netip.MustParseAddr("2001:db8:a:c::1")) {
		t.Error("another /64 was refused")
	}

	for _, a := range []string{"2001:db8:a:b::1", "2001:db8:a:b::2"} {
		c, _ := g.BeginPassword(netip.MustParseAddr(a), "r")
		c.Done(false)
	}
	if _, refused := g.BeginPassword(netip.MustParseAddr("2001:db8:a:b::3"), "r"); refused == nil {
		t.Error("password failures not grouped by /64")
	}
}

func TestGuardPruning(t *testing.T) {
	clock := testkit.NewClock()
	const max = 50
	g := NewGuard(GuardConfig{JoinsPerSecond: 1, JoinBurst: 2, MaxEntries: max, Now: clock.Now})
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

	// Fill the join map.
	for i := range max {
		if !g.AllowJoin(ip(i)) {
			t.Fatalf("join %d refused", i)
		}
	}
	// Full, nothing back at burst yet (and the prune interval has not
	// passed): a new key is refused, a known one still works.
	if g.AllowJoin(ip(max)) {
		t.Error("new key accepted while the map is full")
	}
	if !g.AllowJoin(ip(0)) {
		t.Error("known key refused while the map is full")
	}
	if n := len(g.joins.m); n > max {
		t.Errorf("join map has %d entries, cap %d", n, max)
	}
	// After the buckets refill, full entries are pruned and new keys fit.
	clock.Advance(3 * time.Second)
	for i := max; i < 3*max; i++ {
		if !g.AllowJoin(ip(i)) {
			t.Fatalf("join %d refused after refill", i)
		}
		if n := len(g.joins.m); n > max {
			t.Fatalf("join map has %d entries, cap %d", n, max)
		}
		if i%max == max-1 {
			clock.Advance(3 * time.Second)
		}
	}
}

// Room creation has a budget per address: one address's flood leaves the
// others theirs.
func TestGuardCreatesPerAddress(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{CreatesPerMinute: 6, CreateBurst: 3, Now: clock.Now})
	flooder, honest := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !g.AllowCreate(flooder) {
			t.Fatalf("creation %d within the burst refused", i)
		}
	}
	if g.AllowCreate(flooder) {
		t.Error("burst exceeded")
	}
	if !g.AllowCreate(honest) {
		t.Error("another address was refused")
	}
	clock.Advance(10 * time.Second)
	if !g.AllowCreate(flooder) {
		t.Error("budget did not refill")
	}
}
