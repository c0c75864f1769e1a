package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// validateAnswer checks a client answer before pion sees it. pion moves
// the signaling state before it has checked everything, so a bad answer
// that got that far would leave the PeerConnection unusable; these checks
// catch the malformed answers (and garbage) first, so they can be retried.
func validateAnswer(text string, mids []string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(text); err != nil {
		return fmt.Errorf("unparsable SDP: %w", err)
	}
	if len(d.MediaDescriptions) != len(mids) {
		return fmt.Errorf("%d media sections, the offer has %d", len(d.MediaDescriptions), len(mids))
	}
	_, ufrag := d.Attribute("ice-ufrag")
	_, pwd := d.Attribute("ice-pwd")
	fp, hasFP := d.Attribute("fingerprint")
	for i, m := range d.MediaDescriptions {
		if mid, _ := m.Attribute("mid"); mid != mids[i] {
			return fmt.Errorf("media section %d: mid %q, want %q", i, mid, mids[i])
		}
		if m.MediaName.Media != "audio" {
			return fmt.Errorf("media section %d: %q, want audio", i, m.MediaName.Media)
		}
		if m.MediaName.Port.Value != 0 && !slices.Contains(m.MediaName.Formats, strconv.Itoa(opusPayloadType)) {
			return fmt.Errorf("media section %d: no Opus (payload type %d)", i, opusPayloadType)
		}
		_, u := m.Attribute("ice-ufrag")
		_, p := m.Attribute("ice-pwd")
		ufrag, pwd = ufrag || u, pwd || p
		if !hasFP {
			fp, hasFP = m.Attribute("fingerprint")
		}
	}
	switch {
	case !ufrag || !pwd:
		return errors.New("no ICE credentials")
	case !hasFP || len(strings.Fields(fp)) != 2:
		return errors.New("no valid DTLS fingerprint")
	}
	return nil
}
