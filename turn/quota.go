package turn

import (
	"net/netip"
	"sync"
	"time"
)

// pendingTTL is how long a reservation made by the quota check may wait for
// its allocation to be created. pion creates the allocation right after the
// check, in the same goroutine; a reservation still pending after this long
// belongs to an allocation that failed, and is given back.
const pendingTTL = 10 * time.Second

// quotas counts allocations per user id and per client IP.
//
// pion calls the quota check (QuotaHandler) before it creates an
// allocation, then reports the creation (OnAllocationCreated) and the
// deletion (OnAllocationDeleted). The check reserves a slot at once, so that
// concurrent Allocate requests (one goroutine per TCP connection) cannot
// both squeeze under the limit; the creation turns the reservation into a
// live allocation; a failed creation leaves a reservation that expires.
type quotas struct {
	perUser, perIP int // <= 0: unlimited

	mu      sync.Mutex
	users   map[string]int
	ips     map[netip.Addr]int
	pending map[quotaKey][]time.Time
}

type quotaKey struct {
	user string
	ip   netip.Addr
}

func newQuotas(perUser, perIP int) *quotas {
	return &quotas{
		perUser: perUser,
		perIP:   perIP,
		users:   map[string]int{},
		ips:     map[netip.Addr]int{},
		pending: map[quotaKey][]time.Time{},
	}
}

// reserve takes a slot for user from ip, or reports that a quota is spent.
func (q *quotas) reserve(user string, ip netip.Addr, now time.Time) (ok bool, reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(now)
	if q.perUser > 0 && q.users[user] >= q.perUser {
		return false, "per_user"
	}
	if q.perIP > 0 && q.ips[ip] >= q.perIP {
		return false, "per_ip"
	}
	q.users[user]++
	q.ips[ip]++
	k := quotaKey{user, ip}
	q.pending[k] = append(q.pending[k], now)
	return true, ""
}

// created turns a reservation of user from ip into a live allocation.
func (q *quotas) created(user string, ip netip.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := quotaKey{user, ip}
	if ts := q.pending[k]; len(ts) > 0 {
		if len(ts) == 1 {
			delete(q.pending, k)
		} else {
			q.pending[k] = ts[1:]
		}
		return
	}
	// The reservation expired before the allocation came: count it now.
	q.users[user]++
	q.ips[ip]++
}

// deleted gives back the slot of an allocation of user from ip.
func (q *quotas) deleted(user string, ip netip.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.release(user, ip)
}

// expire gives back reservations older than pendingTTL. Caller holds q.mu.
func (q *quotas) expire(now time.Time) {
	for k, ts := range q.pending {
		n := 0
		for n < len(ts) && now.Sub(ts[n]) > pendingTTL {
			q.release(k.user, k.ip)
			n++
		}
		switch {
		case n == len(ts):
			delete(q.pending, k)
		case n > 0:
			q.pending[k] = ts[n:]
		}
	}
}

// release decrements the counters, forgetting zeros. Caller holds q.mu.
func (q *quotas) release(user string, ip netip.Addr) {
	if q.users[user] <= 1 {
		delete(q.users, user)
	} else {
		q.users[user]--
	}
	if q.ips[ip] <= 1 {
		delete(q.ips, ip)
	} else {
		q.ips[ip]--
	}
}

// counts returns the slots held (live or reserved) by user and by ip.
func (q *quotas) counts(user string, ip netip.Addr) (byUser, byIP int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.users[user], q.ips[ip]
}
