package rooms

import "fmt"

// Change is an edit of a room's settings, as an organizer or an admin asks
// for it: the fields left nil stay as they are.
type Change struct {
	Mode            *Mode
	Password        *string // "" removes the password
	Locked          *bool
	NoChat          *bool
	Lobby           *bool
	MaxSpeakers     *int // 0: the mode's default
	MaxParticipants *int // 0: no limit
	Video           *Video
	MaxCameras      *int // 0: no cap
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool {
	return c.Mode == nil && c.Password == nil && c.Locked == nil && c.MaxSpeakers == nil && c.MaxParticipants == nil &&
		c.NoChat == nil && c.Lobby == nil && c.Video == nil && c.MaxCameras == nil
}

// applyTo changes d as c says, except the password (whose hash the caller
// computes once the whole change is known to be valid).
//
// Open rooms hear up to three voices and the others one speaker by
// default: a mode change that crosses that line resets the floor size to
// the new mode's default, unless the same change sets it.
func (c Change) applyTo(d *Definition) {
	if c.Mode != nil && *c.Mode != d.Mode {
		if (d.Mode == ModeOpen) != (*c.Mode == ModeOpen) {
			d.MaxSpeakers = c.Mode.DefaultMaxSpeakers()
		}
		d.Mode = *c.Mode
	}
	if c.Locked != nil {
		d.Locked = *c.Locked
	}
	if c.NoChat != nil {
		d.NoChat = *c.NoChat
	}
	if c.Lobby != nil {
		d.Lobby = *c.Lobby
	}
	if c.MaxSpeakers != nil {
		d.MaxSpeakers = *c.MaxSpeakers
	}
	if c.MaxParticipants != nil {
		d.MaxParticipants = *c.MaxParticipants
	}
	if c.Video != nil {
		d.Video = *c.Video
	}
	if c.MaxCameras != nil {
		d.MaxCameras = *c.MaxCameras
	}
}

// validate checks that c can apply to cur: every field, the result as a
// whole, and the password's length. Nothing is hashed yet.
func (c Change) validate(cur Definition) error {
	if c.Mode != nil && !c.Mode.Valid() {
		return fmt.Errorf("%w: unknown mode %q (want open, ptt or moderated)", ErrInvalid, *c.Mode)
	}
	if c.Password != nil && len(*c.Password) > MaxPasswordLen {
		return fmt.Errorf("%w: password is %d bytes long, at most %d allowed", ErrInvalid, len(*c.Password), MaxPasswordLen)
	}
	d := cur
	c.applyTo(&d)
	return normalize(&d)
}

// Edit applies c to the room called name as one update: the whole change
// is validated first (nothing is stored if any part is refused), a new
// password is hashed, then the result is stored in one write, so other
// nodes and the live room see either all of the change or none of it.
func (s *Store) Edit(name string, c Change) (Definition, error) {
	cur, err := s.Get(name)
	if err != nil {
		return Definition{}, err
	}
	if err := c.validate(cur); err != nil {
		return Definition{}, err
	}
	var hash string
	if c.Password != nil {
		if hash, err = s.hashPassword(*c.Password); err != nil {
			return Definition{}, err
		}
	}
	return s.Update(name, func(d *Definition) error {
		c.applyTo(d)
		if c.Password != nil {
			d.PasswordHash = hash
		}
		return nil
	})
}
