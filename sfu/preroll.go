package sfu

// prerollSize is the number of gated packets a publisher remembers: 16 × 20 ms
// Opus frames cover the 300 ms floor pre-roll.
const prerollSize = 16

// preroll is a ring of a publisher's most recent gated-out packets with
// their arrival times. Packet bytes are copied into buffers that are reused
// (they grow to the largest packet seen, then never allocate again).
type preroll struct {
	e    [prerollSize]prerollEntry
	next int // index of the slot to write
	n    int // number of valid entries
}

type prerollEntry struct {
	at  int64
	buf []byte
}

func (r *preroll) push(b []byte, at int64) {
	e := &r.e[r.next]
	e.buf = append(e.buf[:0], b...)
	e.at = at
	r.next = (r.next + 1) % prerollSize
	if r.n < prerollSize {
		r.n++
	}
}

func (r *preroll) reset() { r.n = 0 }

func (r *preroll) len() int { return r.n }

// at returns the k-th remembered packet, oldest first.
func (r *preroll) at(k int) (int64, []byte) {
	e := &r.e[(r.next-r.n+k+prerollSize)%prerollSize]
	return e.at, e.buf
}
