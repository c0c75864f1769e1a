package signaling

import (
	"slices"

	"palabre/signaling/proto"
)

// Raised hands are a queue held by the server: first raised, first in the
// list, which every member gets whole (a hands event) when it changes, and
// which grant_next serves from the front. Getting the floor, lowering the
// hand or leaving takes one out of it.

// raiseHand puts se in the queue (at its end) or takes it out. A holder of
// the floor has nothing to ask for.
func (lr *liveRoom) raiseHand(se *session, up bool) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.members[se.info.ID] != se {
		return
	}
	up = up && !se.info.Floor
	if se.info.Hand == up {
		return
	}
	before := se.info
	se.info.Hand = up
	if up {
		lr.hands = append(lr.hands, se.info.ID)
	} else {
		lr.hands = slices.DeleteFunc(lr.hands, func(id string) bool { return id == se.info.ID })
	}
	p := se.info
	lr.eventLocked(se, before, proto.Message{Type: proto.TypeHand, Participant: &p})
	lr.handsChangedLocked()
}

// dropHandsLocked takes the given ids out of the queue (they got the floor
// or left) and reports whether the queue changed.
func (lr *liveRoom) dropHandsLocked(ids ...string) bool {
	n := len(lr.hands)
	lr.hands = slices.DeleteFunc(lr.hands, func(id string) bool { return slices.Contains(ids, id) })
	return len(lr.hands) != n
}

// firstHand is the id at the front of the queue, "" if none.
func (lr *liveRoom) firstHand() string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if len(lr.hands) == 0 {
		return ""
	}
	return lr.hands[0]
}

// handsListedLocked is the queue as members get it: whole in a small
// room, its first proto.MaxHandsListed in a large one.
func (lr *liveRoom) handsListedLocked() []string {
	n := len(lr.hands)
	if lr.large {
		n = min(n, proto.MaxHandsListed)
	}
	return slices.Clone(lr.hands[:n])
}

// handsChangedLocked tells the room the queue: at once in a small room,
// with the next presence batch in a large one.
func (lr *liveRoom) handsChangedLocked() {
	if lr.large {
		lr.batch.hands = true
		lr.scheduleLocked(true)
		return
	}
	lr.broadcastLocked(proto.Message{Type: proto.TypeHands, Hands: append([]string(nil), lr.hands...)}, nil)
}
