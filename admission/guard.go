package admission

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// GuardConfig sets the limits of a Guard. Zero (or negative) fields take the
// defaults given beside them.
type GuardConfig struct {
	JoinsPerSecond float64 // per IP; default 20
	JoinBurst      int     // default 100

	// Rooms created over the HTTP API, per IP (admins are not counted).
	CreatesPerMinute float64 // default 10
	CreateBurst      int     // default 20

	// A wrong password or organizer secret makes its address wait
	// FailureDelay before the next try, twice as long after each further
	// failure, at most MaxFailureDelay; failures are forgotten after
	// ForgetFailuresAfter without one. Defaults 1 s, 10 min, 1 h.
	FailureDelay        time.Duration
	MaxFailureDelay     time.Duration
	ForgetFailuresAfter time.Duration

	// Per room, all addresses together: password checks that may fail
	// (a right password gives its token back). Default 30 a minute, bursts
	// of 30.
	RoomPasswordFailuresPerMinute float64
	RoomPasswordFailureBurst      int
	// Per room and per network (IPv4 /24, IPv6 /48), once the budget
	// above is spent: checks for addresses that have not failed lately.
	// Default 5 a minute, bursts of 5.
	RoomCleanAttemptsPerMinute float64
	RoomCleanBurst             int

	// MaxEntries caps each of the Guard's tables (joins, failing addresses
	// for passwords and for secrets, room budgets). Default 100000.
	MaxEntries int

	Now func() time.Time // nil = time.Now (for tests)
}

// Guard holds the rate limits on joins and on password and organizer-secret
// checks, keyed by client address and by room (see password.go). IPv4
// addresses count one by one; IPv6 addresses by their /64, since one client
// usually has a whole /64 to pick from.
//
// Memory stays bounded without a background goroutine: every table has a
// hard cap and forgets what carries no information (a join bucket back at
// its full burst, failures past ForgetFailuresAfter).
type Guard struct {
	now func() time.Time
	pw  passwordLimits

	mu          sync.Mutex
	joins       limiterMap[netip.Addr]
	creates     limiterMap[netip.Addr]
	pwFails     offenders
	secretFails offenders
	roomBudgets roomBudgets
}

// Defaults for GuardConfig.
const (
	DefaultJoinsPerSecond   = 20
	DefaultJoinBurst        = 100
	DefaultCreatesPerMinute = 10
	DefaultCreateBurst      = 20
	DefaultGuardMaxEntries  = 100000
)

// Pruning scans a whole map, so it is rate limited: normally once a minute,
// and once a second while a map is full (new keys are refused in between).
const (
	pruneInterval     = time.Minute
	fullPruneInterval = time.Second
)

// NewGuard returns a Guard with cfg's limits.
func NewGuard(cfg GuardConfig) *Guard {
	orF := func(v, d float64) float64 {
		if v <= 0 {
			return d
		}
		return v
	}
	orI := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	orD := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	maxEntries := orI(cfg.MaxEntries, DefaultGuardMaxEntries)
	g := &Guard{now: cfg.Now}
	if g.now == nil {
		g.now = time.Now
	}
	g.pw = passwordLimits{
		delay:      orD(cfg.FailureDelay, DefaultFailureDelay),
		maxDelay:   orD(cfg.MaxFailureDelay, DefaultMaxFailureDelay),
		forget:     orD(cfg.ForgetFailuresAfter, DefaultForgetFailuresAfter),
		mainRate:   orF(cfg.RoomPasswordFailuresPerMinute, DefaultRoomPasswordFailuresPerMinute) / 60,
		mainBurst:  float64(orI(cfg.RoomPasswordFailureBurst, DefaultRoomPasswordFailureBurst)),
		cleanRate:  orF(cfg.RoomCleanAttemptsPerMinute, DefaultRoomCleanAttemptsPerMinute) / 60,
		cleanBurst: float64(orI(cfg.RoomCleanBurst, DefaultRoomCleanBurst)),
	}
	g.joins.init(rate.Limit(orF(cfg.JoinsPerSecond, DefaultJoinsPerSecond)),
		orI(cfg.JoinBurst, DefaultJoinBurst), maxEntries)
	g.creates.init(rate.Limit(orF(cfg.CreatesPerMinute, DefaultCreatesPerMinute)/60),
		orI(cfg.CreateBurst, DefaultCreateBurst), maxEntries)
	g.pwFails.init(maxEntries)
	g.secretFails.init(maxEntries)
	g.roomBudgets.init(maxEntries)
	return g
}

// Key maps ip to the key that per-address limits count by: the address
// itself for IPv4 (also when written IPv4-mapped IPv6), the /64 prefix for
// IPv6 (one client usually has a whole /64 to pick from). Zones are dropped.
func Key(ip netip.Addr) netip.Addr { return ipKey(ip) }

func ipKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// AllowJoin consumes one join token for ip and reports whether ip may join.
func (g *Guard) AllowJoin(ip netip.Addr) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.joins.get(ipKey(ip), now)
	return lim != nil && lim.AllowN(now, 1)
}

// AllowCreate consumes one room-creation token for ip and reports whether
// ip may create a room now.
func (g *Guard) AllowCreate(ip netip.Addr) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.creates.get(ipKey(ip), now)
	return lim != nil && lim.AllowN(now, 1)
}

// limiterMap is a bounded map of token buckets sharing one limit. Not safe
// for concurrent use: Guard.mu guards it.
type limiterMap[K comparable] struct {
	m         map[K]*rate.Limiter
	limit     rate.Limit
	burst     int
	max       int
	lastPrune time.Time
}

func (lm *limiterMap[K]) init(limit rate.Limit, burst, max int) {
	lm.m = make(map[K]*rate.Limiter)
	lm.limit, lm.burst, lm.max = limit, burst, max
}

// get returns k's limiter, adding a full one if k is new. It returns nil when
// the map is full and pruning freed nothing: the caller treats that as rate
// limited (a join from a new address waits at most fullPruneInterval).
func (lm *limiterMap[K]) get(k K, now time.Time) *rate.Limiter {
	if lim, ok := lm.m[k]; ok {
		return lim
	}
	if !lm.makeRoom(now) {
		return nil
	}
	lim := rate.NewLimiter(lm.limit, lm.burst)
	lm.m[k] = lim
	return lim
}

// makeRoom prunes if due and reports whether there is room for one more key.
func (lm *limiterMap[K]) makeRoom(now time.Time) bool {
	full := len(lm.m) >= lm.max
	since := now.Sub(lm.lastPrune)
	if since >= pruneInterval || (full && since >= fullPruneInterval) {
		lm.prune(now)
	}
	return len(lm.m) < lm.max
}

// prune drops limiters back at full burst: a fresh limiter would behave the
// same, so forgetting them loses nothing.
func (lm *limiterMap[K]) prune(now time.Time) {
	lm.lastPrune = now
	full := float64(lm.burst)
	for k, lim := range lm.m {
		if lim.TokensAt(now) >= full {
			delete(lm.m, k)
		}
	}
}
