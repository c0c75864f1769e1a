package sfu

import (
	"encoding/binary"
	"github.com/pion/sdp/v3"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// The answer may declare simulcast only on the camera, only with its RIDs
// (f, h, q): pion keeps a stream for each RID it is told of.
func TestVideoAnswerRIDs(t *testing.T) {
	e := newVideoEngine(t, 3, 2)
	room := e.NewRoom(RoomSettings{}, nil)
	p, offer, err := room.Join(ParticipantConfig{ID: "v", Video: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	pc, err := videoClientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	mic, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "v")
	if _, err := pc.AddTrack(mic); err != nil {
		t.Fatal(err)
	}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range []string{"f", "h", "q"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "v", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tr)
	}
	sender, err := pc.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range layers[1:] {
		if err := sender.AddEncoding(tr); err != nil {
			t.Fatal(err)
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{AudioSlots: 3, VideoSlots: 2}
	mids := offerMIDs(t, offer.SDP)
	if _, err := validateAnswer(answer.SDP, mids, l); err != nil {
		t.Fatalf("pion's simulcast answer refused: %v", err)
	}
	// The camera m-line is the fifth, the screen's the sixth.
	parts := strings.SplitAfter(answer.SDP, "m=video")
	if len(parts) < 3 {
		t.Fatal("no video m-lines in the answer")
	}
	for _, c := range []struct {
		name   string
		mline  int // 1: the camera's, 2: the screen's
		insert string
	}{
		{"a RID not offered", 1, "a=rid:x send\r\n"},
		{"simulcast on the screen", 2, "a=rid:f send\r\n"},
		{"simulcast attribute on the screen", 2, "a=simulcast:send f\r\n"},
	} {
		bad := append([]string(nil), parts...)
		bad[c.mline] = strings.Replace(bad[c.mline], "a=mid:", c.insert+"a=mid:", 1)
		if _, err := validateAnswer(strings.Join(bad, ""), mids, l); err == nil {
			t.Errorf("%s: answer accepted", c.name)
		}
	}
}

// Publisher video packets of any content through the reader: parsing,
// the shared cache, keyframe tracking, the fan-out and rewrite to two
// receivers, and the receivers' NACKs. The first byte picks the layer;
// each packet advances the clock by 10 ms. Whatever arrives, nothing
// panics and every payload written has a VP8 descriptor that parses.
func FuzzVideoPackets(f *testing.F) {
	v := newVideoRoom(f, 1, ModeOpen)
	a, rx1, rx2 := v.join(f, "a"), v.join(f, "rx1"), v.join(f, "rx2")
	if err := a.SetCamera(true); err != nil {
		f.Fatal(err)
	}
	s := newVP8Stream(f, 0xa)
	for k := range 3 {
		var pkts [][]byte
		for range 5 + k {
			pkts = append(pkts, s.frame()...)
		}
		var small [][]byte
		for _, p := range pkts {
			if len(p) <= 255 {
				small = append(small, p)
			}
		}
		f.Add(append([]byte{byte(k)}, joinPackets(small...)...))
	}
	f.Add([]byte{0, 4, 0x80, 0x60, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		layer := int(in[0] % 3)
		now := v.e.nanotime()
		stream := &InStream{Kind: StreamCamera, Layer: layer, SSRC: 0x1000 + uint32(layer)}
		for _, p := range splitPackets(in[1:]) {
			a.handleVideo(stream, p, now)
			now += 10e6
		}
		for _, rx := range []*Participant{rx1, rx2} {
			nack := []byte{0x81, rtcpRTPFB, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
			binary.BigEndian.PutUint32(nack[8:12], rx.voutSSRC[0])
			(*peerHandler)(rx).RTCP(rx.voutSSRC[0], nack)
			// videoWriter.WriteRTP parsed each payload (a bad one panics).
			w := v.w[rx][0]
			w.mu.Lock()
			w.got = w.got[:0]
			w.mu.Unlock()
		}
	})
}

// offerMIDs are the mids of an offer's media sections, in order.
func offerMIDs(t *testing.T, offer string) []string {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		t.Fatal(err)
	}
	var mids []string
	for _, m := range d.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	return mids
}
