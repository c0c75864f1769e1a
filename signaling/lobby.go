package signaling

import (
	"time"

	"github.com/coder/websocket"

	"palabre/signaling/proto"
)

// The lobby (waiting room). In a room whose definition has Lobby set, a
// newcomer who passed the password checks waits, in arrival order, until an
// organizer admits or refuses them; organizers and ad-hoc openers never
// wait. The waiting list lives in the live room, bounded by
// proto.MaxWaiting; the organizers get the whole list each time it
// changes. Admission runs the rest of the join (media, registration) in a
// goroutine of its own, while the waiting session's read loop keeps
// answering pings.

// lobbyTimeout is how long one may wait in a lobby before the connection
// is closed.
const lobbyTimeout = 30 * time.Minute

// waiter is someone in a room's lobby.
type waiter struct {
	se  *session
	req joinRequest
	id  string // shown to organizers; not the participant id to come
}

// wait puts se in lr's lobby and answers its join with waiting. It returns
// an error code (and message) if the lobby is full or the room closing.
func (lr *liveRoom) wait(se *session, req joinRequest) (code, msg string) {
	w := waiter{se: se, req: req, id: newParticipantID()}
	lr.mu.Lock()
	switch {
	case lr.closed:
		lr.mu.Unlock()
		return proto.CodeInternal, "the room closed; join again"
	case len(lr.waiting) >= proto.MaxWaiting:
		lr.mu.Unlock()
		return proto.CodeRoomFull, "too many people are waiting to enter this room"
	}
	lr.waiting = append(lr.waiting, w)
	info := lr.roomInfoLocked()
	// The session's state changes under the live room's lock would break
	// the lock order (session first): the read loop owns this step, and
	// nobody admits se before it is in the list, which is now.
	lr.mu.Unlock()

	se.mu.Lock()
	se.state, se.lobby = stateWaiting, lr
	se.mu.Unlock()
	se.joinBy = time.Now().Add(lobbyTimeout)
	se.send(proto.Message{Type: proto.TypeWaiting, ID: req.id, RoomInfo: &info})

	lr.mu.Lock()
	lr.lobbyChangedLocked()
	lr.mu.Unlock()
	return "", ""
}

// unwait takes se out of the lobby (it left).
func (lr *liveRoom) unwait(se *session) {
	lr.mu.Lock()
	for i, w := range lr.waiting {
		if w.se == se {
			lr.waiting = append(lr.waiting[:i], lr.waiting[i+1:]...)
			lr.lobbyChangedLocked()
			break
		}
	}
	lr.mu.Unlock()
	lr.s.releaseIfEmpty(lr)
}

// take removes and returns the waiters with the given id, or all of them
// for id "".
func (lr *liveRoom) take(id string) []waiter {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	var out []waiter
	kept := lr.waiting[:0]
	for _, w := range lr.waiting {
		if id == "" || w.id == id {
			out = append(out, w)
		} else {
			kept = append(kept, w)
		}
	}
	clear(lr.waiting[len(kept):])
	lr.waiting = kept
	if len(out) > 0 {
		lr.lobbyChangedLocked()
	}
	return out
}

// admitWaiting lets in the waiter with that id, or everyone for "". It
// reports how many were let in.
func (lr *liveRoom) admitWaiting(id string) int {
	ws := lr.take(id)
	for _, w := range ws {
		go w.se.leaveLobby(lr, w.req)
	}
	return len(ws)
}

// refuseWaiting turns away the waiter with that id; it reports whether
// there was one.
func (lr *liveRoom) refuseWaiting(id, by string) bool {
	ws := lr.take(id)
	for _, w := range ws {
		w.se.send(proto.Message{Type: proto.TypeRefused, By: by, Message: "an organizer did not let you in"})
		w.se.closeWith(websocket.StatusNormalClosure, "refused")
	}
	return len(ws) > 0
}

// leaveLobby runs the rest of an admitted waiter's join.
func (se *session) leaveLobby(lr *liveRoom, req joinRequest) {
	se.mu.Lock()
	ok := se.state == stateWaiting && !se.gone
	se.mu.Unlock()
	if !ok {
		return
	}
	req.id = 0 // joined comes unsolicited
	if !se.enter(lr, req, false) {
		se.release(useParticipant)
	}
}

// waitingLocked lists the lobby for organizers.
func (lr *liveRoom) waitingLocked() []proto.Waiting {
	out := make([]proto.Waiting, len(lr.waiting))
	for i, w := range lr.waiting {
		out[i] = proto.Waiting{ID: w.id, Name: w.req.name}
	}
	return out
}

// lobbyChangedLocked tells the organizers who waits now.
func (lr *liveRoom) lobbyChangedLocked() {
	// An empty lobby comes without "waiting".
	m := proto.Message{Type: proto.TypeLobby, Waiting: lr.waitingLocked()}
	lr.broadcastToLocked(m, func(se *session) bool { return se.info.Organizer })
}
