package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// ParticipantConfig describes a joining participant.
type ParticipantConfig struct {
	ID string // unique in the room
	// OnCandidate receives the local ICE candidates to trickle to the client
	// (called from pion goroutines, possibly before Join returns).
	OnCandidate func(webrtc.ICECandidateInit)
	// OnConnected, if set, is told once, from a pion goroutine, when the
	// media connection first comes up, and how it reaches the server.
	OnConnected func(ConnKind)
	// Video asks for an offer with video m-lines (if the Engine has video
	// slots): the camera, the screen, the camera slots and the screen slot.
	Video bool
}

// Participant is one member of a room: one media connection (Transport)
// that publishes one audio track (its microphone) and receives the room's K
// slots.
type Participant struct {
	id     string
	source uint32
	room   *Room
	engine *Engine
	log    *slog.Logger
	cfg    ParticipantConfig
	tr     Transport // set by open, before anything is delivered to us

	// out[i] is this participant's rewrite state for slot i, touched only
	// under room.slots[i].mu.
	out []slotState
	// slotSSRC[i] is the SSRC of slot i's stream; written once in open,
	// before any RTCP can arrive.
	slotSSRC [MaxSlots]uint32

	connected atomic.Bool
	// everConnected (under mu) and kind record the first connection, for
	// the Engine's connection counts.
	everConnected bool
	kind          atomic.Int32
	up            chan struct{} // closed when the connection first comes up
	muted         atomic.Bool
	grant         atomic.Uint64 // epoch<<8 | (slot+1); see setGrant
	lastVoice     atomic.Int64  // open rooms: nanotime of the last voice activity
	lastSR        atomic.Uint64 // publisher's last sender report: NTP middle 32 bits <<32 | arrival (1/65536 s)

	// Both are allocated by the microphone reader when it starts (idle
	// participants do not pay for them) and used by it; cache is also read
	// by NACK handlers, reached through a segment the reader created.
	rd    *reader      // microphone reader state
	cache *packetCache // forwarded packets, for NACKs of any subscriber
	rs    *resender    // answers our NACKs; allocated and used by our RTCP reader

	// Video (docs/video.md), when the offer has it. camIn and screenIn
	// are the incoming layers, made by their first packet; vout the video
	// slots (camera slots, then the screen slot), voutSSRC their SSRCs.
	camIn      [len(cameraRIDs)]atomic.Pointer[videoLayer]
	screenIn   atomic.Pointer[videoLayer]
	cameraOn   atomic.Bool
	screenOn   atomic.Bool
	vout       []videoOut
	voutSSRC   []uint32
	videoReady atomic.Bool    // a video slot was bound: assign sources
	va         *videoAlloc    // estimate and allocation
	vrs        *videoResender // our video NACKs; our RTCP goroutine's
	nextREMB   atomic.Int64   // publisher: the next REMB

	mu    sync.Mutex // lifecycle; never held while calling into the transport
	state participantState
	done  chan struct{} // closed when fully shut down
}

type participantState int

const (
	stateActive  participantState = iota
	stateLeaving                  // Leave called
	stateFailed                   // connection failed or closed by the peer
)

func newParticipant(r *Room, cfg ParticipantConfig) *Participant {
	p := &Participant{
		id:     cfg.ID,
		source: r.engine.newSource(),
		room:   r,
		engine: r.engine,
		cfg:    cfg,
		out:    make([]slotState, len(r.slots)),
		done:   make(chan struct{}),
		up:     make(chan struct{}),
	}
	p.log = r.engine.log.With("participant", cfg.ID)
	p.lastVoice.Store(-quietRelease) // quiet since long ago
	return p
}

// ID is the participant's id in the room.
func (p *Participant) ID() string { return p.id }

// Source is the participant's non-zero id within the Engine, written as the
// CSRC of its forwarded packets.
func (p *Participant) Source() uint32 { return p.source }

// Muted reports whether the server drops p's packets (SetMuted).
func (p *Participant) Muted() bool { return p.muted.Load() }

// Connected reports whether the media connection is up.
func (p *Participant) Connected() bool { return p.connected.Load() }

// setGrant records that p now holds slot i (-1: none) and starts a new
// epoch. Called holding room.mu and the slot's mutex. The microphone reader
// loads slot and epoch in one atomic read.
func (p *Participant) setGrant(i int) {
	epoch := p.grant.Load()>>8 + 1
	p.grant.Store(epoch<<8 | uint64(i+1))
}

func splitGrant(g uint64) (slot int, epoch uint32) {
	return int(g&0xff) - 1, uint32(g >> 8)
}

// slot is the slot p currently holds, or -1.
func (p *Participant) slot() int {
	i, _ := splitGrant(p.grant.Load())
	return i
}

// open creates the media connection and the offer.
func (p *Participant) open() (string, error) {
	l := Layout{AudioSlots: len(p.out)}
	if p.cfg.Video {
		l.VideoSlots = p.engine.videoSlots
	}
	tr, offer, err := p.engine.openTransport(p.engine, l, (*peerHandler)(p), p.cfg.OnCandidate)
	if err != nil {
		return "", err
	}
	p.tr = tr
	for i := range p.out {
		p.slotSSRC[i] = tr.OutSSRC(i)
	}
	if l.VideoSlots > 0 {
		p.vout = make([]videoOut, l.VideoSlots+1)
		p.voutSSRC = make([]uint32, l.VideoSlots+1)
		for j := range p.vout {
			p.vout[j].index = j
			p.voutSSRC[j] = tr.OutSSRC(l.AudioSlots + j)
		}
		p.vout[l.VideoSlots].screen, p.vout[l.VideoSlots].index = true, 0
		p.va = newVideoAlloc(len(p.vout))
	}
	return offer, nil
}

// abort closes a connection that never made it into the room.
func (p *Participant) abort() {
	p.mu.Lock()
	p.state = stateLeaving
	p.mu.Unlock()
	if p.tr != nil {
		_ = p.tr.Close()
	}
	p.release()
}

// release ends the participant once its connection is closed.
func (p *Participant) release() {
	p.noteGone()
	close(p.done)
}

// SetAnswer applies the client's SDP answer. It fails if the answer was
// already set or is invalid; a malformed answer can be retried, but one that
// the transport rejected half-way leaves the participant unusable (Leave it).
func (p *Participant) SetAnswer(sdp string) error {
	p.mu.Lock()
	active := p.state == stateActive
	p.mu.Unlock()
	if !active {
		return ErrNotInRoom
	}
	return p.tr.SetAnswer(sdp)
}

// AddCandidate adds a remote ICE candidate trickled by the client. It
// refuses, with an error, candidates that do not parse, name anything but
// an IP address, are outside the Engine's address policy (policy.go), or
// exceed maxRemoteCandidates with those of the answer. It ignores, without
// error, what the server would never use: TCP candidates (ICE-TCP is
// passive: the client connects), mDNS names, the end of candidates, and on
// a loopback Engine non-loopback addresses. Candidates that arrive before
// the answer are queued.
func (p *Participant) AddCandidate(c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	active := p.state == stateActive
	p.mu.Unlock()
	if !active {
		return ErrNotInRoom
	}
	use, err := p.engine.checkCandidate(c.Candidate)
	if err != nil {
		p.engine.stats.candidate.Add(1)
		return err
	}
	if !use {
		return nil
	}
	return p.tr.AddCandidate(c)
}

// Leave takes the participant out of its room (floor and slot released),
// closes its PeerConnection and waits for its goroutines. Idempotent.
func (p *Participant) Leave() {
	p.mu.Lock()
	if p.state != stateActive {
		p.mu.Unlock()
		<-p.done
		return
	}
	p.state = stateLeaving
	p.mu.Unlock()
	p.shutdown()
	p.log.Debug("participant left")
}

// shutdown removes p from the room and closes the connection. Runs once,
// from Leave or from the failure path.
func (p *Participant) shutdown() {
	p.connected.Store(false)
	p.room.remove(p)
	if p.tr != nil { // nil if its connection could not be made
		if err := p.tr.Close(); err != nil {
			p.log.Debug("close", "err", err)
		}
	}
	p.release()
}

// fail takes an active participant out of its room and closes its
// connection in the background (it may be called from the transport's own
// goroutines, which closing waits for), then tells the observer.
func (p *Participant) fail(err error, msg string, args ...any) {
	p.mu.Lock()
	if p.state != stateActive {
		p.mu.Unlock()
		return
	}
	p.state = stateFailed
	p.mu.Unlock()
	p.log.Info(msg, args...)
	p.engine.spawn(func() {
		p.connected.Store(false)
		if p.room.remove(p) {
			p.room.obs.ParticipantClosed(p.id, err)
		}
		if p.tr != nil { // nil if its connection could not be made
			_ = p.tr.Close()
		}
		p.release()
	})
}
