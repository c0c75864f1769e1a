// Package pionlog sends pion's logs to log/slog.
//
// pion logs routine events loudly (a read on a connection that just
// closed, a candidate that could not be used), and its messages often
// carry the remote side's addresses, which Palabre does not log by
// default. So pion is heard only at debug level: its errors and warnings
// become slog debug, its infos LevelDebug-2, its debug and trace
// LevelDebug-4 (shown only with a handler set that low). Palabre's own
// code logs what an operator needs at info.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Levels below slog.LevelDebug for pion's own info, and debug and trace.
const (
	LevelInfo  = slog.LevelDebug - 2
	LevelTrace = slog.LevelDebug - 4
)

// Factory returns a pion LoggerFactory writing to log; each pion scope
// ("ice", "pc", "dtls"…) is logged as the attribute pion=scope.
func Factory(log *slog.Logger) logging.LoggerFactory { return factory{log} }

type factory struct{ log *slog.Logger }

func (f factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{f.log.With("pion", scope)}
}

type logger struct{ log *slog.Logger }

func (l logger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l logger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  { l.emit(LevelTrace, msg) }
func (l logger) Tracef(format string, args ...any) { l.emitf(LevelTrace, format, args...) }
func (l logger) Debug(msg string)                  { l.emit(LevelTrace, msg) }
func (l logger) Debugf(format string, args ...any) { l.emitf(LevelTrace, format, args...) }
func (l logger) Info(msg string)                   { l.emit(LevelInfo, msg) }
func (l logger) Infof(format string, args ...any)  { l.emitf(LevelInfo, format, args...) }
func (l logger) Warn(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l logger) Warnf(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l logger) Error(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l logger) Errorf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args...) }
