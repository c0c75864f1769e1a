package rtc

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/pion/stun/v4"
)

// ICE-lite (RFC 8445 §2.5): the server has one host candidate per socket,
// sends no checks and answers the client's. A check is judged in this
// order, each step cheaper than the next and none creating state:
//
//  1. the STUN header (cookie, length) and a Binding request;
//  2. the USERNAME's first half, the local ufrag, names a connection
//     (a map lookup: a flood of random ufrags ends here);
//  3. FINGERPRINT and MESSAGE-INTEGRITY with that connection's password
//     (an HMAC-SHA1);
//  4. the source address: known, or admitted (see admit).
//
// Only then is the check answered and the address recorded.

const stunMagicCookie = 0x2112A442

// plausibleSTUN checks what Decode would refuse with an error that costs
// an allocation to build, so that garbage costs nothing.
func plausibleSTUN(p []byte) bool {
	return len(p) >= 20 &&
		binary.BigEndian.Uint32(p[4:8]) == stunMagicCookie &&
		int(binary.BigEndian.Uint16(p[2:4]))+20 == len(p) &&
		p[3]&3 == 0
}

func (s *socket) handleSTUN(p []byte, from netip.AddrPort) {
	e := s.e
	if !plausibleSTUN(p) {
		e.stats.malformed.Add(1)
		return
	}
	m := &s.stunIn
	m.Raw = p
	if err := m.Decode(); err != nil {
		e.stats.malformed.Add(1)
		return
	}
	if c := s.owner; c != nil {
		c.handleSTUNClient(s, m, from)
		return
	}
	if m.Type != stun.BindingRequest {
		if m.Type != (stun.MessageType{Method: stun.MethodBinding, Class: stun.ClassIndication}) {
			e.stats.malformed.Add(1)
		}
		return
	}
	uname, err := m.Get(stun.AttrUsername)
	if err != nil {
		e.stats.malformed.Add(1)
		return
	}
	local, _, _ := bytes.Cut(uname, []byte{':'})
	e.mu.RLock()
	c := e.byUfrag[string(local)]
	e.mu.RUnlock()
	if c == nil {
		e.stats.unknownUfrag.Add(1)
		return
	}
	c.rx.Lock()
	c.handleCheck(s, m, from)
	c.rx.Unlock()
}

// handleCheck answers a server connection's check (reader goroutine).
func (c *Conn) handleCheck(s *socket, m *stun.Message, from netip.AddrPort) {
	e := c.e
	if !c.withinRate(false, e.now()) { // before the HMAC
		return
	}
	if stun.Fingerprint.Check(m) != nil || c.key.Check(m) != nil {
		e.stats.badIntegrity.Add(1)
		return
	}
	if c.State() >= StateFailed {
		return
	}
	now := e.now()
	use := m.Contains(stun.AttrUseCandidate)
	if s.tcp != nil && !c.admitTCP(s.tcp, use, now) || s.tcp == nil && !c.admit(from, use, now) {
		e.stats.addr.Add(1)
		return
	}
	c.lastCheck.Store(now)
	if c.alertAt.Load() != 0 {
		c.alertAt.Store(0) // alive after all (maybePeerClosing)
	}
	e.stats.checks.Add(1)
	s.respond(m, from, c.key)
	c.onValidCheck()
}

// onValidCheck moves the state on after a valid check.
func (c *Conn) onValidCheck() {
	switch c.State() {
	case StateNew:
		c.setState(StateChecking)
	case StateDisconnected:
		c.setState(StateConnected)
	}
	c.mu.Lock()
	first := !c.checked
	c.checked = true
	dial := first && c.dtlsClientLocked() && !c.handshaken
	c.mu.Unlock()
	if dial {
		c.startHandshake(true)
	}
}

// admit records a valid check's source address and decides where media
// goes. A new address is admitted at a bounded rate; one that another
// connection owns is taken over only if that one has not had a valid
// check from it for consentTimeout (a source address can be spoofed: a
// participant must not steal a live one's media). The selected address
// moves to the new one if the check nominates it (USE-CANDIDATE: browsers
// keep it on their selected pair when the remote is ICE-lite), if none is
// selected yet, or if the selected one has been silent for switchAfter.
func (c *Conn) admit(from netip.AddrPort, use bool, now int64) bool {
	i := c.findAddr(from)
	if i < 0 {
		if f := c.e.allow; f != nil && !f(from.Addr()) {
			return false
		}
		if !c.takeAddrToken(now) {
			return false
		}
		e := c.e
		e.mu.Lock()
		if other := e.byAddr[from]; other != nil && other != c {
			j := other.findAddr(from)
			if j >= 0 && now-other.addrs[j].seen < int64(c.e.timing.consent) {
				e.mu.Unlock()
				return false
			}
			other.dropAddr(j)
		}
		if c.naddrs == maxAddrs {
			// Forget the least recently heard address that is not selected.
			sel := c.path.Load()
			victim := -1
			for j := range c.naddrs {
				if sel != nil && c.addrs[j].ap == sel.ap {
					continue
				}
				if victim < 0 || c.addrs[j].seen < c.addrs[victim].seen {
					victim = j
				}
			}
			delete(e.byAddr, c.addrs[victim].ap)
			c.dropAddr(victim)
		}
		i = c.naddrs
		c.addrs[i] = addrEntry{ap: from, seen: now}
		c.naddrs++
		e.byAddr[from] = c
		e.mu.Unlock()
	}
	c.addrs[i].seen = now
	sel := c.path.Load()
	switch {
	case sel != nil && sel.ap == from:
		c.selSeen = now
	case sel == nil || use || now-c.selSeen >= int64(c.e.timing.switchAfter):
		if sel != nil {
			c.e.stats.addrChanges.Add(1)
		}
		c.path.Store(&path{ap: from, udp: net.UDPAddrFromAddrPort(from)})
		c.selSeen = now
	}
	return true
}

func (c *Conn) findAddr(ap netip.AddrPort) int {
	for i := range c.naddrs {
		if c.addrs[i].ap == ap {
			return i
		}
	}
	return -1
}

// dropAddr removes entry i (not from e.byAddr). Called under e.mu.
func (c *Conn) dropAddr(i int) {
	if i < 0 {
		return
	}
	c.naddrs--
	c.addrs[i] = c.addrs[c.naddrs]
	c.addrs[c.naddrs] = addrEntry{}
}

func (c *Conn) takeAddrToken(now int64) bool {
	c.addrTokens = min(newAddrBurst, c.addrTokens+float64(now-c.addrRefill)/float64(newAddrEvery))
	c.addrRefill = now
	if c.addrTokens < 1 {
		return false
	}
	c.addrTokens--
	return true
}

// respond sends a Binding success response to req: XOR-MAPPED-ADDRESS,
// MESSAGE-INTEGRITY with key, FINGERPRINT.
func (s *socket) respond(req *stun.Message, to netip.AddrPort, key stun.MessageIntegrity) {
	m := &s.stunOut
	m.Reset()
	m.Type = stun.BindingSuccess
	m.TransactionID = req.TransactionID
	m.WriteHeader()
	s.addXORAddr(m, to)
	if key.AddTo(m) != nil || stun.Fingerprint.AddTo(m) != nil {
		return
	}
	_ = s.write(m.Raw, to)
}

func (s *socket) addXORAddr(m *stun.Message, to netip.AddrPort) {
	var ip net.IP
	if a := to.Addr(); a.Is4() {
		b := a.As4()
		ip = append(s.ip[:0], b[:]...)
	} else {
		b := a.As16()
		ip = append(s.ip[:0], b[:]...)
	}
	_ = stun.XORMappedAddress{IP: ip, Port: int(to.Port())}.AddTo(m)
}
