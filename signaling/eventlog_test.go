package signaling

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit"
)

func TestEventLogSummarizesRepeats(t *testing.T) {
	var buf testkit.SyncBuffer
	e := newEventLog(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
	clock := testkit.NewClock()
	e.now = clock.Now
	for range 1000 {
		e.event("flood", slog.LevelWarn, "flood: closing connection")
		clock.Advance(time.Millisecond)
	}
	e.event("slow", slog.LevelWarn, "client too slow")
	clock.Advance(10 * time.Second)
	e.event("flood", slog.LevelWarn, "flood: closing connection")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 1002 events, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[2], "similar_events_not_logged=999") {
		t.Errorf("summary line %q does not count the 999 events not logged", lines[2])
	}
}
