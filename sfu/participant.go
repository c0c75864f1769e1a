package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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
}

// Participant is one member of a room: one PeerConnection that publishes
// one audio track (its microphone) and receives the room's K slots.
type Participant struct {
	id     string
	source uint32
	room   *Room
	engine *Engine
	log    *slog.Logger
	cfg    ParticipantConfig
	pc     *webrtc.PeerConnection
	mids   []string // of the offer's media sections, in order

	// out[i] is this participant's rewrite state for slot i, touched only
	// under room.slots[i].mu.
	out []slotState
	// slotSSRC[i] is the SSRC pion gave slot i's sender; written once in
	// open, before any RTCP can arrive.
	slotSSRC [MaxSlots]uint32

	guard *peerGuard // what the network may send us (guard.go)
	// unknownRTCP counts the RTCP streams pion opened for SSRCs that are
	// neither ours nor announced (buffers.go).
	unknownRTCP atomic.Int32

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

	mu       sync.Mutex // lifecycle; never held while calling into pion
	state    participantState
	answered bool
	readerOn bool
	wg       sync.WaitGroup // the microphone reader
	done     chan struct{}  // closed when fully shut down

	candMu       sync.Mutex // remote candidates; may be held calling pion
	remoteSet    bool
	pendingCands []webrtc.ICECandidateInit
	candidates   int // accepted: in the answer, queued and added
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

// open creates the PeerConnection and the offer.
func (p *Participant) open(cert webrtc.Certificate) (webrtc.SessionDescription, error) {
	pg, ufrag, pwd := p.engine.guard.add()
	p.guard = pg
	pc, err := p.engine.api(p, ufrag, pwd).NewPeerConnection(webrtc.Configuration{
		Certificates:  []webrtc.Certificate{cert},
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	p.pc = pc

	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return webrtc.SessionDescription{}, err
	}
	for i := range p.out {
		tr, err := pc.AddTransceiverFromTrack(&slotTrack{p: p, slot: i},
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return webrtc.SessionDescription{}, err
		}
		enc := tr.Sender().GetParameters().Encodings
		if len(enc) == 0 {
			return webrtc.SessionDescription{}, fmt.Errorf("sfu: slot %d: no encoding", i)
		}
		p.slotSSRC[i] = uint32(enc[0].SSRC)
	}

	pc.OnTrack(p.onTrack)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && p.cfg.OnCandidate != nil {
			p.cfg.OnCandidate(c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(p.onConnectionState)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return webrtc.SessionDescription{}, err
	}
	for _, tr := range pc.GetTransceivers() {
		p.mids = append(p.mids, tr.Mid())
	}
	// Host candidates on the shared socket are known at once; waiting puts
	// them in the offer too, so a client that misses the trickle still works.
	select {
	case <-gathered:
	case <-time.After(2 * time.Second):
	}
	return *pc.LocalDescription(), nil
}

// abort closes a PeerConnection that never made it into the room.
func (p *Participant) abort() {
	p.mu.Lock()
	p.state = stateLeaving
	p.mu.Unlock()
	if p.pc != nil {
		_ = p.pc.GracefulClose()
	}
	p.wg.Wait()
	p.release()
}

// release ends the participant once its PeerConnection is closed.
func (p *Participant) release() {
	p.noteGone()
	if p.guard != nil {
		p.engine.guard.remove(p.guard)
	}
	close(p.done)
}

// SetAnswer applies the client's SDP answer. It fails if the answer was
// already set or is invalid; a malformed answer can be retried, but one that
// pion rejected half-way leaves the participant unusable (Leave it).
func (p *Participant) SetAnswer(sdp string) error {
	p.mu.Lock()
	if p.state != stateActive {
		p.mu.Unlock()
		return ErrNotInRoom
	}
	if p.answered {
		p.mu.Unlock()
		return ErrAnswered
	}
	info, err := validateAnswer(sdp, p.mids)
	if err != nil {
		p.mu.Unlock()
		if errors.Is(err, errAnswerCandidates) {
			p.engine.stats.candidate.Add(1)
		}
		return fmt.Errorf("sfu: answer: %w", err)
	}
	p.answered = true // held across the call so a concurrent second answer fails
	p.mu.Unlock()
	// Before pion applies it: SRTP can flow as soon as it has.
	p.guard.announce(info.ssrcs)

	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		// Retry is possible only if pion did not apply it half-way.
		retry := p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer
		p.mu.Lock()
		p.answered = !retry
		p.mu.Unlock()
		return fmt.Errorf("sfu: answer: %w", err)
	}

	p.candMu.Lock()
	defer p.candMu.Unlock()
	p.remoteSet = true
	p.candidates += info.candidates
	for _, c := range p.pendingCands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("queued candidate rejected", "err", err)
		}
	}
	p.pendingCands = nil
	return nil
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
	p.candMu.Lock()
	defer p.candMu.Unlock()
	if p.candidates >= maxRemoteCandidates {
		p.engine.stats.candidate.Add(1)
		return ErrTooManyCandidates
	}
	p.candidates++
	if !p.remoteSet {
		p.pendingCands = append(p.pendingCands, c)
		return nil
	}
	return p.pc.AddICECandidate(c)
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

// shutdown removes p from the room, closes the PeerConnection and waits for
// the reader. Runs once, from Leave or from the failure path.
func (p *Participant) shutdown() {
	p.connected.Store(false)
	p.room.remove(p)
	if err := p.pc.GracefulClose(); err != nil {
		p.log.Debug("close", "err", err)
	}
	p.wg.Wait()
	p.release()
}

// onConnectionState runs in a fresh goroutine per change (pion's way), so
// changes may be seen out of order: it acts on the current state.
func (p *Participant) onConnectionState(webrtc.PeerConnectionState) {
	s := p.pc.ConnectionState()
	p.connected.Store(s == webrtc.PeerConnectionStateConnected)
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.log.Debug("media connected")
		p.noteConnected()
	case webrtc.PeerConnectionStateDisconnected:
		// Nothing heard from the peer for a while: it may come back, but it
		// does not keep the floor meanwhile.
		p.room.ReleaseFloor(p)
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		err := ErrConnectionFailed
		if s == webrtc.PeerConnectionStateClosed {
			err = ErrConnectionClosed
		} else {
			p.mu.Lock()
			never := !p.everConnected
			p.mu.Unlock()
			if never {
				p.engine.stats.neverConnected.Add(1)
			} else {
				p.engine.stats.connectionLost.Add(1)
			}
		}
		p.fail(err, "media connection lost", "state", s.String())
	}
}

// fail takes an active participant out of its room and closes its
// PeerConnection in the background (it may be called from pion's own
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
		_ = p.pc.GracefulClose()
		p.wg.Wait()
		p.release()
	})
}

// onTrack runs the microphone reader in pion's OnTrack goroutine.
func (p *Participant) onTrack(t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.state != stateActive || p.readerOn || t.Kind() != webrtc.RTPCodecTypeAudio {
		p.mu.Unlock()
		return
	}
	p.readerOn = true
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	p.readLoop(t, rcv)
}
