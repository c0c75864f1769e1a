package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLevels(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: LevelTrace}))
	l := Factory(log).NewLogger("ice")
	cases := []struct {
		emit func()
		want string
	}{
		{func() { l.Error("e") }, "level=DEBUG msg=e pion=ice"},
		{func() { l.Warnf("w%d", 1) }, "level=DEBUG msg=w1 pion=ice"},
		{func() { l.Info("i") }, "level=DEBUG-2 msg=i pion=ice"},
		{func() { l.Debug("d") }, "level=DEBUG-4 msg=d pion=ice"},
		{func() { l.Tracef("t%s", "x") }, "level=DEBUG-4 msg=tx pion=ice"},
	}
	for _, tc := range cases {
		buf.Reset()
		tc.emit()
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("got %q, want %q", buf.String(), tc.want)
		}
	}

	// Below the handler's level nothing is formatted or written.
	buf.Reset()
	quiet := Factory(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))).NewLogger("pc")
	quiet.Error("may name a peer address")
	quiet.Warn("routine")
	quiet.Debugf("%v", "noise")
	if buf.Len() != 0 {
		t.Errorf("info-level handler wrote %q", buf.String())
	}
}
