package signaling

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/coder/websocket"

	"palabre/admission"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling/proto"
)

// join admits the session into a room: rate limits, room lookup (or ad-hoc
// creation), organizer secret, password, lock and capacity, then the media
// connection. Every refusal is an error reply; the session stays usable.
func (se *session) join(m proto.Message) {
	se.joinAsked = time.Now()
	g := se.s.cfg.Guard
	if !g.AllowJoin(se.ip) {
		se.refuse(m, proto.CodeRateLimited, "too many joins from your address; wait a little")
		return
	}
	if !se.acquire(useParticipant) {
		se.refuse(m, proto.CodeAddressLimit, "your address has as many participants in rooms as this server allows")
		return
	}
	keep := false // the participant place is kept: in the room, or waiting to be
	defer func() {
		if !keep {
			se.release(useParticipant)
		}
	}()
	if err := rooms.ValidateName(m.Room); err != nil {
		se.refuse(m, proto.CodeBadMessage, err.Error())
		return
	}
	def, err := se.s.cfg.Rooms.Get(m.Room)
	known := err == nil || errors.Is(err, rooms.ErrNotFound) && se.s.cfg.AdhocRooms
	if known {
		// The room's node checks the password: every attempt on a room
		// then meets the same rate limit.
		if url := se.s.redirectFor(m.Room, m.Hops); url != "" {
			se.logger().Debug("redirecting join", "room", m.Room, "to", url)
			se.s.metrics.redirects.Inc()
			se.send(proto.Message{Type: proto.TypeRedirect, ID: m.ID, URL: url, Reason: proto.RedirectElsewhere})
			return
		}
	}
	if errors.Is(err, rooms.ErrNotFound) && se.s.cfg.AdhocRooms {
		def, err = se.s.cfg.Rooms.Adhoc(m.Room)
	}
	if errors.Is(err, rooms.ErrNotFound) {
		se.refuse(m, proto.CodeNotFound, "no room named "+m.Room)
		return
	}
	if errors.Is(err, rooms.ErrTooMany) {
		// Any visitor can cause this by opening rooms: not a server fault.
		se.logger().Info("ad-hoc room refused: the server's cap on ad-hoc rooms is reached")
		se.refuse(m, proto.CodeTooManyRooms, "this server has as many ad-hoc rooms as it allows; join an existing room or try again later")
		return
	}
	if err != nil {
		se.logger().Error("room lookup", "room", m.Room, "err", err)
		se.refuse(m, proto.CodeInternal, "room lookup failed")
		return
	}

	// Organizer secrets and passwords are each checked against budgets
	// reserved before the hash (package admission): guessing stays
	// useless, and the rightful are not locked out by someone else's
	// guesses.
	organizer := false
	if m.Secret != "" {
		check, refused := g.BeginSecret(se.ip)
		if refused != nil {
			se.refuseLater(m, refused, "too many wrong organizer secrets from your address")
			return
		}
		ok := se.s.cfg.Rooms.CheckOrganizer(def, m.Secret)
		check.Done(ok)
		if !ok {
			se.refuse(m, proto.CodeBadSecret, "wrong organizer secret")
			return
		}
		organizer = true
	}
	if !organizer && def.HasPassword() {
		if m.Password == "" {
			se.refuse(m, proto.CodeBadPassword, "this room needs a password")
			return
		}
		check, refused := g.BeginPassword(se.ip, def.Name)
		if refused != nil {
			se.refuseLater(m, refused, "too many wrong passwords")
			return
		}
		ok := se.s.cfg.Rooms.CheckPassword(def, m.Password)
		check.Done(ok)
		if !ok {
			se.refuse(m, proto.CodeBadPassword, "wrong password")
			return
		}
	}

	// The live room found may be closing as its last member leaves: then
	// the next lookup makes a fresh one.
	var lr *liveRoom
	var adhocSecret string
	lobby := false
	for {
		var created bool
		if lr, created, err = se.s.liveRoomFor(def, se.ip); err != nil {
			if errors.Is(err, errAddressLimit) {
				se.s.addressRefused(useAdhocRoom)
				se.refuse(m, proto.CodeAddressLimit, "your address has opened as many ad-hoc rooms as this server allows; join one of them, or close one")
				return
			}
			se.refuse(m, proto.CodeInternal, err.Error())
			return
		}
		// Whoever opens an ad-hoc room is its organizer for its life.
		if created && def.Ephemeral && !organizer {
			if d, secret, err := se.s.cfg.Rooms.ClaimAdhoc(def.Name); err == nil {
				lr.apply(d, "")
				def, adhocSecret, organizer = d, secret, true
			}
		}
		if lr.definition().Lobby && !organizer {
			lobby = true
			break
		}
		code, msg := lr.admit(organizer)
		if code == errRoomClosing {
			continue
		}
		if code != "" {
			se.refuse(m, code, msg)
			lr.s.releaseIfEmpty(lr)
			return
		}
		break
	}
	req := joinRequest{name: m.Name, id: m.ID, rejoin: m.Rejoin, video: m.WantVideo, organizer: organizer, adhocSecret: adhocSecret}
	if lobby {
		if code, msg := lr.wait(se, req); code != "" {
			se.refuse(m, code, msg)
			lr.s.releaseIfEmpty(lr)
			return
		}
		keep = true
		return
	}
	keep = se.enter(lr, req, true)
}

// joinRequest is what entering a room needs of a join that passed its
// checks (and maybe waited in the lobby).
type joinRequest struct {
	name        string
	id          uint32 // the join's id, 0 after the lobby: joined is then unsolicited
	rejoin      bool
	video       bool // wants video m-lines
	organizer   bool
	adhocSecret string
}

// enter takes the session into lr: capacity and lock (unless reserved
// already by lr.admit), media connection, registration, joined and the
// offer. It reports whether the session is in; if not, the client got an
// error (or, after the lobby, refused).
func (se *session) enter(lr *liveRoom, req joinRequest, reserved bool) bool {
	fail := func(code, msg string) {
		if req.id != 0 {
			se.refuse(proto.Message{ID: req.id}, code, msg)
			return
		}
		se.s.metrics.joinFailures.WithLabelValues(code).Inc()
		se.send(proto.Message{Type: proto.TypeRefused, Code: code, Message: msg})
		se.closeWith(websocket.StatusNormalClosure, "refused")
	}
	if !reserved {
		if code, msg := lr.admit(req.organizer); code != "" {
			if code == errRoomClosing {
				code, msg = proto.CodeInternal, "the room closed; join again"
			}
			fail(code, msg)
			lr.s.releaseIfEmpty(lr)
			return false
		}
	}
	id := newParticipantID()
	asked := se.joinAsked
	part, offer, err := lr.media.Join(sfu.ParticipantConfig{
		ID: id, OnCandidate: se.onLocalCandidate, Video: req.video,
		OnConnected: func(sfu.ConnKind) { se.s.metrics.joinSeconds.Observe(time.Since(asked).Seconds()) },
	})
	if err != nil {
		se.logger().Error("media join", "room", lr.name, "err", err)
		lr.unadmit()
		fail(proto.CodeInternal, "could not set up the media connection")
		return false
	}
	se.mu.Lock()
	if se.gone { // left while its media was set up (after the lobby)
		se.mu.Unlock()
		part.Leave()
		lr.unadmit()
		return false
	}
	se.room, se.part, se.organizer, se.lobby = lr, part, req.organizer, nil
	se.info = proto.Participant{ID: id, Name: req.name, Organizer: req.organizer, Source: part.Source()}
	se.fold = foldName(req.name)
	se.logp.Store(se.logger().With("room", lr.name, "participant", id))
	se.state = stateJoined
	// Registered under mu: leaveRoom, which takes mu, finds it registered
	// or not at all. register sends joined.
	lr.register(se, req.id, req.adhocSecret)
	se.mu.Unlock()

	se.release(useUnjoined)
	se.send(proto.Message{Type: proto.TypeOffer, SDP: offer.SDP})
	se.flushCandidates()
	se.s.metrics.joins.Inc()
	if req.rejoin {
		se.s.metrics.rejoins.Inc()
	}
	se.logger().Info("joined", "organizer", req.organizer)
	return true
}

// joinFailureCodes are the codes a join can fail with (for metrics).
var joinFailureCodes = []string{
	proto.CodeBadMessage, proto.CodeBadPassword, proto.CodeBadSecret, proto.CodeNotFound,
	proto.CodeRoomFull, proto.CodeRoomLocked, proto.CodeRateLimited, proto.CodeTooManyRooms, proto.CodeAddressLimit,
	proto.CodeInternal,
}

// refuseLater answers a join with rate_limited and how long to wait.
func (se *session) refuseLater(m proto.Message, r *admission.Refusal, why string) {
	secs := max(int(math.Ceil(r.RetryAfter.Seconds())), 1)
	se.s.metrics.joinFailures.WithLabelValues(proto.CodeRateLimited).Inc()
	reply := proto.ErrorReply(m.ID, proto.CodeRateLimited, fmt.Sprintf("%s; try again in %d s", why, secs))
	reply.RetryAfter = secs
	se.send(reply)
}

// refuse answers a join with an error and counts it.
func (se *session) refuse(m proto.Message, code, msg string) {
	se.s.metrics.joinFailures.WithLabelValues(code).Inc()
	se.fail(m, code, msg)
}
