package admission

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"palabre/internal/testkit"
)

func addr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// try runs one password check from ip on room with the given outcome and
// reports whether it was allowed.
func try(g *Guard, ip netip.Addr, room string, right bool) bool {
	c, refused := g.BeginPassword(ip, room)
	if refused != nil {
		return false
	}
	c.Done(right)
	return true
}

// A failing address waits twice as long after each failure but the
// first; a success clears it; failures are forgotten after an hour.
func TestPasswordDelayGrows(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{Now: clock.Now})
	ip := addr(1)
	steps := []struct {
		advance time.Duration
		right   bool
		allowed bool
	}{
		{0, false, true},                      // 1st failure (a typo): no wait
		{0, false, true},                      // 2nd: wait 1 s
		{500 * time.Millisecond, true, false}, // too early, even if right
		{500 * time.Millisecond, false, true}, // 3rd: wait 2 s
		{1900 * time.Millisecond, false, false},
		{100 * time.Millisecond, false, true}, // 4th: 4 s
		{4 * time.Second, false, true},        // 5th: 8 s
		{8 * time.Second, true, true},         // right: cleared
		{0, false, true},                      // a typo is free again
		{0, false, true},
		{time.Second, false, true},
		{61 * time.Minute, false, true}, // forgotten: a first failure
		{0, false, true},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if got := try(g, ip, "r", st.right); got != st.allowed {
			t.Fatalf("step %d: allowed %v, want %v", i, got, st.allowed)
		}
	}
	if o := g.pwFails.m[ipKey(ip)]; o == nil || o.failures != 2 {
		t.Errorf("record after the steps: %+v, want 2 failures", o)
	}
}

// The delay stops growing at MaxFailureDelay.
func TestPasswordDelayCapped(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{Now: clock.Now, MaxFailureDelay: 10 * time.Second})
	ip := addr(1)
	for range 10 {
		clock.Advance(10 * time.Second)
		if !try(g, ip, "r", false) {
			t.Fatal("refused after waiting MaxFailureDelay")
		}
	}
	_, refused := g.BeginPassword(ip, "r")
	if refused == nil || refused.RetryAfter != 10*time.Second {
		t.Errorf("refusal %+v, want a 10 s wait", refused)
	}
}

// A guess spends the room's budget; a right password gives its token back.
// Once the budget is spent, addresses that never failed are still
// checked, from the room's second budget, and each at most once if wrong.
func TestPasswordRoomBudgets(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{Now: clock.Now,
		RoomPasswordFailuresPerMinute: 6, RoomPasswordFailureBurst: 3,
		RoomCleanAttemptsPerMinute: 6, RoomCleanBurst: 2})
	for i := range 3 {
		if !try(g, addr(i), "target", false) {
			t.Fatalf("guess %d within the room budget refused", i)
		}
	}
	for i := range 10 {
		if !try(g, addr(100+i), "target", true) {
			t.Fatalf("right password %d refused while the budget was full", i)
		}
	}
	// Spent. Failed addresses are refused (even after their own delay),
	// clean ones draw on the clean budget.
	clock.Advance(2 * time.Second)
	if try(g, addr(0), "target", true) {
		t.Error("a failed address was checked with the room budget spent")
	}
	if !try(g, addr(200), "target", false) || !try(g, addr(201), "target", true) {
		t.Error("clean addresses refused with the clean budget left")
	}
	if try(g, addr(200), "target", true) {
		t.Error("an address that failed from the clean budget was checked again")
	}
	if !try(g, addr(202), "target", false) {
		t.Error("clean budget: second token refused")
	}
	if try(g, addr(203), "target", true) {
		t.Error("clean budget spent, yet checked")
	}
	if !try(g, addr(203), "other", true) {
		t.Error("another room was refused")
	}
	// A newcomer from another network has a clean budget of its own.
	elsewhere := netip.MustParseAddr("192.0.2.7")
	if !try(g, elsewhere, "target", true) {
		t.Error("a clean address from another network was refused")
	}
	clock.Advance(10 * time.Second) // 6/min: one token in each
	if !try(g, addr(204), "target", true) {
		t.Error("room budget did not refill")
	}
}

// Organizer secrets have their own per-address delay and never touch the
// room budgets.
func TestSecretsOnTheirOwnBudget(t *testing.T) {
	clock := testkit.NewClock()
	g := NewGuard(GuardConfig{Now: clock.Now, RoomPasswordFailureBurst: 1, RoomCleanBurst: 1})
	try(g, addr(1), "r", false)
	try(g, addr(2), "r", false)
	for i := range 5 {
		c, refused := g.BeginSecret(addr(1))
		if refused != nil {
			t.Fatalf("secret check %d refused: %+v", i, refused)
		}
		c.Done(true)
	}
	for range 2 {
		c, _ := g.BeginSecret(addr(3))
		c.Done(false)
	}
	if _, refused := g.BeginSecret(addr(3)); refused == nil {
		t.Error("a wrong secret costs no wait")
	}
	if !try(g, addr(3), "s", true) {
		t.Error("a wrong secret delayed a password check")
	}
}

// Checks in flight are counted before they finish: concurrent guesses
// cannot overrun a budget.
func TestPasswordReservedBeforeHashing(t *testing.T) {
	g := NewGuard(GuardConfig{RoomPasswordFailureBurst: 41, RoomPasswordFailuresPerMinute: 0.001,
		RoomCleanBurst: 1, RoomCleanAttemptsPerMinute: 0.001})
	var mu sync.Mutex
	var begun []*Check
	var wg sync.WaitGroup
	for i := range 200 {
		for range 5 { // five connections per address
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c, refused := g.BeginPassword(addr(i), "r"); refused == nil {
					mu.Lock()
					begun = append(begun, c)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if n := len(begun); n > 41+1 {
		t.Errorf("%d checks began against a room budget of 41 (+1 clean)", n)
	}
	for _, c := range begun {
		c.Done(false)
	}
}

// The tables stay within MaxEntries under a flood of new addresses, and a
// new address is never refused for want of room.
func TestPasswordTablesBounded(t *testing.T) {
	clock := testkit.NewClock()
	const max = 100
	g := NewGuard(GuardConfig{Now: clock.Now, MaxEntries: max, RoomPasswordFailureBurst: 100000})
	for i := range 10 * max {
		if !try(g, addr(i), fmt.Sprintf("room-%d", i%7), false) {
			t.Fatalf("new address %d refused", i)
		}
		c, _ := g.BeginSecret(addr(i))
		c.Done(false)
		if n, m := len(g.pwFails.m), len(g.secretFails.m); n > max || m > max {
			t.Fatalf("tables hold %d and %d records, cap %d", n, m, max)
		}
	}
	for i := range 10 * max {
		g.roomBudgets.get(fmt.Sprintf("many-%d", i), clock.Now(), g.pw)
	}
	if n := len(g.roomBudgets.m); n > max {
		t.Errorf("room budgets: %d, cap %d", n, max)
	}
}
