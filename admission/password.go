package admission

import (
	"net/netip"
	"time"
)

// Password and organizer-secret checks.
//
// The aim is that guessing stays useless without locking out the rightful:
//
//   - Each address that gives a wrong password twice waits before its next
//     try, twice as long after each further failure (FailureDelay, 2×, 4×…
//     up to MaxFailureDelay), and is forgotten after ForgetFailuresAfter
//     without a failure. A typo costs nothing, a second one a second; a
//     guesser gets about eleven tries in its first ten minutes, then six
//     an hour.
//   - Each room has a budget of checks (RoomPasswordFailuresPerMinute): a
//     guess spends a token, a right password gives it back. When it is
//     spent (the room is under attack from many addresses), addresses that
//     have not failed lately still get their password checked, from a
//     budget of the room's per network (IPv4 /24, IPv6 /48:
//     RoomCleanAttemptsPerMinute each). An attacker's addresses spend it
//     at most once each per ForgetFailuresAfter, and only their own
//     networks' share: a newcomer from elsewhere is still checked. The
//     room's guesses are bounded by its budget plus the clean budget of
//     each network the attack comes from.
//   - Tokens are taken before the hash is computed and given back after,
//     so guesses in flight cannot overrun a budget.
//   - Organizer secrets (128 random bits: guessing them is hopeless) have
//     a per-address delay of their own and never touch the room budgets, so
//     an attack on a room's password does not keep its organizer out.

// Defaults for the password fields of GuardConfig.
const (
	DefaultFailureDelay                  = time.Second
	DefaultMaxFailureDelay               = 10 * time.Minute
	DefaultForgetFailuresAfter           = time.Hour
	DefaultRoomPasswordFailuresPerMinute = 30
	DefaultRoomPasswordFailureBurst      = 30
	DefaultRoomCleanAttemptsPerMinute    = 5
	DefaultRoomCleanBurst                = 5
	// maxNetworksPerRoom bounds a room's per-network clean budgets; the
	// networks beyond it share one budget of maxNetworksPerRoom × the
	// burst.
	maxNetworksPerRoom = 1024
	// inFlightClean is how many checks an address without failures may
	// have running at once (a class behind one NAT joining together); an
	// address that failed lately gets one at a time.
	inFlightClean = 8
)

// Check is one password or secret check reserved by BeginPassword or
// BeginSecret. The caller computes the hash, then reports the outcome with
// Done, exactly once.
type Check struct {
	g      *Guard
	table  *offenders
	key    netip.Addr
	room   *roomBudget // nil for organizer secrets
	pool   *bucket     // the room budget the check drew from
	done   bool
	record *offender
}

// Refusal says why a check was not allowed and when to come back.
type Refusal struct {
	RetryAfter time.Duration
}

// BeginPassword reserves a check of a password for room from ip, or
// returns a Refusal saying how long to wait.
func (g *Guard) BeginPassword(ip netip.Addr, room string) (*Check, *Refusal) {
	now := g.now()
	key := ipKey(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.pwFails.lookup(key, now, g.pw)
	if wait := o.wait(now, g.pw); wait > 0 {
		return nil, &Refusal{RetryAfter: wait}
	}
	rb := g.roomBudgets.get(room, now, g.pw)
	pool := &rb.main
	if !pool.take(now) {
		// The room is being guessed at. Someone who has not failed lately
		// is still heard, from their network's share of the room's budget.
		pool = rb.cleanFor(networkKey(ip), now, g.pw)
		if (o != nil && o.failures > 0) || !pool.take(now) {
			return nil, &Refusal{RetryAfter: max(rb.main.next(now), time.Second)}
		}
	}
	o = g.pwFails.reserve(key, now, g.pw)
	return &Check{g: g, table: &g.pwFails, key: key, room: rb, pool: pool, record: o}, nil
}

// BeginSecret reserves a check of an organizer secret from ip.
func (g *Guard) BeginSecret(ip netip.Addr) (*Check, *Refusal) {
	now := g.now()
	key := ipKey(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.secretFails.lookup(key, now, g.pw)
	if wait := o.wait(now, g.pw); wait > 0 {
		return nil, &Refusal{RetryAfter: wait}
	}
	o = g.secretFails.reserve(key, now, g.pw)
	return &Check{g: g, table: &g.secretFails, key: key, record: o}, nil
}

// Done reports the check's outcome: a right password gives its room token
// back and clears the address's failures; a wrong one makes the address
// wait longer before its next try.
func (c *Check) Done(ok bool) {
	now := c.g.now()
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	if ok && c.pool != nil {
		c.pool.give(now)
	}
	c.table.finish(c.key, c.record, ok, now, c.g.pw)
}

// passwordLimits are the password settings of a Guard.
type passwordLimits struct {
	delay, maxDelay, forget time.Duration
	mainRate, cleanRate     float64 // tokens per second
	mainBurst, cleanBurst   float64
}

// offender is what the Guard remembers of an address that gave wrong
// passwords (or that has a check in flight).
type offender struct {
	failures int       // since the last success, or since forgotten
	last     time.Time // last failure
	inFlight int
}

// wait is how long o must wait before its next check, 0 if it may go now.
// A nil offender (never failed) may go.
func (o *offender) wait(now time.Time, l passwordLimits) time.Duration {
	if o == nil {
		return 0
	}
	if o.failures == 0 {
		if o.inFlight >= inFlightClean {
			return time.Second
		}
		return 0
	}
	if o.inFlight > 0 {
		return l.delay
	}
	return max(o.last.Add(o.delay(l)).Sub(now), 0)
}

// delay is the wait after o's failures: none after the first (a typo),
// then FailureDelay doubled per further failure, at most MaxFailureDelay.
func (o *offender) delay(l passwordLimits) time.Duration {
	if o.failures < 2 {
		return 0
	}
	d := l.delay
	for i := 2; i < o.failures && d < l.maxDelay; i++ {
		d *= 2
	}
	return min(d, l.maxDelay)
}

// offenders is a bounded table of offender records. When full, it first
// forgets records past ForgetFailuresAfter, then a share of the others
// (map order is random): an attacker with more addresses than the table
// holds can launder some of them, but never lock an address out — an
// address that is not in the table may always try.
type offenders struct {
	m   map[netip.Addr]*offender
	max int
}

func (t *offenders) init(max int) { t.m, t.max = make(map[netip.Addr]*offender), max }

// lookup returns key's record, nil if none. Failures older than
// ForgetFailuresAfter are forgotten here.
func (t *offenders) lookup(key netip.Addr, now time.Time, l passwordLimits) *offender {
	o := t.m[key]
	if o != nil && o.forgotten(now, l) {
		o.failures = 0
		if o.inFlight == 0 {
			delete(t.m, key)
			return nil
		}
	}
	return o
}

// reserve counts a check in flight for key, adding a record if needed.
func (t *offenders) reserve(key netip.Addr, now time.Time, l passwordLimits) *offender {
	o := t.m[key]
	if o == nil {
		if len(t.m) >= t.max {
			t.evict(now, l)
		}
		o = &offender{}
		t.m[key] = o
	}
	o.inFlight++
	return o
}

// finish ends a check of key's record o.
func (t *offenders) finish(key netip.Addr, o *offender, ok bool, now time.Time, l passwordLimits) {
	o.inFlight--
	switch {
	case ok:
		o.failures = 0
	default:
		if !o.last.IsZero() && now.Sub(o.last) > l.forget {
			o.failures = 0
		}
		o.failures++
		o.last = now
	}
	// The record may have been evicted meanwhile; put it back only if it
	// carries something to remember.
	if o.failures == 0 && o.inFlight == 0 {
		if t.m[key] == o {
			delete(t.m, key)
		}
		return
	}
	if t.m[key] != o {
		if len(t.m) >= t.max {
			t.evict(now, l)
		}
		t.m[key] = o
	}
}

// forgotten reports whether o's failures are old enough to forget.
func (o *offender) forgotten(now time.Time, l passwordLimits) bool {
	return o.inFlight == 0 && (o.failures == 0 || now.Sub(o.last) > l.forget)
}

// evict makes room: records past their forget time go first; if none is,
// an eighth of the table (in map order, which is random) goes.
func (t *offenders) evict(now time.Time, l passwordLimits) {
	n := 0
	for k, o := range t.m {
		if o.forgotten(now, l) {
			delete(t.m, k)
			n++
		}
	}
	if n > 0 {
		return
	}
	drop := max(t.max/8, 1)
	for k, o := range t.m {
		if drop == 0 {
			break
		}
		if o.inFlight == 0 {
			delete(t.m, k)
			drop--
		}
	}
}

// roomBudget is a room's password budgets: the main one, and the clean
// ones by network.
type roomBudget struct {
	main     bucket
	clean    map[netip.Prefix]*bucket
	overflow *bucket // networks beyond maxNetworksPerRoom
}

// cleanFor returns the clean budget of network n.
func (rb *roomBudget) cleanFor(n netip.Prefix, now time.Time, l passwordLimits) *bucket {
	if b := rb.clean[n]; b != nil {
		return b
	}
	if len(rb.clean) >= maxNetworksPerRoom {
		for k, b := range rb.clean {
			if b.full(now) {
				delete(rb.clean, k)
			}
		}
	}
	if len(rb.clean) >= maxNetworksPerRoom {
		if rb.overflow == nil {
			burst := l.cleanBurst * maxNetworksPerRoom
			rb.overflow = &bucket{rate: l.cleanRate * maxNetworksPerRoom, burst: burst, tokens: burst, at: now}
		}
		return rb.overflow
	}
	b := &bucket{rate: l.cleanRate, burst: l.cleanBurst, tokens: l.cleanBurst, at: now}
	rb.clean[n] = b
	return b
}

// idle reports whether rb carries nothing a fresh budget would not.
func (rb *roomBudget) idle(now time.Time) bool {
	if !rb.main.full(now) || (rb.overflow != nil && !rb.overflow.full(now)) {
		return false
	}
	for _, b := range rb.clean {
		if !b.full(now) {
			return false
		}
	}
	return true
}

// networkKey is the network an address belongs to for the clean budgets:
// its IPv4 /24 or IPv6 /48, what one organisation or one provider's
// customer usually holds.
func networkKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p
}

// roomBudgets is a bounded map of room budgets. When it is full, budgets
// back at their full burst (they carry nothing) are dropped; if none is,
// the rooms beyond the cap share one overflow budget.
type roomBudgets struct {
	m        map[string]*roomBudget
	max      int
	overflow *roomBudget
}

func (r *roomBudgets) init(max int) { r.m, r.max = make(map[string]*roomBudget), max }

func (r *roomBudgets) get(room string, now time.Time, l passwordLimits) *roomBudget {
	if b := r.m[room]; b != nil {
		return b
	}
	if len(r.m) >= r.max {
		for k, b := range r.m {
			if b.idle(now) {
				delete(r.m, k)
			}
		}
	}
	if len(r.m) >= r.max {
		if r.overflow == nil {
			r.overflow = newRoomBudget(now, l)
		}
		return r.overflow
	}
	b := newRoomBudget(now, l)
	r.m[room] = b
	return b
}

func newRoomBudget(now time.Time, l passwordLimits) *roomBudget {
	return &roomBudget{
		main:  bucket{rate: l.mainRate, burst: l.mainBurst, tokens: l.mainBurst, at: now},
		clean: make(map[netip.Prefix]*bucket),
	}
}

// bucket is a token bucket whose tokens can be given back.
type bucket struct {
	rate, burst, tokens float64
	at                  time.Time
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.at) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
		b.at = now
	}
}

func (b *bucket) take(now time.Time) bool {
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) give(now time.Time) {
	b.refill(now)
	b.tokens = min(b.burst, b.tokens+1)
}

func (b *bucket) full(now time.Time) bool {
	b.refill(now)
	return b.tokens >= b.burst
}

// next is how long until the bucket has a token.
func (b *bucket) next(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 || b.rate <= 0 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
