package rtc

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Description is what the transport and the forwarding logic need of an SDP
// offer or answer. The server writes its offer with Marshal and reads the
// client's answer with ParseDescription; the client mode does the reverse.
// Everything is bundled on one ICE/DTLS transport (a=group:BUNDLE, rtcp-mux),
// so the ICE credentials, the fingerprint and the DTLS role are those of the
// whole description.
type Description struct {
	ICELite     bool
	Ufrag, Pwd  string
	Fingerprint Fingerprint
	Setup       Setup
	Candidates  []Candidate // usable ones: IP addresses (no mDNS names), UDP or TCP
	Media       []Media
}

// Setup is the DTLS role attribute (RFC 5763, RFC 4145).
type Setup string

// The DTLS roles. The offerer says actpass; the answerer picks active (it is
// the DTLS client) or passive (the DTLS server).
const (
	SetupActPass Setup = "actpass"
	SetupActive  Setup = "active"
	SetupPassive Setup = "passive"
)

// Direction is a media section's direction, from the writer's point of view.
type Direction string

// The directions of RFC 3264.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Fingerprint is a certificate fingerprint (a=fingerprint).
type Fingerprint struct {
	Algorithm string // "sha-256" (what Parse accepts: sha-256, sha-384, sha-512)
	Value     []byte
}

// String formats the fingerprint as SDP writes it: "sha-256 AB:CD:…".
func (f Fingerprint) String() string {
	var b strings.Builder
	b.WriteString(f.Algorithm)
	b.WriteByte(' ')
	for i, x := range f.Value {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// Candidate is an ICE candidate (a=candidate).
type Candidate struct {
	Foundation string
	Component  int
	Protocol   string // "udp" or "tcp"
	Priority   uint32
	Addr       netip.AddrPort
	Type       string // "host", "srflx", "prflx", "relay"
	TCPType    string // "passive", "active", "so" (TCP only)
}

func (c Candidate) String() string {
	s := fmt.Sprintf("%s %d %s %d %s %d typ %s", c.Foundation, c.Component, c.Protocol, c.Priority,
		c.Addr.Addr().String(), c.Addr.Port(), c.Type)
	if c.TCPType != "" {
		s += " tcptype " + c.TCPType
	}
	return s
}

// Media is one media section (m=).
type Media struct {
	Kind       string // "audio" or "video"
	MID        string
	Direction  Direction
	Rejected   bool // port 0: the answerer refused the section
	Codecs     []Codec
	Extensions []Extension
	// SSRCs are the distinct a=ssrc ids in order; FID pairs (media, RTX)
	// come from a=ssrc-group:FID.
	SSRCs     []uint32
	FID       [][2]uint32
	CNAME     string // of the first a=ssrc
	StreamID  string // a=msid stream id
	TrackID   string // a=msid track id
	RIDs      []RID
	Simulcast string // the a=simulcast value as written ("recv f;h;q")
	RTCPMux   bool
	RTCPRsize bool
}

// Codec is one payload type of a media section.
type Codec struct {
	PayloadType uint8
	Name        string // "opus", "VP8", "rtx", … as written
	ClockRate   uint32
	Channels    uint16 // 0 when not written
	Fmtp        string
	Feedback    []string // a=rtcp-fb values without the payload type: "nack", "nack pli", "goog-remb"
}

// Extension is an RTP header extension (a=extmap).
type Extension struct {
	ID  uint8
	URI string
}

// RID is a restriction identifier of a simulcast layer (a=rid, RFC 8851).
type RID struct {
	ID        string
	Direction string // "send" or "recv"
}

// Header extension URIs the media plane uses.
const (
	ExtAudioLevel  = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	ExtAbsSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	ExtMID         = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ExtRID         = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	ExtRepairedRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
	ExtTransportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
)

// ExtensionID is the id negotiated for uri, 0 if none.
func (m *Media) ExtensionID(uri string) uint8 {
	for _, e := range m.Extensions {
		if e.URI == uri {
			return e.ID
		}
	}
	return 0
}

// Codec returns the first codec named name (case-insensitive), nil if none.
func (m *Media) Codec(name string) *Codec {
	for i := range m.Codecs {
		if strings.EqualFold(m.Codecs[i].Name, name) {
			return &m.Codecs[i]
		}
	}
	return nil
}

// Bounds on what ParseDescription accepts: a client writes the answer, and
// nothing it writes may grow the server's state without a bound. They are
// far above what browsers write (Chromium's largest answers have one
// candidate per interface and a few SSRCs per section).
const (
	MaxSDPSize        = 64 << 10
	maxMedia          = 32
	maxCandidates     = 32
	maxSSRCsPerMedia  = 8
	maxSDPSSRCs       = 64
	maxCodecsPerMedia = 32
	maxExtensions     = 16
	maxRIDs           = 8 // pion answers with the offer's recv rids and its own send ones
	maxFeedback       = 8
	maxTokenLen       = 256 // ufrag, pwd, mid, rid, msid, cname, fmtp
)

// ParseDescription parses and validates an SDP description. It refuses
// descriptions larger than MaxSDPSize, without BUNDLE-able transport
// attributes (ICE credentials, fingerprint), or with more than the bounds
// above; unknown attributes are ignored.
func ParseDescription(text string) (*Description, error) {
	if len(text) > MaxSDPSize {
		return nil, fmt.Errorf("sdp: %d bytes, more than %d", len(text), MaxSDPSize)
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(text); err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	if len(s.MediaDescriptions) == 0 || len(s.MediaDescriptions) > maxMedia {
		return nil, fmt.Errorf("sdp: %d media sections, want 1..%d", len(s.MediaDescriptions), maxMedia)
	}
	d := &Description{}
	var t transport
	if err := t.read(s.Attributes); err != nil {
		return nil, err
	}
	for _, a := range s.Attributes {
		if a.Key == "ice-lite" {
			d.ICELite = true
		}
	}
	ssrcs := 0
	cands := map[Candidate]bool{}
	for i, md := range s.MediaDescriptions {
		m, mt, err := parseMedia(md)
		if err != nil {
			return nil, fmt.Errorf("sdp: media section %d: %w", i, err)
		}
		ssrcs += len(m.SSRCs)
		if ssrcs > maxSDPSSRCs {
			return nil, fmt.Errorf("sdp: more than %d SSRCs", maxSDPSSRCs)
		}
		for _, c := range mt.candidates {
			if !cands[c] {
				if len(cands) == maxCandidates {
					return nil, fmt.Errorf("sdp: more than %d candidates", maxCandidates)
				}
				cands[c] = true
				d.Candidates = append(d.Candidates, c)
			}
		}
		if !m.Rejected {
			// The first accepted section's transport is the bundle's.
			if err := t.merge(mt); err != nil {
				return nil, fmt.Errorf("sdp: media section %d: %w", i, err)
			}
		}
		d.Media = append(d.Media, m)
	}
	for _, c := range t.candidates {
		if !cands[c] && len(cands) < maxCandidates {
			cands[c] = true
			d.Candidates = append(d.Candidates, c)
		}
	}
	switch {
	case t.ufrag == "" || t.pwd == "":
		return nil, errors.New("sdp: no ICE credentials")
	case len(t.ufrag) < 4 || len(t.pwd) < 22:
		return nil, errors.New("sdp: ICE credentials too short (RFC 8445: ufrag ≥ 4, pwd ≥ 22 characters)")
	case len(t.fp.Value) == 0:
		return nil, errors.New("sdp: no DTLS fingerprint")
	}
	d.Ufrag, d.Pwd, d.Fingerprint, d.Setup = t.ufrag, t.pwd, t.fp, t.setup
	if d.Setup == "" {
		d.Setup = SetupActive // RFC 4145's default is active
	}
	return d, nil
}

// transport collects the bundle's transport attributes of one level.
type transport struct {
	ufrag, pwd string
	fp         Fingerprint
	setup      Setup
	candidates []Candidate
	fromMedia  bool // the values come from a media section (merge)
}

func (t *transport) read(attrs []sdp.Attribute) error {
	for _, a := range attrs {
		var err error
		switch a.Key {
		case "ice-ufrag":
			t.ufrag, err = token(a.Value)
		case "ice-pwd":
			t.pwd, err = token(a.Value)
		case "fingerprint":
			if t.fp.Value == nil {
				t.fp, err = parseFingerprint(a.Value)
			}
		case "setup":
			switch s := Setup(a.Value); s {
			case SetupActPass, SetupActive, SetupPassive:
				t.setup = s
			default:
				err = fmt.Errorf("setup %q", a.Value)
			}
		case "candidate":
			if c, ok := parseCandidate(a.Value); ok {
				if len(t.candidates) == maxCandidates {
					return fmt.Errorf("sdp: more than %d candidates", maxCandidates)
				}
				t.candidates = append(t.candidates, c)
			}
		}
		if err != nil {
			return fmt.Errorf("sdp: %s: %w", a.Key, err)
		}
	}
	return nil
}

// merge takes a media section's transport attributes: those it lacks come
// from the session level, and every bundled section must agree.
func (t *transport) merge(m transport) error {
	for _, f := range []struct {
		name     string
		dst, src *string
	}{{"ice-ufrag", &t.ufrag, &m.ufrag}, {"ice-pwd", &t.pwd, &m.pwd}} {
		switch {
		case *f.src == "":
		case *f.dst == "" || !t.fromMedia:
			*f.dst = *f.src
		case *f.dst != *f.src:
			return fmt.Errorf("%s differs between bundled sections", f.name)
		}
	}
	if m.fp.Value != nil {
		if t.fp.Value != nil && t.fromMedia && (t.fp.Algorithm != m.fp.Algorithm || string(t.fp.Value) != string(m.fp.Value)) {
			return errors.New("fingerprint differs between bundled sections")
		}
		t.fp = m.fp
	}
	if m.setup != "" {
		if t.setup != "" && t.fromMedia && t.setup != m.setup {
			return errors.New("setup differs between bundled sections")
		}
		t.setup = m.setup
	}
	t.fromMedia = true
	return nil
}

func parseMedia(md *sdp.MediaDescription) (Media, transport, error) {
	m := Media{Kind: md.MediaName.Media, Direction: SendRecv}
	var t transport
	if m.Kind != "audio" && m.Kind != "video" && m.Kind != "application" {
		return m, t, fmt.Errorf("media %q", m.Kind)
	}
	m.Rejected = md.MediaName.Port.Value == 0
	if err := t.read(md.Attributes); err != nil {
		return m, t, err
	}
	var err error
	for _, f := range md.MediaName.Formats {
		if m.Kind == "application" {
			break
		}
		pt, perr := strconv.ParseUint(f, 10, 7)
		if perr != nil {
			return m, t, fmt.Errorf("payload type %q", f)
		}
		if len(m.Codecs) == maxCodecsPerMedia {
			return m, t, fmt.Errorf("more than %d payload types", maxCodecsPerMedia)
		}
		m.Codecs = append(m.Codecs, Codec{PayloadType: uint8(pt)})
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "mid":
			m.MID, err = token(a.Value)
		case "sendrecv", "sendonly", "recvonly", "inactive":
			m.Direction = Direction(a.Key)
		case "rtcp-mux":
			m.RTCPMux = true
		case "rtcp-rsize":
			m.RTCPRsize = true
		case "rtpmap":
			err = m.parseRtpmap(a.Value)
		case "fmtp":
			err = m.parseFmtp(a.Value)
		case "rtcp-fb":
			err = m.parseFeedback(a.Value)
		case "extmap":
			err = m.parseExtmap(a.Value)
		case "ssrc":
			err = m.parseSSRC(a.Value)
		case "ssrc-group":
			err = m.parseSSRCGroup(a.Value)
		case "msid":
			f := strings.Fields(a.Value)
			if len(f) >= 1 {
				m.StreamID, err = token(f[0])
			}
			if err == nil && len(f) >= 2 {
				m.TrackID, err = token(f[1])
			}
		case "rid":
			err = m.parseRID(a.Value)
		case "simulcast":
			m.Simulcast, err = token(a.Value)
		}
		if err != nil {
			return m, t, fmt.Errorf("a=%s: %w", a.Key, err)
		}
	}
	return m, t, nil
}

// token checks a value's length and characters (printable ASCII, no
// spaces except inside simulcast and fmtp values).
func token(v string) (string, error) {
	if len(v) > maxTokenLen {
		return "", fmt.Errorf("value of %d bytes, at most %d", len(v), maxTokenLen)
	}
	for i := range len(v) {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", errors.New("non-printable character")
		}
	}
	return v, nil
}

func (m *Media) codecFor(pt string) (*Codec, error) {
	n, err := strconv.ParseUint(pt, 10, 7)
	if err != nil {
		return nil, fmt.Errorf("payload type %q", pt)
	}
	for i := range m.Codecs {
		if m.Codecs[i].PayloadType == uint8(n) {
			return &m.Codecs[i], nil
		}
	}
	return nil, nil // an attribute for a payload type not in m=: ignored
}

// parseRtpmap reads "111 opus/48000/2".
func (m *Media) parseRtpmap(v string) error {
	pt, enc, ok := strings.Cut(v, " ")
	if !ok {
		return errors.New("no encoding")
	}
	c, err := m.codecFor(pt)
	if c == nil || err != nil {
		return err
	}
	parts := strings.Split(enc, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("encoding %q", enc)
	}
	if c.Name, err = token(parts[0]); err != nil {
		return err
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return fmt.Errorf("clock rate %q", parts[1])
	}
	c.ClockRate = uint32(rate)
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil {
			return fmt.Errorf("channels %q", parts[2])
		}
		c.Channels = uint16(ch)
	}
	return nil
}

func (m *Media) parseFmtp(v string) error {
	pt, params, _ := strings.Cut(v, " ")
	c, err := m.codecFor(pt)
	if c == nil || err != nil {
		return err
	}
	c.Fmtp, err = token(params)
	return err
}

func (m *Media) parseFeedback(v string) error {
	pt, fb, _ := strings.Cut(v, " ")
	if pt == "*" {
		for i := range m.Codecs {
			if err := m.Codecs[i].addFeedback(fb); err != nil {
				return err
			}
		}
		return nil
	}
	c, err := m.codecFor(pt)
	if c == nil || err != nil {
		return err
	}
	return c.addFeedback(fb)
}

func (c *Codec) addFeedback(fb string) error {
	fb, err := token(fb)
	if err != nil {
		return err
	}
	if len(c.Feedback) == maxFeedback {
		return fmt.Errorf("more than %d feedback types", maxFeedback)
	}
	c.Feedback = append(c.Feedback, fb)
	return nil
}

// parseExtmap reads "1 urn:…" or "1/sendonly urn:…".
func (m *Media) parseExtmap(v string) error {
	f := strings.Fields(v)
	if len(f) < 2 {
		return fmt.Errorf("%q", v)
	}
	idStr, _, _ := strings.Cut(f[0], "/")
	id, err := strconv.ParseUint(idStr, 10, 8)
	if err != nil || id == 0 || id > 255 {
		return fmt.Errorf("id %q", f[0])
	}
	uri, err := token(f[1])
	if err != nil {
		return err
	}
	if len(m.Extensions) == maxExtensions {
		return fmt.Errorf("more than %d extensions", maxExtensions)
	}
	m.Extensions = append(m.Extensions, Extension{ID: uint8(id), URI: uri})
	return nil
}

// parseSSRC reads "1234 cname:xyz" (and msid, which only the CNAME of the
// first SSRC is kept of).
func (m *Media) parseSSRC(v string) error {
	id, attr, _ := strings.Cut(v, " ")
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return fmt.Errorf("ssrc %q", id)
	}
	ssrc := uint32(n)
	if !slices.Contains(m.SSRCs, ssrc) {
		if len(m.SSRCs) == maxSSRCsPerMedia {
			return fmt.Errorf("more than %d SSRCs", maxSSRCsPerMedia)
		}
		m.SSRCs = append(m.SSRCs, ssrc)
	}
	if name, ok := strings.CutPrefix(attr, "cname:"); ok && m.CNAME == "" {
		m.CNAME, err = token(name)
	}
	return err
}

// parseSSRCGroup reads "FID 1234 5678" (other semantics are ignored).
func (m *Media) parseSSRCGroup(v string) error {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "FID" {
		return nil
	}
	var pair [2]uint32
	for i := range pair {
		n, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return fmt.Errorf("ssrc %q", f[i+1])
		}
		pair[i] = uint32(n)
	}
	if len(m.FID) == maxSSRCsPerMedia {
		return fmt.Errorf("more than %d FID groups", maxSSRCsPerMedia)
	}
	m.FID = append(m.FID, pair)
	return nil
}

// parseRID reads "f send" (restrictions after the direction are ignored).
func (m *Media) parseRID(v string) error {
	f := strings.Fields(v)
	if len(f) < 2 || (f[1] != "send" && f[1] != "recv") {
		return fmt.Errorf("%q", v)
	}
	id, err := token(f[0])
	if err != nil {
		return err
	}
	if len(m.RIDs) == maxRIDs {
		return fmt.Errorf("more than %d rids", maxRIDs)
	}
	m.RIDs = append(m.RIDs, RID{ID: id, Direction: f[1]})
	return nil
}

func parseFingerprint(v string) (Fingerprint, error) {
	alg, hexs, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Fingerprint{}, fmt.Errorf("%q", v)
	}
	alg = strings.ToLower(alg)
	var size int
	switch alg {
	case "sha-256":
		size = 32
	case "sha-384":
		size = 48
	case "sha-512":
		size = 64
	default:
		return Fingerprint{}, fmt.Errorf("hash %q", alg)
	}
	parts := strings.Split(strings.TrimSpace(hexs), ":")
	if len(parts) != size {
		return Fingerprint{}, fmt.Errorf("%d bytes for %s", len(parts), alg)
	}
	fp := Fingerprint{Algorithm: alg, Value: make([]byte, size)}
	for i, p := range parts {
		x, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return Fingerprint{}, fmt.Errorf("byte %q", p)
		}
		fp.Value[i] = byte(x)
	}
	return fp, nil
}

// parseCandidate reads "foundation component transport priority address
// port typ type [raddr … rport …] [tcptype …] …". Candidates with a name
// instead of an address (mDNS) are skipped (ok false).
func parseCandidate(v string) (Candidate, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[6] != "typ" || len(v) > 512 {
		return Candidate{}, false
	}
	comp, err1 := strconv.Atoi(f[1])
	prio, err2 := strconv.ParseUint(f[3], 10, 32)
	ip, err3 := netip.ParseAddr(f[4])
	port, err4 := strconv.ParseUint(f[5], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || ip.Zone() != "" {
		return Candidate{}, false
	}
	c := Candidate{
		Foundation: f[0],
		Component:  comp,
		Protocol:   strings.ToLower(f[2]),
		Priority:   uint32(prio),
		Addr:       netip.AddrPortFrom(ip.Unmap(), uint16(port)),
		Type:       f[7],
	}
	if c.Protocol != "udp" && c.Protocol != "tcp" {
		return Candidate{}, false
	}
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "tcptype" {
			c.TCPType = f[i+1]
		}
	}
	return c, true
}

// CheckAnswer verifies that answer answers offer: the same media sections
// in the same order (kind and mid), every section of the offer bundled on
// one transport (rtcp-mux), a DTLS role that fits the offer's.
func CheckAnswer(offer, answer *Description) error {
	if len(answer.Media) != len(offer.Media) {
		return fmt.Errorf("sdp: answer has %d media sections, the offer %d", len(answer.Media), len(offer.Media))
	}
	for i, m := range answer.Media {
		o := offer.Media[i]
		if m.Kind != o.Kind || m.MID != o.MID {
			return fmt.Errorf("sdp: answer's media section %d is %s mid %q, the offer's %s mid %q", i, m.Kind, m.MID, o.Kind, o.MID)
		}
		if !m.Rejected && !m.RTCPMux {
			return fmt.Errorf("sdp: answer's media section %d without rtcp-mux", i)
		}
	}
	switch {
	case offer.Setup == SetupActPass && (answer.Setup == SetupActive || answer.Setup == SetupPassive):
	case offer.Setup == SetupActive && answer.Setup == SetupPassive:
	case offer.Setup == SetupPassive && answer.Setup == SetupActive:
	default:
		return fmt.Errorf("sdp: answer's setup %q does not fit the offer's %q", answer.Setup, offer.Setup)
	}
	return nil
}

// Marshal writes the description as SDP. Every transport attribute is
// written in every media section (as Chromium does), all sections in one
// BUNDLE group, candidates followed by a=end-of-candidates (an ICE-lite
// server has all its candidates at once).
func (d *Description) Marshal() (string, error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	s := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      binary.BigEndian.Uint64(id[:]) >> 2,
			SessionVersion: 2,
			NetworkType:    "IN",
			AddressType:    "IP4",
			UnicastAddress: "127.0.0.1",
		},
		SessionName:      "-",
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	if d.ICELite {
		s.Attributes = append(s.Attributes, sdp.NewPropertyAttribute("ice-lite"))
	}
	mids := make([]string, 0, len(d.Media))
	for _, m := range d.Media {
		mids = append(mids, m.MID)
	}
	s.Attributes = append(s.Attributes,
		sdp.NewAttribute("group", "BUNDLE "+strings.Join(mids, " ")),
		sdp.NewAttribute("msid-semantic", " WMS *"))
	for _, m := range d.Media {
		s.MediaDescriptions = append(s.MediaDescriptions, d.marshalMedia(&m))
	}
	b, err := s.Marshal()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *Description) marshalMedia(m *Media) *sdp.MediaDescription {
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  m.Kind,
			Port:   sdp.RangedPort{Value: 9},
			Protos: []string{"UDP", "TLS", "RTP", "SAVPF"},
		},
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: "0.0.0.0"},
		},
	}
	if m.Rejected {
		md.MediaName.Port.Value = 0
	}
	for _, c := range m.Codecs {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(c.PayloadType)))
	}
	add := func(k, v string) { md.Attributes = append(md.Attributes, sdp.NewAttribute(k, v)) }
	flag := func(k string) { md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(k)) }
	add("ice-ufrag", d.Ufrag)
	add("ice-pwd", d.Pwd)
	add("fingerprint", d.Fingerprint.String())
	add("setup", string(d.Setup))
	add("mid", m.MID)
	for _, e := range m.Extensions {
		add("extmap", strconv.Itoa(int(e.ID))+" "+e.URI)
	}
	flag(string(m.Direction))
	if m.StreamID != "" {
		add("msid", m.StreamID+" "+m.TrackID)
	}
	flag("rtcp-mux")
	if m.RTCPRsize {
		flag("rtcp-rsize")
	}
	for _, c := range m.Codecs {
		pt := strconv.Itoa(int(c.PayloadType))
		enc := c.Name + "/" + strconv.Itoa(int(c.ClockRate))
		if c.Channels > 0 {
			enc += "/" + strconv.Itoa(int(c.Channels))
		}
		add("rtpmap", pt+" "+enc)
		for _, fb := range c.Feedback {
			add("rtcp-fb", pt+" "+fb)
		}
		if c.Fmtp != "" {
			add("fmtp", pt+" "+c.Fmtp)
		}
	}
	for _, r := range m.RIDs {
		add("rid", r.ID+" "+r.Direction)
	}
	if m.Simulcast != "" {
		add("simulcast", m.Simulcast)
	}
	for _, g := range m.FID {
		add("ssrc-group", fmt.Sprintf("FID %d %d", g[0], g[1]))
	}
	for _, ssrc := range m.SSRCs {
		id := strconv.FormatUint(uint64(ssrc), 10)
		if m.CNAME != "" {
			add("ssrc", id+" cname:"+m.CNAME)
		}
		if m.StreamID != "" {
			add("ssrc", id+" msid:"+m.StreamID+" "+m.TrackID)
		}
	}
	for _, c := range d.Candidates {
		add("candidate", c.String())
	}
	if len(d.Candidates) > 0 {
		flag("end-of-candidates")
	}
	return md
}
