package e2e

// The scenarios of what the app shows without a call: every engine runs
// them, WebKitGTK (no WebRTC) included.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit/testserver"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// The home page at desktop and phone width: its controls are named, it
// does not scroll sideways (screenshots home-1280.png, home-360.png).
func home(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("visitor")
	for _, w := range []struct{ width, height int }{{1280, 800}, {360, 740}} {
		p.viewport(w.width, w.height)
		p.navigate(s.URL + "/")
		p.waitVisible("#create-name")
		if got := eval[float64](p, `window.innerWidth`); int(got) != w.width {
			t.Errorf("viewport %v px wide, want %d", got, w.width)
		}
		checkLayout(t, p, fmt.Sprintf("the home page at %d px", w.width))
		p.screenshot(fmt.Sprintf("home-%d.png", w.width))
	}
	// The driver hears the page's console (printed when a test fails).
	p.run(`console.log('palabre e2e: console check')`)
	p.waitConsole("palabre e2e: console check")
	checkOnlyServer(t, s.URL, p)
}

// The home page creates a room and hands out both links; the room exists
// as asked, and its prejoin page asks for its password.
func createsRoom(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("creator")
	p.navigate(s.URL + "/")
	p.typeInto("#create-name", "book-club")
	p.typeInto("#create-password", "chapter-one")
	p.choose("#create-mode", "ptt")
	p.click("#create-submit")
	p.waitVisible("#participant-link")
	p.screenshot("created-en.png")
	link := eval[string](p, `document.getElementById('participant-link').textContent.trim()`)
	orgLink := eval[string](p, `document.getElementById('organizer-link').textContent.trim()`)
	if link != s.URL+"/r/book-club" {
		t.Errorf("participant link %q", link)
	}
	if !strings.HasPrefix(orgLink, link+"#org=") {
		t.Errorf("organizer link %q", orgLink)
	}
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
	guest := b.person("guest")
	if b.e.webrtc {
		guest.join(link, "Guest", "wrong")
		guest.waitFor("the password is checked", `(document.getElementById('error').textContent || '').trim().length > 0`)
	} else {
		guest.navigate(link)
		guest.waitVisible("#password-field")
	}
	checkOnlyServer(t, s.URL, p, guest)
}

// standInPeerConnectionJS gives a page without WebRTC (WebKitGTK) a
// stand-in RTCPeerConnection and routes it again: the prejoin page then
// opens the microphone as it does in a browser that can call (it does
// not where no call is possible). Nothing is ever called on it.
const standInPeerConnectionJS = `(() => {
	window.RTCPeerConnection = function () { throw new Error('stand-in'); };
	dispatchEvent(new PopStateEvent('popstate'));
	return true;
})()`

// The prejoin page lists the microphones (the engines' fake or mock
// devices), its level meter moves with the chosen one, and another one
// can be picked and is remembered; at phone width it fits.
func prejoinMicrophone(t *testing.T, b *bench) {
	s := testserver.Start(t)
	s.CreateRoom(t, signaling.CreateRoomRequest{Name: "rehearsal", Mode: "ptt"})
	p := b.person("singer")
	open := func() {
		p.navigate(s.URL + "/r/rehearsal")
		p.waitVisible("#prejoin")
		if !b.e.webrtc {
			p.run(standInPeerConnectionJS)
		}
		p.waitFor("the microphone list", `document.querySelectorAll('#mic option').length > 0 && !document.getElementById('mic').disabled`)
	}
	open()
	mics := eval[[]string](p, `[...document.querySelectorAll('#mic option')].map(o => o.textContent)`)
	t.Logf("%s's microphones: %q", b.e.label, mics)
	if p.sound {
		p.waitFor("the level meter moves", `+document.getElementById('mic-level').getAttribute('aria-valuenow') > 0`)
	}
	if got := eval[string](p, `document.getElementById('mic-status').textContent`); !strings.Contains(got, "bar should move") {
		t.Errorf("microphone status %q", got)
	}
	p.screenshot("prejoin-1280.png")
	if len(mics) > 1 {
		second := eval[string](p, `document.querySelectorAll('#mic option')[1].value`)
		p.choose("#mic", second)
		p.waitFor("the second microphone is open", fmt.Sprintf(`document.getElementById('mic').value === %q && localStorage.getItem('palabre.mic') === %q`, second, second))
		if p.sound {
			p.waitFor("the level meter moves with it", `+document.getElementById('mic-level').getAttribute('aria-valuenow') > 0`)
		}
	}
	p.viewport(360, 740)
	open()
	if p.sound {
		p.waitFor("the level meter moves at 360 px", `+document.getElementById('mic-level').getAttribute('aria-valuenow') > 0`)
	}
	checkLayout(t, p, "the prejoin page at 360 px")
	p.screenshot("prejoin-360.png")
	checkOnlyServer(t, s.URL, p)
}

// offlineRoomJS shows the room screen without a server: the app's own
// Room (room.js: the talk machine, the view, the page's key and pointer
// bindings) fed a joined message, with a stand-in microphone track and
// a network that accepts every request. What the page does with keys
// and the pointer is then the same in every engine, WebKitGTK included.
// window.offline.sent lists the requests, .track is the microphone.
const offlineRoomJS = `(async () => {
	const { Room } = await import('/app/room.js');
	const track = { enabled: false, readyState: 'live' };
	const sent = [];
	const room = new Room({
		net: { request: async (m) => { sent.push(m.type); return { type: 'ack' }; } },
		mic: { track },
		out: { sinkID: '', els: [], setSink: async () => {}, setVolume() {} },
		ui: { announce() {}, error(e) { sent.push('error:' + ((e && e.code) || e)); }, info(k) { sent.push('info:' + k); }, clearNotices() {}, leave() {},
			fillMics: async () => {}, chooseMic() {} },
	});
	room.bind();
	const self = { id: 'p-self', name: 'Kim', organizer: true, muted: false, hand: false, floor: false, source: 1 };
	const other = { id: 'p-other', name: 'Lou', organizer: false, muted: false, hand: false, floor: false, source: 2 };
	room.reset({ type: 'joined', self, participants: [self, other], floor: [], speakers: [],
		room_info: { name: 'offline', mode: 'ptt', locked: false, has_password: false, max_participants: 50, max_speakers: 2, slots: 3 } }, false);
	for (const s of ['home', 'prejoin', 'room', 'ended']) document.getElementById(s).hidden = s !== 'room';
	document.body.dataset.state = 'room';
	window.offline = { room, track, sent };
	return true;
})()`

// Push-to-talk keys in the page, without a call: the room screen of
// offlineRoomJS. Space held enables the microphone and presses the talk
// button, its release lets go; Space typed in a text field does not
// talk; the talk key can be changed (the next key pressed), is shown and
// remembered, and then works instead of Space (it is chosen in the audio
// settings dialog; Escape cancels a change);
// the talk button held with the mouse talks too, and so do Space or Enter
// held on it when focused, without latching it on release; the latch
// talks until pressed again. And the screen at desktop and phone width.
func talkKeys(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("talker")
	open := func() {
		p.navigate(s.URL + "/")
		p.waitVisible("#create-name")
		p.run(offlineRoomJS)
		p.waitVisible("#ptt")
	}
	const live = `window.offline.track.enabled && document.getElementById('ptt').getAttribute('aria-pressed') === 'true' && !document.getElementById('mic-live').hidden`
	const quiet = `!window.offline.track.enabled && document.getElementById('ptt').getAttribute('aria-pressed') === 'false' && document.getElementById('mic-live').hidden`
	count := func(what string) int {
		return int(eval[float64](p, fmt.Sprintf(`window.offline.sent.filter(m => m === %q).length`, what)))
	}
	p.viewport(1280, 800)
	open()
	if got := eval[string](p, `document.getElementById('ptt-key').textContent`); !strings.Contains(got, "Space") {
		t.Errorf("the talk key button says %q, want Space named", got)
	}
	p.space(true)
	p.waitFor("Space held: the microphone is live", live)
	p.screenshot("talk-held-1280.png")
	p.space(false)
	p.waitFor("Space released: the microphone is off", quiet)
	if on, off := count("ptt_on"), count("ptt_off"); on != 1 || off != 1 {
		t.Errorf("requests after one press: %d ptt_on, %d ptt_off (%v)", on, off, eval[[]string](p, `window.offline.sent`))
	}

	// Typing a space in a text field is typing.
	p.typeInto("#room-password", "a b")
	if got := eval[string](p, `document.getElementById('room-password').value`); got != "a b" {
		t.Errorf("the field holds %q, want %q", got, "a b")
	}
	if on := count("ptt_on"); on != 1 {
		t.Errorf("a space typed in a field talked (%d ptt_on)", on)
	}
	p.run(`document.activeElement.blur()`)

	// Another talk key: K, chosen in the audio settings.
	const capturing = `document.getElementById('ptt-key').textContent.includes('Press the new key')`
	p.click("#settings-open")
	p.waitFor("the settings dialog is open", `document.getElementById('settings').open`)
	p.click("#ptt-key")
	p.waitFor("the page asks for the new key", capturing)
	p.key("k", true)
	p.key("k", false)
	p.waitFor("the new key is shown", `document.getElementById('ptt-key').textContent.includes('K') && !document.getElementById('ptt-key').textContent.includes('Space')`)
	p.click("#settings .actions [data-close-dialog]")
	p.waitFor("the settings are closed", `!document.getElementById('settings').open`)
	if got := eval[string](p, `localStorage.getItem('palabre.pttKey')`); got != "KeyK" {
		t.Errorf("remembered talk key %q, want KeyK", got)
	}
	if eval[bool](p, `window.offline.track.enabled`) {
		t.Error("the key pressed to be the new talk key talked")
	}
	escape := func() {
		p.key(keyEscape, true)
		p.key(keyEscape, false)
	}
	escape()
	p.waitFor("Escape closes the dialog", `!document.querySelector('dialog[open]')`)
	// The focus comes back to the settings button (the dialog's close
	// event, a task later), where Space would click it: once it is there,
	// take it away.
	p.waitFor("the focus is back on the settings button", `document.activeElement === document.getElementById('settings-open')`)
	p.run(`document.activeElement.blur()`)
	p.waitFor("the hint names K", `document.getElementById('ptt-hint').textContent.includes('K')`)
	p.key("k", true)
	p.waitFor("K held: the microphone is live", live)
	p.key("k", false)
	p.waitFor("K released: the microphone is off", quiet)
	p.space(true)
	time.Sleep(300 * time.Millisecond)
	if eval[bool](p, `window.offline.track.enabled`) {
		t.Error("Space still talks after the key was changed to K")
	}
	p.space(false)

	// Escape cancels a change of key; the dialog stays, a second Escape
	// closes it.
	p.click("#settings-open")
	p.click("#ptt-key")
	p.waitFor("the page asks for the new key", capturing)
	escape()
	p.waitFor("the change is cancelled", `!(`+capturing+`) && localStorage.getItem('palabre.pttKey') === 'KeyK' && document.getElementById('settings').open`)
	escape()
	p.waitFor("Escape closes the dialog", `!document.querySelector('dialog[open]')`)
	p.waitFor("the focus is back on the settings button", `document.activeElement === document.getElementById('settings-open')`)
	p.run(`document.activeElement.blur()`)

	// The talk button, held with the mouse.
	p.holdTalkButton()
	p.waitFor("the talk button held: the microphone is live", live)
	p.releaseTalkButton()
	p.waitFor("the talk button released: the microphone is off", quiet)

	// Space or Enter held on the focused talk button talks too (whatever
	// the talk key), and its release does not click the button (which
	// would latch it).
	for _, k := range []struct{ key, name string }{{keySpace, "Space"}, {keyEnter, "Enter"}} {
		p.run(`document.getElementById('ptt').focus()`)
		p.key(k.key, true)
		p.waitFor(k.name+" held on the talk button: the microphone is live", live)
		p.key(k.key, false)
		p.waitFor(k.name+" released on the talk button: the microphone is off", quiet)
		time.Sleep(200 * time.Millisecond)
		if eval[bool](p, `window.offline.track.enabled || document.getElementById('ptt-latch').dataset.latched === 'true'`) {
			t.Errorf("%s released on the talk button latched it", k.name)
		}
	}
	p.run(`document.activeElement.blur()`)

	// The latch: talk without holding, until pressed again; while on, it
	// says "Stop talking".
	const latchSays = `document.getElementById('ptt-latch').innerText.trim()`
	p.click("#ptt-latch")
	p.waitFor("latched: the microphone is live", `window.offline.track.enabled && document.getElementById('ptt-latch').dataset.latched === 'true'`)
	if got := eval[string](p, latchSays); got != "Stop talking" {
		t.Errorf("the latch says %q while on, want Stop talking", got)
	}
	p.click("#ptt-latch")
	p.waitFor("unlatched: the microphone is off", quiet+` && document.getElementById('ptt-latch').dataset.latched === 'false'`)
	if got := eval[string](p, latchSays); got != "Talk without holding" {
		t.Errorf("the latch says %q while off, want Talk without holding", got)
	}
	checkLayout(t, p, "the room at 1280 px")
	p.screenshot("talk-1280.png")

	// At phone width, after a reload: the key is still K.
	p.viewport(360, 740)
	open()
	if got := eval[string](p, `document.getElementById('ptt-key').textContent`); !strings.Contains(got, "K") {
		t.Errorf("after a reload the talk key button says %q, want K", got)
	}
	checkLayout(t, p, "the room at 360 px")
	p.screenshot("talk-360.png")
	checkOnlyServer(t, s.URL, p)
}

// A browser without WebRTC (WebKitGTK as Debian builds it, Firefox with
// media.peerconnection.enabled=false, Chromium with RTCPeerConnection
// removed before the page's scripts) is told on the prejoin page that it
// cannot make calls, in its language, and sends no join: the people in
// the room see nobody come and go.
func withoutWebRTC(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "no-webrtc"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := client.Dial(ctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	if _, err := member.Join(ctx, client.JoinRequest{Room: "no-webrtc", Name: "Member"}); err != nil {
		t.Fatal(err)
	}

	var p *page
	switch b.e.name {
	case "firefox":
		p = b.personWith(variant{noWebRTC: true}, "no-webrtc")
	case "chromium":
		p = b.person("no-webrtc")
		p.preload(`delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`)
	default:
		p = b.person("no-webrtc") // WebKitGTK: none in the build
	}
	p.navigate(room.Link)
	if eval[string](p, `typeof window.RTCPeerConnection`) == "function" {
		t.Fatal("the browser has RTCPeerConnection")
	}
	for _, tc := range []struct{ lang, want string }{
		{"en", "cannot make calls"},
		{"fr", "ne peut pas passer d’appel"},
	} {
		p.choose("#lang", tc.lang)
		p.waitVisible("#prejoin-no-webrtc")
		p.waitFor("the message in "+tc.lang, fmt.Sprintf(`document.getElementById('prejoin-no-webrtc').textContent.includes(%q)`, tc.want))
		if !eval[bool](p, `document.getElementById('join').disabled`) {
			t.Errorf("%s: the join button is enabled", tc.lang)
		}
		if eval[string](p, `document.getElementById('mic-status').textContent`) != "" {
			t.Errorf("%s: the page opened the microphone: %q", tc.lang, eval[string](p, `document.getElementById('mic-status').textContent`))
		}
		p.screenshot("prejoin-no-webrtc-" + tc.lang + ".png")
	}
	// Even a forced submit sends nothing.
	p.typeInto("#name", "Nobody")
	p.run(`document.getElementById('prejoin-form').requestSubmit()`)
	if st := eval[string](p, `window.palabre.state`); st != "prejoin" {
		t.Errorf("state %q after submitting, want prejoin", st)
	}
	quiet, cancelQuiet := context.WithTimeout(ctx, time.Second)
	defer cancelQuiet()
	someoneElse := func(m proto.Message) bool {
		return m.Type == proto.TypePresence && slices.ContainsFunc(m.Presence.Joined, func(p proto.Participant) bool { return p.ID != member.Self().ID })
	}
	if ev, err := member.WaitEvent(quiet, someoneElse); err == nil {
		t.Errorf("the room saw a join from a browser without WebRTC: %+v", ev.Presence.Joined)
	}
	if _, n := s.Signaling.LiveRooms(); n != 1 {
		t.Errorf("%d participants in rooms, want the member alone", n)
	}
	checkOnlyServer(t, s.URL, p)
}
