package client

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's logs to the client's slog.Logger, one
// level lower than pion's own (pion's errors are often harmless for a
// client: a late packet after close, an ignored candidate): pion errors
// are slog warnings, pion warnings are infos, the rest is debug.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

const (
	levelPionDebug = slog.LevelDebug - 2
	levelPionTrace = slog.LevelDebug - 4
)

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.logf(levelPionTrace, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(levelPionTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(levelPionDebug, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(levelPionDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelInfo, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
