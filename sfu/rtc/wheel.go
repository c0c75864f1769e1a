package rtc

import (
	"sync"
	"time"
)

// The wheel runs every participant's timers from one goroutine: consent
// expiry, the DTLS grace period, connection timeouts, and the client mode's
// checks. A participant has one intrusive entry (no allocation, no Go timer,
// no goroutine), scheduled for its earliest deadline; when it fires, the
// participant looks at all its deadlines and schedules the next one. An
// idle server participant fires about once every disconnectAfter, whatever
// the rate of the checks that keep it alive (they only store a time).
//
// Hashed timing wheel: wheelSlots buckets of wheelTick; an entry further
// than one turn away waits in its bucket for the turns in between.

const (
	wheelTick  = 50 * time.Millisecond
	wheelSlots = 1024 // 51.2 s per turn
)

// timerOwner is what an entry belongs to.
type timerOwner interface {
	// fire is called from the wheel goroutine, without the wheel's lock,
	// at or after the entry's due time (now: the engine's clock).
	fire(now int64)
}

// timer is an entry of the wheel, embedded in its owner.
type timer struct {
	prev, next *timer
	due        int64 // tick number
	linked     bool
	owner      timerOwner
}

type wheel struct {
	now   func() int64 // the engine's clock, nanoseconds
	mu    sync.Mutex
	slots [wheelSlots]timer // sentinels of circular lists
	tick  int64             // ticks up to this one have fired
	due   []*timer          // the wheel goroutine's scratch
	n     int               // linked entries
	stop  chan struct{}
	done  chan struct{}
}

func newWheel(now func() int64) *wheel {
	w := &wheel{now: now, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range w.slots {
		s := &w.slots[i]
		s.prev, s.next = s, s
	}
	w.tick = now() / int64(wheelTick)
	return w
}

// start runs the wheel's goroutine (tests drive advance themselves).
func (w *wheel) start() *wheel {
	go w.run()
	return w
}

// schedule (re)schedules t to fire at the engine time at (nanoseconds), or
// at the next tick if that is past.
func (w *wheel) schedule(t *timer, at int64) {
	due := (at + int64(wheelTick) - 1) / int64(wheelTick)
	w.mu.Lock()
	if due <= w.tick {
		due = w.tick + 1
	}
	w.unlink(t)
	t.due = due
	s := &w.slots[due%wheelSlots]
	t.prev, t.next = s.prev, s
	s.prev.next = t
	s.prev = t
	t.linked = true
	w.n++
	w.mu.Unlock()
}

// cancel unschedules t (a no-op if it is not scheduled).
func (w *wheel) cancel(t *timer) {
	w.mu.Lock()
	w.unlink(t)
	w.mu.Unlock()
}

func (w *wheel) unlink(t *timer) {
	if !t.linked {
		return
	}
	t.prev.next = t.next
	t.next.prev = t.prev
	t.prev, t.next, t.linked = nil, nil, false
	w.n--
}

// pending is the number of scheduled entries.
func (w *wheel) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *wheel) run() {
	defer close(w.done)
	tk := time.NewTicker(wheelTick)
	defer tk.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tk.C:
		}
		w.advance(w.now())
	}
}

// advance fires every entry due up to now. It visits each bucket between
// the last tick and now once (at most one turn: later entries of a bucket
// wait for their turn).
func (w *wheel) advance(now int64) {
	target := now / int64(wheelTick)
	w.mu.Lock()
	from := w.tick + 1
	if target-from >= wheelSlots {
		from = target - wheelSlots + 1
	}
	for tick := from; tick <= target; tick++ {
		s := &w.slots[tick%wheelSlots]
		for t := s.next; t != s; {
			next := t.next
			if t.due <= target {
				w.unlink(t)
				w.due = append(w.due, t)
			}
			t = next
		}
	}
	if target > w.tick {
		w.tick = target
	}
	due := w.due
	w.mu.Unlock()
	for i, t := range due {
		t.owner.fire(now)
		due[i] = nil
	}
	w.due = due[:0]
}

func (w *wheel) close() {
	close(w.stop)
	<-w.done
}
