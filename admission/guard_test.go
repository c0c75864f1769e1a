package admission

import (
	"fmt"
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
	n = 0
	for g.AllowPasswordAttempt(ip, "r") {
		g.PasswordFailed(ip, "r")
		n++
	}
	if n != DefaultPasswordFailureBurst {
		t.Errorf("default failure burst %d, want %d", n, DefaultPasswordFailureBurst)
	}
}

func TestGuardPasswordPerIP(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{PasswordFailuresPerMinute: 6, PasswordFailureBurst: 3, Now: clock.Now})
	ip := netip.MustParseAddr("198.51.100.7")
	other := netip.MustParseAddr("198.51.100.8")

	// Asking does not consume.
	for range 100 {
		if !g.AllowPasswordAttempt(ip, "room") {
			t.Fatal("AllowPasswordAttempt consumed budget")
		}
	}
	for i := range 3 {
		if !g.AllowPasswordAttempt(ip, "room") {
			t.Fatalf("attempt %d refused", i)
		}
		g.PasswordFailed(ip, "room")
	}
	tests := []struct {
		advance time.Duration
		ip      netip.Addr
		room    string
		want    bool
	}{
		{0, ip, "room", false},
		{0, ip, "another-room", false}, // the IP budget spans rooms
		{0, other, "room", true},       // the room budget (default 30) is not spent
		{9 * time.Second, ip, "room", false},
		{time.Second, ip, "room", true}, // 6/min = one per 10 s
	}
	for i, tt := range tests {
		clock.Advance(tt.advance)
		if got := g.AllowPasswordAttempt(tt.ip, tt.room); got != tt.want {
			t.Errorf("step %d: AllowPasswordAttempt(%s, %s) = %v, want %v", i, tt.ip, tt.room, got, tt.want)
		}
	}
}

func TestGuardPasswordPerRoom(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{
		PasswordFailuresPerMinute: 5, PasswordFailureBurst: 5,
		RoomPasswordFailuresPerMinute: 10, RoomPasswordFailureBurst: 10,
		Now: clock.Now,
	})
	// Ten different IPs, one failure each: the room's budget is spent.
	for i := range 10 {
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		if !g.AllowPasswordAttempt(ip, "target") {
			t.Fatalf("attempt from IP %d refused", i)
		}
		g.PasswordFailed(ip, "target")
	}
	fresh := netip.MustParseAddr("203.0.113.200")
	if g.AllowPasswordAttempt(fresh, "target") {
		t.Error("room budget not enforced for a fresh IP")
	}
	if !g.AllowPasswordAttempt(fresh, "other") {
		t.Error("another room was refused")
	}
	clock.Advance(6 * time.Second) // 10/min: one token
	if !g.AllowPasswordAttempt(fresh, "target") {
		t.Error("room budget did not refill")
	}
}

func TestGuardIPv6Prefix(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{JoinBurst: 3, PasswordFailureBurst: 2, Now: clock.Now})
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

	g.PasswordFailed(netip.MustParseAddr("2001:db8:a:b::1"), "r")
	g.PasswordFailed(netip.MustParseAddr("2001:db8:a:b::2"), "r")
	if g.AllowPasswordAttempt(netip.MustParseAddr("2001:db8:a:b::3"), "r") {
		t.Error("password failures not grouped by /64")
	}
}

func TestGuardPruning(t *testing.T) {
	clock := testkit.NewClock()
	const max = 50
	g := NewGuard(GuardConfig{JoinsPerSecond: 1, JoinBurst: 2, PasswordFailuresPerMinute: 60, PasswordFailureBurst: 2, MaxEntries: max, Now: clock.Now})
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

	// Periodic pruning shrinks an idle map without it being full.
	g.PasswordFailed(ip(1), "r")
	clock.Advance(2 * time.Minute)
	g.PasswordFailed(ip(2), "r2") // insert triggers the prune
	if n := len(g.ipFails.m); n != 1 {
		t.Errorf("ipFails has %d entries after prune, want 1", n)
	}
	if n := len(g.roomFails.m); n != 1 {
		t.Errorf("roomFails has %d entries after prune, want 1", n)
	}

	// Password maps: when full, unknown keys are refused (they could not be
	// recorded), known keys are judged by their bucket.
	for i := range max + 10 {
		g.PasswordFailed(ip(i), fmt.Sprintf("room-%d", i))
	}
	if n, m := len(g.ipFails.m), len(g.roomFails.m); n > max || m > max {
		t.Errorf("failure maps have %d and %d entries, cap %d", n, m, max)
	}
	if g.AllowPasswordAttempt(ip(max+5), "room-1") {
		t.Error("unknown IP allowed while the IP map is full")
	}
	if g.AllowPasswordAttempt(ip(3), "unknown-room") {
		t.Error("unknown room allowed while the room map is full")
	}
	if !g.AllowPasswordAttempt(ip(3), "room-3") {
		t.Error("known IP and room with budget left refused")
	}
}
