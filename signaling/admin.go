package signaling

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"palabre/rooms"
	"palabre/signaling/proto"
)

// AdminTokenFile is where, in the data directory, the hashes of the admin
// tokens are kept, one per line. The tokens themselves are shown once.
const AdminTokenFile = "admin-tokens"

// NewAdminToken creates an admin token, records its hash in
// dir/admin-tokens and returns the token.
func NewAdminToken(dir string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, AdminTokenFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, tokenHash(token)); err != nil {
		return "", err
	}
	return token, f.Close()
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// isAdmin reports whether the request carries a valid admin token. The
// file is read at each call: admin requests are rare, and a token added
// or removed takes effect at once.
func (s *Server) isAdmin(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || s.cfg.AdminTokens == "" {
		return false
	}
	f, err := os.Open(s.cfg.AdminTokens)
	if err != nil {
		return false
	}
	defer f.Close()
	want := []byte(tokenHash(token))
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	found := false
	for sc.Scan() {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(sc.Text())), want) == 1 {
			found = true
		}
	}
	return found
}

// listRooms is GET /api/v1/rooms, for admins.
func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		apiError(w, http.StatusUnauthorized, proto.CodeNotAllowed, "listing rooms needs an admin token")
		return
	}
	list := []RoomStatus{}
	for _, def := range s.cfg.Rooms.List() {
		list = append(list, s.roomStatus(def))
	}
	writeJSON(w, http.StatusOK, list)
}

// UpdateRoomRequest is the body of PATCH /api/v1/rooms/{name}: the fields
// given are changed.
type UpdateRoomRequest struct {
	Mode            string  `json:"mode,omitempty"`
	Password        *string `json:"password,omitempty"` // "" removes it
	Locked          *bool   `json:"locked,omitempty"`
	MaxSpeakers     *int    `json:"max_speakers,omitempty"`
	MaxParticipants *int    `json:"max_participants,omitempty"`
}

// updateRoom is PATCH /api/v1/rooms/{name}, for the room's organizer or an
// admin. People in the room see the change at once.
func (s *Server) updateRoom(w http.ResponseWriter, r *http.Request) {
	def, ok := s.authorizeRoom(w, r)
	if !ok {
		return
	}
	var req UpdateRoomRequest
	if !s.decodeBody(w, r, &req, "body must be a JSON room change") {
		return
	}
	change := rooms.Change{
		Password: req.Password, Locked: req.Locked,
		MaxSpeakers: req.MaxSpeakers, MaxParticipants: req.MaxParticipants,
	}
	if req.Mode != "" {
		mode, err := rooms.ParseMode(req.Mode)
		if err != nil {
			apiError(w, http.StatusBadRequest, proto.CodeBadMessage, err.Error())
			return
		}
		change.Mode = &mode
	}
	// The whole change is checked before any of it is stored: a refused
	// request changes nothing, the password included.
	name := def.Name
	def, err := s.cfg.Rooms.Edit(name, change)
	if err != nil {
		if errors.Is(err, rooms.ErrInvalid) {
			apiError(w, http.StatusBadRequest, proto.CodeBadMessage, err.Error())
			return
		}
		s.log.Error("update room", "room", name, "err", err)
		apiError(w, http.StatusInternalServerError, proto.CodeInternal, "could not store the change")
		return
	}
	if lr := s.lookupLive(def.Name); lr != nil {
		lr.apply(def, "")
	}
	writeJSON(w, http.StatusOK, RoomStatus{Room: s.roomInfo(def)})
}

// authorizeRoom checks that the request comes from the room's organizer
// (its secret as bearer token) or an admin. The same answer for "no room"
// and "not allowed" keeps room names from being probed.
func (s *Server) authorizeRoom(w http.ResponseWriter, r *http.Request) (rooms.Definition, bool) {
	def, err := s.cfg.Rooms.Get(r.PathValue("name"))
	secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err != nil || (!s.cfg.Rooms.CheckOrganizer(def, secret) && !s.isAdmin(r)) {
		apiError(w, http.StatusForbidden, proto.CodeNotAllowed, "unknown room, or neither its organizer secret nor an admin token")
		return rooms.Definition{}, false
	}
	return def, true
}
