package turn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pion logs what any client on the internet can cause (a bad packet, a
// failed handshake) as errors, so its levels go one step down: errors
// become slog warnings, warnings infos, infos debug, and pion's debug and
// trace go below slog's debug. This is the convention of the rest of
// Palabre's pion logging.
const (
	levelPionDebug = slog.LevelDebug - 2
	levelPionTrace = slog.LevelDebug - 4
)

type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.emit(levelPionTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(levelPionTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.emit(levelPionDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(levelPionDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelInfo, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emitf(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelWarn, format, args...) }
