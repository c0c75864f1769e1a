package client

import (
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// ErrPublishing is returned by Publish while another source is published.
var ErrPublishing = errors.New("palabre client: already publishing")

// opusClockRate is the RTP clock rate of Opus.
const opusClockRate = 48000

// publisher is the upstream half of a Client: one source at a time, with
// RTP sequence numbers and timestamps continuous across sources.
type publisher struct {
	pubMu   sync.Mutex
	pubStop chan struct{}
	pubDone chan struct{}

	rtpMu  sync.Mutex
	seq    uint16
	ts     uint32
	nextAt time.Time // when ts is due (zero before the first packet)

	sentPackets atomic.Uint64
	sentBytes   atomic.Uint64
}

func (c *Client) initPublisher() {
	c.seq = uint16(rand.Uint32())
	c.ts = rand.Uint32()
}

// Publish sends src on the upstream track, paced by the frames' durations,
// until src ends (io.EOF), StopPublishing or Close. Each packet carries
// the audio-level header extension with the id negotiated in the answer
// (none before the media is negotiated: packets written before that go
// nowhere). Only one source at a time: ErrPublishing otherwise.
func (c *Client) Publish(src Source) error {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.pubDone != nil {
		select {
		case <-c.pubDone: // the previous source ended by itself
		default:
			return ErrPublishing
		}
	}
	if !c.goStart() {
		return ErrClosed
	}
	stop, done := make(chan struct{}), make(chan struct{})
	c.pubStop, c.pubDone = stop, done
	go func() {
		defer c.wg.Done()
		defer close(done)
		c.publish(src, stop)
	}()
	return nil
}

// StopPublishing stops the current source, if any, and waits until its
// goroutine ended.
func (c *Client) StopPublishing() {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.pubStop == nil {
		return
	}
	close(c.pubStop)
	<-c.pubDone
	c.pubStop, c.pubDone = nil, nil
}

// Publishing reports whether a source is being published.
func (c *Client) Publishing() bool {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.pubDone == nil {
		return false
	}
	select {
	case <-c.pubDone:
		return false
	default:
		return true
	}
}

// closedChan is an already closed channel.
var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// PublishDone returns a channel closed when the current source ends (EOF,
// StopPublishing, Close); already closed when nothing is published.
func (c *Client) PublishDone() <-chan struct{} {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.pubDone == nil {
		return closedChan
	}
	return c.pubDone
}

// SentPackets returns how many packets Publish and WriteRTP handed to the
// upstream track, and their payload bytes.
func (c *Client) SentPackets() (packets, bytes uint64) {
	return c.sentPackets.Load(), c.sentBytes.Load()
}

// WriteRTP writes p as is on the upstream track (its SSRC and payload type
// are set by the track). It bypasses Publish's sequence numbering: tests
// use it to send whatever they like.
func (c *Client) WriteRTP(p *rtp.Packet) error {
	if err := c.track.WriteRTP(p); err != nil {
		return err
	}
	c.sentPackets.Add(1)
	c.sentBytes.Add(uint64(len(p.Payload)))
	return nil
}

func (c *Client) publish(src Source, stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var (
		pkt   = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: OpusPayloadType}}
		level [1]byte
		next  = time.Now()
		first = true
	)
	c.rtpMu.Lock()
	if !c.nextAt.IsZero() && next.After(c.nextAt) {
		// Keep the RTP clock in step with the wall clock across a pause.
		c.ts += uint32(next.Sub(c.nextAt) * opusClockRate / time.Second)
	}
	c.rtpMu.Unlock()

	for {
		select {
		case <-stop:
			return
		case <-c.ctx.Done():
			return
		default:
		}
		payload, lvl, dur, err := src.NextFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.log.Warn("audio source failed", "err", err)
			}
			return
		}
		if dur <= 0 {
			dur = 20 * time.Millisecond
		}

		c.rtpMu.Lock()
		pkt.SequenceNumber, pkt.Timestamp, pkt.Marker = c.seq, c.ts, first
		c.seq++
		c.ts += uint32(dur * opusClockRate / time.Second)
		c.nextAt = next.Add(dur)
		c.rtpMu.Unlock()
		first = false

		pkt.Payload = payload
		if id := c.audioLevelID.Load(); id != 0 {
			lvl &= 0x7f
			level[0] = lvl
			if lvl < 127 {
				level[0] |= 0x80 // V bit: voice activity
			}
			if err := pkt.Header.SetExtension(uint8(id), level[:]); err != nil {
				c.log.Warn("audio-level extension", "id", id, "err", err)
			}
		} else {
			pkt.Header.Extension, pkt.Header.Extensions = false, nil
		}
		if err := c.WriteRTP(&pkt); err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.log.Debug("upstream write", "err", err)
		}

		next = next.Add(dur)
		wait := time.Until(next)
		if wait < -200*time.Millisecond { // far behind (machine stalled): resync
			next = time.Now()
			continue
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-c.ctx.Done():
			return
		case <-timer.C:
		}
	}
}
