package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit/testserver"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// scenarios are the browser tests. TestChromium, TestFirefox and
// TestWebKit each run all of them in their engine, as subtests
// (TestFirefox/PushToTalk); a scenario that makes calls skips in WebKitGTK,
// which has no WebRTC. To add one: write func(t *testing.T, b *bench)
// over b.person and page, and add a line here (README.md, "Adding a
// browser test"). The room's life (issue 14) is roomLifeScenarios.
var scenarios = append([]scenario{
	// Calls.
	{name: "PushToTalk", webrtc: true, run: pushToTalk},
	{name: "WithOtherEngine", webrtc: true, engines: []string{"firefox"}, why: "Firefox and Chromium in one room, both ways: once is enough", run: withOtherEngine},
	{name: "AndGoClient", webrtc: true, run: andGoClient},
	{name: "JoinsWhileSomeoneTalks", webrtc: true, run: joinsWhileSomeoneTalks},
	{name: "ThroughTURN", webrtc: true, run: throughTURN},
	{name: "WrongPassword", webrtc: true, run: wrongPassword},
	{name: "Reconnects", webrtc: true, run: reconnects},
	{name: "OrganizerGrantsRevokesKicks", webrtc: true, run: organizerGrantsRevokesKicks},
	{name: "NarrowAndWide", webrtc: true, run: narrowAndWide},
	{name: "FollowsRedirect", webrtc: true, run: followsRedirect},
	{name: "Failover", webrtc: true, run: failover},
	{name: "FollowsDrain", webrtc: true, run: followsDrain},
	// The media plane of our own, sfu/rtc, with a minimal page (rtc_test.go).
	{name: "OwnTransport", webrtc: true, run: ownTransport},
	// Video (video_test.go).
	{name: "VideoOffer", webrtc: true, run: videoOffer},
	{name: "VideoPublishes", webrtc: true, run: videoPublishes},
	{name: "VideoFollowsSpeaker", webrtc: true, run: videoFollowsSpeaker},
	{name: "VideoScreenShare", webrtc: true, run: videoScreenShare},
	{name: "VideoHiddenTile", webrtc: true, run: videoHiddenTile},
	{name: "VideoRefusals", webrtc: true, run: videoRefusals},
	{name: "VideoScreens", webrtc: true, run: videoScreens},
	// What a browser shows without a call (all engines).
	{name: "OverHTTPS", run: overHTTPS},
	{name: "Home", run: home},
	{name: "CreatesRoom", run: createsRoom},
	{name: "PrejoinMicrophone", run: prejoinMicrophone},
	{name: "TalkKeys", run: talkKeys},
	{name: "WithoutWebRTC", run: withoutWebRTC},
}, roomLifeScenarios...)

// micEnabledJS is true when the page sends its microphone: the track on the
// first transceiver is enabled.
const micEnabledJS = `(() => {
	const pc = window.palabre.pc;
	if (!pc) return false;
	const t = pc.getTransceivers()[0];
	return !!(t && t.sender.track && t.sender.track.enabled && t.sender.track.readyState === 'live');
})()`

// playingJS is true when the page's slot <audio> elements play a stream
// (their clocks advance).
const playingJS = `(async () => {
	const els = [...document.querySelectorAll('#audio-outputs audio')];
	if (els.length === 0 || els.some(e => e.paused || !e.srcObject)) return false;
	const t0 = els.map(e => e.currentTime);
	await new Promise(r => setTimeout(r, 300));
	return els.every((e, i) => e.currentTime > t0[i]);
})()`

const roomMeterJS = `+document.getElementById('room-level').getAttribute('aria-valuenow') > 0`

// Two people join a password push-to-talk room through the UI. While A
// holds Space, B receives audio with energy in it, sees A marked as
// speaking and is told by its live region, and its <audio> elements play;
// after the release all of that stops. Then B holds the talk button with
// the mouse, and A hears B the same way.
func pushToTalk(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "choir", Mode: "ptt", Password: "la-la-la"})
	a := b.person("A")
	bb := b.person("B")
	a.joinRoom(room.Link, "Alice", "la-la-la")
	bb.joinRoom(room.Link, "Bob", "la-la-la")
	aID := eval[string](a, `window.palabre.self.id`)
	bID := eval[string](bb, `window.palabre.self.id`)

	if eval[bool](a, micEnabledJS) {
		t.Error("A's microphone is live before pressing push-to-talk")
	}
	before := bb.audio()
	time.Sleep(700 * time.Millisecond)
	if idle := bb.audio(); idle.Bytes != before.Bytes {
		t.Errorf("B received %v bytes of audio while nobody held the floor", idle.Bytes-before.Bytes)
	}

	// A holds Space.
	a.space(true)
	a.waitFor("A's microphone is live", micEnabledJS)
	if a.sound {
		a.waitFor("A's level meter moves", roomMeterJS)
	} else {
		t.Log("no pulseaudio: the level meter is not checked (Firefox keeps AudioContexts suspended without a sound device)")
	}
	bb.waitFor("B marks A as speaking", speakingJS(aID))
	bb.waitFor("B's live region announces A", `(document.getElementById('announcer').textContent || '').includes('Alice')`)
	bb.waitAudio("B receives A's audio", true)
	// B's slot elements play it: the Join click is what lets them.
	bb.waitFor("B's audio elements play", playingJS)
	if eval[bool](bb, visible("#sound-blocked")) {
		t.Error("B is asked to enable sound")
	}
	a.screenshot("room-en.png")
	// Switching the language mid-talk must not lose the key's release.
	a.choose("#lang", "fr")
	a.waitFor("French interface", `document.documentElement.lang === 'fr'`)
	a.screenshot("room-fr.png")
	a.space(false)
	a.waitFor("A's microphone is off", "!("+micEnabledJS+")")
	bb.waitFor("B no longer marks A as speaking", "!("+speakingJS(aID)+")")
	bb.waitSilence("B kept receiving audio after A released Space")

	// B holds the talk button with the mouse.
	bb.holdTalkButton()
	bb.waitFor("B's microphone is live", micEnabledJS)
	if pressed := eval[string](bb, `document.getElementById('ptt').getAttribute('aria-pressed')`); pressed != "true" {
		t.Errorf("the talk button says aria-pressed=%q while held", pressed)
	}
	a.waitFor("A marks B as speaking", speakingJS(bID))
	a.waitAudio("A receives B's audio", true)
	bb.releaseTalkButton()
	bb.waitFor("B's microphone is off", "!("+micEnabledJS+")")
	a.waitFor("A no longer marks B as speaking", "!("+speakingJS(bID)+")")
	a.waitSilence("A kept receiving audio after B released the button")
	checkOnlyServer(t, s.URL, a, bb)
}

// Firefox and Chromium in one push-to-talk room hear each other, both
// ways (bytes and audio energy); speaking marks come and go.
func withOtherEngine(t *testing.T, b *bench) {
	other := chromiumEngine
	if b.e == chromiumEngine {
		other = firefoxEngine
	}
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "two-engines", Mode: "ptt"})
	f := b.person(b.e.label)
	c := b.personIn(other, variant{}, other.label)
	f.joinRoom(room.Link, "Fox", "")
	c.joinRoom(room.Link, "Chrome", "")
	fID := eval[string](f, `window.palabre.self.id`)
	cID := eval[string](c, `window.palabre.self.id`)

	for _, dir := range []struct{ talker, listener *page }{{f, c}, {c, f}} {
		talker, listener := dir.talker, dir.listener
		id := fID
		if talker == c {
			id = cID
		}
		talker.space(true)
		if talker.sound {
			talker.waitFor(talker.name+"'s level meter moves", roomMeterJS)
		}
		listener.waitFor(listener.name+" marks "+talker.name+" as speaking", speakingJS(id))
		listener.waitAudio(listener.name+" receives "+talker.name+"'s audio", true)
		talker.space(false)
		listener.waitFor(listener.name+" no longer marks "+talker.name+" as speaking", "!("+speakingJS(id)+")")
		listener.waitSilence(listener.name + " kept receiving audio after " + talker.name + " released Space")
	}
	checkOnlyServer(t, s.URL, f, c)
}

// goSpeaker is a Go client joined to room, its media connected.
func goSpeaker(t *testing.T, serverURL, room string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := client.Dial(ctx, serverURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if _, err := g.Join(ctx, client.JoinRequest{Room: room, Name: "Go bot"}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return g
}

func heardFrom(c *client.Client, source uint32) uint64 {
	var n uint64
	for _, s := range c.Stats() {
		n += s.BySource[source]
	}
	return n
}

// A browser and a Go client in the same push-to-talk room hear each other.
func andGoClient(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "mixed", Mode: "ptt"})
	p := b.person("browser")
	p.joinRoom(room.Link, "Browser", "")
	browserSource := uint32(eval[float64](p, `window.palabre.self.source`))
	g := goSpeaker(t, s.URL, "mixed")

	// Go speaks, the browser hears.
	ctx := context.Background()
	if err := g.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("go"), 30)); err != nil {
		t.Fatal(err)
	}
	p.waitAudio("the browser receives the Go client's audio", false)
	g.StopPublishing()
	if err := g.PTTOff(ctx); err != nil {
		t.Fatal(err)
	}

	// The browser speaks, Go hears.
	p.space(true)
	deadline := time.Now().Add(15 * time.Second)
	for heardFrom(g, browserSource) < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("the Go client heard %d packets from the browser", heardFrom(g, browserSource))
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.space(false)
	checkOnlyServer(t, s.URL, p)
}

// Someone who arrives while another participant talks sees who it is at
// once, from the joined message (its speakers), not only at the next
// speaking event: the speaker is marked in the list and the screen
// reader is told, before the page even has media.
func joinsWhileSomeoneTalks(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "lecture", Mode: "ptt"})
	g := goSpeaker(t, s.URL, "lecture")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("lecture"), 30)); err != nil {
		t.Fatal(err)
	}
	defer g.StopPublishing()
	// The lecturer is on an audio slot (the server tells everyone, the
	// lecturer included); from now on no slot changes, so no speaking
	// event will tell a newcomer.
	lecturer := g.Self().ID
	if _, err := g.WaitEvent(ctx, func(m proto.Message) bool {
		return m.Type == proto.TypeSpeaking && m.Speaker != nil && m.Speaker.Participant == lecturer
	}); err != nil {
		t.Fatalf("the lecturer is never heard on a slot: %v", err)
	}
	p := b.person("late")
	p.join(room.Link, "Late", "")
	p.waitFor("in the room", `window.palabre.state === 'room'`)
	if !eval[bool](p, speakingJS(lecturer)) {
		t.Error("the lecturer is not marked as speaking on arrival (joined.speakers ignored, or not sent by the server)")
	}
	if said := eval[string](p, `document.getElementById('announcer').textContent || ''`); !strings.Contains(said, "Go bot") {
		t.Errorf("the screen reader is told %q on arrival, want the lecturer named", said)
	}
	// And the mark stays while the lecturer talks.
	p.waitFor("media connected", `!!(window.palabre.pc && window.palabre.pc.connectionState === 'connected')`)
	if !eval[bool](p, speakingJS(lecturer)) {
		t.Error("the lecturer's speaking mark went away while they talk")
	}
	p.waitAudio("the late joiner hears the lecturer", false)
	checkOnlyServer(t, s.URL, p)
}

// forceRelayJS makes every RTCPeerConnection of the page relay-only, as if
// the browser's network let nothing but TURN through. It runs before the
// page's own scripts (page.preload).
const forceRelayJS = `(() => {
	const Native = window.RTCPeerConnection;
	window.RTCPeerConnection = function (cfg, ...rest) {
		return new Native(Object.assign({}, cfg, {iceTransportPolicy: 'relay'}), ...rest);
	};
	window.RTCPeerConnection.prototype = Native.prototype;
})()`

// relayPairJS is true when the page's media flows through a TURN relay.
const relayPairJS = `(async () => {
	const stats = await window.palabre.pc.getStats();
	let local = null;
	stats.forEach(r => { if (r.type === 'transport' && r.selectedCandidatePairId) local = stats.get(r.selectedCandidatePairId).localCandidateId; });
	if (!local) stats.forEach(r => { if (r.type === 'candidate-pair' && (r.selected || r.nominated) && r.state === 'succeeded') local = r.localCandidateId; });
	return !!local && stats.get(local).candidateType === 'relay';
})()`

// A browser whose network allows only TURN joins through the bundled TURN
// server and hears a Go client.
func throughTURN(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "firewalled", Mode: "ptt"})
	p := b.person("relayed")
	p.preload(forceRelayJS)
	p.joinRoom(room.Link, "Relayed", "")
	if !eval[bool](p, relayPairJS) {
		t.Fatal("media does not go through the relay")
	}
	g := goSpeaker(t, s.URL, "firewalled")
	if err := g.PTTOn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("go"), 30)); err != nil {
		t.Fatal(err)
	}
	defer g.StopPublishing()
	p.waitAudio("the relayed browser receives audio", false)
	checkOnlyServer(t, s.URL, p)
}

func wrongPassword(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "locked-choir", Mode: "ptt", Password: "right"})
	p := b.person("P")
	p.join(room.Link, "Mallory", "wrong")
	p.waitFor("an error message", `(document.getElementById('error').textContent || '').trim().length > 0`)
	msg := eval[string](p, `document.getElementById('error').textContent`)
	if !strings.Contains(strings.ToLower(msg), "password") && !strings.Contains(strings.ToLower(msg), "mot de passe") {
		t.Errorf("error message %q does not mention the password", msg)
	}
	if st := eval[string](p, `window.palabre.state`); st != "prejoin" {
		t.Errorf("state %q after a wrong password, want prejoin", st)
	}
	p.waitVisible("#prejoin")
	p.screenshot("prejoin-error-en.png")
	checkOnlyServer(t, s.URL, p)
}

// When the connection drops, the app says so and comes back by itself.
func reconnects(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "flaky", Mode: "ptt"})
	p := b.person("P")
	p.joinRoom(room.Link, "Robin", "")
	firstID := eval[string](p, `window.palabre.self.id`)
	p.run(`window.palabre.ws.close()`)
	p.waitFor("the reconnecting banner", `(() => { const b = document.getElementById('reconnecting'); return !!b && !b.hidden && getComputedStyle(b).display !== 'none'; })()`)
	p.waitFor("back in the room with media", `window.palabre.state === 'room' && !!window.palabre.pc && window.palabre.pc.connectionState === 'connected' && !!window.palabre.self && window.palabre.self.id !== `+fmt.Sprintf("%q", firstID))
	p.waitFor("the banner is gone", `(() => { const b = document.getElementById('reconnecting'); return !b || b.hidden || getComputedStyle(b).display === 'none'; })()`)
	checkOnlyServer(t, s.URL, p)
}

// In a moderated room the organizer gives B the floor and takes it back
// (B's microphone follows), then removes B from the participant list
// (after saying yes to "are you sure?"); B is told.
func organizerGrantsRevokesKicks(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "assembly", Mode: "moderated"})
	org := b.person("organizer")
	bb := b.person("B")
	org.joinRoom(room.OrganizerLink, "Chair", "")
	if !eval[bool](org, `window.palabre.self.organizer`) {
		t.Fatal("the organizer link did not make an organizer")
	}
	if strings.Contains(eval[string](org, `location.href`), room.OrganizerSecret) {
		t.Error("the organizer secret stays in the address bar")
	}
	bb.joinRoom(room.Link, "Bob", "")
	bID := eval[string](bb, `window.palabre.self.id`)
	// In a moderated room B talks only when given the floor: its
	// microphone follows the organizer's grant and revoke.
	if eval[bool](bb, micEnabledJS) {
		t.Error("B's microphone is live before being given the floor")
	}
	action := func(a string) string {
		return fmt.Sprintf(`#participants li[data-participant-id=%q] button[data-action=%q]`, bID, a)
	}
	org.click(action("grant"))
	bb.waitFor("B's microphone is live once granted", micEnabledJS)
	org.click(action("revoke"))
	bb.waitFor("B's microphone is off once revoked", "!("+micEnabledJS+")")
	org.click(action("kick"))
	// Removing asks first; Cancel has the focus.
	org.waitFor("the organizer is asked to confirm", `document.getElementById('confirm').open && document.activeElement === document.getElementById('confirm-cancel')`)
	if eval[string](bb, `window.palabre.state`) != "room" {
		t.Error("B was removed before the organizer confirmed")
	}
	org.click("#confirm-ok")
	bb.waitVisible("#ended")
	bb.waitFor("B is told it was removed", `window.palabre.state === 'ended'`)
	org.waitFor("B leaves the organizer's list", fmt.Sprintf(`!document.querySelector('#participants li[data-participant-id=%q]')`, bID))
	checkOnlyServer(t, s.URL, org, bb)
}

// unnamedJS lists the visible controls without an accessible name.
const unnamedJS = `[...document.querySelectorAll('button, select, input')]
	.filter(e => e.offsetParent !== null)
	.filter(e => !((e.getAttribute('aria-label') || e.textContent || '').trim() || (e.labels && e.labels.length) || e.getAttribute('aria-labelledby')))
	.map(e => e.outerHTML.slice(0, 80))`

// checkLayout fails if a visible control has no accessible name, a
// button kept in its place but not offered shows a label, or the page
// scrolls sideways.
func checkLayout(t *testing.T, p *page, where string) {
	t.Helper()
	if unnamed := eval[[]string](p, unnamedJS); len(unnamed) > 0 {
		t.Errorf("%s: controls without an accessible name: %q", where, unnamed)
	}
	// A row button not offered keeps its place hidden, labels included.
	if shown := eval[[]string](p, `[...document.querySelectorAll('.is-absent, .is-absent *')].filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.textContent)`); len(shown) > 0 {
		t.Errorf("%s: hidden buttons show their labels: %q", where, shown)
	}
	if eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Errorf("%s scrolls sideways: %v px wide in %v", where, eval[float64](p, `document.documentElement.scrollWidth`), eval[float64](p, `window.innerWidth`))
	}
}

// The room: every visible control has an accessible name, it fits a 360
// px wide phone screen without sideways scrolling, and looks right there
// and at desktop width (screenshots in e2e/screenshots/).
func narrowAndWide(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "phones", Mode: "ptt"})
	p := b.person("phone")
	p.viewport(360, 740)
	p.joinRoom(room.OrganizerLink, "Sam", "")
	if w := eval[float64](p, `window.innerWidth`); w != 360 {
		t.Fatalf("viewport %v px wide, want 360", w)
	}
	checkLayout(t, p, "the room at 360 px")
	if p.sound {
		p.waitFor("the level meter shows the microphone", `+document.getElementById('room-level').getAttribute('aria-valuenow') > 0`)
	}
	p.screenshot("room-360.png")
	p.viewport(1280, 800)
	p.waitFor("the desktop width", `window.innerWidth === 1280`)
	checkLayout(t, p, "the room at 1280 px")
	p.screenshot("room-1280.png")
	checkOnlyServer(t, s.URL, p)
}

// Over HTTPS (httptest's self-signed certificate, accepted by the
// browsers' settings) the app loads and asks the server about the room;
// where it can call, it joins and gets media, the WebSocket being wss.
func overHTTPS(t *testing.T, b *bench) {
	s := testserver.StartTLS(t)
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("server URL %s", s.URL)
	}
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "secure", Mode: "ptt", Password: "s3cret"})
	p := b.person("secure")
	if !b.e.webrtc {
		p.navigate(room.Link)
		p.waitVisible("#prejoin")
		p.waitVisible("#password-field") // the room's status came over HTTPS
		if !eval[bool](p, `window.isSecureContext`) {
			t.Error("the page over HTTPS is no secure context")
		}
		checkOnlyServer(t, s.URL, p)
		return
	}
	p.joinRoom(room.Link, "Secure", "s3cret")
	if proto := eval[string](p, `new URL(window.palabre.ws.url).protocol`); proto != "wss:" {
		t.Errorf("WebSocket protocol %q, want wss:", proto)
	}
	checkOnlyServer(t, s.URL, p)
}
