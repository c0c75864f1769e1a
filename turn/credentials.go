package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what the TURN REST scheme and every browser expect
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultCredentialTTL is used by Credentials when ttl <= 0.
const DefaultCredentialTTL = 12 * time.Hour

// maxUsernameLen bounds the USERNAME attribute we accept (RFC 8489 allows
// up to 513 bytes).
const maxUsernameLen = 513

var (
	errMalformedUsername = errors.New("turn: malformed username, want <expiry unix seconds>:<id>")
	errExpiredUsername   = errors.New("turn: expired username")
)

// Credentials returns ephemeral TURN REST credentials for a participant:
// username = "<expiry unix seconds>:<id>", password =
// base64(HMAC-SHA1(secret, username)). Any server holding the same secret
// accepts them until the expiry (ttl <= 0 means DefaultCredentialTTL).
//
// id must be non-empty and should identify the participant: allocation
// quotas are counted per id, so fresh credentials for the same participant
// share its quota. Clients also authenticate their allocation refreshes
// with these credentials, so an allocation cannot outlive them: pick a ttl
// longer than a session, or hand out new credentials before they expire.
func (s *Server) Credentials(id string, ttl time.Duration) (username, password string) {
	if ttl <= 0 {
		ttl = DefaultCredentialTTL
	}
	username = strconv.FormatInt(s.now().Add(ttl).Unix(), 10) + ":" + id
	return username, restPassword(s.secret, username)
}

// restPassword is base64(HMAC-SHA1(secret, username)).
func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseUsername splits a TURN REST username into its expiry and id, and
// checks that it has not expired at now.
func parseUsername(username string, now time.Time) (id string, err error) {
	if len(username) > maxUsernameLen {
		return "", errMalformedUsername
	}
	expiry, id, ok := strings.Cut(username, ":")
	if !ok || id == "" || expiry == "" || len(expiry) > 19 {
		return "", errMalformedUsername
	}
	for _, c := range expiry { // no sign, no spaces: digits only
		if c < '0' || c > '9' {
			return "", errMalformedUsername
		}
	}
	t, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return "", errMalformedUsername
	}
	if t < now.Unix() {
		return "", errExpiredUsername
	}
	return id, nil
}
