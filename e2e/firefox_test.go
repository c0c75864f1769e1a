package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit/testserver"
	"palabre/signaling"
)

// Two people in Firefox join a password push-to-talk room. While A holds
// Space, B receives A's audio and marks A as speaking; after the release
// both stop. Then B holds the talk button with the mouse, and A hears B.
func TestFirefoxPushToTalk(t *testing.T) {
	if !isolated(t) {
		return
	}
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "choir", Mode: "ptt", Password: "la-la-la"})
	ff := newFirefox(t)
	a := newFxPage(t, ff, "A")
	b := newFxPage(t, ff, "B")
	a.joinRoom(room.Link, "Alice", "la-la-la")
	b.joinRoom(room.Link, "Bob", "la-la-la")
	aID := fxEval[string](a, `window.palabre.self.id`)
	bID := fxEval[string](b, `window.palabre.self.id`)
	speaking := func(id string) string {
		return fmt.Sprintf(`(document.querySelector('#participants li[data-participant-id=%q]') || {dataset: {}}).dataset.speaking === 'true'`, id)
	}

	if fxEval[bool](a, micEnabledJS) {
		t.Error("A's microphone is live before pressing push-to-talk")
	}
	before := b.audio()
	time.Sleep(700 * time.Millisecond)
	if idle := b.audio(); idle.Bytes != before.Bytes {
		t.Errorf("B received %v bytes of audio while nobody held the floor", idle.Bytes-before.Bytes)
	}

	// A holds Space.
	a.space(true)
	a.waitFor("A's microphone is live", micEnabledJS)
	if a.sound {
		// The level meter shows the fake microphone's tone.
		a.waitFor("A's level meter moves", `+document.getElementById('room-level').getAttribute('aria-valuenow') > 0`)
	} else {
		t.Log("no pulseaudio: the level meter is not checked (Firefox keeps AudioContexts suspended without a sound device)")
	}
	b.waitFor("B marks A as speaking", speaking(aID))
	b.waitFor("B's live region announces A", `(document.getElementById('announcer').textContent || '').includes('Alice')`)
	start := b.audio()
	b.waitFor("B receives A's audio", fmt.Sprintf(`(async () => (await (%s)).bytes > %v + 2000)()`, statsJS, start.Bytes))
	t.Logf("B's inbound audio while A talks: %+v (from %+v)", b.audio(), start)
	// And B's slot elements play it (Firefox's autoplay rules are its
	// defaults: the Join click is what lets them play).
	b.waitFor("B's audio elements play", playingJS)
	if fxEval[bool](b, visibleJS("sound-blocked")) {
		t.Error("B is asked to enable sound")
	}
	a.space(false)
	a.waitFor("A's microphone is off", "!("+micEnabledJS+")")
	b.waitFor("B no longer marks A as speaking", "!("+speaking(aID)+")")
	time.Sleep(500 * time.Millisecond) // packets in flight
	settled := b.audio()
	time.Sleep(800 * time.Millisecond)
	if after := b.audio(); after.Bytes != settled.Bytes {
		t.Errorf("B kept receiving audio after A released Space: %v bytes", after.Bytes-settled.Bytes)
	}

	// B holds the talk button with the mouse.
	startA := a.audio()
	b.holdTalkButton()
	b.waitFor("B's microphone is live", micEnabledJS)
	if pressed := fxEval[string](b, `document.getElementById('ptt').getAttribute('aria-pressed')`); pressed != "true" {
		t.Errorf("the talk button says aria-pressed=%q while held", pressed)
	}
	a.waitFor("A marks B as speaking", speaking(bID))
	a.waitFor("A receives B's audio", fmt.Sprintf(`(async () => (await (%s)).bytes > %v + 2000)()`, statsJS, startA.Bytes))
	b.releaseTalkButton()
	b.waitFor("B's microphone is off", "!("+micEnabledJS+")")
	a.waitFor("A no longer marks B as speaking", "!("+speaking(bID)+")")
	time.Sleep(500 * time.Millisecond)
	settled = a.audio()
	time.Sleep(800 * time.Millisecond)
	if after := a.audio(); after.Bytes != settled.Bytes {
		t.Errorf("A kept receiving audio after B released the button: %v bytes", after.Bytes-settled.Bytes)
	}
	fxCheckOnlyServer(t, s.URL, a, b)
}

// playingJS is true when the page's slot <audio> elements play a stream
// (their clocks advance).
const playingJS = `(async () => {
	const els = [...document.querySelectorAll('#audio-outputs audio')];
	if (els.length === 0 || els.some(e => e.paused || !e.srcObject)) return false;
	const t0 = els.map(e => e.currentTime);
	await new Promise(r => setTimeout(r, 300));
	return els.every((e, i) => e.currentTime > t0[i]);
})()`

// Firefox and Chromium in one push-to-talk room hear each other, both
// ways. Chromium runs inside the test's namespace too (the whole test
// process is in it).
func TestFirefoxAndChromium(t *testing.T) {
	if !isolated(t) {
		return
	}
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "two-engines", Mode: "ptt"})
	f := newFxPage(t, newFirefox(t), "firefox")
	c := newPage(t, newBrowser(t), "chromium")
	f.joinRoom(room.Link, "Fox", "")
	c.joinRoom(room.Link, "Chrome", "")
	fID := fxEval[string](f, `window.palabre.self.id`)
	cID := eval[string](c, `window.palabre.self.id`)
	speaking := func(id string) string {
		return fmt.Sprintf(`(document.querySelector('#participants li[data-participant-id=%q]') || {dataset: {}}).dataset.speaking === 'true'`, id)
	}

	// Firefox talks, Chromium hears.
	start := c.audio()
	f.space(true)
	c.waitFor("Chromium marks Firefox as speaking", speaking(fID))
	c.waitFor("Chromium receives Firefox's audio", fmt.Sprintf(`(async () => { const s = await (%s); return s.bytes > %v + 2000 && s.energy > %v; })()`, statsJS, start.Bytes, start.Energy))
	f.space(false)
	c.waitFor("Chromium no longer marks Firefox as speaking", "!("+speaking(fID)+")")
	time.Sleep(500 * time.Millisecond)
	settled := c.audio()
	time.Sleep(800 * time.Millisecond)
	if after := c.audio(); after.Bytes != settled.Bytes {
		t.Errorf("Chromium kept receiving audio after Firefox released Space: %v bytes", after.Bytes-settled.Bytes)
	}

	// Chromium talks, Firefox hears.
	fStart := f.audio()
	c.space(true)
	c.waitFor("Chromium's level meter moves", `+document.getElementById('room-level').getAttribute('aria-valuenow') > 0`)
	f.waitFor("Firefox marks Chromium as speaking", speaking(cID))
	f.waitFor("Firefox receives Chromium's audio", fmt.Sprintf(`(async () => { const s = await (%s); return s.bytes > %v + 2000 && s.energy > %v; })()`, statsJS, fStart.Bytes, fStart.Energy))
	c.space(false)
	f.waitFor("Firefox no longer marks Chromium as speaking", "!("+speaking(cID)+")")
	time.Sleep(500 * time.Millisecond)
	fSettled := f.audio()
	time.Sleep(800 * time.Millisecond)
	if after := f.audio(); after.Bytes != fSettled.Bytes {
		t.Errorf("Firefox kept receiving audio after Chromium released Space: %v bytes", after.Bytes-fSettled.Bytes)
	}
	checkOnlyServer(t, s.URL, c)
	fxCheckOnlyServer(t, s.URL, f)
}

// The room in Firefox: every visible control has an accessible name, it
// fits a 360 px wide phone screen without sideways scrolling, and looks
// right there and at desktop width (screenshots in e2e/screenshots/).
func TestFirefoxNarrowAndWide(t *testing.T) {
	if !isolated(t) {
		return
	}
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "phones", Mode: "ptt"})
	p := newFxPage(t, newFirefox(t), "phone")
	p.viewport(360, 740)
	p.joinRoom(room.OrganizerLink, "Sam", "")
	if w := fxEval[float64](p, `window.innerWidth`); w != 360 {
		t.Fatalf("viewport %v px wide, want 360", w)
	}
	unnamed := fxEval[[]string](p, `[...document.querySelectorAll('button, select, input')]
		.filter(e => e.offsetParent !== null)
		.filter(e => !((e.getAttribute('aria-label') || e.textContent || '').trim() || (e.labels && e.labels.length) || e.getAttribute('aria-labelledby')))
		.map(e => e.outerHTML.slice(0, 80))`)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	if fxEval[bool](p, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Errorf("the room view scrolls sideways at 360 px: %v px wide", fxEval[float64](p, `document.documentElement.scrollWidth`))
	}
	start := time.Now()
	if p.sound {
		p.waitFor("the level meter shows the microphone", `+document.getElementById('room-level').getAttribute('aria-valuenow') > 0`)
		t.Logf("the level meter moved %v after the media connected", time.Since(start).Round(time.Millisecond))
	}
	p.screenshot("firefox-room-360.png")
	p.viewport(1280, 800)
	p.waitFor("the desktop width", `window.innerWidth === 1280`)
	if fxEval[bool](p, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Errorf("the room view scrolls sideways at 1280 px")
	}
	p.screenshot("firefox-room-1280.png")
	fxCheckOnlyServer(t, s.URL, p)
}

// A Firefox whose network allows only TURN joins through the bundled TURN
// server and hears a Go client.
func TestFirefoxThroughTURN(t *testing.T) {
	if !isolated(t) {
		return
	}
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "firewalled", Mode: "ptt"})
	ff := newFirefox(t)
	p := newFxPage(t, ff, "relayed")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := ff.AddPreloadScript(ctx, "() => { "+forceRelayJS+"; }", p.bc.UserContext)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	p.joinRoom(room.Link, "Relayed", "")
	if !fxEval[bool](p, relayPairJS) {
		t.Fatal("media does not go through the relay")
	}
	g := goSpeaker(t, s.URL, "firewalled")
	before := p.audio()
	if err := g.PTTOn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("go"), 30)); err != nil {
		t.Fatal(err)
	}
	defer g.StopPublishing()
	p.waitFor("the relayed Firefox receives audio", fmt.Sprintf(`(async () => (await (%s)).bytes > %v + 2000)()`, statsJS, before.Bytes))
	fxCheckOnlyServer(t, s.URL, p)
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

// Over HTTPS (httptest's self-signed certificate, accepted by the BiDi
// session's acceptInsecureCerts) the app loads, joins and gets media, the
// WebSocket being wss.
func TestFirefoxOverHTTPS(t *testing.T) {
	if !isolated(t) {
		return
	}
	s := testserver.StartTLS(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "secure", Mode: "ptt"})
	p := newFxPage(t, newFirefox(t), "secure")
	p.joinRoom(room.Link, "Secure", "")
	if proto := fxEval[string](p, `new URL(window.palabre.ws.url).protocol`); proto != "wss:" {
		t.Errorf("WebSocket protocol %q, want wss:", proto)
	}
	fxCheckOnlyServer(t, s.URL, p)
}
