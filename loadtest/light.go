package loadtest

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"palabre/client"
	"palabre/sfu/rtc"
)

// The light mode (Config.Light): a participant is a client for the
// signaling (its WebSocket) and a connection of sfu/rtc's client mode for
// the media, from one engine shared by the whole run: ICE controlling,
// DTLS client and SRTP on Palabre's own primitives, instead of a pion
// PeerConnection (about 14 goroutines and 330 KB each). A connection
// costs a UDP socket and its reader goroutine (the server tells
// participants apart by address), which counts the listener's packets
// per slot and measures latency in the reader itself.

// newLightEngine starts the engine of a light run: its client sockets
// bind to ip (its own server socket, unused, too).
func newLightEngine(cfg Config) (*rtc.Engine, error) {
	ip, err := netip.ParseAddr(cfg.LightIP)
	if err != nil {
		return nil, fmt.Errorf("light mode: local IP %q: %w", cfg.LightIP, err)
	}
	return rtc.NewEngine(rtc.Config{
		Addr:       netip.AddrPortFrom(ip, 0).String(),
		ClientAddr: ip.String(),
		Logger:     cfg.Logger,
	})
}

// lightPeer is the media of one light participant. The client calls
// answer with the server's offer; the engine calls the Handler methods.
type lightPeer struct {
	r        *run
	engine   *rtc.Engine
	listener bool // counts what it receives (speakers do not, as in the pion mode)

	connected chan struct{}
	failed    chan struct{}
	once      sync.Once
	failErr   error

	// Set by answer, read-only after the connection is dialled (the
	// reader sees them only once there is a connection).
	conn    atomic.Pointer[rtc.Conn]
	slots   map[uint32]int // the server's slot SSRCs → slot index
	counter []*client.SlotCounter
	mic     uint32 // our SSRC
	levelID uint8  // the audio-level extension's id, 0: none

	// The speaker's RTP state, continuous across turns (its goroutine).
	pubMu  sync.Mutex
	seq    uint16
	ts     uint32
	nextAt time.Time
}

func (r *run) newLightPeer(listener bool) *lightPeer {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return &lightPeer{
		r: r, engine: r.engine, listener: listener,
		connected: make(chan struct{}), failed: make(chan struct{}),
		mic: binary.BigEndian.Uint32(b[:]) | 1,
		seq: binary.BigEndian.Uint16(b[4:]), ts: binary.BigEndian.Uint32(b[6:]),
	}
}

// answer is the client's Options.OnOffer: it parses the server's offer,
// dials the server's host candidate and answers with the microphone on
// the first m-line (recvonly audio), every slot received.
func (lp *lightPeer) answer(offerSDP string) (string, error) {
	if lp.conn.Load() != nil {
		return "", errors.New("light mode: the server renegotiates")
	}
	d, err := rtc.ParseDescription(offerSDP)
	if err != nil {
		return "", fmt.Errorf("light mode: the offer: %w", err)
	}
	if len(d.Media) == 0 || d.Media[0].Kind != "audio" || d.Media[0].Direction != rtc.RecvOnly {
		return "", errors.New("light mode: the offer's first m-line is not the microphone (recvonly audio)")
	}
	server, err := lp.serverAddr(d)
	if err != nil {
		return "", err
	}
	lp.slots = map[uint32]int{}
	next := 0
	for _, m := range d.Media[1:] {
		if m.Kind != "audio" || m.Direction != rtc.SendOnly || len(m.SSRCs) == 0 {
			continue
		}
		k := next
		if n, ok := strings.CutPrefix(m.TrackID, "slot-"); ok {
			if v, err := strconv.Atoi(n); err == nil && v >= 0 && v < 1024 {
				k = v
			}
		}
		next++
		lp.slots[m.SSRCs[0]] = k
		for len(lp.counter) <= k {
			lp.counter = append(lp.counter, client.NewSlotCounter())
		}
	}
	lp.levelID = d.Media[0].ExtensionID(client.AudioLevelURI)
	c, err := lp.engine.Dial(server, rtc.RemoteFrom(d), lp)
	if err != nil {
		return "", fmt.Errorf("light mode: dial %v: %w", server, err)
	}
	lp.conn.Store(c)
	text, err := c.Answer(d, map[string]uint32{d.Media[0].MID: lp.mic}).Marshal()
	if err != nil {
		c.Close()
		return "", fmt.Errorf("light mode: the answer: %w", err)
	}
	return text, nil
}

// serverAddr is the offer's first UDP candidate of the engine's family.
func (lp *lightPeer) serverAddr(d *rtc.Description) (netip.AddrPort, error) {
	v4 := lp.engine.Addr().Addr().Is4()
	for _, c := range d.Candidates {
		if c.Protocol == "udp" && c.Addr.Addr().Unmap().Is4() == v4 {
			return c.Addr, nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("light mode: the offer has no UDP candidate of the load generator's address family (%d candidates)", len(d.Candidates))
}

// HandleRTP runs in the connection's reader.
func (lp *lightPeer) HandleRTP(_ *rtc.Conn, p *rtp.Packet, _ []byte) {
	k, ok := lp.slots[p.SSRC]
	if !ok || !lp.listener {
		return
	}
	lp.counter[k].Record(p)
	lp.r.onRTP(k, p)
}

func (lp *lightPeer) HandleRTCP(*rtc.Conn, []byte) {}

func (lp *lightPeer) StateChanged(_ *rtc.Conn, s rtc.State) {
	switch s {
	case rtc.StateConnected:
		lp.once.Do(func() { close(lp.connected) })
	case rtc.StateFailed, rtc.StateClosed:
		select {
		case <-lp.connected:
		default:
			lp.once.Do(func() {
				lp.failErr = fmt.Errorf("light mode: media connection %v", s)
				close(lp.failed)
			})
		}
	}
}

// stats is what client.Stats is in the pion mode.
func (lp *lightPeer) stats() []client.SlotStats {
	if lp.conn.Load() == nil {
		return nil
	}
	out := make([]client.SlotStats, len(lp.counter))
	for i, c := range lp.counter {
		out[i] = c.Stats()
	}
	return out
}

func (lp *lightPeer) close() {
	if c := lp.conn.Load(); c != nil {
		c.Close()
	}
}

// publish sends src as 20 ms RTP packets, paced by the frames' durations,
// until stop is closed, as client.Publish does: sequence numbers and
// timestamps continue across turns, each packet carries the audio level.
func (lp *lightPeer) publish(src client.Source, stop <-chan struct{}) {
	lp.pubMu.Lock()
	defer lp.pubMu.Unlock()
	c := lp.conn.Load()
	if c == nil {
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var (
		hdr   = rtp.Header{Version: 2, PayloadType: client.OpusPayloadType, SSRC: lp.mic}
		level [1]byte
		next  = time.Now()
		first = true
	)
	if !lp.nextAt.IsZero() && next.After(lp.nextAt) {
		lp.ts += uint32(next.Sub(lp.nextAt) * 48000 / time.Second)
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		payload, lvl, dur, err := src.NextFrame()
		if err != nil {
			return
		}
		if dur <= 0 {
			dur = 20 * time.Millisecond
		}
		hdr.SequenceNumber, hdr.Timestamp, hdr.Marker = lp.seq, lp.ts, first
		lp.seq++
		lp.ts += uint32(dur * 48000 / time.Second)
		lp.nextAt = next.Add(dur)
		first = false
		if lp.levelID != 0 {
			level[0] = lvl & 0x7f
			if level[0] < 127 {
				level[0] |= 0x80
			}
			_ = hdr.SetExtension(lp.levelID, level[:])
		}
		if err := c.WriteRTP(&hdr, payload); err != nil {
			lp.r.cfg.Logger.Debug("light mode: upstream write", "err", err)
		}
		next = next.Add(dur)
		wait := time.Until(next)
		if wait < -200*time.Millisecond {
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
		case <-timer.C:
		}
	}
}
