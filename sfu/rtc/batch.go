package rtc

import (
	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// BatchSize is the number of datagrams a Batch holds before it sends them.
const BatchSize = 64

// Batch gathers the packets of one fan-out and sends them with as few
// system calls as the kernel allows: sendmmsg(2), BatchSize datagrams a
// call. Packets are encrypted into the batch's own buffers as they are
// added; Flush sends what is left (call it at the end of the fan-out:
// nothing flushes a batch on a timer). A Batch belongs to one goroutine.
// Connections of the client mode (a socket each) are sent to at once.
type Batch struct {
	sock    *socket
	msgs    [BatchSize]ipv4.Message
	iov     [BatchSize][1][]byte
	bufs    *[BatchSize][maxPacket]byte
	n       int
	bytes   uint64
	scratch rtp.Header
}

// NewBatch makes a batch for the engine's shared socket (about 96 KiB).
func (e *Engine) NewBatch() *Batch {
	b := &Batch{sock: e.sock, bufs: new([BatchSize][maxPacket]byte)}
	for i := range b.msgs {
		b.msgs[i].Buffers = b.iov[i][:]
	}
	return b
}

// WriteRTP adds one RTP packet for c (encrypted now; hdr and payload are
// not kept).
func (b *Batch) WriteRTP(c *Conn, hdr *rtp.Header, payload []byte) error {
	if c.sock.Load() != b.sock {
		return c.WriteRTP(hdr, payload)
	}
	pa, enc, err := c.sealRTP(b.bufs[b.n][:], hdr, payload, &b.scratch)
	if err != nil {
		return err
	}
	return b.add(enc, pa)
}

// WriteRTCP adds one compound RTCP packet for c.
func (b *Batch) WriteRTCP(c *Conn, pkt []byte) error {
	if c.sock.Load() != b.sock {
		return c.WriteRTCP(pkt)
	}
	pa, enc, err := c.sealRTCP(b.bufs[b.n][:], pkt)
	if err != nil {
		return err
	}
	return b.add(enc, pa)
}

func (b *Batch) add(p []byte, pa *path) error {
	if pa.tcp != nil { // a stream: framed and written now
		if err := pa.tcp.write(p); err != nil {
			return err
		}
		b.sock.e.stats.packetsOut.Add(1)
		b.sock.e.stats.bytesOut.Add(uint64(len(p)))
		return nil
	}
	b.iov[b.n][0] = p
	b.msgs[b.n].Addr = pa.udp
	b.n++
	b.bytes += uint64(len(p))
	if b.n == BatchSize {
		return b.Flush()
	}
	return nil
}

// Len is the number of packets waiting.
func (b *Batch) Len() int { return b.n }

// Flush sends the waiting packets. A datagram the kernel refuses is
// dropped (and counted) and the rest still sent: one bad address must not
// cost the others their packets.
func (b *Batch) Flush() error {
	var first error
	ms := b.msgs[:b.n]
	stats := &b.sock.e.stats
	sent := 0
	for len(ms) > 0 {
		n, err := b.sock.batch.WriteBatch(ms, 0)
		if n > 0 {
			sent += n
			ms = ms[n:]
			continue
		}
		if err != nil && first == nil {
			first = err
		}
		stats.sendErrors.Add(1)
		ms = ms[1:] // the first datagram failed: skip it
	}
	stats.packetsOut.Add(uint64(sent))
	stats.bytesOut.Add(b.bytes)
	for i := range b.n {
		b.iov[i][0] = nil
		b.msgs[i].Addr = nil
	}
	b.n, b.bytes = 0, 0
	return first
}
