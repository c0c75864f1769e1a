package turn

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Deadlines of the clients' TCP and TLS connections.
//
// pion serves each accepted connection until the client closes it: one that
// never allocates, or whose allocation expired, would hold a socket, a
// goroutine and a slot of the per-address cap forever. So each client
// connection has a connClock:
//
//   - while it carries no allocation, it must get one within
//     Config.ConnAuthTimeout of being accepted (the TLS handshake
//     included) or of losing its last one; reading does not extend this;
//   - while it carries one, or once it is an RFC 6062 data connection,
//     it is closed after Config.ConnIdleTimeout without a byte read or
//     written.
//
// An allocation is refreshed on its own connection, so a client that goes
// silent loses its allocation after the allocation lifetime, and its
// connection ConnAuthTimeout later. The clock closes a connection by
// setting the socket's read deadline: pion's read fails, and pion deletes
// the allocation and closes the connection as if the client had hung up.
// No timer, no goroutine per connection; the deadline is moved lazily, at
// most once per idle/16 of traffic.

// connClock decides the read deadline of one client connection.
type connClock struct {
	auth, idle time.Duration // <= 0: no such deadline

	last atomic.Int64 // unix nanoseconds of the last byte read or written

	mu      sync.Mutex
	allocs  int       // allocations carried
	data    bool      // an RFC 6062 data connection: under the idle deadline for good
	since   time.Time // when allocs last became 0, or the accept time
	armed   time.Time // the read deadline set on the socket; zero: none
	expired bool      // the connection is due and was reported
}

func newConnClock(auth, idle time.Duration, now time.Time) *connClock {
	k := &connClock{auth: auth, idle: idle, since: now}
	k.last.Store(now.UnixNano())
	return k
}

// dueLocked is when the connection is to be closed; zero: never.
func (k *connClock) dueLocked() time.Time {
	if k.allocs == 0 && !k.data {
		if k.auth <= 0 {
			return time.Time{}
		}
		return k.since.Add(k.auth)
	}
	if k.idle <= 0 {
		return time.Time{}
	}
	return time.Unix(0, k.last.Load()).Add(k.idle)
}

// armLocked sets conn's read deadline to the due time. A deadline moved
// later by less than the slack is left where it is: it fires a little
// early, and fired then rearms it.
func (k *connClock) armLocked(conn net.Conn) {
	due := k.dueLocked()
	if due.Equal(k.armed) {
		return
	}
	if !due.IsZero() && !k.armed.IsZero() && due.After(k.armed) && due.Sub(k.armed) < k.idle/16 {
		return
	}
	_ = conn.SetReadDeadline(due)
	k.armed = due
}

// arm is called before each read.
func (k *connClock) arm(conn net.Conn) {
	k.mu.Lock()
	k.armLocked(conn)
	k.mu.Unlock()
}

// touch records traffic.
func (k *connClock) touch(now time.Time) { k.last.Store(now.UnixNano()) }

// timeout is what a timed-out read means.
type timeout int

const (
	readAgain  timeout = iota // the deadline moved on since it was set
	noAllocDue                // closing: no allocation within ConnAuthTimeout
	idleDue                   // closing: idle for ConnIdleTimeout
	alreadyDue                // reported before
)

// fired is called when a read timed out.
func (k *connClock) fired(now time.Time) timeout {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.expired {
		return alreadyDue
	}
	if d := k.dueLocked(); d.IsZero() || now.Before(d) {
		k.armed = time.Time{} // force the next arm
		return readAgain
	}
	k.expired = true
	if k.allocs > 0 || k.data {
		return idleDue
	}
	return noAllocDue
}

// bound records that conn became an RFC 6062 data connection.
func (k *connClock) bound(conn net.Conn, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.data = true
	k.touch(now)
	k.armLocked(conn)
}

// allocated records an allocation on conn.
func (k *connClock) allocated(conn net.Conn, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.allocs++
	k.touch(now)
	k.armLocked(conn)
}

// released records the end of an allocation on conn. It may run while
// pion reads conn: the new deadline applies to that read.
func (k *connClock) released(conn net.Conn, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.allocs == 0 {
		return
	}
	k.allocs--
	if k.allocs == 0 {
		k.since = now
	}
	k.armLocked(conn)
}
