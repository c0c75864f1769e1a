package sfu

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"palabre/sfu/rtc"

	"github.com/pion/rtp"
)

// newRTCPlane is NewEngine on the rtc plane: an rtc.Engine owns the media
// socket (and the ICE-TCP port), and every participant's Transport is one
// of its connections (transport_rtc.go).
func newRTCPlane(cfg Config, log *slog.Logger, slots int, addr *net.UDPAddr) (*Engine, error) {
	if cfg.MediaTCPAddr != "" {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: errors.New("ICE-TCP is not on the rtc media plane yet")}
	}
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
		plane:      PlaneRTC,
	}
	re, err := rtc.NewEngine(rtc.Config{
		Addr:        ap.String(),
		AllowRemote: e.policy.allowed,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	e.rtc = re
	e.openTransport = RTCOpener(re)
	e.batches.New = func() any { return &rtcBatch{b: re.NewBatch()} }
	e.log.Info("media engine started", "plane", PlaneRTC, "addr", re.Addr().String(), "slots", slots,
		"video_slots", e.videoSlots, "loopback_only", e.loopback)
	return e, nil
}

// rtcTCPAddr is the rtc engine's ICE-TCP address, nil without ICE-TCP.
func (e *Engine) rtcTCPAddr() *net.TCPAddr { return nil }

// fanout gathers the packets of one fan-out so that they leave together
// (rtc.Batch: sendmmsg) when it ends. A nil *fanout writes each packet at
// once (the pion plane). One goroutine uses a fanout, from newFanout to
// done.
type fanout = rtcBatch

type rtcBatch struct{ b *rtc.Batch }

// newFanout is a fan-out's batch, nil on the pion plane.
func (e *Engine) newFanout() *fanout {
	if e.rtc == nil {
		return nil
	}
	return e.batches.Get().(*fanout)
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
	e.batches.Put(f)
}
