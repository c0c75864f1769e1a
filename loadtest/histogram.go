package loadtest

import (
	"math"
	"sync/atomic"
	"time"
)

// histogram records durations from 0 to histMax with 50 µs resolution
// (anything slower lands in the last bucket), lock-free, so thousands of
// listener goroutines can record into one without contention on a mutex.
type histogram struct {
	buckets [histBuckets]atomic.Uint64
	max     atomic.Int64 // nanoseconds
}

const (
	histStep    = 50 * time.Microsecond
	histMax     = 2 * time.Second
	histBuckets = int(histMax/histStep) + 1
)

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := int(d / histStep)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.buckets[i].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// quantile returns the upper edge of the bucket holding quantile q (but
// never more than the largest value recorded), in milliseconds; 0 when
// empty.
func (h *histogram) quantile(q float64) float64 {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return ms(min(time.Duration(i+1)*histStep, time.Duration(h.max.Load())))
		}
	}
	return ms(histMax)
}

func (h *histogram) maxMS() float64 { return ms(time.Duration(h.max.Load())) }

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// snapshot copies the bucket counts, for windowQuantile.
func (h *histogram) snapshot() []uint64 {
	out := make([]uint64, histBuckets)
	for i := range h.buckets {
		out[i] = h.buckets[i].Load()
	}
	return out
}

// windowQuantile is quantile q, in milliseconds, of what was recorded
// between two snapshots (prev may be nil: since the start); 0 when
// nothing was. It returns the upper edge of the bucket.
func windowQuantile(prev, cur []uint64, q float64) float64 {
	count := func(i int) uint64 {
		if prev == nil {
			return cur[i]
		}
		return cur[i] - min(cur[i], prev[i])
	}
	var total uint64
	for i := range cur {
		total += count(i)
	}
	if total == 0 {
		return 0
	}
	rank := max(1, uint64(math.Ceil(q*float64(total))))
	var seen uint64
	for i := range cur {
		seen += count(i)
		if seen >= rank {
			return ms(time.Duration(i+1) * histStep)
		}
	}
	return ms(histMax)
}
