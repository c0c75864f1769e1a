package rooms

import "fmt"

// MaxNameLen is the longest allowed room name, in bytes.
const MaxNameLen = 64

// ValidateName checks a room name. A name is 1 to 64 characters from
// lower-case ASCII letters, digits and '-', and must begin and end with a
// letter or digit (so "-a", "a-" and "-" are refused; "a--b" is allowed).
// Names appear in URLs (/r/<name>) and as storage keys, hence the small
// alphabet. The error wraps ErrInvalid and says what is wrong.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: room name is empty", ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: room name is %d characters long, at most %d allowed", ErrInvalid, len(name), MaxNameLen)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 {
				return fmt.Errorf("%w: room name %q must begin and end with a letter or digit", ErrInvalid, name)
			}
		default:
			return fmt.Errorf("%w: room name %q contains %q; only lower-case letters a-z, digits and '-' are allowed", ErrInvalid, name, c)
		}
	}
	return nil
}
