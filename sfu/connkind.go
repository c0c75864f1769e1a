package sfu

import (
	"context"
)

// ConnKind is how a participant's media reaches the server.
type ConnKind int

const (
	ConnUDP   ConnKind = iota // straight over UDP
	ConnTCP                   // ICE-TCP, for networks that let no UDP out
	ConnRelay                 // through a TURN relay (ours or another)
	connKinds
)

func (k ConnKind) String() string {
	switch k {
	case ConnUDP:
		return "udp"
	case ConnTCP:
		return "tcp"
	case ConnRelay:
		return "turn"
	}
	return "unknown"
}

// noteConnected counts p's connection once, by kind, the first time it
// comes up, and tells the ParticipantConfig's OnConnected.
func (p *Participant) noteConnected() {
	p.mu.Lock()
	first := !p.everConnected
	p.everConnected = true
	p.mu.Unlock()
	if !first {
		return
	}
	close(p.up)
	k := p.tr.Kind()
	p.kind.Store(int32(k))
	p.engine.stats.connected[k].Add(1)
	if p.cfg.OnConnected != nil {
		p.cfg.OnConnected(k)
	}
}

// noteGone takes p out of the connection counts when it leaves or fails.
// Called once, from release.
func (p *Participant) noteGone() {
	p.mu.Lock()
	was := p.everConnected
	p.mu.Unlock()
	if was {
		p.engine.stats.connected[p.kind.Load()].Add(-1)
	}
}

// WaitConnected waits until p's media connection first comes up, p leaves,
// or ctx ends, and reports whether it is up.
func (p *Participant) WaitConnected(ctx context.Context) bool {
	select {
	case <-p.up:
		return p.Connected()
	case <-p.done:
		return false
	case <-ctx.Done():
		return p.Connected()
	}
}
