package server

import (
	"errors"
	"strings"
	"syscall"

	"palabre/rooms"
)

// A SettingError is an Options value that Start refuses, or a part that
// could not start because of one (a port in use). Setting is the name of
// the field in Options, dotted for the nested ones ("TURN.Port"), so that
// a caller such as palabre serve can name its own flag instead.
type SettingError struct {
	Setting string
	Value   string // as given, or as derived (a port that follows Listen)
	Err     error
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return e.Setting + ": " + e.Err.Error()
	}
	return e.Setting + " " + e.Value + ": " + e.Err.Error()
}

func (e *SettingError) Unwrap() error { return e.Err }

// settingErr builds a SettingError from a plain reason.
func settingErr(setting, value, reason string) error {
	return &SettingError{Setting: setting, Value: value, Err: errors.New(reason)}
}

// ErrDataDirInUse is in the error of Start when another process holds the
// data directory (its room database is locked).
var ErrDataDirInUse = rooms.ErrLocked

// IsAddrInUse reports whether err is a port already taken by another
// socket. memberlist formats its errors with %v, so the words count too.
func IsAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || (err != nil && strings.Contains(err.Error(), "address already in use"))
}
