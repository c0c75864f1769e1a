package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// requestTypes lists what a client may send.
var requestTypes = map[string]bool{
	TypeHello: true, TypeJoin: true, TypeAnswer: true, TypeCandidate: true,
	TypePTTOn: true, TypePTTOff: true, TypeRaiseHand: true, TypeLowerHand: true,
	TypeMute: true, TypeUnmute: true, TypeKick: true, TypeLock: true, TypeUnlock: true,
	TypeSetMode: true, TypeSetPassword: true, TypeGrant: true, TypeRevoke: true,
	TypeLeave: true, TypePing: true,
	TypeChat: true, TypeChatMute: true, TypeChatUnmute: true, TypeChatOn: true, TypeChatOff: true,
	TypeLobbyOn: true, TypeLobbyOff: true, TypeAdmit: true, TypeAdmitAll: true, TypeRefuse: true,
	TypeGrantNext: true, TypeMuteAll: true,
	TypeCameraOn: true, TypeCameraOff: true, TypeScreenOn: true, TypeScreenOff: true, TypeVideoWish: true,
	TypeVideoOn: true, TypeVideoOff: true, TypeSetCameras: true,
	TypeList: true,
}

// DecodeRequest parses and validates one client message. On failure it
// returns a *Error with code bad_message; the returned Message still carries
// the request id when it could be read, so the error reply can echo it.
func DecodeRequest(data []byte) (Message, error) {
	var m Message
	if len(data) > MaxMessageBytes {
		return m, badf("message of %d bytes exceeds %d", len(data), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return m, badf("not a JSON message object: %v", err)
	}
	if dec.More() {
		return m, badf("trailing data after the JSON object")
	}
	return m, m.Validate()
}

// Validate checks a client request: known type, the fields that type needs,
// and every field within its limits.
func (m *Message) Validate() error {
	if m.Type == "" {
		return badf("missing type")
	}
	if !requestTypes[m.Type] {
		return badf("unknown message type %q", truncate(m.Type, 32))
	}
	if err := m.checkLimits(); err != nil {
		return err
	}
	switch m.Type {
	case TypeHello:
		if m.Version <= 0 {
			return badf("hello needs a positive version")
		}
	case TypeJoin:
		if m.Room == "" {
			return badf("join needs a room")
		}
		if err := ValidDisplayName(m.Name); err != nil {
			return err
		}
		if m.Hops < 0 || m.Hops > MaxHops {
			return badf("hops must be 0 to %d", MaxHops)
		}
	case TypeAnswer:
		if m.SDP == "" {
			return badf("answer needs an sdp")
		}
	case TypeCandidate:
		if m.Candidate == nil {
			return badf("candidate needs a candidate")
		}
	case TypeKick, TypeGrant, TypeRevoke, TypeChatMute, TypeChatUnmute, TypeAdmit, TypeRefuse:
		if m.Target == "" {
			return badf("%s needs a target", m.Type)
		}
	case TypeChat:
		if err := ValidChatText(m.Text); err != nil {
			return err
		}
	case TypeVideoWish:
		if len(m.Wishes) == 0 || len(m.Wishes) > MaxVideoSlots+1 {
			return badf("video_wish needs 1 to %d wishes", MaxVideoSlots+1)
		}
		for _, w := range m.Wishes {
			if (w.Kind != VideoCamera && w.Kind != VideoScreen) || w.Slot < 0 || w.Slot >= MaxVideoSlots ||
				(w.Level != WishOff && w.Level != WishLow && w.Level != WishHigh) {
				return badf("a wish is {slot: 0..%d, kind: camera|screen, level: off|low|high}", MaxVideoSlots-1)
			}
		}
	case TypeSetCameras:
		if m.MaxCameras < 1 || m.MaxCameras > MaxVideoSlots {
			return badf("max_cameras must be 1 to %d", MaxVideoSlots)
		}
	case TypeList:
		if m.Limit < 0 || m.Limit > MaxPageSize {
			return badf("limit must be 1 to %d (0: %d)", MaxPageSize, DefaultPageSize)
		}
		if _, ok := ParseCursor(m.Cursor); !ok {
			return badf("bad cursor: send back one the server gave, or none for the first page")
		}
		if err := validQuery(m.Query); err != nil {
			return err
		}
	case TypeSetMode:
		if !ValidMode(m.Mode) {
			return badf("mode must be open, ptt or moderated")
		}
	}
	return nil
}

func (m *Message) checkLimits() error {
	switch {
	case len(m.Room) > 64:
		return badf("room name too long")
	case len(m.Password) > MaxPasswordBytes:
		return badf("password longer than %d bytes", MaxPasswordBytes)
	case len(m.Secret) > MaxSecretBytes:
		return badf("secret longer than %d bytes", MaxSecretBytes)
	case len(m.Target) > MaxIDLen:
		return badf("target longer than %d bytes", MaxIDLen)
	case len(m.Mode) > 16:
		return badf("mode too long")
	case len(m.Software) > 128:
		return badf("software longer than 128 bytes")
	case len(m.SDP) > MaxSDPBytes:
		return badf("sdp longer than %d bytes", MaxSDPBytes)
	case len(m.Name) > 4*MaxNameRunes:
		return badf("name too long")
	case len(m.Text) > MaxChatBytes:
		return badf("text longer than %d bytes", MaxChatBytes)
	case len(m.Cursor) > MaxCursorLen:
		return badf("cursor longer than %d bytes", MaxCursorLen)
	case len(m.Query) > 4*MaxQueryRunes:
		return badf("query too long")
	}
	if c := m.Candidate; c != nil {
		if len(c.Candidate) > MaxCandidateLen {
			return badf("candidate longer than %d bytes", MaxCandidateLen)
		}
		if (c.SDPMid != nil && len(*c.SDPMid) > 64) ||
			(c.UsernameFragment != nil && len(*c.UsernameFragment) > 256) {
			return badf("candidate field too long")
		}
	}
	return nil
}

// ValidMode reports whether s names a room mode.
func ValidMode(s string) bool {
	return s == ModeOpen || s == ModePTT || s == ModeModerated
}

// ValidDisplayName checks a participant's display name: 1 to MaxNameRunes
// characters of valid UTF-8, no control characters, not only spaces.
func ValidDisplayName(name string) error {
	if !utf8.ValidString(name) {
		return badf("name is not valid UTF-8")
	}
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxNameRunes {
		return badf("name must have 1 to %d characters", MaxNameRunes)
	}
	blank := true
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return badf("name contains a control character")
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return badf("name is blank")
	}
	return nil
}

// ValidChatText checks a chat message: 1 to MaxChatRunes characters of
// valid UTF-8, not blank, no control characters but newlines and tabs.
func ValidChatText(text string) error {
	if !utf8.ValidString(text) {
		return badf("text is not valid UTF-8")
	}
	n := utf8.RuneCountInString(text)
	if n == 0 || n > MaxChatRunes {
		return badf("a chat message has 1 to %d characters", MaxChatRunes)
	}
	blank := true
	for _, r := range text {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || r == utf8.RuneError {
			return badf("text contains a control character")
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return badf("text is blank")
	}
	return nil
}

// ParseCursor reads a list cursor: "" (from the start) or what the
// server gave, a join sequence number in decimal.
func ParseCursor(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	if len(s) > 20 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// FormatCursor is the cursor that continues a listing after seq.
func FormatCursor(seq uint64) string { return strconv.FormatUint(seq, 10) }

// validQuery checks a list query: at most MaxQueryRunes characters of
// valid UTF-8 without control characters ("" lists everyone).
func validQuery(q string) error {
	if !utf8.ValidString(q) || utf8.RuneCountInString(q) > MaxQueryRunes {
		return badf("query must be at most %d characters of valid UTF-8", MaxQueryRunes)
	}
	for _, r := range q {
		if unicode.IsControl(r) {
			return badf("query contains a control character")
		}
	}
	return nil
}

func badf(format string, args ...any) *Error {
	return &Error{Code: CodeBadMessage, Message: fmt.Sprintf(format, args...)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
