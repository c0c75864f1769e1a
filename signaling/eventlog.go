package signaling

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// eventLog logs events that a flood can repeat thousands of times (clients
// cut off for flooding or for reading too slowly, refusals at an address's
// limit) without flooding the log: the first event of a kind is logged,
// the next ones are counted, and the count is logged with the first event
// of the kind after every window. /metrics counts every one of them.
type eventLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	kinds map[string]*eventKind // one per kind named in the code: bounded
}

type eventKind struct {
	logged     time.Time // last line
	suppressed int       // events since, not logged
}

func newEventLog(log *slog.Logger, every time.Duration) *eventLog {
	return &eventLog{log: log, every: every, now: time.Now, kinds: make(map[string]*eventKind)}
}

// event logs msg at level, or counts it if a line of the same kind was
// logged less than a window ago. kind must be a constant of the code,
// never something a client chose.
func (e *eventLog) event(kind string, level slog.Level, msg string, args ...any) {
	now := e.now()
	e.mu.Lock()
	k := e.kinds[kind]
	if k == nil {
		k = &eventKind{}
		e.kinds[kind] = k
	}
	if !k.logged.IsZero() && now.Sub(k.logged) < e.every {
		k.suppressed++
		e.mu.Unlock()
		return
	}
	suppressed := k.suppressed
	k.logged, k.suppressed = now, 0
	e.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "similar_events_not_logged", suppressed)
	}
	e.log.Log(context.Background(), level, msg, args...)
}
