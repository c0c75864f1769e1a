package rooms

import (
	"errors"
	"fmt"
	"time"
)

// Limits on what a room may ask for.
const (
	MaxPasswordLen       = 256    // bytes
	MaxParticipantsLimit = 100000 // largest allowed Definition.MaxParticipants
	MaxSpeakersLimit     = 8      // largest allowed Definition.MaxSpeakers
	MaxCamerasLimit      = 9      // largest allowed Definition.MaxCameras (0: no cap)
)

var (
	ErrNotFound = errors.New("room not found")
	ErrExists   = errors.New("room already exists")
	// ErrInvalid is wrapped by every validation failure; the wrapping error
	// carries a message fit to show to the person who asked.
	ErrInvalid = errors.New("invalid room")
	// ErrTooMany is returned by Adhoc when the number of ephemeral rooms has
	// reached Options.MaxEphemeral.
	ErrTooMany = errors.New("too many ad-hoc rooms")
)

// Definition is one room definition: the settings and secrets that outlive
// the people in the room (a live room is the signaling package's).
type Definition struct {
	Name            string
	Mode            Mode
	MaxParticipants int  // 0 = no limit
	MaxSpeakers     int  // floor size, 1..MaxSpeakersLimit; see Mode.DefaultMaxSpeakers
	Locked          bool // no new participants
	NoChat          bool // only organizers chat
	Lobby           bool // newcomers wait until an organizer admits them
	// Video allows cameras and screen shares, or not; VideoDefault
	// follows the mode (see VideoAllowed).
	Video Video
	// MaxCameras caps the cameras on at once, 1..MaxCamerasLimit; 0: no cap.
	MaxCameras int
	Ephemeral  bool // ad-hoc room: lives in memory only, never persisted
	// PasswordHash is argon2id in PHC string form
	// "$argon2id$v=19$m=...,t=...,p=...$salt$hash"; "" = no password.
	PasswordHash string
	// OrganizerHash is the hex SHA-256 of the organizer secret; "" for ad-hoc
	// rooms, which have no organizer.
	OrganizerHash    string
	Created, Updated time.Time
	// Version orders writes across a cluster (see Replica). Ad-hoc rooms,
	// which are not replicated, start at zero and are versioned by their
	// edits all the same.
	Version Version
}

// Video is a room's video setting.
type Video string

const (
	VideoDefault Video = ""    // the mode's: off in push-to-talk rooms, on otherwise
	VideoOn      Video = "on"  // cameras and screens allowed
	VideoOff     Video = "off" // audio only
)

// VideoAllowed reports whether the room allows cameras and screen shares:
// push-to-talk rooms are about voice, so they are audio only unless an
// organizer turned video on.
func (r Definition) VideoAllowed() bool {
	switch r.Video {
	case VideoOn:
		return true
	case VideoOff:
		return false
	}
	return r.Mode != ModePTT
}

// HasPassword reports whether joining r needs a password.
func (r Definition) HasPassword() bool { return r.PasswordHash != "" }

// Spec is what an organizer asks for when creating a room.
type Spec struct {
	Name            string
	Mode            Mode   // "" = open
	Password        string // "" = none; at most MaxPasswordLen bytes
	MaxParticipants int    // 0 = no limit; at most MaxParticipantsLimit
	MaxSpeakers     int    // 0 = default for the mode; 1..MaxSpeakersLimit
}

// CheckSpec reports whether s describes a room Create would accept (its
// name aside from being taken), without hashing anything: a malformed
// request is refused before it costs an argon2 run or a rate-limit token.
func CheckSpec(s Spec) error {
	_, err := validateSpec(s)
	return err
}

// validateSpec checks s and returns the room it describes, without the
// secrets (which the caller hashes).
func validateSpec(s Spec) (Definition, error) {
	if err := ValidateName(s.Name); err != nil {
		return Definition{}, err
	}
	if len(s.Password) > MaxPasswordLen {
		return Definition{}, fmt.Errorf("%w: password is %d bytes long, at most %d allowed", ErrInvalid, len(s.Password), MaxPasswordLen)
	}
	r := Definition{
		Name:            s.Name,
		Mode:            s.Mode,
		MaxParticipants: s.MaxParticipants,
		MaxSpeakers:     s.MaxSpeakers,
	}
	if r.Mode == "" {
		r.Mode = ModeOpen
	}
	if err := normalize(&r); err != nil {
		return Definition{}, err
	}
	return r, nil
}

// normalize fills defaults (MaxSpeakers 0 = the mode's default) and checks
// every field of r. Secrets are checked for form only.
func normalize(r *Definition) error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if !r.Mode.Valid() {
		return fmt.Errorf("%w: unknown mode %q (want open, ptt or moderated)", ErrInvalid, r.Mode)
	}
	if r.MaxParticipants < 0 || r.MaxParticipants > MaxParticipantsLimit {
		return fmt.Errorf("%w: max participants %d out of range 0..%d (0 = no limit)", ErrInvalid, r.MaxParticipants, MaxParticipantsLimit)
	}
	if r.MaxSpeakers == 0 {
		r.MaxSpeakers = r.Mode.DefaultMaxSpeakers()
	}
	if r.MaxSpeakers < 1 || r.MaxSpeakers > MaxSpeakersLimit {
		return fmt.Errorf("%w: max speakers %d out of range 1..%d", ErrInvalid, r.MaxSpeakers, MaxSpeakersLimit)
	}
	if r.Video != VideoDefault && r.Video != VideoOn && r.Video != VideoOff {
		return fmt.Errorf("%w: video %q (want on or off)", ErrInvalid, r.Video)
	}
	if r.MaxCameras < 0 || r.MaxCameras > MaxCamerasLimit {
		return fmt.Errorf("%w: max cameras %d out of range 0..%d (0 = no cap)", ErrInvalid, r.MaxCameras, MaxCamerasLimit)
	}
	if r.PasswordHash != "" {
		if _, err := parsePHC(r.PasswordHash); err != nil {
			return fmt.Errorf("%w: password hash: %v", ErrInvalid, err)
		}
	}
	if r.OrganizerHash != "" && !isSHA256Hex(r.OrganizerHash) {
		return fmt.Errorf("%w: organizer hash is not a hex SHA-256", ErrInvalid)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
