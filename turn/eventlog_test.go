package turn

import (
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// newTestEventLog is an eventLog writing text lines to buf at level, whose
// intervals the test ends itself by calling tick (the real timer is an
// hour away).
func newTestEventLog(level slog.Level) (*eventLog, *testkit.SyncBuffer) {
	buf := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	}))
	return newEventLog(log, time.Hour, eventKind{slog.LevelInfo, "thing failed", "%d things failed from %s addresses in the last %s"}), buf
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func lines(buf *testkit.SyncBuffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestEventLog(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	e, buf := newTestEventLog(slog.LevelInfo)

	// A lone event is logged at once.
	e.add("bad", a, "client", "secret detail")
	want := []string{`level=INFO msg="thing failed" reason=bad`}
	if got := lines(buf); !slices.Equal(got, want) {
		t.Fatalf("lone event: %q, want %q", got, want)
	}
	// Those that follow within the interval are counted, by reason and
	// source, and summed up when it ends.
	for _, ev := range []struct {
		reason string
		src    netip.Addr
	}{{"bad", a}, {"bad", b}, {"worse", b}, {"bad", netip.Addr{}}} {
		e.add(ev.reason, ev.src, "client", "secret detail")
	}
	if got := len(lines(buf)); got != 1 {
		t.Fatalf("%d lines before the interval ended, want 1", got)
	}
	e.tick()
	got := lines(buf)
	if len(got) != 2 || !strings.HasPrefix(got[1], `level=INFO msg="4 things failed from 2 addresses in the last `) ||
		!strings.HasSuffix(got[1], " bad=3 worse=1") || !strings.Contains(got[1], " count=4 sources=2 ") {
		t.Fatalf("summary: %q", got)
	}
	// An interval without events ends the summaries: the next event is
	// logged at once again.
	e.tick()
	if e.timer != nil {
		t.Error("timer still armed after a quiet interval")
	}
	e.add("worse", a)
	if got := lines(buf); len(got) != 3 || got[2] != `level=INFO msg="thing failed" reason=worse` {
		t.Fatalf("after a quiet interval: %q", got)
	}
	// Close reports what is pending; later events are not logged.
	e.add("bad", a)
	e.close()
	if got := lines(buf); len(got) != 4 || !strings.HasPrefix(got[3], `level=INFO msg="1 things failed from 1 addresses`) {
		t.Fatalf("close: %q", got)
	}
	e.add("bad", a)
	e.tick()
	e.close()
	if got := len(lines(buf)); got != 4 {
		t.Errorf("%d lines after close, want 4", got)
	}
	if strings.Contains(buf.String(), "secret detail") {
		t.Error("details logged at info")
	}
}

// The details naming the client are logged at debug, at most maxDetails
// per interval.
func TestEventLogDetails(t *testing.T) {
	e, buf := newTestEventLog(slog.LevelDebug)
	defer e.close()
	count := func() int { return strings.Count(buf.String(), "client=") }
	for i := range 3 * maxDetails {
		e.add("bad", netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), "client", "c"+strconv.Itoa(i))
	}
	if got := count(); got != maxDetails {
		t.Errorf("%d detail lines in an interval, want %d", got, maxDetails)
	}
	e.tick()
	e.add("bad", netip.MustParseAddr("192.0.2.200"), "client", "again")
	if got := count(); got != maxDetails+1 {
		t.Errorf("%d detail lines after the interval ended, want %d", got, maxDetails+1)
	}
}

func TestSourceSet(t *testing.T) {
	cases := []struct {
		name  string
		addrs []string
		n     int
		want  string
	}{
		{"empty", nil, 0, "0"},
		{"distinct", []string{"192.0.2.1", "192.0.2.2"}, 2, "2"},
		{"repeated", []string{"192.0.2.1", "192.0.2.1"}, 1, "1"},
		{"mapped is the IPv4 address", []string{"192.0.2.1", "::ffff:192.0.2.1"}, 1, "1"},
		{"IPv6 by /64", []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"}, 2, "2"},
		{"zone ignored", []string{"fe80::1%eth0", "fe80::1"}, 1, "1"},
	}
	for _, c := range cases {
		var s sourceSet
		for _, a := range c.addrs {
			s.add(netip.MustParseAddr(a))
		}
		s.add(netip.Addr{})
		if s.len() != c.n {
			t.Errorf("%s: len %d, want %d", c.name, s.len(), c.n)
		}
		if got := s.take(); got != c.want || s.len() != 0 {
			t.Errorf("%s: take %q (then len %d), want %q", c.name, got, s.len(), c.want)
		}
	}

	// Bounded: past maxSources, only "more" is remembered.
	var s sourceSet
	for i := range 3 * maxSources {
		s.add(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if s.len() != maxSources {
		t.Errorf("len %d, want the cap %d", s.len(), maxSources)
	}
	if got := s.take(); got != strconv.Itoa(maxSources)+"+" {
		t.Errorf("take %q", got)
	}
}
