package e2e

// Video in the browsers (docs/video.md): cameras and screens published
// on the m-lines of the server's one offer, received on its video
// slots, the slots following the speakers, wishes that stop a hidden
// tile's bytes, and never a second negotiation.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
)

// negotiationsJS (a preload script) counts, for every RTCPeerConnection
// of the page, what a renegotiation would show: remote and local
// descriptions set, signaling state changes, negotiationneeded events.
// One offer answered is 1 remote, 1 local, 2 state changes
// (have-remote-offer, stable) and no negotiationneeded.
const negotiationsJS = `(() => {
	const Native = window.RTCPeerConnection;
	if (!Native) return;
	const n = window.__negotiations = {pcs: 0, remote: 0, local: 0, states: 0, needed: 0};
	const proto = Native.prototype;
	const setRemote = proto.setRemoteDescription, setLocal = proto.setLocalDescription;
	proto.setRemoteDescription = function (...a) { n.remote++; return setRemote.apply(this, a); };
	proto.setLocalDescription = function (...a) { n.local++; return setLocal.apply(this, a); };
	window.RTCPeerConnection = function (...args) {
		const pc = new Native(...args);
		n.pcs++;
		pc.addEventListener('signalingstatechange', () => n.states++);
		pc.addEventListener('negotiationneeded', () => n.needed++);
		return pc;
	};
	window.RTCPeerConnection.prototype = proto;
})()`

// negotiations is what negotiationsJS counted.
type negotiations struct {
	PCs    int `json:"pcs"`
	Remote int `json:"remote"`
	Local  int `json:"local"`
	States int `json:"states"`
	Needed int `json:"needed"`
}

func (p *page) negotiations() negotiations {
	p.t.Helper()
	return eval[negotiations](p, `window.__negotiations || {}`)
}

// checkOneNegotiation fails unless the page's one PeerConnection saw
// exactly the server's one offer answered.
func checkOneNegotiation(t *testing.T, p *page, when string) {
	t.Helper()
	want := negotiations{PCs: 1, Remote: 1, Local: 1, States: 2, Needed: 0}
	if got := p.negotiations(); got != want {
		t.Errorf("%s, %s: negotiations %+v, want %+v (one offer, one answer, nothing more)", p.name, when, got, want)
	}
}

// videoHook is window.palabre.video.
type videoHook struct {
	Offered   bool `json:"offered"`
	Allowed   bool `json:"allowed"`
	Camera    bool `json:"camera"`
	Screen    bool `json:"screen"`
	AudioOnly bool `json:"audioOnly"`
	Slots     []struct {
		Slot        int    `json:"slot"`
		Kind        string `json:"kind"`
		Participant string `json:"participant"`
		Source      uint32 `json:"source"`
	} `json:"slots"`
	Wishes []struct {
		Slot  int    `json:"slot"`
		Kind  string `json:"kind"`
		Level string `json:"level"`
	} `json:"wishes"`
	Layout *struct {
		Main      *string  `json:"main"`
		Tiles     []string `json:"tiles"`
		Hidden    []string `json:"hidden"`
		SelfSmall bool     `json:"selfSmall"`
	} `json:"layout"`
	Mids *struct {
		Camera      string   `json:"camera"`
		Screen      string   `json:"screen"`
		CameraSlots []string `json:"cameraSlots"`
		ScreenSlot  string   `json:"screenSlot"`
	} `json:"mids"`
}

func (p *page) video() videoHook {
	p.t.Helper()
	return eval[videoHook](p, `window.palabre.video`)
}

// slotOf is the JavaScript expression of the video slot (kind, number)
// that carries participant id, or null.
func slotOfJS(kind, id string) string {
	return fmt.Sprintf(`(window.palabre.video.slots.find(s => s.kind === %q && s.participant === %q) || null)`, kind, id)
}

// slotIn is what one video slot's receiver says (RTCRtpReceiver.getStats
// and getContributingSources).
type slotIn struct {
	Frames  float64  `json:"frames"`  // framesDecoded
	Bytes   float64  `json:"bytes"`   // bytesReceived
	Freezes float64  `json:"freezes"` // freezeCount (Chromium)
	PLIs    float64  `json:"plis"`    // pliCount: keyframes asked for
	Width   float64  `json:"width"`   // frameWidth
	CSRCs   []uint32 `json:"csrcs"`   // the publishers' sources heard lately
}

// slotStatsJS reads the receiver of the video slot (kind, slot).
func slotStatsJS(kind string, slot int) string {
	return fmt.Sprintf(`(async () => {
	const v = window.palabre.video, pc = window.palabre.pc;
	const out = {frames: 0, bytes: 0, freezes: 0, plis: 0, width: 0, csrcs: []};
	if (!v.mids || !pc) return out;
	const mid = %q === 'screen' ? v.mids.screenSlot : v.mids.cameraSlots[%d];
	const t = pc.getTransceivers().find(t => t.mid === mid);
	if (!t) return out;
	(await t.receiver.getStats()).forEach(r => {
		if (r.type !== 'inbound-rtp') return;
		out.frames += r.framesDecoded || 0;
		out.bytes += r.bytesReceived || 0;
		out.freezes += r.freezeCount || 0;
		out.plis += r.pliCount || 0;
		out.width = Math.max(out.width, r.frameWidth || 0);
	});
	out.csrcs = (t.receiver.getContributingSources ? t.receiver.getContributingSources() : []).map(c => c.source);
	return out;
})()`, kind, slot)
}

func (p *page) slotStats(kind string, slot int) slotIn {
	p.t.Helper()
	return eval[slotIn](p, slotStatsJS(kind, slot))
}

// waitFrames waits until the video slot decodes frames (20 more than it
// had), and returns its stats then.
func (p *page) waitFrames(what, kind string, slot int) slotIn {
	p.t.Helper()
	before := p.slotStats(kind, slot)
	p.waitFor(what, fmt.Sprintf(`(async () => (await %s).frames >= %v)()`, slotStatsJS(kind, slot), before.Frames+20))
	return p.slotStats(kind, slot)
}

// senderLayersJS lists our camera sender's encodings: rid and scale.
const senderLayersJS = `(() => {
	const v = window.palabre.video, pc = window.palabre.pc;
	const t = v.mids && pc && pc.getTransceivers().find(t => t.mid === v.mids.camera);
	if (!t) return null;
	return (t.sender.getParameters().encodings || []).map(e => ({rid: e.rid || '', scale: e.scaleResolutionDownBy || 1}));
})()`

type layer struct {
	RID   string  `json:"rid"`
	Scale float64 `json:"scale"`
}

// videoRoom starts a server with video (V camera slots) and a room of
// mode with video allowed by its organizer, and returns the server and
// the room.
func videoRoom(t *testing.T, name, mode string, slots int) (*testserver.Server, signaling.CreateRoomResponse) {
	t.Helper()
	s := testserver.Start(t, func(o *server.Options) { o.VideoSlots = slots })
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: name, Mode: mode})
	return s, room
}

// joinVideo joins like joinRoom, counting negotiations, and waits for
// the offer's video m-lines.
func (p *page) joinVideo(url, name string) {
	p.t.Helper()
	p.preload(negotiationsJS)
	p.joinRoom(url, name, "")
	p.waitFor("the offer's video m-lines, answered", `!!window.palabre.video.offered && !!window.palabre.video.mids`)
}

// allowVideo makes the room allow video from its organizer's page (the
// switch in the room settings), unless it does already.
func allowVideo(t *testing.T, org *page) {
	t.Helper()
	if eval[bool](org, `window.palabre.video.allowed`) {
		return
	}
	org.click("#video-room-toggle")
	org.waitFor("the room allows video", `window.palabre.video.allowed`)
}

// cameraOn clicks the camera button and waits until the server agreed.
func (p *page) cameraOn() {
	p.t.Helper()
	p.click("#camera-toggle")
	p.waitFor("the camera is on", `window.palabre.video.camera && document.getElementById('camera-toggle').getAttribute('aria-pressed') === 'true'`)
}

func (p *page) cameraOff() {
	p.t.Helper()
	p.click("#camera-toggle")
	p.waitFor("the camera is off", `!window.palabre.video.camera`)
}

// The server's offer carries the video m-lines; the app answers them
// (our camera's three simulcast layers at full, half and quarter size)
// with no renegotiation, and shows no video at all while the room is
// audio only (a push-to-talk room's default).
func videoOffer(t *testing.T, b *bench) {
	s, room := videoRoom(t, "radio", "ptt", 4)
	p := b.person("listener")
	p.joinVideo(room.Link, "Lee")
	v := p.video()
	if v.Mids == nil || len(v.Mids.CameraSlots) != 4 || v.Mids.ScreenSlot == "" || v.Mids.Camera == "" || v.Mids.Screen == "" {
		t.Fatalf("the offer's video m-lines as the app read them: %+v", v.Mids)
	}
	layers := eval[[]layer](p, senderLayersJS)
	want := map[string]float64{"f": 1, "h": 2, "q": 4}
	got := map[string]float64{}
	for _, l := range layers {
		got[l.RID] = l.Scale
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the camera's encodings %+v, want rids f, h, q scaled down by 1, 2, 4", layers)
	}
	if v.Allowed {
		t.Error("a push-to-talk room allows video by default")
	}
	if eval[bool](p, visible("#video-stage")) || eval[bool](p, visible("#camera-toggle")) {
		t.Error("video controls shown in an audio-only room")
	}
	checkOneNegotiation(t, p, "after joining")
	checkOnlyServer(t, s.URL, p)
}

// A camera published from Chromium's Y4M file (or Firefox's fake
// camera) reaches two other people: their slot decodes frames, the
// video_slot event names the publisher, whose source is in the RTP
// packets' CSRC. A fourth person joining, and the camera turned off and
// on, change nobody's SDP.
func videoPublishes(t *testing.T, b *bench) {
	s, room := videoRoom(t, "standup", "open", 4)
	a := b.withCamera("A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	viewers := []*page{b.person("B"), b.person("C")}
	for i, p := range viewers {
		p.joinVideo(room.Link, []string{"Bo", "Cy"}[i])
	}
	aID := eval[string](a, `window.palabre.self.id`)
	aSource := uint32(eval[float64](a, `window.palabre.self.source`))

	a.cameraOn()
	a.waitFor("the self view shows our camera", `(() => { const v = document.querySelector('#self-view video'); return !!v && v.videoWidth > 0 && !document.getElementById('self-view').hidden; })()`)
	for _, p := range viewers {
		p.waitFor(p.name+" is told which slot carries Ana's camera", slotOfJS("camera", aID)+" !== null")
		var slot struct {
			Slot   int    `json:"slot"`
			Source uint32 `json:"source"`
		}
		if err := json.Unmarshal([]byte(eval[string](p, `JSON.stringify(`+slotOfJS("camera", aID)+`)`)), &slot); err != nil {
			t.Fatal(err)
		}
		if slot.Source != aSource {
			t.Errorf("%s: the video_slot event says source %d, Ana's is %d", p.name, slot.Source, aSource)
		}
		st := p.waitFrames(p.name+" decodes Ana's camera", "camera", slot.Slot)
		if !containsSource(st.CSRCs, aSource) {
			t.Errorf("%s: the slot's packets name sources %v, not Ana's %d", p.name, st.CSRCs, aSource)
		}
		p.waitFor(p.name+" shows Ana's tile, named", fmt.Sprintf(`(() => { const f = document.querySelector('figure.video-tile[data-participant-id=%q]'); return !!f && !f.hidden && f.textContent.includes('Ana') && f.querySelector('video').videoWidth > 0; })()`, aID))
	}

	// A fourth person: nobody renegotiates.
	d := b.person("D")
	d.joinVideo(room.Link, "Di")
	d.waitFor("Di is told which slot carries Ana's camera", slotOfJS("camera", aID)+" !== null")
	for _, p := range append([]*page{a, d}, viewers...) {
		checkOneNegotiation(t, p, "after a fourth person joined")
	}

	// Off and on again: the same m-line, replaceTrack only.
	a.cameraOff()
	for _, p := range viewers {
		p.waitFor(p.name+" is told Ana's camera left its slot", slotOfJS("camera", aID)+" === null")
	}
	a.cameraOn()
	for _, p := range viewers {
		p.waitFor(p.name+" gets Ana's camera again", slotOfJS("camera", aID)+" !== null")
		slot := int(eval[float64](p, slotOfJS("camera", aID)+".slot"))
		p.waitFrames(p.name+" decodes Ana's camera again", "camera", slot)
	}
	for _, p := range append([]*page{a, d}, viewers...) {
		checkOneNegotiation(t, p, "after the camera went off and on")
	}
	checkOnlyServer(t, s.URL, a, viewers[0], viewers[1], d)
}

func containsSource(list []uint32, s uint32) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitSlot waits until the page's video slots name participant id in a
// camera slot, and returns that slot's number.
func (p *page) waitSlot(what, kind, id string) int {
	p.t.Helper()
	p.waitFor(what, slotOfJS(kind, id)+" !== null")
	return int(eval[float64](p, slotOfJS(kind, id)+".slot"))
}

// joinedNames is the tiles' captions, for failure messages.
func tileNames(p *page) string {
	return eval[string](p, `[...document.querySelectorAll('figure.video-tile:not([hidden])')].map(f => f.dataset.key + '=' + f.textContent.trim()).join(', ')`)
}

var _ = strings.Contains
var _ = time.Second
