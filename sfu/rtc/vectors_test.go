package rtc

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Real answers of Chromium and Firefox to the engine's offer (the
// microphone, an audio slot, the camera with simulcast, a video slot),
// written by e2e's OwnTransport scenario with PALABRE_RTC_VECTORS=DIR:
//
//	PALABRE_RTC_VECTORS=$PWD/sfu/rtc/testdata go test ./e2e -run /OwnTransport
func TestBrowserAnswers(t *testing.T) {
	tests := []struct {
		engine    string
		micSSRCs  int // announced in the microphone's section
		slotSSRCs int // announced in the audio slot's (recvonly) section
		camSSRCs  int // announced for the simulcast camera
	}{
		// Chromium announces its sending SSRCs only, and none for a
		// simulcast sender (the rid extension names its layers).
		{"chromium", 1, 0, 0},
		// Firefox announces one for every section (the receiving ones send
		// RTCP from it) and one per simulcast layer.
		{"firefox", 1, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.engine, func(t *testing.T) {
			read := func(name string) *Description {
				b, err := os.ReadFile(filepath.Join("testdata", tc.engine+"-"+name+".sdp"))
				if err != nil {
					t.Fatal(err)
				}
				d, err := ParseDescription(string(b))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return d
			}
			offer, answer := read("offer"), read("answer")
			if err := CheckAnswer(offer, answer); err != nil {
				t.Fatal(err)
			}
			if answer.Setup != SetupActive || answer.ICELite || len(answer.Fingerprint.Value) != 32 || answer.Ufrag == "" || answer.Pwd == "" {
				t.Fatalf("transport: setup %q lite %v fingerprint %v ufrag %q", answer.Setup, answer.ICELite, answer.Fingerprint, answer.Ufrag)
			}
			mic, slot, cam, vslot := &answer.Media[0], &answer.Media[1], &answer.Media[2], &answer.Media[3]
			wantDirs := []Direction{SendOnly, RecvOnly, SendOnly, RecvOnly}
			for i, m := range answer.Media {
				if m.Direction != wantDirs[i] || m.Rejected || !m.RTCPMux {
					t.Errorf("section %d: %s rejected %v rtcp-mux %v", i, m.Direction, m.Rejected, m.RTCPMux)
				}
			}
			if len(mic.SSRCs) != tc.micSSRCs || len(slot.SSRCs) != tc.slotSSRCs || len(cam.SSRCs) != tc.camSSRCs || mic.CNAME == "" {
				t.Errorf("SSRCs: mic %v slot %v camera %v, cname %q", mic.SSRCs, slot.SSRCs, cam.SSRCs, mic.CNAME)
			}
			if c := mic.Codec("opus"); c == nil || c.PayloadType != opusPT || c.ClockRate != 48000 || c.Channels != 2 || c.Fmtp == "" {
				t.Errorf("opus: %+v", c)
			}
			if mic.ExtensionID(ExtAudioLevel) != levelExt {
				t.Errorf("audio level id %d", mic.ExtensionID(ExtAudioLevel))
			}
			if c := cam.Codec("VP8"); c == nil || c.PayloadType != 96 {
				t.Errorf("VP8: %+v", c)
			}
			wantRIDs := []RID{{"f", "send"}, {"h", "send"}, {"q", "send"}}
			if !reflect.DeepEqual(cam.RIDs, wantRIDs) || cam.Simulcast != "send f;h;q" {
				t.Errorf("simulcast: rids %v simulcast %q", cam.RIDs, cam.Simulcast)
			}
			for uri, id := range map[string]uint8{ExtAbsSendTime: 2, ExtMID: 3, ExtRID: 4, ExtRepairedRID: 5} {
				if got := cam.ExtensionID(uri); got != id {
					t.Errorf("camera extension %s: id %d, want %d", uri, got, id)
				}
			}
			if vslot.ExtensionID(ExtMID) != 3 {
				t.Errorf("video slot's mid extension %d", vslot.ExtensionID(ExtMID))
			}
			r := RemoteFrom(answer)
			if len(r.SSRCs) != tc.micSSRCs+tc.slotSSRCs+tc.camSSRCs+len(vslot.SSRCs) {
				t.Errorf("remote SSRCs %v", r.SSRCs)
			}
		})
	}
}
