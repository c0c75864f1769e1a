package rtc

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func testFingerprint() Fingerprint {
	v := make([]byte, 32)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return Fingerprint{Algorithm: "sha-256", Value: v}
}

// testOffer is an offer as the server writes it, with video (simulcast
// receive, RTX-less slots) to cover every attribute.
func testOffer() *Description {
	media := audioMedia(0x1001, 0x1002)
	vp8 := Codec{PayloadType: 96, Name: "VP8", ClockRate: 90000, Feedback: []string{"nack", "nack pli", "ccm fir", "goog-remb"}}
	vext := []Extension{{ID: 2, URI: ExtAbsSendTime}, {ID: 3, URI: ExtMID}, {ID: 4, URI: ExtRID}, {ID: 5, URI: ExtRepairedRID}}
	media = append(media,
		Media{Kind: "video", MID: "3", Direction: RecvOnly, Codecs: []Codec{vp8}, Extensions: vext, RTCPMux: true, RTCPRsize: true,
			RIDs: []RID{{"f", "recv"}, {"h", "recv"}, {"q", "recv"}}, Simulcast: "recv f;h;q"},
		Media{Kind: "video", MID: "4", Direction: SendOnly, Codecs: []Codec{vp8}, Extensions: vext, RTCPMux: true, RTCPRsize: true,
			SSRCs: []uint32{0x2001, 0x2002}, FID: [][2]uint32{{0x2001, 0x2002}}, CNAME: "palabre", StreamID: "palabre", TrackID: "camera-0"},
	)
	return &Description{
		ICELite: true, Ufrag: "abcdEFGH", Pwd: "0123456789abcdefghijklmnop", Fingerprint: testFingerprint(), Setup: SetupActPass,
		Candidates: []Candidate{
			{Foundation: "1", Component: 1, Protocol: "udp", Priority: 2130706431, Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Type: "host"},
			{Foundation: "2", Component: 1, Protocol: "tcp", Priority: 1671430143, Addr: netip.MustParseAddrPort("[::1]:4001"), Type: "host", TCPType: "passive"},
		},
		Media: media,
	}
}

// What Marshal writes, ParseDescription reads back field for field.
func TestDescriptionRoundTrip(t *testing.T) {
	d := testOffer()
	text, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=ice-lite", "a=group:BUNDLE 0 1 2 3 4", "a=setup:actpass", "a=simulcast:recv f;h;q",
		"a=ssrc-group:FID 8193 8194", "a=candidate:2 1 tcp 1671430143 ::1 4001 typ host tcptype passive", "a=end-of-candidates"} {
		if !strings.Contains(text, want+"\r\n") {
			t.Errorf("offer lacks %q", want)
		}
	}
	got, err := ParseDescription(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, d)
	}
	if err := CheckAnswer(d, d); err == nil {
		t.Fatal("an offer's actpass accepted as an answer's setup")
	}
}

// Transport attributes at session level (Firefox writes the fingerprint
// there) are those of every section that has none of its own; sections
// of one bundle must not disagree; rejected sections do not count.
func TestDescriptionTransportLevels(t *testing.T) {
	base := func(session, m0, m1 string) string {
		return "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + session +
			"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\n" + m0 +
			"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtcp-mux\r\n" + m1
	}
	fp := "a=fingerprint:" + testFingerprint().String() + "\r\n"
	other := testFingerprint()
	other.Value[0] ^= 1
	fp2 := "a=fingerprint:" + other.String() + "\r\n"
	creds := "a=ice-ufrag:uFrg\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
	creds2 := "a=ice-ufrag:uFr2\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
	tests := []struct {
		name, sdp string
		err       string // "" = valid
		setup     Setup
	}{
		{"session level", base(creds+fp+"a=setup:active\r\n", "", ""), "", SetupActive},
		{"media level", base("", creds+fp+"a=setup:passive\r\n", creds+fp+"a=setup:passive\r\n"), "", SetupPassive},
		{"mixed", base(fp, creds, creds), "", SetupActive},
		{"media overrides session", base(creds2+fp, creds, ""), "", SetupActive},
		{"no setup means active", base(creds+fp, "", ""), "", SetupActive},
		{"ufrag disagrees", base("", creds+fp, creds2+fp), "ice-ufrag differs", ""},
		{"fingerprint disagrees", base(creds, fp, fp2), "fingerprint differs", ""},
		{"setup disagrees", base(creds+fp, "a=setup:active\r\n", "a=setup:passive\r\n"), "setup differs", ""},
		{"no credentials", base(fp, "", ""), "no ICE credentials", ""},
		{"short password", base(fp+"a=ice-ufrag:uFrg\r\na=ice-pwd:short\r\n", "", ""), "too short", ""},
		{"no fingerprint", base(creds, "", ""), "no DTLS fingerprint", ""},
		{"bad setup", base(creds+fp+"a=setup:both\r\n", "", ""), "setup", ""},
		{"md5 fingerprint", base(creds+"a=fingerprint:md5 00:11\r\n", "", ""), "hash", ""},
		{"short fingerprint", base(creds+"a=fingerprint:sha-256 00:11\r\n", "", ""), "bytes", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDescription(tc.sdp)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Setup != tc.setup || d.Ufrag == "" || len(d.Fingerprint.Value) != 32 {
				t.Fatalf("setup %q ufrag %q fingerprint %v", d.Setup, d.Ufrag, d.Fingerprint)
			}
		})
	}
}

// Everything a client writes is bounded.
func TestDescriptionBounds(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:uFrg\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:" + testFingerprint().String() + "\r\n"
	section := func(mid int, extra string) string {
		return fmt.Sprintf("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n%s", mid, extra)
	}
	repeat := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	tests := []struct {
		name, sdp, err string
	}{
		{"too large", head + section(0, "a=x:"+strings.Repeat("y", MaxSDPSize)+"\r\n"), "bytes"},
		{"too many sections", head + repeat(maxMedia+1, func(i int) string { return section(i, "") }), "media sections"},
		{"too many SSRCs in a section", head + section(0, repeat(maxSSRCsPerMedia+1, func(i int) string { return fmt.Sprintf("a=ssrc:%d cname:x\r\n", i+1) })), "SSRCs"},
		{"too many SSRCs", head + repeat(maxSDPSSRCs/maxSSRCsPerMedia+1, func(m int) string {
			return section(m, repeat(maxSSRCsPerMedia, func(i int) string { return fmt.Sprintf("a=ssrc:%d\r\n", m*100+i+1) }))
		}), "SSRCs"},
		{"too many candidates", head + section(0, repeat(maxCandidates+1, func(i int) string {
			return fmt.Sprintf("a=candidate:1 1 udp 1 10.0.0.%d 9 typ host\r\n", i+1)
		})), "candidates"},
		{"too many extensions", head + section(0, repeat(maxExtensions+1, func(i int) string { return fmt.Sprintf("a=extmap:%d urn:x:%d\r\n", i+1, i) })), "extensions"},
		{"too many rids", head + section(0, repeat(maxRIDs+1, func(i int) string { return fmt.Sprintf("a=rid:r%d send\r\n", i) })), "rids"},
		{"too many feedback", head + section(0, repeat(maxFeedback+1, func(i int) string { return fmt.Sprintf("a=rtcp-fb:111 fb%d\r\n", i) })), "feedback"},
		{"long token", head + section(0, "a=msid:"+strings.Repeat("s", maxTokenLen+1)+" t\r\n"), "at most"},
		{"control character", head + section(0, "a=rid:a\x01 send\r\n"), "non-printable"},
		{"bad extmap id", head + section(0, "a=extmap:0 urn:x\r\n"), "id"},
		{"bad ssrc", head + section(0, "a=ssrc:-1 cname:x\r\n"), "ssrc"},
		{"bad payload type", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 200\r\n", "payload type"},
		{"unknown media", head + "m=text 9 UDP/TLS/RTP/SAVPF 111\r\n", "media"},
		{"garbage", "hello", "sdp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDescription(tc.sdp)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	// mDNS candidates and unknown transports are skipped, not errors.
	d, err := ParseDescription(head + section(0, "a=candidate:1 1 udp 1 abcd.local 9 typ host\r\na=candidate:1 1 sctp 1 10.0.0.1 9 typ host\r\na=candidate:1 1 UDP 5 10.0.0.1 9 typ srflx raddr 0.0.0.0 rport 0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Candidate{{Foundation: "1", Component: 1, Protocol: "udp", Priority: 5, Addr: netip.MustParseAddrPort("10.0.0.1:9"), Type: "srflx"}}
	if !reflect.DeepEqual(d.Candidates, want) {
		t.Fatalf("candidates %+v", d.Candidates)
	}
}

func TestCheckAnswer(t *testing.T) {
	offer := testOffer()
	good := func() *Description {
		a := *offer
		a.ICELite, a.Setup = false, SetupActive
		a.Media = append([]Media(nil), offer.Media...)
		return &a
	}
	tests := []struct {
		name string
		edit func(a *Description)
		err  string
	}{
		{"valid", func(*Description) {}, ""},
		{"passive", func(a *Description) { a.Setup = SetupPassive }, ""},
		{"actpass", func(a *Description) { a.Setup = SetupActPass }, "setup"},
		{"a section missing", func(a *Description) { a.Media = a.Media[1:] }, "media sections"},
		{"mids swapped", func(a *Description) { a.Media[1], a.Media[2] = a.Media[2], a.Media[1] }, "mid"},
		{"kind changed", func(a *Description) { a.Media[0].Kind = "video" }, "mid"},
		{"no rtcp-mux", func(a *Description) { a.Media[0].RTCPMux = false }, "rtcp-mux"},
		{"rejected without rtcp-mux", func(a *Description) { a.Media[0].RTCPMux, a.Media[0].Rejected = false, true }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := good()
			tc.edit(a)
			err := CheckAnswer(offer, a)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

// The client mode's answer to an offer is one the server accepts.
func TestClientAnswer(t *testing.T) {
	e := newTestEngine(t, Config{})
	c := e.newConn(newRecorder(), true)
	offer := testOffer()
	a := c.Answer(offer, map[string]uint32{"0": 42})
	if err := CheckAnswer(offer, a); err != nil {
		t.Fatal(err)
	}
	dirs := []Direction{SendOnly, RecvOnly, RecvOnly, Inactive, RecvOnly}
	for i, m := range a.Media {
		if m.Direction != dirs[i] {
			t.Errorf("section %d: %s, want %s", i, m.Direction, dirs[i])
		}
	}
	if !reflect.DeepEqual(a.Media[0].SSRCs, []uint32{42}) || a.Media[1].SSRCs != nil {
		t.Fatalf("SSRCs %v %v", a.Media[0].SSRCs, a.Media[1].SSRCs)
	}
}
