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

	PasswordFailuresPerMinute float64 // per IP; default 5
	PasswordFailureBurst      int     // per IP; default 5

	// Per room, all IPs together: this stops a distributed guess of one
	// room's password, at the price of letting an attacker delay honest
	// joins to that room for as long as the attack lasts.
	RoomPasswordFailuresPerMinute float64 // default 30
	RoomPasswordFailureBurst      int     // default 30

	// MaxEntries caps each of the Guard's three maps (join, IP failure, room
	// failure). When a map is full and nothing can be pruned, new keys are
	// treated as rate limited. Default 100000.
	MaxEntries int

	Now func() time.Time // nil = time.Now (for tests)
}

// Guard holds the rate limits on joins and password attempts, keyed by client
// address and by room. IPv4 addresses count one by one; IPv6 addresses by
// their /64, since one client usually has a whole /64 to pick from.
//
// Memory stays bounded without a background goroutine: entries whose limiter
// has refilled to its full burst carry no information and are pruned lazily
// (when a key is added, at most once a minute, or once a second when the map
// is full), and each map has a hard size cap.
type Guard struct {
	now func() time.Time

	mu        sync.Mutex
	joins     limiterMap[netip.Addr]
	ipFails   limiterMap[netip.Addr]
	roomFails limiterMap[string]
}

// Defaults for GuardConfig.
const (
	DefaultJoinsPerSecond                = 20
	DefaultJoinBurst                     = 100
	DefaultPasswordFailuresPerMinute     = 5
	DefaultPasswordFailureBurst          = 5
	DefaultRoomPasswordFailuresPerMinute = 30
	DefaultRoomPasswordFailureBurst      = 30
	DefaultGuardMaxEntries               = 100000
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
	maxEntries := orI(cfg.MaxEntries, DefaultGuardMaxEntries)
	g := &Guard{now: cfg.Now}
	if g.now == nil {
		g.now = time.Now
	}
	g.joins.init(rate.Limit(orF(cfg.JoinsPerSecond, DefaultJoinsPerSecond)),
		orI(cfg.JoinBurst, DefaultJoinBurst), maxEntries)
	g.ipFails.init(rate.Limit(orF(cfg.PasswordFailuresPerMinute, DefaultPasswordFailuresPerMinute)/60),
		orI(cfg.PasswordFailureBurst, DefaultPasswordFailureBurst), maxEntries)
	g.roomFails.init(rate.Limit(orF(cfg.RoomPasswordFailuresPerMinute, DefaultRoomPasswordFailuresPerMinute)/60),
		orI(cfg.RoomPasswordFailureBurst, DefaultRoomPasswordFailureBurst), maxEntries)
	return g
}

// ipKey maps ip to its rate-limit key: the address itself for IPv4 (also
// when written IPv4-mapped IPv6), the /64 prefix for IPv6. Zones are dropped.
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

// AllowPasswordAttempt reports whether ip may try a password on room now:
// false when either the IP's or the room's failure budget is spent. It
// consumes nothing; only failures (PasswordFailed) count.
func (g *Guard) AllowPasswordAttempt(ip netip.Addr, room string) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ipFails.hasToken(ipKey(ip), now) && g.roomFails.hasToken(room, now)
}

// PasswordFailed records a failed password attempt by ip on room against both
// budgets.
func (g *Guard) PasswordFailed(ip netip.Addr, room string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if lim := g.ipFails.get(ipKey(ip), now); lim != nil {
		lim.AllowN(now, 1)
	}
	if lim := g.roomFails.get(room, now); lim != nil {
		lim.AllowN(now, 1)
	}
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
// limited, because refusing is the safe answer under a flood of new keys.
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

// hasToken reports whether k has at least one token, without consuming or
// adding anything. An unknown key has a full bucket, unless the map is full
// (then it could not record a failure, so it is refused).
func (lm *limiterMap[K]) hasToken(k K, now time.Time) bool {
	if lim, ok := lm.m[k]; ok {
		return lim.TokensAt(now) >= 1
	}
	return lm.makeRoom(now)
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
