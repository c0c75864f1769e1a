package rooms

import "fmt"

// Mode is how the floor works in a room.
type Mode string

const (
	// ModeOpen: everybody may talk; up to MaxSpeakers at once.
	ModeOpen Mode = "open"
	// ModePTT: participants hold a key to talk; the floor admits MaxSpeakers.
	ModePTT Mode = "ptt"
	// ModeModerated: only participants granted the floor by an organizer talk.
	ModeModerated Mode = "moderated"
)

// ParseMode returns the Mode named s ("open", "ptt" or "moderated", exactly).
// Anything else, including "", is an error wrapping ErrInvalid.
func ParseMode(s string) (Mode, error) {
	m := Mode(s)
	if !m.Valid() {
		return "", fmt.Errorf("%w: unknown mode %q (want open, ptt or moderated)", ErrInvalid, s)
	}
	return m, nil
}

// Valid reports whether m is one of the defined modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeOpen, ModePTT, ModeModerated:
		return true
	}
	return false
}

// DefaultMaxSpeakers is the floor size used when none is given: 3 for open
// rooms, 1 for push-to-talk and moderated rooms.
func (m Mode) DefaultMaxSpeakers() int {
	if m == ModeOpen {
		return 3
	}
	return 1
}
