package e2e

// WebKit behind the driver interface: Debian's WebKitGTK, its MiniBrowser
// driven by WebKitWebDriver (classic WebDriver over HTTP,
// palabre/e2e/webdriver) under an Xvfb of the test's own. Debian builds
// WebKitGTK without WebRTC: the scenarios that make calls skip.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/e2e/webdriver"
)

// TestWebKit runs every scenario that WebKitGTK can run (no WebRTC) in
// MiniBrowser over classic WebDriver.
func TestWebKit(t *testing.T) { runEngine(t, webkitEngine) }

var webkitEngine = &engine{
	name: "webkit", label: "WebKitGTK", webrtc: false, pulse: true,
	missing: func() string {
		driver, browser := webdriver.FindWebKit()
		switch {
		case driver == "":
			return "no WebKitWebDriver installed (apt-get install webkit2gtk-driver)"
		case browser == "":
			return "no MiniBrowser installed (apt-get install libwebkit2gtk-4.1-0)"
		}
		if _, err := exec.LookPath("Xvfb"); err != nil {
			return "no Xvfb installed (apt-get install xvfb)"
		}
		return ""
	},
	start: startWebKit,
}

// webkit is one Xvfb display; each person is a WebKitWebDriver and its
// MiniBrowser of its own (a session: its own storage).
type webkit struct {
	run     *engineRun
	display string
	xvfb    *exec.Cmd
	exited  chan struct{}
	browser string
}

func startWebKit(t *testing.T, run *engineRun, v variant) (browser, error) {
	_, mini := webdriver.FindWebKit()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// -displayfd: Xvfb picks a free display and writes its number.
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1600x1200x24")
	cmd.ExtraFiles = []*os.File{w}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("Xvfb: %w", err)
	}
	w.Close()
	wk := &webkit{run: run, xvfb: cmd, exited: make(chan struct{}), browser: mini}
	go func() { cmd.Wait(); close(wk.exited) }()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			wk.close()
			return nil, fmt.Errorf("Xvfb gave no display: %s", out.String())
		}
		wk.display = ":" + n
	case <-time.After(20 * time.Second):
		wk.close()
		return nil, fmt.Errorf("Xvfb gave no display within 20 s: %s", out.String())
	}
	return wk, nil
}

func (w *webkit) close() {
	w.xvfb.Process.Kill()
	<-w.exited
}

func (w *webkit) hasSound() bool { return true } // its meter moves without a sound device

// wkPage is one person: a WebKitWebDriver, its MiniBrowser and session.
type wkPage struct {
	driver *webdriver.Driver
	s      *webdriver.Session
	out    *lockedBuffer
	chrome [2]int // the window's outer size less the viewport's

	mu    sync.Mutex
	seen  map[string]bool
	lines []string
}

// gtkCSS shrinks MiniBrowser's own widgets (toolbar, address bar).
const gtkCSS = `* { min-width: 0; min-height: 0; padding: 0; margin: 0; border-width: 0; font-size: 1px; -gtk-icon-transform: scale(0.1); }
`

// webkitArgs are MiniBrowser's settings: getUserMedia with WebKit's mock
// microphones (a tone).
var webkitArgs = []string{
	"--enable-media-stream=true",
	"--enable-mock-capture-devices=true",
	"--enable-dns-prefetching=false",
}

func (w *webkit) open(t *testing.T, name string) (driver, error) {
	dir := t.TempDir()
	for _, d := range []string{"run", "cache", "data", "config"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	// MiniBrowser's toolbar keeps its window at least 447 px wide: a
	// style sheet of the person's own shrinks the browser's widgets (not
	// the page's) so that a phone's 360 px fit.
	if err := os.Mkdir(filepath.Join(dir, "config", "gtk-3.0"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "gtk-3.0", "gtk.css"), []byte(gtkCSS), 0o644); err != nil {
		return nil, err
	}
	env := append([]string{
		"DISPLAY=" + w.display, "GDK_BACKEND=x11", "NO_AT_BRIDGE=1", "GSETTINGS_BACKEND=memory",
		"HOME=" + dir, "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}, w.run.pulseEnv()...)
	out := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := webdriver.StartDriver(ctx, webdriver.DriverOptions{Env: env, Output: out})
	if err != nil {
		return nil, err
	}
	s, err := d.NewSession(ctx, webdriver.WebKitCapabilities(w.browser, true, webkitArgs...))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	p := &wkPage{driver: d, s: s, out: out, seen: map[string]bool{}}
	if err := p.resize(ctx, 1000, 800); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// resize makes the window's viewport width × height, as far as the
// window can be that small, and returns nil; it measures the window's
// own widgets (toolbar, address bar) on first use.
func (p *wkPage) resize(ctx context.Context, width, height int) error {
	if p.chrome == [2]int{} {
		rect, err := p.s.WindowRect(ctx)
		if err != nil {
			return err
		}
		inner, err := p.inner(ctx)
		if err != nil {
			return err
		}
		p.chrome = [2]int{rect.Width - inner[0], rect.Height - inner[1]}
	}
	_, err := p.s.SetWindowRect(ctx, width+p.chrome[0], height+p.chrome[1])
	return err
}

func (p *wkPage) inner(ctx context.Context) ([2]int, error) {
	var v [2]int
	raw, err := p.s.Execute(ctx, `return [window.innerWidth, window.innerHeight]`)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	return v, err
}

func (p *wkPage) navigate(ctx context.Context, target string) error {
	p.collect(ctx)
	if err := p.s.Navigate(ctx, target); err != nil {
		return err
	}
	_, err := p.eval(ctx, consoleHookJS)
	return err
}

// consoleHookJS records what the page writes to its console, and its
// uncaught errors, in window.__e2eConsole: classic WebDriver has no log,
// and MiniBrowser's automation windows do not print them. What the page
// wrote before its load event is not seen.
const consoleHookJS = `(() => {
	if (window.__e2eConsole) return true;
	const out = window.__e2eConsole = [];
	const stamp = () => new Date().toISOString().slice(11, 23);
	for (const m of ['debug', 'log', 'info', 'warn', 'error']) {
		const orig = console[m].bind(console);
		console[m] = (...args) => { out.push(stamp() + ' ' + m + ': ' + args.map(a => { try { return typeof a === 'string' ? a : JSON.stringify(a); } catch { return String(a); } }).join(' ')); orig(...args); };
	}
	addEventListener('error', e => out.push(stamp() + ' uncaught: ' + e.message));
	addEventListener('unhandledrejection', e => out.push(stamp() + ' unhandled rejection: ' + String(e.reason)));
	return true;
})()`

// evalScript is the body of an asynchronous WebDriver script that
// evaluates an expression, awaits it and calls back with its value or
// its error.
const evalScript = `const done = arguments[arguments.length - 1];
(async () => (
%s
))().then(v => done({ok: true, v: v === undefined ? null : v}), e => done({ok: false, e: String((e && e.stack) || e)}));`

func (p *wkPage) eval(ctx context.Context, expr string) ([]byte, error) {
	raw, err := p.s.ExecuteAsync(ctx, fmt.Sprintf(evalScript, expr))
	if err != nil {
		return nil, err
	}
	var r struct {
		OK bool            `json:"ok"`
		V  json.RawMessage `json:"v"`
		E  string          `json:"e"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("webkit: script answer %.200s: %w", raw, err)
	}
	if !r.OK {
		return nil, fmt.Errorf("webkit: script threw: %s", r.E)
	}
	return r.V, nil
}

func (p *wkPage) typeText(ctx context.Context, selector, text string) error {
	el, err := p.s.FindElement(ctx, selector)
	if err != nil {
		return err
	}
	return p.s.SendKeys(ctx, el, text)
}

func (p *wkPage) click(ctx context.Context, selector string) error {
	el, err := p.s.FindElement(ctx, selector)
	if err != nil {
		return err
	}
	return p.s.Click(ctx, el)
}

func (p *wkPage) key(ctx context.Context, k string, down bool) error {
	if down {
		return p.s.PerformActions(ctx, webdriver.Keys(webdriver.KeyDown(k)))
	}
	return p.s.PerformActions(ctx, webdriver.Keys(webdriver.KeyUp(k)))
}

// pointerDown scrolls the element into view (WebDriver's actions do not
// scroll: an element off screen is "out of bounds") and presses on it.
func (p *wkPage) pointerDown(ctx context.Context, selector string) error {
	if _, err := p.eval(ctx, fmt.Sprintf(`(document.querySelector(%q).scrollIntoView({block: 'center', inline: 'center'}), true)`, selector)); err != nil {
		return err
	}
	el, err := p.s.FindElement(ctx, selector)
	if err != nil {
		return err
	}
	return p.s.PerformActions(ctx, webdriver.Pointer(webdriver.MoveTo(el), webdriver.PointerDown(), webdriver.Pause(50)))
}

func (p *wkPage) pointerUp(ctx context.Context) error {
	return p.s.PerformActions(ctx, webdriver.Pointer(webdriver.PointerUp()))
}

// viewport resizes the window so that its viewport is width × height.
func (p *wkPage) viewport(ctx context.Context, width, height int) error {
	if err := p.resize(ctx, width, height); err != nil {
		return err
	}
	// The window is resized asynchronously: the page sees it a moment
	// later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		inner, err := p.inner(ctx)
		if err != nil {
			return err
		}
		if inner == [2]int{width, height} {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webkit: the viewport is %d×%d, not %d×%d", inner[0], inner[1], width, height)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshot waits for two animation frames first: WebKitGTK's
// screenshot is the last frame painted, which can lag a step or two
// behind the document (a first version showed the home page after the
// room had replaced it).
// activate does nothing: each person is a MiniBrowser of its own under
// an Xvfb without a window manager, and no scenario that needs the
// focus (a call) runs in WebKitGTK.
func (p *wkPage) activate(context.Context) error { return nil }

func (p *wkPage) screenshot(ctx context.Context) ([]byte, error) {
	if _, err := p.eval(ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 100))))`); err != nil {
		return nil, err
	}
	return p.s.Screenshot(ctx)
}

func (p *wkPage) preload(context.Context, string) error { return errUnsupported }

// requests: classic WebDriver tells nothing of the network; the page's
// own record (its address and its resource timing entries) does, except
// for WebSockets.
func (p *wkPage) requests(ctx context.Context) []string {
	p.collect(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for u, fresh := range p.seen {
		if fresh {
			out = append(out, u)
			p.seen[u] = false
		}
	}
	return out
}

// collect takes the page's record of its requests and console.
func (p *wkPage) collect(ctx context.Context) {
	raw, err := p.eval(ctx, `({urls: [location.href, ...performance.getEntriesByType('resource').map(e => e.name)],
		console: (window.__e2eConsole || []).splice(0)})`)
	if err != nil {
		return
	}
	var got struct {
		URLs    []string `json:"urls"`
		Console []string `json:"console"`
	}
	json.Unmarshal(raw, &got)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range got.URLs {
		if _, ok := p.seen[u]; !ok {
			p.seen[u] = true
		}
	}
	p.lines = append(p.lines, got.Console...)
}

// console returns what collect took of the page's console (see
// consoleHookJS).
func (p *wkPage) console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.lines
	p.lines = nil
	return out
}

func (p *wkPage) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.s.Delete(ctx)
	p.driver.Close()
}

// output is what the driver and its browser printed.
func (p *wkPage) output() string { return p.out.String() }
