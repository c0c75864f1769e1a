package e2e

import (
	"fmt"
	"testing"
	"time"

	"palabre/internal/testserver"
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
