package turn

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// maxTrackedSources bounds the memory of the auth failure limiter;
	// past it, untracked sources share one overflow budget.
	maxTrackedSources = 16384
	// sweepAbove is the size past which the limiter starts forgetting
	// refilled sources.
	sweepAbove = 1024
	// sweepEvery is how often (at most) the limiter forgets sources whose
	// budget refilled.
	sweepEvery = time.Minute
)

// failureLimiter keeps a budget of authentication failures per source.
// Each failure spends a token; a source with no token left is refused
// outright, valid credentials or not, until the budget refills. IPv6
// sources are grouped by /64, the block a single subscriber usually holds.
type failureLimiter struct {
	limit rate.Limit // tokens per second; rate.Inf disables the limiter
	burst int

	mu        sync.Mutex
	sources   map[netip.Addr]*rate.Limiter
	overflow  *rate.Limiter
	lastSweep time.Time
}

func newFailureLimiter(perMinute float64, burst int) *failureLimiter {
	l := &failureLimiter{limit: rate.Inf, burst: burst, sources: map[netip.Addr]*rate.Limiter{}}
	if perMinute > 0 {
		l.limit = rate.Limit(perMinute / 60)
	}
	l.overflow = rate.NewLimiter(l.limit, burst)
	return l
}

func sourceKey(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// blocked reports whether ip has spent its failure budget at now.
func (l *failureLimiter) blocked(ip netip.Addr, now time.Time) bool {
	if l.limit == rate.Inf {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.sources[sourceKey(ip)]
	if !ok {
		if len(l.sources) < maxTrackedSources {
			return false
		}
		lim = l.overflow
	}
	return lim.TokensAt(now) < 1
}

// fail records one authentication failure from ip at now.
func (l *failureLimiter) fail(ip netip.Addr, now time.Time) {
	if l.limit == rate.Inf {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := sourceKey(ip)
	lim, ok := l.sources[key]
	if !ok {
		if len(l.sources) >= sweepAbove {
			l.sweep(now)
		}
		if len(l.sources) >= maxTrackedSources {
			lim = l.overflow
		} else {
			lim = rate.NewLimiter(l.limit, l.burst)
			l.sources[key] = lim
		}
	}
	lim.AllowN(now, 1)
}

// sweep forgets sources whose budget is full again (they are
// indistinguishable from new ones). Caller holds l.mu.
func (l *failureLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery && !l.lastSweep.IsZero() {
		return
	}
	l.lastSweep = now
	for k, lim := range l.sources {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.sources, k)
		}
	}
}

// tracked returns how many sources the limiter remembers (for tests).
func (l *failureLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}
