package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The answer's SSRCs are collected for the guard; answers that announce
// more SSRCs or name more candidates than a client needs are refused.
func TestValidateAnswerBounds(t *testing.T) {
	mids := []string{"0", "1"}
	with := func(lines ...string) string {
		return replace(validAnswerSDP, "a=sendonly\r\n", "a=sendonly\r\n"+strings.Join(lines, ""))
	}
	info, err := validateAnswer(with("a=ssrc:1234 cname:x\r\n", "a=ssrc:1234 msid:a b\r\n", "a=ssrc:99 cname:x\r\n"), mids, Layout{AudioSlots: len(mids) - 1})
	if err != nil || !slices.Equal(info.ssrcs, []uint32{1234, 99}) {
		t.Errorf("ssrcs %v, err %v", info.ssrcs, err)
	}
	var ssrcs, cands []string
	for i := range maxAnnouncedSSRCs + 1 {
		ssrcs = append(ssrcs, fmt.Sprintf("a=ssrc:%d cname:x\r\n", 1000+i))
	}
	for i := range maxRemoteCandidates + 1 {
		cands = append(cands, fmt.Sprintf("a=candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host\r\n", i, 5000+i))
	}
	if _, err := validateAnswer(with(ssrcs[:maxAnnouncedSSRCs]...), mids, Layout{AudioSlots: len(mids) - 1}); err != nil {
		t.Errorf("%d SSRCs: %v", maxAnnouncedSSRCs, err)
	}
	if _, err := validateAnswer(with(ssrcs...), mids, Layout{AudioSlots: len(mids) - 1}); err == nil {
		t.Errorf("%d SSRCs accepted", len(ssrcs))
	}
	if info, err := validateAnswer(with(cands[:maxRemoteCandidates]...), mids, Layout{AudioSlots: len(mids) - 1}); err != nil || info.candidates != maxRemoteCandidates {
		t.Errorf("%d candidates: %d, %v", maxRemoteCandidates, info.candidates, err)
	}
	// The same candidate in every media section (pion does that) counts once.
	dup := replace(with(cands[:maxRemoteCandidates]...), "a=recvonly\r\n", "a=recvonly\r\n"+strings.Join(cands[:maxRemoteCandidates], ""))
	if _, err := validateAnswer(dup, mids, Layout{AudioSlots: len(mids) - 1}); err != nil {
		t.Errorf("repeated candidates: %v", err)
	}
	if _, err := validateAnswer(with(cands...), mids, Layout{AudioSlots: len(mids) - 1}); !errors.Is(err, errAnswerCandidates) {
		t.Errorf("%d candidates: %v", len(cands), err)
	}
	if _, err := validateAnswer(with("a=ssrc:x cname:y\r\n"), mids, Layout{AudioSlots: len(mids) - 1}); err == nil {
		t.Error("a bad a=ssrc accepted")
	}
}
