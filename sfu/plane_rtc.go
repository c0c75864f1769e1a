package sfu

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"palabre/sfu/rtc"

	"github.com/pion/rtp"
)

// newRTCPlane is NewEngine on the rtc plane: an rtc.Engine owns the media
// socket (and the ICE-TCP port), and every participant's Transport is one
// of its connections (transport_rtc.go).
func newRTCPlane(cfg Config, log *slog.Logger, slots int, addr *net.UDPAddr) (*Engine, error) {
	ap := addr.AddrPort()
	if addr.IP == nil {
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	e := &Engine{
		log:        log.With("component", "sfu"),
		slots:      slots,
		videoSlots: cfg.VideoSlots,
		loopback:   ap.Addr().IsLoopback(),
		policy:     newAddrPolicy(cfg, net.UDPAddrFromAddrPort(ap)),
		start:      time.Now(),
		rooms:      make(map[*Room]struct{}),
	}
	tcp := ""
	if cfg.MediaTCPAddr != "" {
		taddr, err := net.ResolveTCPAddr("tcp", cfg.MediaTCPAddr)
		if err != nil {
			return nil, &net.OpError{Op: "listen", Net: "tcp", Err: err}
		}
		tap := taddr.AddrPort()
		if taddr.IP == nil {
			tap = netip.AddrPortFrom(netip.IPv4Unspecified(), tap.Port())
		}
		tcp = netip.AddrPortFrom(tap.Addr().Unmap(), tap.Port()).String()
	}
	re, err := rtc.NewEngine(rtc.Config{
		Addr:        ap.String(),
		TCPAddr:     tcp,
		Announce:    announced(cfg, ap.Addr()),
		AllowRemote: e.policy.allowed,
		Logger:      log,
	})
	if err != nil {
		if strings.Contains(err.Error(), "ICE-TCP") {
			return nil, &net.OpError{Op: "listen", Net: "tcp", Err: err}
		}
		return nil, err
	}
	e.rtc = re
	e.openTransport = RTCOpener(re)

	e.log.Info("media engine started", "addr", re.Addr().String(), "slots", slots,
		"video_slots", e.videoSlots, "loopback_only", e.loopback)
	return e, nil
}

// rtcTCPAddr is the rtc engine's ICE-TCP address, nil without ICE-TCP.
func (e *Engine) rtcTCPAddr() *net.TCPAddr {
	if ap := e.rtc.TCPAddr(); ap.IsValid() {
		return net.TCPAddrFromAddrPort(ap)
	}
	return nil
}

// announced are the IPs host candidates carry: the 1:1 NAT addresses
// (PublicIPs), else for a socket bound to every interface the machine's
// addresses of its family that a client could reach (not loopback, not
// link-local); none: the bound address.
func announced(cfg Config, bind netip.Addr) []netip.Addr {
	var ips []netip.Addr
	if !bind.IsLoopback() {
		for _, s := range cfg.PublicIPs {
			if a, err := netip.ParseAddr(s); err == nil {
				ips = append(ips, a.Unmap())
			}
		}
	}
	if len(ips) > 0 || !bind.IsUnspecified() {
		return ips
	}
	for _, a := range interfaceAddrs() {
		if a.Is4() == bind.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsMulticast() {
			ips = append(ips, a)
		}
	}
	return ips
}

// fanout gathers the packets of one fan-out so that they leave together
// (rtc.Batch: sendmmsg) when it ends. A nil *fanout writes each packet at
// once (the pion plane). One goroutine uses a fanout, from newFanout to
// done.
type fanout = rtcBatch

type rtcBatch struct{ b *rtc.Batch }

// batchPool holds the batches of finished fan-outs (a stack under a
// mutex, not a sync.Pool: that one drops items at random under the race
// detector and at every collection, and a batch is 96 KiB to rebuild).
// Fan-outs run at once on a few goroutines only (the socket readers, NACK
// and keyframe paths), so a few batches are ever made.
type batchPool struct {
	mu   sync.Mutex
	free []*fanout
}

const maxIdleBatches = 16

// newFanout is a fan-out's batch, nil on the pion plane.
func (e *Engine) newFanout() *fanout {
	if e.rtc == nil {
		return nil
	}
	p := &e.batches
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return f
	}
	p.mu.Unlock()
	return &fanout{b: e.rtc.NewBatch()}
}

// write sends one packet on w, in the batch when w is an rtc stream.
func (f *fanout) write(w StreamWriter, h *rtp.Header, payload []byte) (int, error) {
	if f != nil {
		if rw, ok := w.(*rtcWriter); ok && !h.Padding {
			if err := f.b.WriteRTP(rw.t.conn, h, payload); err != nil {
				return 0, err
			}
			return h.MarshalSize() + len(payload), nil
		}
	}
	return w.WriteRTP(h, payload)
}

// done sends what is left and gives the batch back.
func (f *fanout) done(e *Engine) {
	if f == nil {
		return
	}
	if f.b.Len() > 0 {
		_ = f.b.Flush() // failures are counted by rtc (Stats.SendErrors)
	}
	p := &e.batches
	p.mu.Lock()
	if len(p.free) < maxIdleBatches {
		p.free = append(p.free, f)
	}
	p.mu.Unlock()
}
