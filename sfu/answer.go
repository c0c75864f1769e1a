package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// answerInfo is what the rest of the sfu needs from a valid answer.
type answerInfo struct {
	ssrcs      []uint32 // announced (a=ssrc), distinct, at most maxAnnouncedSSRCs
	candidates int      // distinct a=candidate lines, at most maxRemoteCandidates
}

var errAnswerCandidates = fmt.Errorf("more than %d candidates", maxRemoteCandidates)

// validateAnswer checks a client answer before pion sees it. pion moves
// the signaling state before it has checked everything, so a bad answer
// that got that far would leave the PeerConnection unusable; these checks
// catch the malformed answers (and garbage) first, so they can be retried.
// It also bounds what pion would create state for: announced SSRCs and
// candidates (pion's remote IP filter applies the address policy to the
// latter).
func validateAnswer(text string, mids []string, l Layout) (answerInfo, error) {
	kinds := l.MediaKinds()
	var info answerInfo
	var d sdp.SessionDescription
	if err := d.UnmarshalString(text); err != nil {
		return info, fmt.Errorf("unparsable SDP: %w", err)
	}
	if len(d.MediaDescriptions) != len(mids) {
		return info, fmt.Errorf("%d media sections, the offer has %d", len(d.MediaDescriptions), len(mids))
	}
	cands := map[string]bool{}
	for _, a := range d.Attributes {
		if a.Key == "candidate" {
			cands[a.Value] = true
		}
	}
	_, ufrag := d.Attribute("ice-ufrag")
	_, pwd := d.Attribute("ice-pwd")
	fp, hasFP := d.Attribute("fingerprint")
	for i, m := range d.MediaDescriptions {
		if mid, _ := m.Attribute("mid"); mid != mids[i] {
			return info, fmt.Errorf("media section %d: mid %q, want %q", i, mid, mids[i])
		}
		if m.MediaName.Media != kinds[i] {
			return info, fmt.Errorf("media section %d: %q, want %s", i, m.MediaName.Media, kinds[i])
		}
		pt, codec := opusPayloadType, "Opus"
		if kinds[i] == "video" {
			pt, codec = vp8PayloadType, "VP8"
		}
		if m.MediaName.Port.Value != 0 && !slices.Contains(m.MediaName.Formats, strconv.Itoa(pt)) {
			return info, fmt.Errorf("media section %d: no %s (payload type %d)", i, codec, pt)
		}
		rids := 0
		for _, a := range m.Attributes {
			switch a.Key {
			case "rid", "simulcast":
				// Simulcast only where the offer asked for it, and only
				// its layers: pion keeps a stream for each RID. (pion as
				// answerer repeats the offer's recv lines: a RID may come
				// twice.)
				rid, _, _ := strings.Cut(a.Value, " ")
				if a.Key == "rid" && !slices.Contains(cameraRIDs[:], rid) {
					rids = len(cameraRIDs) + 1
				}
				if l.VideoSlots == 0 || i != l.cameraIn() || rids > len(cameraRIDs) {
					return info, fmt.Errorf("media section %d: unexpected simulcast (a=%s:%s)", i, a.Key, a.Value)
				}
			case "candidate":
				cands[a.Value] = true
			case "ssrc":
				id, _, _ := strings.Cut(a.Value, " ")
				ssrc, err := strconv.ParseUint(id, 10, 32)
				if err != nil {
					return info, fmt.Errorf("media section %d: bad a=ssrc %q", i, a.Value)
				}
				if !slices.Contains(info.ssrcs, uint32(ssrc)) {
					if len(info.ssrcs) == maxAnnouncedSSRCs {
						return info, fmt.Errorf("more than %d SSRCs", maxAnnouncedSSRCs)
					}
					info.ssrcs = append(info.ssrcs, uint32(ssrc))
				}
			}
		}
		if len(cands) > maxRemoteCandidates {
			return info, errAnswerCandidates
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
		return info, errors.New("no ICE credentials")
	case !hasFP || len(strings.Fields(fp)) != 2:
		return info, errors.New("no valid DTLS fingerprint")
	}
	info.candidates = len(cands)
	return info, nil
}
