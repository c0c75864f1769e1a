package cluster

import (
	"sync"
	"time"
)

// hlc is a hybrid logical clock: Unix nanoseconds, but never less than or
// equal to a value it returned or observed before. Versions stamped with it
// follow causality even when the nodes' wall clocks disagree a little.
type hlc struct {
	mu   sync.Mutex
	last uint64
	now  func() time.Time
}

// next returns a fresh clock value.
func (c *hlc) next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := uint64(c.now().UnixNano())
	if t <= c.last {
		t = c.last + 1
	}
	c.last = t
	return t
}

// maxDrift bounds how far ahead of this node's wall clock an observed
// value may pull the clock: a peer whose clock is years off must not drag
// every later version with it.
const maxDrift = time.Hour

// observe moves the clock past a value seen from another node, unless that
// value is more than maxDrift ahead of the wall clock. (Such a write is
// still ordered correctly: the store stamps the next local write of that
// room past it.)
func (c *hlc) observe(v uint64) {
	c.mu.Lock()
	if v > c.last && v <= uint64(c.now().Add(maxDrift).UnixNano()) {
		c.last = v
	}
	c.mu.Unlock()
}
