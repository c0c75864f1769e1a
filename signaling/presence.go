package signaling

import (
	"slices"
	"strings"
	"time"

	"palabre/signaling/proto"
)

// Presence: who is in a room, told without making a join cost more as
// the room grows (docs/protocol.md, "Presence" and "Large rooms").
//
//   - Joins, departures and, in large rooms, the changes of the people on
//     the stage are gathered in one batch per room and sent as one
//     presence message, encoded once, the same bytes to every member. A
//     room has a timer only while it has something pending.
//   - A small room sends a change at once when nothing was sent in the
//     last interval, else at the end of it (leading and trailing edge):
//     a lone join is seen at once, a burst as one message per interval.
//   - A large room only sends at the end of an interval (trailing edge),
//     and a batch that carries nothing but the count and the departures
//     waits CountInterval, longer in a room so big that its counts would
//     cost more than CountRate writes a second: what joins cost the room
//     is then bounded by those rates, not by how many join.
//   - A large room's joined carries a first page (the stage and the first
//     others) and the count; the rest is paged with list.

// PresenceSettings tune presence batching. The zero value of a field
// takes its default.
type PresenceSettings struct {
	// Interval is the batching interval: at most one presence message per
	// room per interval (default 250 ms).
	Interval time.Duration
	// CountInterval is how long a large room's batch that carries only
	// the count and departures may wait (default 1 s), at least: a room
	// of more than CountRate members waits members/CountRate seconds.
	CountInterval time.Duration
	// CountRate bounds the writes per second a large room's counts cost
	// (default 5,000: a room of 20,000 sends its count every 4 s).
	CountRate int
	// LargeRoom is the size above which a room is large (default 200);
	// it is small again below three quarters of it.
	LargeRoom int
	// FirstPage is how many participants besides the stage a large
	// room's joined lists (default 50).
	FirstPage int
}

const (
	defaultPresenceInterval = 250 * time.Millisecond
	defaultCountInterval    = time.Second
	defaultCountRate        = 5000
	defaultLargeRoom        = 200
	defaultFirstPage        = 50
	// maxStageListed bounds the stage a large room's joined lists.
	maxStageListed = 200
	// listRate and listBurst bound each session's list requests.
	listRate  = 4
	listBurst = 10
)

func (p PresenceSettings) withDefaults() PresenceSettings {
	if p.Interval <= 0 {
		p.Interval = defaultPresenceInterval
	}
	if p.CountInterval <= 0 {
		p.CountInterval = defaultCountInterval
	}
	if p.CountInterval < p.Interval {
		p.CountInterval = p.Interval
	}
	if p.CountRate <= 0 {
		p.CountRate = defaultCountRate
	}
	if p.LargeRoom <= 0 {
		p.LargeRoom = defaultLargeRoom
	}
	if p.FirstPage <= 0 {
		p.FirstPage = defaultFirstPage
	}
	return p
}

// presence returns the server's presence settings.
func (s *Server) presence() PresenceSettings {
	if p := s.presenceCfg.Load(); p != nil {
		return *p
	}
	return PresenceSettings{}.withDefaults()
}

// presenceBatch is what a room has to tell its members at the next flush.
type presenceBatch struct {
	joined  []proto.Participant
	left    []proto.Departure
	changed []proto.Participant // large rooms: the latest record per id
	count   bool                // the count changed
	hands   bool                // large rooms: the queue of hands changed
	full    bool                // the room became small: send the whole list
	paged   bool                // the room became large
}

func (b *presenceBatch) empty() bool {
	return len(b.joined) == 0 && len(b.left) == 0 && len(b.changed) == 0 &&
		!b.count && !b.hands && !b.full && !b.paged
}

// member is a room member in join order; se is nil once it left (the
// entry is dropped at the next compaction).
type member struct {
	seq uint64
	se  *session
}

// onStage says whether p is someone every member of a large room sees.
func onStage(p *proto.Participant) bool {
	return p.Organizer || p.Floor || p.Hand || p.Camera || p.Screen
}

// addOrderLocked appends se to the join order.
func (lr *liveRoom) addOrderLocked(se *session) {
	lr.seq++
	se.seq = lr.seq
	lr.order = append(lr.order, member{seq: se.seq, se: se})
}

// removeOrderLocked takes se out of the join order: a tombstone, found
// by binary search, and a compaction once they are a quarter of it.
func (lr *liveRoom) removeOrderLocked(se *session) {
	i, ok := slices.BinarySearchFunc(lr.order, se.seq, func(m member, seq uint64) int {
		switch {
		case m.seq < seq:
			return -1
		case m.seq > seq:
			return 1
		}
		return 0
	})
	if !ok || lr.order[i].se != se {
		return
	}
	lr.order[i].se = nil
	lr.dead++
	if lr.dead > 16 && lr.dead*4 > len(lr.order) {
		lr.order = slices.DeleteFunc(lr.order, func(m member) bool { return m.se == nil })
		lr.dead = 0
	}
}

// afterSeq is the index in the join order of the first entry after seq.
func (lr *liveRoom) afterSeq(seq uint64) int {
	i, _ := slices.BinarySearchFunc(lr.order, seq+1, func(m member, seq uint64) int {
		switch {
		case m.seq < seq:
			return -1
		case m.seq > seq:
			return 1
		}
		return 0
	})
	return i
}

// restageLocked keeps the stage set in step with se's record (after any
// change of it, a join or a departure).
func (lr *liveRoom) restageLocked(se *session, present bool) {
	if present && onStage(&se.info) {
		lr.stage[se.info.ID] = se
	} else {
		delete(lr.stage, se.info.ID)
	}
}

// changedLocked records that se's public record changed from before:
// the stage follows it, and in a large room the new record goes into
// the next batch if its owner is or was on the stage. It reports whether
// the change is batched (large rooms), that is not broadcast as an event.
func (lr *liveRoom) changedLocked(se *session, before proto.Participant) bool {
	lr.restageLocked(se, true)
	if !lr.large {
		return false
	}
	if onStage(&before) || onStage(&se.info) {
		b := &lr.batch
		if i := slices.IndexFunc(b.changed, func(p proto.Participant) bool { return p.ID == se.info.ID }); i >= 0 {
			b.changed[i] = se.info
		} else {
			b.changed = append(b.changed, se.info)
		}
		lr.scheduleLocked(true)
	}
	return true
}

// resizeLocked switches the room between small and large, with
// hysteresis, as its size changes.
func (lr *liveRoom) resizeLocked(cfg PresenceSettings) {
	n := len(lr.members)
	switch {
	case !lr.large && n > cfg.LargeRoom:
		lr.large = true
		lr.batch.paged, lr.batch.full = true, false
		lr.batch.changed = nil
	case lr.large && n < cfg.LargeRoom*3/4:
		lr.large = false
		lr.batch.full, lr.batch.paged = true, false
		lr.batch.changed = nil
	}
}

// presenceJoinLocked records a newcomer.
func (lr *liveRoom) presenceJoinLocked(se *session) {
	cfg := lr.s.presence()
	lr.resizeLocked(cfg)
	lr.restageLocked(se, true)
	b := &lr.batch
	b.count = true
	urgent := !lr.large
	if !lr.large || onStage(&se.info) {
		b.joined = append(b.joined, se.info)
		urgent = true
	}
	lr.scheduleLocked(urgent || b.paged || b.full)
}

// presenceLeaveLocked records a departure.
func (lr *liveRoom) presenceLeaveLocked(gone proto.Participant, reason string) {
	cfg := lr.s.presence()
	wasLarge := lr.large
	lr.resizeLocked(cfg)
	delete(lr.stage, gone.ID)
	b := &lr.batch
	b.count = true
	b.joined = slices.DeleteFunc(b.joined, func(p proto.Participant) bool { return p.ID == gone.ID })
	b.changed = slices.DeleteFunc(b.changed, func(p proto.Participant) bool { return p.ID == gone.ID })
	b.left = append(b.left, proto.Departure{ID: gone.ID, Reason: reason})
	lr.scheduleLocked(!wasLarge || onStage(&gone) || b.full)
}

// scheduleLocked makes sure the batch goes out: now (a small room that
// sent nothing in the last interval), or by a timer. urgent batches go
// within Interval, the others (a large room's count and departures)
// within CountInterval.
func (lr *liveRoom) scheduleLocked(urgent bool) {
	if lr.closed {
		return
	}
	cfg := lr.s.presence()
	now := time.Now()
	var at time.Time
	switch {
	case !lr.large:
		at = lr.lastFlush.Add(cfg.Interval)
		if !lr.armed && !now.Before(at) {
			lr.flushLocked()
			return
		}
	case urgent:
		at = now.Add(cfg.Interval)
	default:
		at = now.Add(max(cfg.CountInterval, time.Duration(len(lr.members))*time.Second/time.Duration(cfg.CountRate)))
	}
	if lr.armed && !at.Before(lr.timerAt) {
		return
	}
	lr.armed, lr.timerAt = true, at
	d := max(at.Sub(now), 0)
	if lr.timer == nil {
		lr.timer = time.AfterFunc(d, lr.flushTimer)
	} else {
		lr.timer.Reset(d)
	}
}

// flushTimer is the room's timer: the batch is due.
func (lr *liveRoom) flushTimer() {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !lr.armed || lr.closed {
		return
	}
	if now := time.Now(); now.Before(lr.timerAt) {
		// A stale firing of a timer moved later (it never is, but a
		// Reset racing with an expiry may land here): wait again.
		lr.timer.Reset(lr.timerAt.Sub(now))
		return
	}
	lr.flushLocked()
}

// flushLocked sends the pending batch, if any, to every member.
func (lr *liveRoom) flushLocked() {
	lr.armed = false
	b := &lr.batch
	if b.empty() {
		return
	}
	p := proto.Presence{Count: len(lr.members), Paged: lr.large, Full: b.full, Joined: b.joined, Left: b.left, Changed: b.changed}
	if b.full {
		p.Joined, p.Left = lr.participantsLocked(), nil
	}
	lr.sendAllLocked(proto.Message{Type: proto.TypePresence, Presence: &p})
	if b.hands {
		lr.sendAllLocked(proto.Message{Type: proto.TypeHands, Hands: lr.handsListedLocked()})
	}
	*b = presenceBatch{}
	lr.lastFlush = time.Now()
	lr.s.metrics.presenceBatches.Inc()
}

// flushBeforeLocked sends a small room's pending batch before another
// event, so that events arrive in the order they happened (a muted
// event never comes before the join of its participant).
func (lr *liveRoom) flushBeforeLocked() {
	if !lr.large && !lr.batch.empty() {
		lr.flushLocked()
	}
}

// stopPresenceLocked drops what is pending when the room closes.
func (lr *liveRoom) stopPresenceLocked() {
	lr.armed = false
	lr.batch = presenceBatch{}
	if lr.timer != nil {
		lr.timer.Stop()
	}
}

// firstPageLocked is a large room's joined list: the stage (at most
// maxStageListed, in join order), then the first FirstPage others. The
// cursor continues after the last of those others.
func (lr *liveRoom) firstPageLocked(cfg PresenceSettings) ([]proto.Participant, string) {
	out := make([]proto.Participant, 0, min(len(lr.stage), maxStageListed)+cfg.FirstPage)
	stage := make([]*session, 0, len(lr.stage))
	for _, se := range lr.stage {
		stage = append(stage, se)
	}
	slices.SortFunc(stage, func(a, b *session) int { return compareSeq(a.seq, b.seq) })
	for _, se := range stage[:min(len(stage), maxStageListed)] {
		out = append(out, se.info)
	}
	var last uint64
	others := 0
	i := 0
	for ; i < len(lr.order) && others < cfg.FirstPage; i++ {
		se := lr.order[i].se
		if se == nil || lr.stage[se.info.ID] == se {
			continue
		}
		out = append(out, se.info)
		last = se.seq
		others++
	}
	cursor := ""
	if i < len(lr.order) && last != 0 {
		cursor = proto.FormatCursor(last)
	}
	return out, cursor
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// page lists up to limit participants in join order after cursor, only
// those whose name contains query (folded) if it is not empty. The
// returned cursor is "" when the listing is complete.
func (lr *liveRoom) page(after uint64, query string, limit int) (list []proto.Participant, count int, cursor string) {
	q := foldName(query)
	lr.mu.Lock()
	defer lr.mu.Unlock()
	list = make([]proto.Participant, 0, min(limit, len(lr.members)))
	var last uint64
	i := lr.afterSeq(after)
	for ; i < len(lr.order) && len(list) < limit; i++ {
		se := lr.order[i].se
		if se == nil || (q != "" && !strings.Contains(se.fold, q)) {
			continue
		}
		list = append(list, se.info)
		last = se.seq
	}
	// More may follow: another match after the last listed.
	for ; i < len(lr.order); i++ {
		if se := lr.order[i].se; se != nil && (q == "" || strings.Contains(se.fold, q)) {
			cursor = proto.FormatCursor(last)
			break
		}
	}
	return list, len(lr.members), cursor
}

// foldName is a name as search compares it.
func foldName(s string) string { return strings.ToLower(s) }
