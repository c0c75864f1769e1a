package e2e

// Video in the browsers (docs/video.md): cameras and screens published
// on the m-lines of the server's one offer, received on its video
// slots, the slots following the speakers, wishes that stop a hidden
// tile's bytes, and never a second negotiation.

import (
	"encoding/json"
	"fmt"
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

// cameraOutJS is what our camera's sender sends, per layer: rid, frames
// encoded, bytes, size, and why the encoder limits itself.
const cameraOutJS = `(async () => {
	const v = window.palabre.video, pc = window.palabre.pc;
	const t = v.mids && pc && pc.getTransceivers().find(t => t.mid === v.mids.camera);
	if (!t) return [];
	const out = [];
	(await t.sender.getStats()).forEach(r => {
		if (r.type === 'outbound-rtp') out.push({rid: r.rid || '', frames: r.framesEncoded || 0, bytes: r.bytesSent || 0, width: r.frameWidth || 0, limit: r.qualityLimitationReason || '', active: r.active, plis: r.pliCount || 0});
	});
	return out;
})()`

// logVideo, when the test failed, logs what the publisher sent and the
// viewers got: what tells a sender's problem from a forwarder's.
func logVideo(t *testing.T, s *testserver.Server, pub *page, viewers ...*page) {
	if !t.Failed() {
		return
	}
	t.Logf("the media engine: %+v", s.Engine.Stats())
	t.Logf("%s's camera layers: %s", pub.name, eval[string](pub, `(async () => JSON.stringify(await `+cameraOutJS+`))()`))
	for _, p := range viewers {
		t.Logf("%s's video: %s; camera slot 0 %+v", p.name, eval[string](p, `JSON.stringify({slots: window.palabre.video.slots, sent: window.palabre.video.sent})`), p.slotStats("camera", 0))
	}
}

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
	defer logVideo(t, s, a, viewers...)
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

// tabTo presses Tab until the element of id has the focus (the keyboard
// reaches it), at most 60 times.
func tabTo(t *testing.T, p *page, id string) {
	t.Helper()
	p.activate() // keys go to the window in front (Firefox's windows)
	p.run(`document.activeElement && document.activeElement.blur()`)
	for range 60 {
		p.key(keyTab, true)
		p.key(keyTab, false)
		if eval[string](p, `document.activeElement ? document.activeElement.id : ''`) == id {
			return
		}
	}
	t.Fatalf("%s: Tab never reaches #%s", p.name, id)
}

// waitTrue polls cond like waitFor, but returns false instead of failing.
func waitTrue(p *page, cond string) bool {
	deadline := time.Now().Add(opTimeout)
	for time.Now().Before(deadline) {
		var ok bool
		if err := p.evalErr(cond, &ok); err == nil && ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
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

// The camera slot follows the speaker: with one camera slot, Ana then
// Bo take the floor (both cameras on), and the watcher's slot switches
// from Ana's camera to Bo's. Its decoder never stops: frames keep coming
// across the switch (the server switches at a keyframe and rewrites the
// stream into one), with few freezes and keyframe requests.
func videoFollowsSpeaker(t *testing.T, b *bench) {
	s, room := videoRoom(t, "debate", "ptt", 1)
	a := b.withCamera("A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	bb := b.withCamera("B")
	bb.joinVideo(room.Link, "Bo")
	c := b.person("C")
	c.joinVideo(room.Link, "Cy")
	aID := eval[string](a, `window.palabre.self.id`)
	bID := eval[string](bb, `window.palabre.self.id`)
	aSource := uint32(eval[float64](a, `window.palabre.self.source`))
	bSource := uint32(eval[float64](bb, `window.palabre.self.source`))
	a.cameraOn()
	bb.cameraOn()

	// Ana takes the floor: the one slot is hers.
	a.space(true)
	c.waitFor("Cy's slot carries Ana's camera", slotOfJS("camera", aID)+" !== null")
	c.waitFrames("Cy decodes Ana's camera", "camera", 0)
	c.waitFor("Ana's source in the slot's packets", fmt.Sprintf(`(async () => (await %s).csrcs.includes(%d))()`, slotStatsJS("camera", 0), aSource))
	a.space(false)
	// The same stream without a switch, as long as the switch will be
	// watched: how much this machine freezes a video anyway.
	const watch = 4 * time.Second
	calm0 := c.slotStats("camera", 0)
	time.Sleep(watch)
	calm := c.slotStats("camera", 0)

	// Bo takes it: the slot switches.
	bb.space(true)
	c.waitFor("Cy's slot switches to Bo's camera", slotOfJS("camera", bID)+" !== null")
	c.waitFor("Bo's source in the slot's packets", fmt.Sprintf(`(async () => (await %s).csrcs.includes(%d))()`, slotStatsJS("camera", 0), bSource))
	switched := time.Now()
	c.waitFrames("Cy decodes Bo's camera on the same slot", "camera", 0)
	time.Sleep(time.Until(switched.Add(watch)))
	after := c.slotStats("camera", 0)
	// And Bo's stream as long again, without a switch.
	time.Sleep(watch)
	later := c.slotStats("camera", 0)
	bb.space(false)
	// A switch costs a keyframe: a decoder error would ask for one again
	// and again, and freeze. Freezes are counted against the same time
	// without a switch, before and after it (a busy machine freezes a
	// video too, in spells).
	if n := after.PLIs - calm.PLIs; n > 3 {
		t.Errorf("Cy asked for %v keyframes (pliCount) over one switch", n)
	}
	base := max(calm.Freezes-calm0.Freezes, later.Freezes-after.Freezes)
	if n := after.Freezes - calm.Freezes; n > base+3 {
		t.Errorf("Cy's video froze %v times in the %v of a switch, at most %v times in as long without", n, watch, base)
	}
	t.Logf("Cy's slot, %v each: Ana without a switch %v frames, %v freezes; the switch %v frames, %v freezes, %v PLIs; Bo without a switch %v frames, %v freezes; %v px wide",
		watch, calm.Frames-calm0.Frames, calm.Freezes-calm0.Freezes, after.Frames-calm.Frames, after.Freezes-calm.Freezes, after.PLIs-calm.PLIs,
		later.Frames-after.Frames, later.Freezes-after.Freezes, later.Width)
	checkOnlyServer(t, s.URL, a, bb, c)
}

// canvasScreenJS (a preload script) stands in for getDisplayMedia with a
// moving canvas: headless Firefox has no screen to capture (it says
// NotFoundError; the app says "the screen could not be captured").
// Chromium's fake capture devices include a screen.
const canvasScreenJS = `(() => {
	const md = navigator.mediaDevices;
	if (!md) return;
	md.getDisplayMedia = async () => {
		const c = document.createElement('canvas');
		c.width = 1280; c.height = 720;
		const g = c.getContext('2d');
		let n = 0;
		setInterval(() => {
			g.fillStyle = '#f4f4f0'; g.fillRect(0, 0, 1280, 720);
			g.fillStyle = '#1f4ea8'; g.fillRect((n * 8) % 1280, 300, 160, 120);
			g.fillStyle = '#1a1d23'; g.font = '64px sans-serif'; g.fillText('Slide ' + (1 + (n >> 6) % 9), 80, 140);
			n++;
		}, 66);
		return c.captureStream(15);
	};
})()`

// A screen share shows in everyone's screen slot, large, and is
// announced to screen readers.
func videoScreenShare(t *testing.T, b *bench) {
	s, room := videoRoom(t, "slides", "open", 4)
	a := b.withCamera("A")
	if b.e == firefoxEngine {
		a.preload(canvasScreenJS)
	}
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	viewers := []*page{b.person("B"), b.person("C")}
	for i, p := range viewers {
		p.joinVideo(room.Link, []string{"Bo", "Cy"}[i])
	}
	aID := eval[string](a, `window.palabre.self.id`)
	a.click("#screen-toggle")
	if !waitTrue(a, `window.palabre.video.screen || !!document.getElementById('error').textContent.trim() || !!document.getElementById('info').textContent.trim()`) || !eval[bool](a, `window.palabre.video.screen`) {
		t.Fatalf("Ana could not share her screen: %q %q", eval[string](a, `document.getElementById('error').textContent`), eval[string](a, `document.getElementById('info').textContent`))
	}
	a.waitFor("Ana sees what she shares, large", `(() => { const f = document.getElementById('self-screen'); return !f.hidden && f.classList.contains('is-main') && f.querySelector('video').videoWidth > 0; })()`)
	for _, p := range viewers {
		p.waitFor(p.name+" is told the screen slot carries Ana's screen", slotOfJS("screen", aID)+" !== null")
		p.waitFrames(p.name+" decodes Ana's screen", "screen", 0)
		p.waitFor(p.name+" shows the screen large", `(() => { const f = document.querySelector('figure.video-tile[data-key="screen:0"]'); return !!f && !f.hidden && f.classList.contains('is-main') && f.querySelector('video').videoWidth > 0; })()`)
		p.waitFor(p.name+" is told Ana shares her screen", `window.palabre.announced.some((s) => s.includes('Ana') && s.includes('screen'))`)
	}
	a.click("#screen-toggle")
	for _, p := range viewers {
		p.waitFor(p.name+" is told the screen share ended", slotOfJS("screen", aID)+" === null")
	}
	for _, p := range append([]*page{a}, viewers...) {
		checkOneNegotiation(t, p, "after a screen share")
	}
	checkOnlyServer(t, s.URL, a, viewers[0], viewers[1])
}

// bytesFor is how many bytes the video slot receives in d.
func (p *page) bytesFor(kind string, slot int, d time.Duration) float64 {
	p.t.Helper()
	before := p.slotStats(kind, slot).Bytes
	time.Sleep(d)
	return p.slotStats(kind, slot).Bytes - before
}

// waitBytes waits until the slot receives (on) or stops receiving (!on)
// video: more than 5 kB in a second, or less than 1 kB. On is low: a slot
// that resumes after a pause starts at its smallest layer (often 12-20
// kB/s from Chromium's fake camera), and a busy machine's estimate keeps
// it there for a while.
func (p *page) waitBytes(what, kind string, slot int, on bool) float64 {
	p.t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		n := p.bytesFor(kind, slot, time.Second)
		if (on && n > 5_000) || (!on && n < 1_000) {
			return n
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: waiting until %s: %v bytes in the last second", p.name, what, n)
		}
	}
}

// A tile nobody sees costs nothing: Bo receives Ana's camera (the
// positive control), then scrolls it out of view (IntersectionObserver:
// wish off), and its bytes stop; back in view they flow again; and
// "audio only" stops them too.
func videoHiddenTile(t *testing.T, b *bench) {
	s, room := videoRoom(t, "scroll", "open", 4)
	a := b.withCamera("A")
	a.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, a)
	bb := b.person("B")
	bb.viewport(1280, 800)
	bb.joinVideo(room.Link, "Bo")
	aID := eval[string](a, `window.palabre.self.id`)
	a.cameraOn()
	slot := bb.waitSlot("Bo is told which slot carries Ana's camera", "camera", aID)
	on := bb.waitBytes("Bo receives Ana's camera", "camera", slot, true)

	wish := func(level string) string {
		return fmt.Sprintf(`window.palabre.video.sent.some(w => w.kind === 'camera' && w.slot === %d && w.level === %q)`, slot, level)
	}
	// Scrolled away: a short window, at the page's bottom.
	bb.viewport(1280, 240)
	bb.run(`window.scrollTo(0, document.documentElement.scrollHeight)`)
	bb.waitFor("the tile is out of view", fmt.Sprintf(`document.querySelector('figure.video-tile[data-key="camera:%d"]').getBoundingClientRect().bottom < 0`, slot))
	bb.waitFor("Bo wishes the slot off", wish("off"))
	off := bb.waitBytes("Bo's bytes for the hidden tile stop", "camera", slot, false)
	bb.run(`window.scrollTo(0, 0)`)
	bb.viewport(1280, 800)
	bb.waitFor("Bo wishes the slot on again", "!("+wish("off")+")")
	again := bb.waitBytes("Bo receives Ana's camera again", "camera", slot, true)

	// Audio only: every slot off.
	bb.click("#audio-only")
	bb.waitFor("every wish off", `window.palabre.video.sent.length > 0 && window.palabre.video.sent.every(w => w.level === 'off')`)
	audioOnly := bb.waitBytes("Bo's video stops in audio-only mode", "camera", slot, false)
	bb.click("#audio-only")
	bb.waitBytes("Bo's video is back", "camera", slot, true)
	t.Logf("bytes a second on Ana's slot: %.0f shown, %.0f scrolled away, %.0f back, %.0f audio only", on, off, again, audioOnly)
	checkOneNegotiation(t, bb, "after hiding and showing a tile")
	checkOnlyServer(t, s.URL, a, bb)
}

// The video grid as people see it, in English and French, at 1280 px
// and on a 360 px phone: the others' cameras with the self view (a tile,
// a small picture on the phone), the speaker large, a screen share, and
// audio only. Written to e2e/screenshots/ for people to look at, with
// the layout checks of the other screens (named controls, no sideways
// scrolling).
func videoScreens(t *testing.T, b *bench) {
	s, room := videoRoom(t, "gallery", "open", 4)
	org := b.withCamera("A")
	if b.e == firefoxEngine {
		org.preload(canvasScreenJS)
	}
	org.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, org)
	var others []*page
	for _, name := range []string{"Bo", "Cy"} {
		p := b.withCamera(name)
		p.joinVideo(room.Link, name)
		p.cameraOn()
		others = append(others, p)
	}
	org.cameraOn()
	for _, p := range others {
		org.waitSlot("Ana sees "+p.name, "camera", eval[string](p, `window.palabre.self.id`))
	}
	playing := func(n int) string {
		return fmt.Sprintf(`[...document.querySelectorAll('figure.video-tile:not([hidden]) video')].filter(v => v.videoWidth > 0).length >= %d`, n)
	}
	shots := func(name string, ready string) {
		for _, size := range []struct {
			name string
			w, h int
		}{{"1280", 1280, 860}, {"360", 360, 740}} {
			org.viewport(size.w, size.h)
			org.waitFor("the width", fmt.Sprintf(`window.innerWidth === %d`, size.w))
			for _, lang := range []string{"en", "fr"} {
				org.choose("#lang", lang)
				org.waitFor("the language", fmt.Sprintf(`document.documentElement.lang === %q`, lang))
				org.run(`document.getElementById('video-stage').scrollIntoView()`)
				org.waitFor(name+" drawn at "+size.name+" px", ready)
				time.Sleep(300 * time.Millisecond) // frames, after the redraw
				checkLayout(t, org, name+" at "+size.name+" px")
				org.screenshot(fmt.Sprintf("video-%s-%s-%s.png", name, lang, size.name))
			}
		}
	}
	shots("grid", playing(2))
	org.click("#video-view")
	shots("speaker", `!!document.querySelector('#video-main figure.is-main')`+" && "+playing(2))
	org.click("#video-view")
	org.click("#screen-toggle")
	org.waitFor("Ana shares her screen", `window.palabre.video.screen`)
	shots("screen", `!document.getElementById('self-screen').hidden && document.getElementById('self-screen').classList.contains('is-main')`)
	org.click("#screen-toggle")
	org.click("#audio-only")
	shots("audio-only", `!document.getElementById('video-audio-only-note').hidden`)
	org.click("#audio-only")
	checkOnlyServer(t, s.URL, append([]*page{org}, others...)...)
}

// denyCameraJS (a preload script) makes the browser refuse the camera
// as a person who clicked "Block" would (the microphone still works).
const denyCameraJS = `(() => {
	const md = navigator.mediaDevices;
	if (!md) return;
	const gum = md.getUserMedia.bind(md);
	md.getUserMedia = (c) => c && c.video ? Promise.reject(new DOMException('Permission denied', 'NotAllowedError')) : gum(c);
})()`

// Refusals said in plain words: the camera blocked in the browser, the
// room's camera cap reached (set by its organizer), and the room made
// audio only while a camera is on (it stops, and the people are told).
func videoRefusals(t *testing.T, b *bench) {
	s, room := videoRoom(t, "strict", "open", 4)
	org := b.withCamera("A")
	org.joinVideo(room.OrganizerLink, "Ana")
	allowVideo(t, org)
	org.choose("#max-cameras", "1")
	org.waitFor("the room's camera cap is 1", `(() => document.getElementById('max-cameras').value === '1')()`)
	bb := b.withCamera("B")
	bb.joinVideo(room.Link, "Bo")
	blocked := b.person("C")
	blocked.preload(denyCameraJS)
	blocked.joinVideo(room.Link, "Cy")

	blocked.click("#camera-toggle")
	blocked.waitFor("the blocked camera is explained", `/allow|autorisez/i.test(document.getElementById('error').textContent)`)
	if eval[bool](blocked, `window.palabre.video.camera`) {
		t.Error("a blocked camera counts as on")
	}

	// Ana's camera, from the keyboard: Tab to the button, Space (an open
	// room: Space is no talk key there).
	tabTo(t, org, "camera-toggle")
	org.space(true)
	org.space(false)
	if !waitTrue(org, `window.palabre.video.camera`) {
		t.Fatalf("Space on the camera button: camera off; focus on %q, error %q, info %q, busy %v", eval[string](org, `document.activeElement.id`), eval[string](org, `document.getElementById('error').textContent`), eval[string](org, `document.getElementById('info').textContent`), eval[bool](org, `document.getElementById('camera-toggle').disabled`))
	}
	bb.click("#camera-toggle")
	bb.waitFor("the cap is explained", `document.getElementById('error').textContent.includes('(1)')`)
	if eval[bool](bb, `window.palabre.video.camera`) {
		t.Error("a refused camera counts as on")
	}
	if n := eval[float64](bb, `document.querySelectorAll('#self-view:not([hidden])').length`); n != 0 {
		t.Error("a refused camera shows in the self view")
	}

	// Audio only: Ana's camera goes off, and everyone's video with it.
	org.click("#video-room-toggle")
	org.waitFor("Ana's camera stops", `!window.palabre.video.camera`)
	// Told why: the room made audio only, or the camera turned off (which
	// of the room and camera events comes first).
	org.waitFor("Ana is told", `/audio only|turned off/i.test(document.getElementById('info').textContent)`)
	for _, p := range []*page{org, bb, blocked} {
		p.waitFor(p.name+" shows no video any more", "!"+visible("#video-stage"))
	}
	checkOnlyServer(t, s.URL, org, bb, blocked)
}
