package rtc

import "time"

// Rates are the packet rates a connection's peer may send at; past them
// its packets are dropped before they cost anything (a decryption, an
// HMAC), and counted in Stats.DropFlood. They are budgets with a burst
// (GCRA), kept by the reader: no timer, no lock.
type Rates struct {
	RTP, RTPBurst int // SRTP packets a second, and at once
	// Control is SRTCP, DTLS and ICE checks together: no honest client
	// comes near it (a few reports, NACKs and checks a second).
	Control, ControlBurst int
}

// DefaultRates fit an audio participant: RTP at twice the rate of 10 ms
// Opus frames. A participant that publishes video needs VideoRates.
var (
	DefaultRates = Rates{RTP: 200, RTPBurst: 100, Control: 100, ControlBurst: 50}
	// VideoRates: a 2.5 Mbit/s simulcast camera and a screen share are
	// under 600 packets a second, a keyframe of each a burst of a few
	// hundred.
	VideoRates = Rates{RTP: 1500, RTPBurst: 600, Control: 200, ControlBurst: 100}
)

// budget is one GCRA budget: tat is the theoretical arrival time.
type budget struct {
	tat, every, burst int64
}

func newBudget(perSecond, burst int) budget {
	if perSecond <= 0 {
		perSecond = 1
	}
	return budget{every: int64(time.Second) / int64(perSecond), burst: int64(max(burst, 1))}
}

// take spends one packet, false if the budget is spent.
func (b *budget) take(now int64) bool {
	t := max(b.tat, now)
	if t-now > (b.burst-1)*b.every {
		return false
	}
	b.tat = t + b.every
	return true
}

// SetRates changes the rates c's peer may send at (Engine's default:
// DefaultRates). Safe from any goroutine: the reader takes them with its
// next packet.
func (c *Conn) SetRates(r Rates) { c.rates.Store(&r) }

// withinRate spends one packet of the RTP (rtp) or control budget
// (reader goroutine).
func (c *Conn) withinRate(rtp bool, now int64) bool {
	if r := c.rates.Load(); r != c.ratesIn {
		c.ratesIn = r
		c.rtpBudget, c.ctlBudget = newBudget(r.RTP, r.RTPBurst), newBudget(r.Control, r.ControlBurst)
	}
	b := &c.ctlBudget
	if rtp {
		b = &c.rtpBudget
	}
	if b.take(now) {
		return true
	}
	c.e.stats.flood.Add(1)
	return false
}
