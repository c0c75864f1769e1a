package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"palabre/signaling/proto"
)

// TestScreens drives the app in headless Chromium against a fake server
// (fake_test.go) through the room's life (chat, lobby, hands, floor,
// reconnecting, settings…) and writes a screenshot of each screen, at
// desktop and phone sizes, in English and French, to the directory
// PALABRE_SCREENSHOTS names. Skipped without it: it is for looking at,
// and a few layout checks (the talk button never moves for a notice, no
// keyboard hint on a touch screen, nothing wider than a phone). The
// browser tests proper live in e2e/.
//
//	PALABRE_SCREENSHOTS=/tmp/shots go test -run Screens ./client/web/
func TestScreens(t *testing.T) {
	dir := os.Getenv("PALABRE_SCREENSHOTS")
	if dir == "" {
		t.Skip("PALABRE_SCREENSHOTS is not set: no screenshots")
	}
	chromium := ""
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("no Chromium")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t)
	for _, lang := range []string{"en", "fr"} {
		for _, size := range []screenSize{{"desktop", 1280, 860, false}, {"phone", 360, 740, true}} {
			t.Run(lang+"-"+size.name, func(t *testing.T) {
				t.Parallel()
				browser := startChromium(t, chromium)
				for _, sc := range scenarios {
					t.Run(sc.name, func(t *testing.T) {
						p := newScreenPage(t, browser, f, dir, lang, size)
						sc.run(p)
					})
				}
			})
		}
	}
}

type screenSize struct {
	name          string
	width, height int64
	touch         bool // a touch-only phone
}

func startChromium(t *testing.T, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 860),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return browser
}

// screenPage is one tab in its own browser context.
type screenPage struct {
	t    *testing.T
	ctx  context.Context
	f    *fakeServer
	dir  string
	lang string
	size screenSize
	room string // this run's room name, unique
}

func newScreenPage(t *testing.T, browser context.Context, f *fakeServer, dir, lang string, size screenSize) *screenPage {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // open the tab
		t.Fatal(err)
	}
	p := &screenPage{t: t, ctx: ctx, f: f, dir: dir, lang: lang, size: size}
	p.room = strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	p.room = p.room[strings.LastIndex(p.room, "-")+1:] + "-" + lang + "-" + size.name
	var opts []chromedp.EmulateViewportOption
	if size.touch {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	p.do(chromedp.EmulateViewport(size.width, size.height, opts...))
	// The language, as if chosen before.
	p.do(chromedp.Navigate(f.srv.URL + "/"))
	p.eval(fmt.Sprintf(`localStorage.setItem('palabre.lang', %q); localStorage.setItem('palabre.name', 'Sam'); true`, lang))
	return p
}

func (p *screenPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%v", err)
	}
}

func (p *screenPage) eval(expr string) any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *screenPage) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("waiting until %s: %v (state %v: %v)", what, err, p.eval(`window.palabre && window.palabre.state`),
			p.eval(`document.getElementById('reconnecting').textContent.replace(/\s+/g, ' ') + ' | ' + document.getElementById('error').textContent`))
	}
}

// shot writes the viewport (and, with full, the whole page) to
// <dir>/<name>-<lang>-<size>.png.
func (p *screenPage) shot(name string, full bool) {
	p.t.Helper()
	time.Sleep(150 * time.Millisecond) // let transitions settle
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(p.dir, fmt.Sprintf("%s-%s-%s.png", name, p.lang, p.size.name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// join goes through the prejoin screen.
func (p *screenPage) join(room, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.f.srv.URL+"/r/"+room), chromedp.WaitVisible(chromedp.ID("join")))
	p.waitFor("the microphone", `document.getElementById('mic-status').textContent !== '' && !document.getElementById('join').disabled`)
	if password != "" {
		p.do(chromedp.WaitVisible(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), password))
	}
	p.do(chromedp.Click(chromedp.ID("join")))
}

func (p *screenPage) inRoom() {
	p.t.Helper()
	p.waitFor("in the room", `window.palabre.state === 'room'`)
}

// checks of the layout, on every screen size.
func (p *screenPage) checkFits() {
	p.t.Helper()
	if w := p.eval(`document.documentElement.scrollWidth`).(float64); int64(w) > p.size.width {
		p.t.Errorf("the page is %v px wide in a %d px viewport", w, p.size.width)
	}
}

// pttBox is the talk button's bounding box, as a string to compare.
const pttBox = `(() => { const r = document.getElementById('ptt').getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round).join(','); })()`

// boxes are the heights of what stands above the talk button, to say
// what moved it.
const boxes = `['room-head', 'room-badges', 'room-title', 'media-status', 'now-speaking', 'room-level'].map((id) => {
	const el = document.getElementById(id) || document.querySelector('.' + id);
	return el ? id + ':' + Math.round(el.getBoundingClientRect().height) : id + ':none';
}).join(' ')`

var (
	ana   = func() proto.Participant { p := person("ana", "Ana"); p.Organizer = true; return p }()
	bo    = person("bo", "Bo")
	chloe = person("chloe", "Chloé")
	selfP = person("me", "Sam")
)

func pttRoom() proto.RoomInfo {
	return proto.RoomInfo{Mode: proto.ModePTT, MaxSpeakers: 1, Slots: 3, Chat: true}
}

type scenario struct {
	name string
	run  func(p *screenPage)
}

var scenarios = []scenario{
	{"home", func(p *screenPage) {
		p.do(chromedp.Navigate(p.f.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("create-name")))
		typed := map[string]string{"en": "Choir Tuesday", "fr": "Chorale du Mardi"}[p.lang]
		p.do(chromedp.SendKeys(chromedp.ID("create-name"), typed), chromedp.SendKeys(chromedp.ID("create-password"), "la-la-la"),
			chromedp.SetValue(chromedp.ID("create-mode"), "ptt"))
		p.eval(`document.getElementById('create-mode').dispatchEvent(new Event('change')); true`)
		p.shot("home-preview", false)
		p.do(chromedp.Click(chromedp.ID("create-submit")), chromedp.WaitVisible(chromedp.ID("participant-link")))
		p.eval(`navigator.clipboard.writeText = () => Promise.resolve(); true`)
		p.do(chromedp.Click(chromedp.CSS(`button[data-copy="participant-link"]`)))
		p.waitFor("the copied mark", `document.getElementById('participant-link-copied').textContent !== ''`)
		p.shot("home-created", true)
		p.checkFits()
	}},
	{"invalid", func(p *screenPage) {
		p.do(chromedp.Navigate(p.f.srv.URL+"/r/Choir%20Tuesday!"), chromedp.WaitVisible(chromedp.ID("invalid")))
		if got := p.eval(`document.getElementById('invalid-suggest-link').textContent`); got != "choir-tuesday" {
			p.t.Errorf("suggested %v", got)
		}
		p.shot("invalid", false)
	}},
	{"password", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: proto.RoomInfo{Mode: proto.ModePTT, HasPassword: true, MaxSpeakers: 1, Slots: 3},
			join: func(proto.Message) []proto.Message {
				return []proto.Message{proto.ErrorReply(0, proto.CodeBadPassword, "wrong password")}
			}})
		p.join(p.room, "wrong")
		p.waitFor("marked invalid", `document.getElementById('password').getAttribute('aria-invalid') === 'true'`)
		p.shot("prejoin-wrong-password", false)
	}},
	{"busy", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: pttRoom(), join: joinedAs(pttRoom(), selfP, []proto.Participant{ana, bo, chloe}, func(m *proto.Message) {
			m.Floor = []string{"ana"}
			m.Speakers = []proto.Speaker{{Slot: 0, Participant: "ana", Source: 3}}
		}), refuse: map[string]string{proto.TypePTTOn: proto.CodeFloorBusy}})
		p.join(p.room, "")
		p.inRoom()
		before := p.eval(pttBox)
		p.t.Logf("before: %v", p.eval(boxes))
		// A notice floats: the talk button does not move.
		p.f.send(p.room, proto.Message{Type: proto.TypeRoom, RoomInfo: &proto.RoomInfo{Name: p.room, Mode: proto.ModePTT, Locked: true, MaxSpeakers: 1, Slots: 3, Chat: true}, By: "ana"})
		// A press while Ana holds the floor: refused, told who has it.
		p.eval(`document.getElementById('ptt').dispatchEvent(new PointerEvent('pointerdown', {button: 0, pointerId: 1})); true`)
		p.waitFor("a notice", `!document.getElementById('info').hidden`)
		p.eval(`document.getElementById('ptt').dispatchEvent(new PointerEvent('pointerup', {button: 0, pointerId: 1})); true`)
		if p.eval(`window.palabre.micEnabled`) == true {
			p.t.Error("the microphone is live after a refused press")
		}
		if after := p.eval(pttBox); after != before {
			p.t.Errorf("the talk button moved when a notice showed: %v → %v (%v)", before, after, p.eval(boxes))
		}
		if p.size.touch {
			if shown := p.eval(`getComputedStyle(document.getElementById('ptt-hint')).display !== 'none'`); shown == true {
				p.t.Error("a keyboard hint shows on a touch screen")
			}
			// Who speaks and the talk button, on the first screen.
			for _, id := range []string{"now-speaking", "ptt"} {
				if bottom := p.eval(fmt.Sprintf(`document.getElementById(%q).getBoundingClientRect().bottom`, id)).(float64); bottom > float64(p.size.height) {
					p.t.Errorf("#%s ends at %v px, below the %d px screen", id, bottom, p.size.height)
				}
			}
		}
		p.t.Logf("chat toggle: %v", p.eval(`(() => { const b = document.getElementById('chat-toggle'); return b.getAttribute('aria-expanded') + ' ' + getComputedStyle(b).backgroundColor + ' ' + b.matches(':hover') + ' ' + document.getElementById('chat-panel').hidden; })()`))
		p.shot("room-floor-busy", false)
		p.checkFits()
	}},
	{"chat", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: pttRoom(), join: joinedAs(pttRoom(), selfP, []proto.Participant{ana, bo, chloe}, nil)})
		p.join(p.room, "")
		p.inRoom()
		msgs := []proto.ChatMessage{
			{From: "ana", Name: "Ana", Text: "Welcome! The score: https://example.org/score.pdf <b>not bold</b>"},
			{From: "bo", Name: "Bo", Text: "Bonjour à tous 👋\nOn commence à quelle heure ?"},
			{From: "ana", Name: "Ana", Text: "Can you lead the alto part today?", To: "me", Private: true},
		}
		for _, m := range msgs {
			p.f.send(p.room, proto.Message{Type: proto.TypeChat, Chat: &m})
		}
		p.waitFor("the messages", `window.palabre.chat.length === 3`)
		p.shot("room-chat-unread", false)
		if p.eval(`document.getElementById('chat-panel').hidden`) == true {
			p.do(chromedp.Click(chromedp.ID("chat-toggle")))
		}
		p.do(chromedp.SendKeys(chromedp.ID("chat-text"), "On my way — "+strings.Repeat("la ", 10)))
		p.do(chromedp.SetValue(chromedp.ID("chat-to"), "bo"))
		p.do(chromedp.Click(chromedp.ID("chat-send")))
		p.waitFor("our message", `window.palabre.chat.length === 4`)
		p.eval(`document.getElementById('chat-panel').scrollIntoView(); true`)
		p.shot("room-chat-open", false)
		p.checkFits()
	}},
	{"hands", func(p *screenPage) {
		info := proto.RoomInfo{Mode: proto.ModeModerated, MaxSpeakers: 1, Slots: 3, Chat: true}
		me := selfP
		me.Hand = true
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: info, join: joinedAs(info, me, []proto.Participant{ana, {ID: "bo", Name: "Bo", Hand: true}, chloe}, func(m *proto.Message) {
			m.Hands = []string{"bo", "me"}
		})})
		p.join(p.room, "")
		p.inRoom()
		p.waitFor("our place in the queue", `!document.getElementById('hand-position').hidden`)
		p.shot("room-hand-queue", false)
		// Given the floor: "I'm done" and mute are offered.
		p.f.send(p.room, proto.Message{Type: proto.TypeFloor, Floor: []string{"me"}})
		p.f.send(p.room, proto.Message{Type: proto.TypeHands, Hands: []string{"bo"}})
		p.waitFor("I'm done", `!document.getElementById('floor-done').hidden`)
		p.shot("room-floor-done", false)
		p.checkFits()
	}},
	{"organizer", func(p *screenPage) {
		info := proto.RoomInfo{Mode: proto.ModeModerated, MaxSpeakers: 1, Slots: 3, Chat: false, Lobby: true}
		me := selfP
		me.Organizer = true
		muted := chloe
		muted.Muted = true
		muted.ChatMuted = true
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: info, join: joinedAs(info, me, []proto.Participant{{ID: "bo", Name: "Bo", Hand: true}, muted, person("dana", "Dana"), {ID: "eli", Name: "Eli", Floor: true}}, func(m *proto.Message) {
			m.Hands = []string{"bo", "chloe"}
			m.Floor = []string{"eli"}
		})})
		p.join(p.room, "")
		p.inRoom()
		p.f.send(p.room, proto.Message{Type: proto.TypeLobby, Waiting: []proto.Waiting{{ID: "w1", Name: "Émile"}, {ID: "w2", Name: "Fatou"}}})
		p.waitFor("the lobby", `document.querySelectorAll('#lobby-list li').length === 2`)
		p.shot("room-organizer", true)
		// Removing someone asks first.
		p.do(chromedp.Click(chromedp.CSS(`#participants li[data-participant-id="bo"] button[data-action="kick"]`)))
		p.waitFor("the confirmation", `document.getElementById('confirm').open`)
		p.shot("room-confirm-kick", false)
		p.do(chromedp.Click(chromedp.ID("confirm-cancel")))
		p.checkFits()
	}},
	{"waiting", func(p *screenPage) {
		info := pttRoom()
		info.Lobby = true
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: info, join: func(proto.Message) []proto.Message {
			info.Name = p.room
			return []proto.Message{{Type: proto.TypeWaiting, RoomInfo: &info}}
		}})
		p.join(p.room, "")
		p.waitFor("waiting", `window.palabre.state === 'waiting'`)
		p.shot("waiting", false)
		self := selfP
		self.Name = "Sam"
		info.Name = p.room
		p.f.send(p.room, proto.Message{Type: proto.TypeJoined, Self: &self, RoomInfo: &info, Participants: []proto.Participant{self, ana}})
		p.inRoom()
		p.shot("waiting-admitted", false)
	}},
	{"refused", func(p *screenPage) {
		info := pttRoom()
		info.Lobby = true
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: info, join: func(proto.Message) []proto.Message {
			return []proto.Message{{Type: proto.TypeWaiting, RoomInfo: &info}}
		}})
		p.join(p.room, "")
		p.waitFor("waiting", `window.palabre.state === 'waiting'`)
		p.f.send(p.room, proto.Message{Type: proto.TypeRefused, Message: "an organizer refused you"})
		p.waitFor("ended", `window.palabre.state === 'ended'`)
		p.shot("ended-refused", false)
	}},
	{"reconnecting", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: pttRoom(), join: joinedAs(pttRoom(), selfP, []proto.Participant{ana, bo}, nil)})
		p.join(p.room, "")
		p.inRoom()
		before := p.eval(pttBox)
		p.f.drop(p.room, websocket.StatusGoingAway, "server shutting down")
		p.waitFor("reconnecting", `window.palabre.state === 'reconnecting' && window.palabre.retryIn > 0`)
		if p.eval(`document.getElementById('ptt').disabled`) != true {
			p.t.Error("the talk button is enabled while reconnecting")
		}
		if after := p.eval(pttBox); after != before {
			p.t.Errorf("the talk button moved when the connection was lost: %v → %v", before, after)
		}
		p.shot("room-reconnecting", false)
	}},
	{"latched", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: pttRoom(), join: joinedAs(pttRoom(), selfP, []proto.Participant{ana, bo}, nil)})
		p.join(p.room, "")
		p.inRoom()
		p.do(chromedp.Click(chromedp.ID("ptt-latch")))
		p.waitFor("latched", `document.getElementById('ptt-latch').dataset.latched === 'true'`)
		p.shot("room-latched", false)
	}},
	{"settings", func(p *screenPage) {
		p.f.addRoom(p.room, &fakeRoom{exist: true, info: pttRoom(), join: joinedAs(pttRoom(), selfP, []proto.Participant{ana, bo, chloe}, nil)})
		p.join(p.room, "")
		p.inRoom()
		p.do(chromedp.Click(chromedp.ID("settings-open")))
		p.waitFor("the settings", `document.getElementById('settings').open && document.querySelectorAll('#volumes input').length === 3`)
		p.shot("settings", false)
		p.eval(`document.getElementById('settings').close(); true`)
		if !p.size.touch {
			p.do(chromedp.KeyEvent("?"))
			p.waitFor("the help", `document.getElementById('help').open`)
			p.shot("help", false)
		}
	}},
}
