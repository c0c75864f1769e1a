package sfu

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func newVideoEngine(t testing.TB, slots, videoSlots int) *Engine {
	t.Helper()
	e, err := NewEngine(Config{MediaAddr: "127.0.0.1:0", Slots: slots, VideoSlots: videoSlots, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// The offer of a participant that wants video: after the audio m-lines,
// the camera (recvonly, simulcast f;h;q), the screen (recvonly), the camera
// slots and the screen slot (sendonly), VP8 with its feedback and
// extensions. A participant that does not want video gets the audio offer.
func TestVideoOffer(t *testing.T) {
	e := newVideoEngine(t, 3, 4)
	room := e.NewRoom(RoomSettings{}, nil)
	p, offer, err := room.Join(ParticipantConfig{ID: "v", Video: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer.SDP); err != nil {
		t.Fatal(err)
	}
	type line struct{ media, dir string }
	want := []line{{"audio", "recvonly"}, {"audio", "sendonly"}, {"audio", "sendonly"}, {"audio", "sendonly"},
		{"video", "recvonly"}, {"video", "recvonly"},
		{"video", "sendonly"}, {"video", "sendonly"}, {"video", "sendonly"}, {"video", "sendonly"}, {"video", "sendonly"}}
	if len(d.MediaDescriptions) != len(want) {
		t.Fatalf("%d m-lines, want %d:\n%s", len(d.MediaDescriptions), len(want), offer.SDP)
	}
	for i, m := range d.MediaDescriptions {
		dir := ""
		for _, a := range m.Attributes {
			if a.Key == "sendonly" || a.Key == "recvonly" || a.Key == "sendrecv" || a.Key == "inactive" {
				dir = a.Key
			}
		}
		if m.MediaName.Media != want[i].media || dir != want[i].dir {
			t.Errorf("m-line %d: %s %s, want %v", i, m.MediaName.Media, dir, want[i])
		}
		if m.MediaName.Media != "video" {
			continue
		}
		text := marshalMedia(t, m)
		for _, s := range []string{"VP8/90000", "a=rtcp-fb:96 nack\r\n", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 goog-remb",
			absSendTimeURI, midURI, ridURI, repairedRIDURI} {
			if !strings.Contains(text, s) {
				t.Errorf("m-line %d lacks %q", i, s)
			}
		}
		// Transport-wide numbers on what the server sends only: a camera
		// m-line with them would have the browser wait for feedback.
		if twcc := strings.Contains(text, transportCCURI); twcc != (dir == "sendonly") {
			t.Errorf("m-line %d (%s): transport-cc extension %v", i, dir, twcc)
		}
		if !strings.Contains(text, "a=rtcp-fb:96 transport-cc") {
			t.Errorf("m-line %d lacks rtcp-fb transport-cc", i)
		}
		simulcast := strings.Contains(text, "a=simulcast:recv f;h;q") && strings.Contains(text, "a=rid:f recv") &&
			strings.Contains(text, "a=rid:h recv") && strings.Contains(text, "a=rid:q recv")
		if simulcast != (i == 4) {
			t.Errorf("m-line %d: simulcast %v", i, simulcast)
		}
	}
	for j := range 4 {
		if !strings.Contains(offer.SDP, "msid:"+streamID+" "+cameraSlotID(j)) {
			t.Errorf("no track %s in the offer", cameraSlotID(j))
		}
	}

	// Same Engine, no video wanted: the audio offer.
	a, offer, err := room.Join(ParticipantConfig{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Leave()
	if n := strings.Count(offer.SDP, "m="); n != 4 || strings.Contains(offer.SDP, "m=video") {
		t.Errorf("audio-only participant: %d m-lines:\n%s", n, offer.SDP)
	}

	// An Engine without video ignores the wish.
	room0 := newTestEngine(t, 3).NewRoom(RoomSettings{}, nil)
	b, offer, err := room0.Join(ParticipantConfig{ID: "b", Video: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Leave()
	if strings.Contains(offer.SDP, "m=video") {
		t.Error("an Engine without video slots offered video")
	}
}

func marshalMedia(t *testing.T, m *sdp.MediaDescription) string {
	t.Helper()
	d := sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{m}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
