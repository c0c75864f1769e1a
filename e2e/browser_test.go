package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"palabre/client"
	"palabre/internal/testkit/testserver"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// Two people join a password push-to-talk room through the UI. While A
// holds Space, B receives audio with energy in it and sees A marked as
// speaking; after the release both stop.
func TestBrowserPushToTalk(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "choir", Mode: "ptt", Password: "la-la-la"})
	browser := newBrowser(t)
	a := newPage(t, browser, "A")
	b := newPage(t, browser, "B")
	a.joinRoom(room.Link, "Alice", "la-la-la")
	b.joinRoom(room.Link, "Bob", "la-la-la")
	aID := eval[string](a, `window.palabre.self.id`)
	speakingInB := fmt.Sprintf(`(document.querySelector('#participants li[data-participant-id=%q]') || {dataset: {}}).dataset.speaking === 'true'`, aID)

	if on := eval[bool](a, micEnabledJS); on {
		t.Error("A's microphone is live before pressing push-to-talk")
	}
	before := b.audio()
	time.Sleep(700 * time.Millisecond)
	if idle := b.audio(); idle.Bytes != before.Bytes {
		t.Errorf("B received %v bytes of audio while nobody held the floor", idle.Bytes-before.Bytes)
	}

	a.space(true)
	a.waitFor("A's microphone is live", micEnabledJS)
	b.waitFor("B marks A as speaking", speakingInB)
	b.waitFor("B's live region announces A", `(document.getElementById('announcer').textContent || '').includes('Alice')`)
	start := b.audio()
	b.waitFor("B receives A's audio", fmt.Sprintf(`(async () => { const s = await (%s); return s.bytes > %v + 2000 && s.energy > %v; })()`, statsJS, start.Bytes, start.Energy))
	a.screenshot("room-en.png")
	// Switching the language mid-talk must not lose the key's release.
	a.do(chromedp.SetValue(chromedp.ID("lang"), "fr"), chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').dispatchEvent(new Event('change', {bubbles: true}))`))
	a.waitFor("French interface", `document.documentElement.lang === 'fr'`)
	a.screenshot("room-fr.png")

	a.space(false)
	a.waitFor("A's microphone is off", "!("+micEnabledJS+")")
	b.waitFor("B no longer marks A as speaking", "!("+speakingInB+")")
	time.Sleep(500 * time.Millisecond) // packets in flight
	settled := b.audio()
	time.Sleep(800 * time.Millisecond)
	if after := b.audio(); after.Bytes != settled.Bytes {
		t.Errorf("B kept receiving audio after A released push-to-talk: %v bytes", after.Bytes-settled.Bytes)
	}
	checkOnlyServer(t, s.URL, a, b)
}

// micEnabledJS is true when the page sends its microphone: the track on the
// first transceiver is enabled.
const micEnabledJS = `(() => {
	const pc = window.palabre.pc;
	if (!pc) return false;
	const t = pc.getTransceivers()[0];
	return !!(t && t.sender.track && t.sender.track.enabled && t.sender.track.readyState === 'live');
})()`

func TestBrowserWrongPassword(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "locked-choir", Mode: "ptt", Password: "right"})
	p := newPage(t, newBrowser(t), "P")
	p.join(room.Link, "Mallory", "wrong")
	p.waitFor("an error message", `(document.getElementById('error').textContent || '').trim().length > 0`)
	msg := eval[string](p, `document.getElementById('error').textContent`)
	if !strings.Contains(strings.ToLower(msg), "password") && !strings.Contains(strings.ToLower(msg), "mot de passe") {
		t.Errorf("error message %q does not mention the password", msg)
	}
	if st := eval[string](p, `window.palabre.state`); st != "prejoin" {
		t.Errorf("state %q after a wrong password, want prejoin", st)
	}
	p.do(chromedp.WaitVisible(chromedp.ID("prejoin")))
	p.screenshot("prejoin-error-en.png")
	checkOnlyServer(t, s.URL, p)
}

// In a moderated room the organizer gives B the floor and takes it back
// (B's microphone follows), then removes B from the participant list; B
// is told.
func TestBrowserOrganizerRemoves(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "assembly", Mode: "moderated"})
	browser := newBrowser(t)
	org := newPage(t, browser, "organizer")
	b := newPage(t, browser, "B")
	org.joinRoom(room.OrganizerLink, "Chair", "")
	if !eval[bool](org, `window.palabre.self.organizer`) {
		t.Fatal("the organizer link did not make an organizer")
	}
	if strings.Contains(eval[string](org, `location.href`), room.OrganizerSecret) {
		t.Error("the organizer secret stays in the address bar")
	}
	b.joinRoom(room.Link, "Bob", "")
	bID := eval[string](b, `window.palabre.self.id`)
	// In a moderated room B talks only when given the floor: its
	// microphone follows the organizer's grant and revoke.
	if eval[bool](b, micEnabledJS) {
		t.Error("B's microphone is live before being given the floor")
	}
	grant := fmt.Sprintf(`#participants li[data-participant-id=%q] button[data-action="grant"]`, bID)
	org.do(chromedp.WaitVisible(chromedp.CSS(grant)), chromedp.Click(chromedp.CSS(grant)))
	b.waitFor("B's microphone is live once granted", micEnabledJS)
	revoke := fmt.Sprintf(`#participants li[data-participant-id=%q] button[data-action="revoke"]`, bID)
	org.do(chromedp.WaitVisible(chromedp.CSS(revoke)), chromedp.Click(chromedp.CSS(revoke)))
	b.waitFor("B's microphone is off once revoked", "!("+micEnabledJS+")")

	kick := fmt.Sprintf(`#participants li[data-participant-id=%q] button[data-action="kick"]`, bID)
	org.do(chromedp.WaitVisible(chromedp.CSS(kick)), chromedp.Click(chromedp.CSS(kick)))
	b.do(chromedp.WaitVisible(chromedp.ID("ended")))
	b.waitFor("B is told it was removed", `window.palabre.state === 'ended'`)
	org.waitFor("B leaves the organizer's list", fmt.Sprintf(`!document.querySelector('#participants li[data-participant-id=%q]')`, bID))
	checkOnlyServer(t, s.URL, org, b)
}

// A browser and a Go client in the same push-to-talk room hear each other.
func TestBrowserAndGoClient(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "mixed", Mode: "ptt"})
	p := newPage(t, newBrowser(t), "browser")
	p.joinRoom(room.Link, "Browser", "")
	browserSource := uint32(eval[float64](p, `window.palabre.self.source`))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := client.Dial(ctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Join(ctx, client.JoinRequest{Room: "mixed", Name: "Go bot"}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	// Go speaks, the browser hears.
	before := p.audio()
	if err := g.PTTOn(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("go"), 30)); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the browser receives the Go client's audio", fmt.Sprintf(`(async () => (await (%s)).bytes > %v + 2000)()`, statsJS, before.Bytes))
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
func TestBrowserJoinsWhileSomeoneTalks(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "lecture", Mode: "ptt"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := client.Dial(ctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Join(ctx, client.JoinRequest{Room: "lecture", Name: "Lecturer"}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
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
	p := newPage(t, newBrowser(t), "late")
	p.join(room.Link, "Late", "")
	p.waitFor("in the room", `window.palabre.state === 'room'`)
	marked := fmt.Sprintf(`(document.querySelector('#participants li[data-participant-id=%q]') || {dataset: {}}).dataset.speaking === 'true'`, lecturer)
	if !eval[bool](p, marked) {
		t.Error("the lecturer is not marked as speaking on arrival (joined.speakers ignored, or not sent by the server)")
	}
	if said := eval[string](p, `document.getElementById('announcer').textContent || ''`); !strings.Contains(said, "Lecturer") {
		t.Errorf("the screen reader is told %q on arrival, want the lecturer named", said)
	}
	// And the mark stays while the lecturer talks.
	p.waitFor("media connected", `!!(window.palabre.pc && window.palabre.pc.connectionState === 'connected')`)
	if !eval[bool](p, marked) {
		t.Error("the lecturer's speaking mark went away while they talk")
	}
	checkOnlyServer(t, s.URL, p)
}

func heardFrom(c *client.Client, source uint32) uint64 {
	var n uint64
	for _, s := range c.Stats() {
		n += s.BySource[source]
	}
	return n
}

// The home page creates a room and hands out both links.
func TestBrowserCreatesRoom(t *testing.T) {
	s := startServer(t)
	p := newPage(t, newBrowser(t), "creator")
	p.do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("create-name")))
	p.screenshot("home-en.png")
	p.do(
		chromedp.SendKeys(chromedp.ID("create-name"), "book-club"),
		chromedp.SendKeys(chromedp.ID("create-password"), "chapter-one"),
		chromedp.SetValue(chromedp.ID("create-mode"), "ptt"),
		chromedp.Click(chromedp.ID("create-submit")),
		chromedp.WaitVisible(chromedp.ID("participant-link")),
	)
	p.screenshot("created-en.png")
	link := eval[string](p, `document.getElementById('participant-link').textContent.trim()`)
	orgLink := eval[string](p, `document.getElementById('organizer-link').textContent.trim()`)
	if link != s.URL+"/r/book-club" {
		t.Errorf("participant link %q", link)
	}
	if !strings.HasPrefix(orgLink, link+"#org=") {
		t.Errorf("organizer link %q", orgLink)
	}
	// The room exists as asked.
	resp, err := http.Get(s.URL + "/api/v1/rooms/book-club")
	if err != nil {
		t.Fatal(err)
	}
	var st signaling.RoomStatus
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Room.Mode != "ptt" || !st.Room.HasPassword {
		t.Errorf("room created as %+v, want ptt with a password", st.Room)
	}
	p2 := newPage(t, newBrowser(t), "guest")
	p2.join(link, "Guest", "wrong")
	p2.waitFor("the password is checked", `(document.getElementById('error').textContent || '').trim().length > 0`)
	checkOnlyServer(t, s.URL, p, p2)
}

// When the connection drops, the app says so and comes back by itself.
func TestBrowserReconnects(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "flaky", Mode: "ptt"})
	p := newPage(t, newBrowser(t), "P")
	p.joinRoom(room.Link, "Robin", "")
	firstID := eval[string](p, `window.palabre.self.id`)
	p.do(chromedp.Evaluate[chromedp.Void](`window.palabre.ws.close()`))
	p.waitFor("the reconnecting banner", `(() => { const b = document.getElementById('reconnecting'); return !!b && !b.hidden && getComputedStyle(b).display !== 'none'; })()`)
	p.waitFor("back in the room with media", `window.palabre.state === 'room' && !!window.palabre.pc && window.palabre.pc.connectionState === 'connected' && !!window.palabre.self && window.palabre.self.id !== `+fmt.Sprintf("%q", firstID))
	p.waitFor("the banner is gone", `(() => { const b = document.getElementById('reconnecting'); return !b || b.hidden || getComputedStyle(b).display === 'none'; })()`)
}

// Every visible button has an accessible name, and the room fits a 360 px
// wide phone screen without horizontal scrolling.
func TestBrowserAccessibleAndNarrow(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "phones", Mode: "ptt"})
	p := newPage(t, newBrowser(t), "phone")
	p.do(chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch))
	p.joinRoom(room.OrganizerLink, "Sam", "")
	unnamed := eval[[]string](p, `[...document.querySelectorAll('button, select, input')]
		.filter(e => e.offsetParent !== null)
		.filter(e => !((e.getAttribute('aria-label') || e.textContent || '').trim() || (e.labels && e.labels.length) || e.getAttribute('aria-labelledby')))
		.map(e => e.outerHTML.slice(0, 80))`)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	if wide := eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
		t.Errorf("the room view scrolls sideways at 360 px: %v px wide", eval[float64](p, `document.documentElement.scrollWidth`))
	}
	p.screenshot("room-360.png")
}

// forceRelayJS makes every RTCPeerConnection of the page relay-only, as if
// the browser's network let nothing but TURN through. DevTools injects it
// before the page's own scripts.
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
	return !!local && stats.get(local).candidateType === 'relay';
})()`

// A browser whose network allows only TURN joins through the bundled TURN
// server and hears a speaker.
func TestBrowserThroughTURN(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "firewalled", Mode: "ptt"})
	p := newPage(t, newBrowser(t), "relayed")
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: forceRelayJS})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	p.joinRoom(room.Link, "Relayed", "")
	if !eval[bool](p, relayPairJS) {
		t.Fatal("media does not go through the relay")
	}

	gctx, gcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer gcancel()
	g, err := client.Dial(gctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Join(gctx, client.JoinRequest{Room: "firewalled", Name: "speaker"}); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitConnected(gctx); err != nil {
		t.Fatal(err)
	}
	before := p.audio()
	if err := g.PTTOn(gctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(client.NewToneSource([]byte("go"), 30)); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the relayed browser receives audio", fmt.Sprintf(`(async () => (await (%s)).bytes > %v + 2000)()`, statsJS, before.Bytes))
	checkOnlyServer(t, s.URL, p)
}

// Over HTTPS the app loads, joins and gets media, the WebSocket being wss.
func TestBrowserOverHTTPS(t *testing.T) {
	s := testserver.StartTLS(t)
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("server URL %s", s.URL)
	}
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "secure", Mode: "ptt"})
	p := newPage(t, newBrowser(t), "secure")
	p.joinRoom(room.Link, "Secure", "")
	if proto := eval[string](p, `new URL(window.palabre.ws.url).protocol`); proto != "wss:" {
		t.Errorf("WebSocket protocol %q, want wss:", proto)
	}
	checkOnlyServer(t, s.URL, p)
}
