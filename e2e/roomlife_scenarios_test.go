package e2e

// The room's life in real browsers (issue 14): chat, the lobby, the hand
// queue of moderated rooms, the microphone changed during a call, notices
// and the lost connection, the busy floor, ad-hoc organizers, typed room
// names, the phone's first screen and the shortcuts' help. Each one runs
// in every engine that can run it: WebKitGTK (no WebRTC) gets the ones
// that need no call, and those that can use the app's room screen without
// a server (offlineRoomJS).

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
)

var roomLifeScenarios = []scenario{
	{name: "Chat", webrtc: true, run: chat},
	{name: "Lobby", webrtc: true, run: lobby},
	{name: "HandQueue", webrtc: true, run: handQueue},
	{name: "SwitchMicrophone", webrtc: true, run: switchMicrophone},
	{name: "BusyFloor", webrtc: true, run: busyFloor},
	{name: "Offline", webrtc: true, run: offline},
	{name: "AdhocOrganizer", webrtc: true, run: adhocOrganizer},
	// With a call where the engine can, else the room screen without one.
	{name: "NoticesKeepTalkButton", run: noticesKeepTalkButton},
	{name: "PhoneFirstScreen", run: phoneFirstScreen},
	{name: "ShortcutsHelp", run: shortcutsHelp},
	// No call needed.
	{name: "TypedRoomName", run: typedRoomName},
}

// selfID is the page's participant id.
func selfID(p *page) string { p.t.Helper(); return eval[string](p, `window.palabre.self.id`) }

// closeChat closes the page's chat panel if it is open (wide screens
// open it at joining).
func closeChat(p *page) {
	p.t.Helper()
	if eval[string](p, `document.getElementById('chat-toggle').getAttribute('aria-expanded')`) == "true" {
		p.click("#chat-toggle")
	}
	p.waitFor("the chat is closed", `document.getElementById('chat-panel').hidden`)
}

// openChat opens the page's chat panel.
func openChat(p *page) {
	p.t.Helper()
	if eval[string](p, `document.getElementById('chat-toggle').getAttribute('aria-expanded')`) != "true" {
		p.click("#chat-toggle")
	}
	p.waitVisible("#chat-text")
}

// say writes text in the chat and sends it with the Send button, to
// target's id ("" everyone).
func say(p *page, target, text string) {
	p.t.Helper()
	openChat(p)
	p.choose("#chat-to", target)
	p.typeInto("#chat-text", text)
	p.click("#chat-send")
	p.waitFor("the message is sent", fmt.Sprintf(`document.getElementById('chat-text').value === '' && window.palabre.chat.some(e => e.mine && e.text === %q)`, text))
}

// gotChatJS is true when the page shows a message of from with text.
func gotChatJS(from, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#chat-log li.chat-msg[data-from=%q] .chat-text')].some(e => e.textContent === %q)`, from, text)
}

// chatTexts are the texts of the messages a page holds.
func chatTexts(p *page) []string {
	p.t.Helper()
	return eval[[]string](p, `window.palabre.chat.map(e => e.text)`)
}

// Three people chat. A message reaches the others; on a page whose chat
// is closed it counts as unread (the badge on the Chat button, its
// accessible name) and is announced to screen readers, and opening the
// chat reads it. A link is text, never fetched. A private message reaches
// its addressee only. With the room's chat turned off, a participant's
// send is refused and the page says why; the organizer still writes.
func chat(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "book-club", Mode: "ptt"})
	org := b.person("organizer")
	bob := b.person("Bob")
	cleo := b.person("Cleo")
	org.joinRoom(room.OrganizerLink, "Ana", "")
	bob.joinRoom(room.Link, "Bob", "")
	cleo.joinRoom(room.Link, "Cleo", "")
	anaID, bobID := selfID(org), selfID(bob)
	for _, p := range []*page{org, bob, cleo} {
		closeChat(p)
	}

	// To everyone; Bob's and Cleo's chats are closed.
	const first = "Page 12, everyone: https://example.org/score.pdf"
	say(org, "", first)
	for _, p := range []*page{bob, cleo} {
		p.waitFor(p.name+" counts one unread message", `window.palabre.unread === 1 && !document.getElementById('chat-unread').hidden && document.getElementById('chat-unread').textContent === '1'`)
	}
	if got := eval[string](bob, `document.getElementById('chat-toggle').getAttribute('aria-label')`); got != "Chat, 1 unread message" {
		t.Errorf("the Chat button is called %q with one unread message", got)
	}
	bob.waitFor("Bob's screen reader is told", fmt.Sprintf(`document.getElementById('announcer').textContent === %q`, "Ana: "+first))
	if !eval[bool](bob, gotChatJS(anaID, first)) {
		t.Error("Bob's log does not hold Ana's message")
	}
	if n := eval[float64](bob, `document.querySelectorAll('#chat-log a').length`); n != 0 {
		t.Errorf("the link became %v live link(s)", n)
	}
	if eval[float64](org, `window.palabre.unread`) != 0 || len(chatTexts(org)) != 1 {
		t.Errorf("Ana's own message: unread %v, log %q (want it once, read)", eval[float64](org, `window.palabre.unread`), chatTexts(org))
	}
	bob.screenshot("chat-unread.png")
	openChat(bob)
	bob.waitFor("opening the chat reads it", `window.palabre.unread === 0 && document.getElementById('chat-unread').hidden && document.getElementById('chat-toggle').getAttribute('aria-label') === 'Chat'`)
	shots(t, b, bob, "chat-open", "#chat-panel")

	// Privately, Bob to Ana; Ana's chat is open: read at once, announced.
	const private = "Can I go next?"
	say(bob, anaID, private)
	org.waitFor("Ana gets Bob's private message", gotChatJS(bobID, private)+` && !!document.querySelector('#chat-log li.chat-msg[data-from=`+fmt.Sprintf("%q", bobID)+`][data-private=true]')`)
	org.waitFor("Ana's screen reader is told it is private", fmt.Sprintf(`document.getElementById('announcer').textContent === %q`, "Private message from Bob: "+private))
	if got := eval[string](bob, `[...document.querySelectorAll('#chat-log li.is-mine .chat-private')].map(e => e.textContent).join('|')`); got != "private, to Ana" {
		t.Errorf("Bob's own private message is marked %q", got)
	}
	// Cleo does not get it. The positive control: a message Ana sends
	// after she received it does reach Cleo (the server relayed Bob's
	// message, to Ana only, before Ana saw it).
	const second = "Next: page 13"
	say(org, "", second)
	cleo.waitFor("Cleo gets Ana's second message", gotChatJS(anaID, second))
	if got := chatTexts(cleo); len(got) != 2 || got[0] != first || got[1] != second {
		t.Errorf("Cleo's log holds %q, want Ana's two messages only", got)
	}
	if n := eval[float64](cleo, `window.palabre.unread`); n != 2 {
		t.Errorf("Cleo counts %v unread messages, want 2", n)
	}

	// The organizer turns the room's chat off. Bob had typed a message:
	// the form is disabled and says why; sent anyway (as if it left just
	// before the change arrived), the server refuses it and the page says
	// so, keeping the text.
	const late = "One more thing"
	bob.choose("#chat-to", "")
	bob.typeInto("#chat-text", late)
	org.click("#chat-room-toggle")
	org.waitFor("the switch says the chat is off", `document.getElementById('chat-room-toggle').getAttribute('aria-checked') === 'false'`)
	bob.waitFor("Bob is told the chat is off", `!document.getElementById('chat-state').hidden && document.getElementById('chat-state').textContent.includes('turned the chat off') && document.getElementById('chat-controls').disabled`)
	shots(t, b, bob, "chat-off", "#chat-panel")
	bob.run(`document.getElementById('chat-form').requestSubmit()`)
	bob.waitFor("the refusal is shown", `document.getElementById('chat-error').textContent === 'An organizer turned the chat off: only organizers can write.'`)
	if got := eval[string](bob, `document.getElementById('chat-text').value`); got != late {
		t.Errorf("after the refusal the field holds %q, want the text kept", got)
	}
	// Organizers still write; what Bob sent reached nobody (positive
	// control: Ana's message after it reaches Bob and Cleo).
	const closing = "Chat is closed for now"
	say(org, "", closing)
	bob.waitFor("Bob gets the organizer's message", gotChatJS(anaID, closing))
	cleo.waitFor("Cleo gets the organizer's message", gotChatJS(anaID, closing))
	for _, p := range []*page{org, cleo} {
		if texts := chatTexts(p); strings.Contains(strings.Join(texts, "\n"), late) {
			t.Errorf("%s got the message sent while the chat was off: %q", p.name, texts)
		}
	}
	checkOnlyServer(t, s.URL, org, bob, cleo)
}

// In a room whose organizer turned the lobby on, a newcomer waits on the
// waiting screen until let in (then in the room with media); another one
// refused sees the refused screen; two more are let in at once with "Let
// everyone in".
func lobby(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "rehearsal-room", Mode: "ptt"})
	org := b.person("organizer")
	org.joinRoom(room.OrganizerLink, "Ana", "")
	if !eval[bool](org, `document.getElementById('lobby-panel').hidden`) {
		t.Error("the lobby panel shows before the lobby is on")
	}
	org.click("#lobby-toggle")
	org.waitFor("the lobby is on", `document.getElementById('lobby-toggle').getAttribute('aria-checked') === 'true' && !document.getElementById('lobby-panel').hidden`)

	// wait has p join and waits for the waiting screen, and for the
	// organizer to see it waiting.
	wait := func(p *page, name string) string {
		t.Helper()
		p.join(room.Link, name, "")
		p.waitVisible("#waiting")
		p.waitFor(name+" waits", `window.palabre.state === 'waiting' && document.getElementById('waiting-room').textContent === 'rehearsal-room'`)
		org.waitFor("the organizer sees "+name+" waiting", fmt.Sprintf(`window.palabre.lobby.some(w => w.name === %q)`, name))
		return eval[string](org, fmt.Sprintf(`window.palabre.lobby.find(w => w.name === %q).id`, name))
	}
	row := func(id, action string) string {
		return fmt.Sprintf(`#lobby-list li[data-waiting-id=%q] button[data-action=%q]`, id, action)
	}

	tom := b.person("Tom")
	tomID := wait(tom, "Tom")
	if eval[bool](tom, micEnabledJS) || eval[bool](tom, `!!window.palabre.pc`) {
		t.Error("a waiting newcomer has media")
	}
	shots(t, b, tom, "lobby-waiting", "")
	if n := eval[float64](org, `document.querySelectorAll('#participants li').length`); n != 1 {
		t.Errorf("the organizer's list holds %v people while Tom waits, want 1", n)
	}
	org.click(row(tomID, "admit"))
	tom.waitVisible("#room")
	tom.waitFor("Tom is in, with media", `window.palabre.state === 'room' && !!window.palabre.pc && window.palabre.pc.connectionState === 'connected'`)
	tom.waitFor("Tom is told he was let in", `document.getElementById('info-text').textContent === 'You are in: an organizer let you in.'`)
	org.waitFor("Tom is in the organizer's list and gone from the lobby", fmt.Sprintf(`window.palabre.lobby.length === 0 && !!document.querySelector('#participants li[data-participant-id=%q]')`, selfID(tom)))

	ugo := b.person("Ugo")
	ugoID := wait(ugo, "Ugo")
	org.click(row(ugoID, "refuse"))
	ugo.waitVisible("#ended")
	ugo.waitFor("Ugo is told he was not let in", `window.palabre.state === 'ended' && document.getElementById('ended-title').textContent === 'Not let in'`)
	shots(t, b, ugo, "lobby-refused", "")
	org.waitFor("Ugo leaves the lobby", `window.palabre.lobby.length === 0`)

	vic, wes := b.person("Vic"), b.person("Wes")
	wait(vic, "Vic")
	wait(wes, "Wes")
	org.waitVisible("#admit-all")
	// On a wide screen a waiting person's buttons are on their name's line.
	if w := eval[float64](org, `window.innerWidth`); w >= 800 {
		if !eval[bool](org, `(() => { const li = document.querySelector('#lobby-list li'); const n = li.querySelector('.p-name').getBoundingClientRect(), b = li.querySelector('button').getBoundingClientRect(); return b.top < n.bottom && n.top < b.bottom; })()`) {
			t.Errorf("at %v px the lobby's buttons are not beside the name", w)
		}
	}
	shots(t, b, org, "lobby-organizer", "#lobby-panel")
	org.click("#admit-all")
	for _, p := range []*page{vic, wes} {
		p.waitFor(p.name+" is in", `window.palabre.state === 'room' && !!window.palabre.pc && window.palabre.pc.connectionState === 'connected'`)
	}
	org.waitFor("four people in the organizer's list, nobody waiting", `window.palabre.lobby.length === 0 && document.querySelectorAll('#participants li').length === 4`)
	checkOnlyServer(t, s.URL, org, tom, ugo, vic, wes)
}

// shotsEnv names the directory for the screenshots of each screen in
// English and French at desktop and phone width (shots); unset, shots
// takes none (they cost a few seconds per screen).
const shotsEnv = "PALABRE_SCREENSHOTS"

// shots saves the page as it is now in English and French, at 1280 and
// 360 px wide, as DIR/ENGINE-name-LANG-WIDTH.png, when PALABRE_SCREENSHOTS
// names DIR; then the page is back in English at its size of before. The
// element of selector (if not "") is scrolled into view first, as its
// user would (on a phone the panels are below the talk button).
func shots(t *testing.T, b *bench, p *page, name, selector string) {
	t.Helper()
	dir := os.Getenv(shotsEnv)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	size := eval[[]float64](p, `[window.innerWidth, window.innerHeight]`)
	for _, w := range []struct{ width, height int }{{1280, 800}, {360, 740}} {
		p.viewport(w.width, w.height)
		p.waitFor(fmt.Sprintf("%d px wide", w.width), fmt.Sprintf(`window.innerWidth === %d`, w.width))
		for _, lang := range []string{"en", "fr"} {
			p.choose("#lang", lang)
			p.waitFor("the page in "+lang, fmt.Sprintf(`document.documentElement.lang === %q`, lang))
			if selector != "" {
				p.run(fmt.Sprintf(`(() => { document.querySelector(%q).scrollIntoView({block: 'nearest'}); return true; })()`, selector))
			} else {
				p.run(`(() => { scrollTo(0, 0); return true; })()`)
			}
			p.run(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
			png := p.screenshotPNG()
			file := filepath.Join(dir, fmt.Sprintf("%s-%s-%s-%d.png", b.e.name, name, lang, w.width))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.choose("#lang", "en")
	p.run(`(() => { scrollTo(0, 0); return true; })()`)
	p.viewport(int(size[0]), int(size[1]))
	p.waitFor("the size of before", fmt.Sprintf(`window.innerWidth === %d`, int(size[0])))
}

// In a moderated room two participants raise their hands; the organizer
// sees the queue in the server's order (Quinn raised first, though Pia
// came first) and gives the floor to the next: Quinn is heard (bytes and
// energy rise on the organizer's page) until "I'm done", which turns
// Quinn's microphone off at once (nothing more arrives). Pia, now first,
// lowers her hand.
func handQueue(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "assembly-hall", Mode: "moderated"})
	org := b.person("organizer")
	pia := b.person("Pia")
	quinn := b.person("Quinn")
	org.joinRoom(room.OrganizerLink, "Chair", "")
	pia.joinRoom(room.Link, "Pia", "")
	quinn.joinRoom(room.Link, "Quinn", "")
	piaID, quinnID := selfID(pia), selfID(quinn)
	if !eval[bool](org, visible("#hands-panel")+` && document.getElementById('grant-next').disabled`) {
		t.Error("the organizer does not see an empty queue with a disabled \"give the floor\" button")
	}

	quinn.click("#hand")
	org.waitFor("the organizer sees Quinn's hand", fmt.Sprintf(`JSON.stringify(window.palabre.hands) === %q`, `["`+quinnID+`"]`))
	pia.click("#hand")
	order := fmt.Sprintf(`JSON.stringify(window.palabre.hands) === %q && JSON.stringify([...document.querySelectorAll('#hands li')].map(li => li.dataset.participantId)) === %q`,
		`["`+quinnID+`","`+piaID+`"]`, `["`+quinnID+`","`+piaID+`"]`)
	org.waitFor("the organizer sees the queue Quinn, Pia", order)
	pia.waitFor("Pia sees the same queue", order)
	pia.waitFor("Pia sees her place", `document.getElementById('hand-position').textContent === 'Your hand is raised: you are number 2 of 2 in the queue.'`)
	if got := eval[string](org, `document.getElementById('grant-next').textContent`); got != "Give the floor to Quinn (next)" {
		t.Errorf("the organizer's button says %q", got)
	}
	shots(t, b, org, "hands-organizer", "#hands-panel")
	shots(t, b, pia, "hands-participant", "#hand-position")
	if eval[bool](quinn, micEnabledJS) {
		t.Fatal("Quinn's microphone is live before being given the floor")
	}
	idle := org.audio()

	org.click("#grant-next")
	quinn.waitFor("Quinn has the floor: microphone live, I'm done offered", micEnabledJS+` && `+visible("#floor-done"))
	org.waitFor("the queue is Pia alone", fmt.Sprintf(`JSON.stringify(window.palabre.hands) === %q`, `["`+piaID+`"]`))
	pia.waitFor("Pia is first now", `document.getElementById('hand-position').textContent === 'Your hand is raised: you are number 1 of 1 in the queue.'`)
	org.waitAudio("the organizer hears Quinn", true)
	if heard := org.audio(); heard.Bytes <= idle.Bytes {
		t.Errorf("no audio bytes arrived while Quinn held the floor (%v, then %v)", idle.Bytes, heard.Bytes)
	}
	shots(t, b, quinn, "floor-done", "#floor-done")

	quinn.click("#floor-done")
	if eval[bool](quinn, micEnabledJS) {
		t.Error("Quinn's microphone is still live right after \"I'm done\"")
	}
	quinn.waitFor("the hand is offered again, not I'm done", visible("#hand")+` && !(`+visible("#floor-done")+`)`)
	org.waitFor("Quinn no longer holds the floor", fmt.Sprintf(`!document.querySelector('#participants li[data-participant-id=%q] .tag-floor')`, quinnID))
	// Audio arrived until now (the positive control above): it stops.
	org.waitSilence("the organizer kept receiving audio after Quinn's \"I'm done\"")

	pia.click("#hand")
	org.waitFor("Pia's hand is down: the queue is empty", `window.palabre.hands.length === 0 && document.getElementById('grant-next').disabled`)
	pia.waitFor("Pia's place is no longer shown", `document.getElementById('hand-position').hidden`)
	checkOnlyServer(t, s.URL, org, pia, quinn)
}

// senderJS describes the page's microphone sender: its track's id and
// device, and whether a track marked before (window.e2eOldTrack) ended.
const senderJS = `(() => {
	const t = window.palabre.pc.getTransceivers()[0].sender.track;
	return {id: t ? t.id : '', device: t ? (t.getSettings().deviceId || '') : '', live: !!t && t.readyState === 'live',
		oldEnded: !!window.e2eOldTrack && window.e2eOldTrack.readyState === 'ended'};
})()`

type sender struct {
	ID       string `json:"id"`
	Device   string `json:"device"`
	Live     bool   `json:"live"`
	OldEnded bool   `json:"oldEnded"`
}

// In an open room Ana's voice reaches Bob; Ana picks another microphone
// in the audio settings during the call: the sender's track is replaced
// (the old one stops), the call stays the same (same participant, same
// PeerConnection) and Bob keeps receiving audio with energy.
func switchMicrophone(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "open-mic", Mode: "open"})
	// Firefox's fake media is one device: Ana's Firefox records from
	// PulseAudio instead, whose two tone sources are two microphones.
	// Chromium's fake device list has three.
	var ana *page
	if b.e == firefoxEngine {
		ana = b.personWith(variant{pulseMics: true}, "Ana")
	} else {
		ana = b.person("Ana")
	}
	bob := b.person("Bob")
	ana.joinRoom(room.Link, "Ana", "")
	bob.joinRoom(room.Link, "Bob", "")
	anaID := selfID(ana)
	bob.waitAudio("Bob hears Ana", true)

	// Ana is at her window (Firefox lists devices to a focused page only).
	ana.activate()
	ana.click("#settings-open")
	ana.waitFor("the settings list the microphones", `document.getElementById('settings').open && document.querySelectorAll('#settings-mic option').length > 0 && !document.getElementById('settings-mic').disabled`)
	mics := eval[[]string](ana, `[...document.querySelectorAll('#settings-mic option')].map(o => o.textContent)`)
	t.Logf("%s's microphones in the call: %q", b.e.label, mics)
	shots(t, b, ana, "settings", "")
	if len(mics) < 2 {
		t.Skipf("%s offers one microphone (%q): nothing to switch to", b.e.label, mics)
	}
	before := eval[sender](ana, senderJS)
	ana.run(`(() => { window.e2eOldTrack = window.palabre.pc.getTransceivers()[0].sender.track; window.palabre.pc.e2eMark = true; return true; })()`)
	bob.run(`(() => { window.palabre.pc.e2eMark = true; return true; })()`)
	// Another one, not PulseAudio's monitor of what the browser plays.
	other := eval[string](ana, fmt.Sprintf(`[...document.querySelectorAll('#settings-mic option')].find(o => o.value !== %q && !o.textContent.startsWith('Monitor of')).value`, before.Device))
	ana.choose("#settings-mic", other)
	ana.waitFor("the sender carries the other microphone", fmt.Sprintf(`(() => { const s = %s; return s.id !== %q && s.live && s.oldEnded; })()`, senderJS, before.ID))
	after := eval[sender](ana, senderJS)
	if after.Device != "" && after.Device != other {
		t.Errorf("the new track is device %q, want %q", after.Device, other)
	}
	if got := eval[string](ana, `localStorage.getItem('palabre.mic')`); got != other {
		t.Errorf("remembered microphone %q, want %q", got, other)
	}
	if eval[string](ana, `window.palabre.self.id`) != anaID || !eval[bool](ana, `!!window.palabre.pc.e2eMark`) || !eval[bool](bob, `!!window.palabre.pc.e2eMark`) {
		t.Error("switching the microphone rejoined (new participant or PeerConnection)")
	}
	bob.waitAudio("Bob still hears Ana, on the other microphone", true)
	if !eval[bool](ana, micEnabledJS) {
		t.Error("Ana's new microphone track is not enabled")
	}
	checkOnlyServer(t, s.URL, ana, bob)
}

// While Ana holds the floor of a one-speaker push-to-talk room, Bob's
// talk button says so and looks unavailable; pressed anyway, it asks the
// server, keeps Bob's microphone off and says who to wait for; once Ana
// lets go the button is free again and Bob talks.
func busyFloor(t *testing.T, b *bench) {
	s := testserver.Start(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "one-voice", Mode: "ptt", MaxSpeakers: 1})
	ana := b.person("Ana")
	bob := b.person("Bob")
	ana.joinRoom(room.Link, "Ana", "")
	bob.joinRoom(room.Link, "Bob", "")
	const free = `!document.getElementById('ptt').classList.contains('is-busy') && !document.getElementById('ptt').hasAttribute('aria-disabled') && document.getElementById('ptt-label').textContent === 'Hold to talk'`
	if !eval[bool](bob, free) {
		t.Fatal("Bob's talk button is not free before anyone talks")
	}
	ana.space(true)
	ana.waitFor("Ana talks", micEnabledJS)
	bob.waitFor("Bob's talk button says Ana has the floor", `document.getElementById('ptt').classList.contains('is-busy') && document.getElementById('ptt').getAttribute('aria-disabled') === 'true' && document.getElementById('ptt-label').textContent === 'Ana has the floor' && window.palabre.floorBusy`)
	shots(t, b, bob, "floor-busy", "")
	bob.space(true)
	bob.waitFor("Bob is told to wait for Ana", `document.getElementById('info-text').textContent === 'Ana has the floor: wait until they are done.'`)
	if eval[bool](bob, micEnabledJS) {
		t.Error("Bob's microphone went live on a busy floor")
	}
	bob.space(false)
	ana.space(false)
	bob.waitFor("Bob's talk button is free again", free)
	bob.space(true)
	bob.waitFor("Bob talks", micEnabledJS)
	ana.waitAudio("Ana hears Bob", true)
	bob.space(false)
	checkOnlyServer(t, s.URL, ana, bob)
}

// boxJS is the element's box in page coordinates (the driver's clicks
// may scroll; the layout must not move).
func boxJS(selector string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height].map(v => Math.round(v * 100) / 100); })()`, selector)
}

// checkBox fails if the element's box is not want.
func checkBox(t *testing.T, p *page, selector, when string, want []float64) {
	t.Helper()
	if got := eval[[]float64](p, boxJS(selector)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: %s moved: %v, was %v", when, selector, got, want)
	}
}

// freePort is a loopback TCP port free now, for a server that must come
// back at the same address.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The server goes away (a graceful shutdown: it says so). The page says
// it is reconnecting and why, with the countdown to the next try and
// "Retry now"; the talk button, the latch, the talk, chat, people and
// organizer controls are disabled, the talk key does nothing, and the
// talk button has not moved. The server back, "Retry now" returns to the
// room at once, before the countdown ends.
func offline(t *testing.T, b *bench) {
	addr := freePort(t)
	s := testserver.Start(t, func(o *server.Options) { o.Listen = addr })
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "flaky-line", Mode: "ptt"})
	p := b.person("organizer")
	p.joinRoom(room.OrganizerLink, "Ana", "")
	// The positive control: online, the talk key talks.
	p.space(true)
	p.waitFor("Space held: the microphone is live", micEnabledJS)
	p.space(false)
	p.waitFor("released: the microphone is off", "!("+micEnabledJS+")")
	box := eval[[]float64](p, boxJS("#ptt"))
	const controls = `['talk-controls', 'people-controls', 'organizer-controls', 'chat-controls'].filter(id => !document.getElementById(id).disabled)`

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the reconnecting banner says the server went away", visible("#reconnecting")+` && document.getElementById('reconnecting-title').textContent === 'Connection lost, reconnecting…' && document.getElementById('reconnecting-reason').textContent === 'The server went away (restart or maintenance).'`)
	p.waitFor("the talk button and the latch are disabled", `window.palabre.state === 'reconnecting' && document.getElementById('ptt').disabled && document.getElementById('ptt-latch').disabled`)
	if enabled := eval[[]string](p, controls); len(enabled) > 0 {
		t.Errorf("controls still enabled while offline: %q", enabled)
	}
	checkBox(t, p, "#ptt", "offline", box)
	p.space(true)
	if eval[bool](p, micEnabledJS) {
		t.Error("the talk key turned the microphone on while offline")
	}
	p.space(false)
	// A failed attempt or two later, the wait before the next one is long
	// enough to tell "Retry now" from the next try.
	p.waitFor("a countdown of 3 s or more, Retry now enabled", `window.palabre.retryIn >= 3 && /^Next try in \d+ seconds?\.$/.test(document.getElementById('reconnecting-countdown').textContent) && !document.getElementById('reconnect-now').disabled`)
	shots(t, b, p, "reconnecting", "")
	s.Restart(t)
	if s.URL != "http://"+addr {
		t.Fatalf("the server came back at %s, not %s", s.URL, addr)
	}
	p.run(`(() => { window.e2eRetry = {at: performance.now(), due: performance.now() + window.palabre.retryIn * 1000}; return true; })()`)
	p.click("#reconnect-now")
	p.waitFor("back in the room", `window.palabre.state === 'room' && !!window.palabre.pc && window.palabre.pc.connectionState === 'connected' && !(`+visible("#reconnecting")+`)`)
	if late := eval[float64](p, `performance.now() - window.e2eRetry.due`); late > 0 {
		t.Errorf("back %v ms after the countdown's end: Retry now did not retry", late)
	}
	if enabled := eval[[]string](p, controls); len(enabled) != 4 || eval[bool](p, `document.getElementById('ptt').disabled`) {
		t.Errorf("back online, enabled: %q, talk button disabled: %v", enabled, eval[bool](p, `document.getElementById('ptt').disabled`))
	}
	checkBox(t, p, "#ptt", "back online", box)
	checkOnlyServer(t, s.URL, p)
}

// Whoever opens a room nobody created is its organizer (and stays one
// after a reload of the tab); the next one is not, and the opener can
// mute them.
func adhocOrganizer(t *testing.T, b *bench) {
	s := testserver.Start(t)
	first := b.person("opener")
	first.joinRoom(s.URL+"/r/pop-up-choir", "Ana", "")
	if !eval[bool](first, `window.palabre.self.organizer && `+visible("#organizer-panel")) {
		t.Fatal("the opener of an ad-hoc room is no organizer")
	}
	second := b.person("guest")
	second.joinRoom(s.URL+"/r/pop-up-choir", "Bob", "")
	if eval[bool](second, `window.palabre.self.organizer || `+visible("#organizer-panel")) {
		t.Error("the second one in an ad-hoc room is an organizer too")
	}
	bobID := selfID(second)
	mute := fmt.Sprintf(`#participants li[data-participant-id=%q] button[data-action="mute"]`, bobID)
	first.click(mute)
	second.waitFor("the organizer muted Bob", `window.palabre.self.muted && !(`+micEnabledJS+`)`)
	// A reload: the secret the server gave is kept for this tab.
	first.joinRoom(s.URL+"/r/pop-up-choir", "Ana", "")
	if !eval[bool](first, `window.palabre.self.organizer`) {
		t.Error("the opener is no organizer after a reload")
	}
	checkOnlyServer(t, s.URL, first, second)
}

// roomScreen shows p a room: a real one (ptt, p named Kim, with Lou in
// it) where the engine can call, else the app's room screen without a
// server (offlineRoomJS, the same people).
func roomScreen(t *testing.T, b *bench, s *testserver.Server, p *page) {
	t.Helper()
	if !b.e.webrtc {
		p.navigate(s.URL + "/")
		p.waitVisible("#create-name")
		p.run(offlineRoomJS)
		p.waitVisible("#ptt")
		return
	}
	name := fmt.Sprintf("room-%d", time.Now().UnixNano()%1e9)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: name, Mode: "ptt"})
	p.joinRoom(room.OrganizerLink, "Kim", "")
	lou := b.person("Lou")
	lou.joinRoom(room.Link, "Lou", "")
	p.waitFor("Lou is in the list", `document.querySelectorAll('#participants li').length === 2`)
}

// Notices (an info, an error) float over the page: the talk button's box
// is the same before, while one shows, and after it is closed; in a call,
// the notices of the room's own flows (copying the link, a busy floor)
// too.
func noticesKeepTalkButton(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("Kim")
	p.viewport(1000, 800)
	roomScreen(t, b, s, p)
	box := eval[[]float64](p, boxJS("#ptt"))
	during := func(sel, what string) {
		t.Helper()
		p.waitFor(what+" shows", visible(sel)+fmt.Sprintf(` && document.querySelector(%q).textContent.trim() !== ''`, sel))
		checkBox(t, p, "#ptt", "while "+what+" shows", box)
		p.click(sel + " .notice-close")
		p.waitFor(what+" is closed", "!("+visible(sel)+")")
		checkBox(t, p, "#ptt", "after "+what, box)
	}
	p.run(`import('/app/notices.js').then(n => { n.showInfo('copy.done_invite', {url: 'http://example.org/r/x'}); return true; })`)
	during("#info", "an info")
	p.run(`import('/app/notices.js').then(n => { n.showError('error.not_found_participant'); return true; })`)
	during("#error", "an error")
	p.run(`import('/app/notices.js').then(n => { n.showInfo('ptt.free'); n.showError('mic.lost'); return true; })`)
	p.waitFor("both show", visible("#info")+" && "+visible("#error"))
	checkBox(t, p, "#ptt", "while an info and an error show", box)
	p.screenshot("notices.png")
	p.run(`import('/app/notices.js').then(n => { n.clearNotices(); return true; })`)
	if !b.e.webrtc {
		checkOnlyServer(t, s.URL, p)
		return
	}
	// The room's own: "copy the link" says it copied (or how to).
	p.click("#copy-link")
	during("#info", "the copied link's info")
	checkOnlyServer(t, s.URL, p)
}

// On a 360 × 740 phone the room's first screen holds who is speaking and
// the talk button, without scrolling; on a touch screen no keyboard hint
// shows.
func phoneFirstScreen(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("phone")
	p.viewport(360, 740)
	roomScreen(t, b, s, p)
	p.run(`(() => { scrollTo(0, 0); return true; })()`)
	for _, sel := range []string{"#now-speaking", "#ptt"} {
		r := eval[[]float64](p, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right, window.innerHeight, window.innerWidth]; })()`, sel))
		if r[0] < 0 || r[1] > r[4] || r[2] < 0 || r[3] > r[5] {
			t.Errorf("%s is not on the first screen: top %v, bottom %v, left %v, right %v in %v × %v", sel, r[0], r[1], r[2], r[3], r[5], r[4])
		}
	}
	checkLayout(t, p, "the room at 360 px")
	if eval[bool](p, `matchMedia('(hover: none) and (pointer: coarse)').matches`) {
		if shown := eval[[]string](p, `[...document.querySelectorAll('.kbd-hint')].filter(e => e.getClientRects().length > 0).map(e => e.id || e.className)`); len(shown) > 0 {
			t.Errorf("keyboard hints on a touch screen: %q", shown)
		}
	} else {
		t.Logf("%s at 360 px is no touch screen: keyboard hints are not checked", b.e.label)
	}
	p.screenshot("phone-first-screen.png")
	checkOnlyServer(t, s.URL, p)
}

// "Choir Tuesday" typed on the home page makes the room choir-tuesday,
// previewed as it is typed; an address that cannot name a room explains
// and offers the name it probably meant.
func typedRoomName(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("creator")
	p.navigate(s.URL + "/")
	p.typeInto("#create-name", "Choir Tuesday")
	p.waitFor("the preview names choir-tuesday", `document.getElementById('create-name-preview').textContent === 'The room will be called: choir-tuesday'`)
	p.click("#create-submit")
	p.waitVisible("#participant-link")
	if got := eval[string](p, `document.getElementById('participant-link').textContent.trim()`); got != s.URL+"/r/choir-tuesday" {
		t.Errorf("participant link %q", got)
	}
	if _, ok := s.RoomStatus("choir-tuesday"); !ok {
		t.Error("no room choir-tuesday on the server")
	}
	p.navigate(s.URL + "/r/Choir%20Tuesday")
	p.waitVisible("#invalid")
	if got := eval[string](p, `document.getElementById('invalid-suggest-link').getAttribute('href')`); got != "/r/choir-tuesday" {
		t.Errorf("the invalid address suggests %q", got)
	}
	p.screenshot("invalid.png")
	p.click("#invalid-suggest-link")
	p.waitFor("the suggested room's prejoin page", `window.palabre.state === 'prejoin' && location.pathname === '/r/choir-tuesday'`)
	checkOnlyServer(t, s.URL, p)
}

// In the room, ? opens the shortcuts' help (a modal dialog naming the
// talk key), Escape closes it; C opens the chat with the focus in its
// field; typed there, ? is text.
func shortcutsHelp(t *testing.T, b *bench) {
	s := testserver.Start(t)
	p := b.person("Kim")
	p.viewport(1000, 800)
	roomScreen(t, b, s, p)
	p.run(`(() => { document.activeElement.blur(); return true; })()`)
	p.key("?", true)
	p.key("?", false)
	p.waitFor("the help is open", `document.getElementById('help').open && document.getElementById('help-ptt-key').textContent !== ''`)
	shots(t, b, p, "help", "")
	p.key(keyEscape, true)
	p.key(keyEscape, false)
	p.waitFor("the help is closed", `!document.getElementById('help').open`)
	p.run(`(() => { document.activeElement.blur(); return true; })()`)
	p.key("c", true)
	p.key("c", false)
	p.waitFor("C opens the chat, the focus in its field", visible("#chat-panel")+` && document.activeElement === document.getElementById('chat-text')`)
	p.key("?", true)
	p.key("?", false)
	p.waitFor("? typed in the field is text", `document.getElementById('chat-text').value === '?'`)
	if eval[bool](p, `document.getElementById('help').open`) {
		t.Error("? typed in the chat opened the help")
	}
	checkOnlyServer(t, s.URL, p)
}
