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

// observe moves the clock past a value seen from another node.
func (c *hlc) observe(v uint64) {
	c.mu.Lock()
	if v > c.last {
		c.last = v
	}
	c.mu.Unlock()
}
