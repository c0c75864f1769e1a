package turn

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// DefaultLogInterval is the default Config.LogInterval.
const DefaultLogInterval = 10 * time.Second

// maxDetails bounds the debug lines naming the client (address, username)
// that one kind of event logs per interval.
const maxDetails = 10

// eventKind describes one kind of repeated event.
type eventKind struct {
	level slog.Level
	// msg is the line of a lone event, e.g. "turn: auth failed".
	msg string
	// summary formats the line of the events counted over an interval,
	// from their number, their sources ("17", "1024+") and the interval.
	summary string
}

// The kinds of repeated events of the server.
var (
	authFailures = eventKind{slog.LevelInfo, "turn: auth failed",
		"turn: rejected %d requests with bad credentials from %s addresses in the last %s"}
	quotaRefusals = eventKind{slog.LevelInfo, "turn: allocation refused, quota reached",
		"turn: refused %d allocations over quota from %s addresses in the last %s"}
	connRefusals = eventKind{slog.LevelInfo, "turn: connection refused, too many from this address",
		"turn: refused %d TCP/TLS connections over the per-address cap from %s addresses in the last %s"}
	// Browsers ask for permissions to every candidate of the other side,
	// private ones included: refusals are routine, hence debug.
	peerRefusals = eventKind{slog.LevelDebug, "turn: peer refused by relay policy",
		"turn: refused %d peers by the relay policy from %s clients in the last %s"}
	deadlineCloses = eventKind{slog.LevelInfo, "turn: connection closed by its deadline",
		"turn: closed %d TCP/TLS connections by their deadline from %s addresses in the last %s"}
)

// eventLog logs one kind of repeated event (an auth failure, a refused
// allocation…) in bounded volume, so that a flood cannot flood the log.
// The first event after a quiet interval gets a line at once; the events
// that follow within the interval are only counted, by reason and source,
// and one summary line per interval reports them ("turn: rejected 16584
// requests with bad credentials from 1024+ addresses in the last 10s").
// A flood thus costs one line per interval, and a lone event is seen at
// once. The details that name the client are logged at debug, at most
// maxDetails per interval.
type eventLog struct {
	kind     eventKind
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	count   uint64            // events since the last line
	reasons map[string]uint64 // count, by reason; reasons are constants, so it is small
	sources sourceSet
	details int         // detail lines this interval
	since   time.Time   // start of the interval
	timer   *time.Timer // nil while quiet
	closed  bool
}

func newEventLog(log *slog.Logger, interval time.Duration, kind eventKind) *eventLog {
	return &eventLog{kind: kind, log: log, interval: interval, reasons: map[string]uint64{}}
}

// add records one event from src (the zero Addr if unknown). detail are
// attributes naming the client, logged at debug only.
func (e *eventLog) add(reason string, src netip.Addr, detail ...any) {
	debug := e.log.Enabled(context.Background(), slog.LevelDebug)
	e.mu.Lock()
	logDetail := debug && e.details < maxDetails
	if logDetail {
		e.details++
	}
	first := false
	switch {
	case e.closed:
	case e.timer == nil:
		first = true
		e.since = time.Now()
		e.timer = time.AfterFunc(e.interval, e.tick)
	default:
		e.count++
		e.reasons[reason]++
		e.sources.add(src)
	}
	e.mu.Unlock()

	if first {
		e.log.Log(context.Background(), e.kind.level, e.kind.msg, "reason", reason)
	}
	if logDetail {
		e.log.Debug(e.kind.msg, append(detail, "reason", reason)...)
	}
}

// tick ends an interval: it logs the summary of the events counted, or,
// if there were none, goes quiet (the next event is logged at once).
func (e *eventLog) tick() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.details = 0
	if e.count == 0 {
		e.timer = nil
		e.mu.Unlock()
		return
	}
	line, attrs := e.takeLocked()
	e.timer.Reset(e.interval)
	e.mu.Unlock()
	e.log.Log(context.Background(), e.kind.level, line, attrs...)
}

// close logs what was counted and not reported yet, and stops the timer.
func (e *eventLog) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.count == 0 {
		e.mu.Unlock()
		return
	}
	line, attrs := e.takeLocked()
	e.mu.Unlock()
	e.log.Log(context.Background(), e.kind.level, line, attrs...)
}

// takeLocked formats the summary and resets the counts. Caller holds e.mu.
func (e *eventLog) takeLocked() (string, []any) {
	now := time.Now()
	d := now.Sub(e.since).Round(100 * time.Millisecond)
	from := e.sources.take()
	line := fmt.Sprintf(e.kind.summary, e.count, from, d)
	attrs := []any{"count", e.count, "sources", from, "interval", d}
	for _, r := range slices.Sorted(maps.Keys(e.reasons)) {
		attrs = append(attrs, slog.Uint64(r, e.reasons[r]))
	}
	clear(e.reasons)
	e.count = 0
	e.since = now
	return line, attrs
}

// sourcesLen is the number of sources remembered (for tests).
func (e *eventLog) sourcesLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sources.len()
}
