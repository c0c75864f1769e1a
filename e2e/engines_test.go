package e2e

// One description of each scenario, run in every browser engine: the
// engines (Chromium over CDP, Firefox over WebDriver BiDi, WebKitGTK
// over classic WebDriver) are drivers behind one small interface, and
// TestChromium, TestFirefox and TestWebKit run the scenario table
// (scenarios_test.go) in theirs, each in a network namespace whose only
// interface is lo. See README.md.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/e2e/netns"
)

// A driver is one person's window in one engine: its own storage
// (Chromium's browser context, Firefox's user context, a WebKit session
// of its own). Each call has a time limit (ctx); selectors are CSS.
type driver interface {
	navigate(ctx context.Context, url string) error
	// eval evaluates a JavaScript expression, awaits it if it is a
	// promise, and returns its value as JSON ("null" for undefined).
	eval(ctx context.Context, expr string) ([]byte, error)
	// typeText focuses the element and types text into it, key by key.
	typeText(ctx context.Context, selector, text string) error
	// click clicks the middle of the element, as a mouse does.
	click(ctx context.Context, selector string) error
	// key presses (down) or releases a key, given as WebDriver does: a
	// character ("a", " ") or a special key (keyEnter…). It stays
	// pressed across calls until released.
	key(ctx context.Context, key string, down bool) error
	// pointerDown moves the mouse to the middle of the element and
	// presses its main button, kept pressed until pointerUp.
	pointerDown(ctx context.Context, selector string) error
	pointerUp(ctx context.Context) error
	// viewport sets the size of the page's viewport in CSS pixels (for
	// the pages loaded from now on, at least).
	viewport(ctx context.Context, width, height int) error
	screenshot(ctx context.Context) ([]byte, error)
	// preload makes every later document of this person run js before
	// the page's own scripts (errUnsupported where the driver cannot).
	preload(ctx context.Context, js string) error
	// activate brings the person's window to the front, with the focus
	// (the person is at their machine now).
	activate(ctx context.Context) error
	// requests returns the URLs the person's pages asked for since the
	// last call (HTTP and WebSocket where the engine tells).
	requests(ctx context.Context) []string
	// console returns what the pages wrote to the console since the
	// last call.
	console() []string
	close()
}

// Special keys for driver.key: WebDriver's code points.
const (
	keySpace  = " "
	keyEnter  = "\uE007"
	keyTab    = "\uE004"
	keyEscape = "\uE00C"
)

var errUnsupported = errors.New("not supported by this engine's driver")

// An engine is one browser engine the scenarios run in.
type engine struct {
	name  string // chromium, firefox, webkit: screenshots' prefix
	label string // for people: "Chromium"
	// webrtc: it can make calls (RTCPeerConnection, real media).
	webrtc bool
	// pulse: its browsers want a PulseAudio server (startPulse).
	pulse bool
	// missing says what to install for the engine, "" when it can run.
	missing func() string
	// start starts one browser process of the engine for the engine
	// run (inside the namespace); the run closes it at its end.
	start func(t *testing.T, run *engineRun, v variant) (browser, error)
}

// A variant is a browser process with other settings than the default.
type variant struct {
	noWebRTC bool // Firefox with media.peerconnection.enabled=false
	// pulseMics: Firefox capturing from PulseAudio instead of its one
	// fake device: the run's PulseAudio has two tone sources (startPulse).
	pulseMics bool
	// camera: Chromium's fake camera plays a 1280×720 moving pattern
	// (fakeCameraFile) instead of its default picture. Firefox's fake
	// camera needs no variant: use bench.withCamera.
	camera bool
	// ns: Chromium runs in this network namespace (ip netns exec), not
	// in the test's: the far end of a netns.Link (linked).
	ns string
	// origin is the server's there (http://10.78.0.1:port): Chromium
	// must not map its host away with its rule that no name resolves, and
	// must treat it as secure (getUserMedia needs a secure context, and
	// only loopback is one without TLS).
	origin string
}

// A browser is one running browser process; open makes a person in it.
type browser interface {
	open(t *testing.T, name string) (driver, error)
	close()
	// sound: it has a sound device (Firefox without PulseAudio keeps
	// every AudioContext suspended: level meters read 0).
	hasSound() bool
}

// engineRun is one engine's test (TestChromium…), inside its namespace:
// the browsers its scenarios share (started when first needed), and the
// test's PulseAudio.
type engineRun struct {
	t        *testing.T
	mu       sync.Mutex
	browsers map[string]browser
	pulse    []string // PULSE_SERVER=…; nil without pulseaudio
}

// browser returns the run's browser of engine e and variant v, started
// on first use.
func (r *engineRun) browser(t *testing.T, e *engine, v variant) browser {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	key := fmt.Sprintf("%s %+v", e.name, v)
	if b := r.browsers[key]; b != nil {
		return b
	}
	if why := e.missing(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s under CI: .ci/run must install it", why)
		}
		t.Skip(why)
	}
	start := time.Now()
	b, err := e.start(t, r, v)
	if err != nil {
		t.Fatalf("starting %s: %v", e.label, err)
	}
	t.Logf("%s started in %v", e.label, time.Since(start).Round(time.Millisecond))
	if r.browsers == nil {
		r.browsers = map[string]browser{}
	}
	r.browsers[key] = b
	return b
}

func (r *engineRun) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.browsers {
		b.close()
	}
	r.browsers = nil
}

// pulseEnv is the environment pointing at the run's PulseAudio server
// (nil without one).
func (r *engineRun) pulseEnv() []string { return r.pulse }

// engines are the engines, by name.
var engines = map[string]*engine{
	"chromium": chromiumEngine,
	"firefox":  firefoxEngine,
	"webkit":   webkitEngine,
}

// runEngine runs the scenario table in engine e: the body of TestChromium,
// TestFirefox and TestWebKit.
func runEngine(t *testing.T, e *engine) {
	if why := e.missing(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s under CI: .ci/run must install it", why)
		}
		t.Skip(why)
	}
	if !isolated(t) {
		return
	}
	run := &engineRun{t: t}
	if e.pulse {
		run.pulse = startPulse(t)
	}
	t.Cleanup(run.close)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if len(sc.engines) > 0 && !slices.Contains(sc.engines, e.name) {
				t.Skipf("runs in %s only (%s)", strings.Join(sc.engines, ", "), sc.why)
			}
			if sc.webrtc && !e.webrtc {
				t.Skipf("%s has no WebRTC", e.label)
			}
			sc.run(t, &bench{t: t, e: e, run: run})
		})
	}
}

// A scenario is one browser test, written once over page and run in each
// engine.
type scenario struct {
	name string
	// webrtc: the scenario makes calls (skipped in WebKitGTK).
	webrtc bool
	// engines, if set, are the only engines it runs in, and why.
	engines []string
	why     string
	run     func(t *testing.T, b *bench)
}

// bench is what a scenario gets: its test, the engine under test and the
// run's browsers.
type bench struct {
	t   *testing.T
	e   *engine
	run *engineRun
}

// person opens a window for a new person (own storage) in the engine
// under test.
func (b *bench) person(name string) *page { return b.personIn(b.e, variant{}, name) }

// personWith is person in a browser of another variant.
func (b *bench) personWith(v variant, name string) *page { return b.personIn(b.e, v, name) }

// withCamera opens a window for a person whose camera sends a moving
// picture: in Chromium, the camera variant's Y4M file; in Firefox, its
// own fake camera.
func (b *bench) withCamera(name string) *page {
	if b.e == chromiumEngine {
		return b.personWith(variant{camera: true}, name)
	}
	return b.person(name)
}

// personIn opens a window for a new person in engine e.
func (b *bench) personIn(e *engine, v variant, name string) *page {
	t := b.t
	t.Helper()
	br := b.run.browser(t, e, v)
	d, err := br.open(t, name)
	if err != nil {
		t.Fatalf("%s: opening a window in %s: %v", name, e.label, err)
	}
	p := &page{t: t, name: name, engine: e, d: d, sound: br.hasSound()}
	t.Cleanup(func() {
		lines := d.console()
		if t.Failed() {
			p.mu.Lock()
			lines = append(p.consoleLines, lines...)
			p.mu.Unlock()
			for _, l := range lines {
				t.Logf("%s console: %s", name, l)
			}
			if o, ok := d.(interface{ output() string }); ok {
				t.Logf("%s's browser printed:\n%s", name, o.output())
			}
		}
		d.close()
	})
	return p
}

// ---- isolation -------------------------------------------------------

// insideEnv names the namespace a test process was started in by
// isolated: set, the test runs for real.
const insideEnv = "PALABRE_E2E_NETNS"

// hostEnv set (to anything but 0) runs the browser tests on this
// machine's own network, without a namespace: for debugging only (a
// browser then sees the real interfaces, and may reach them).
const hostEnv = "PALABRE_E2E_HOST"

// linkEnv, set by runInside, is the netns.Link of a test run inside the
// A end of a link (linked).
const linkEnv = "PALABRE_E2E_LINK"

// isolated runs the calling test in a network namespace of its own, whose
// only interface is lo, and tells the caller whether to go on. Outside,
// it makes the namespace, runs this test binary again inside it for this
// test (-test.run, with the subtests asked for), relays its output,
// reports its subtests' results as its own, checks that nothing in the
// namespace tried to reach the outside, and returns false: the caller
// returns. Inside (or with PALABRE_E2E_HOST set), it returns true.
//
// The whole process goes in, not only some sockets: the server's TURN
// relays are opened per allocation, Go clients and browsers dial out, and
// every one of them must be inside.
func isolated(t *testing.T) bool {
	t.Helper()
	if name := os.Getenv(insideEnv); name != "" {
		if os.Getenv(linkEnv) != "" {
			return true // a linked namespace (linked): lo and its link
		}
		if ifs, err := net.Interfaces(); err != nil || len(ifs) != 1 || ifs[0].Name != "lo" {
			t.Fatalf("in namespace %s with interfaces %v (%v), want lo only", name, ifs, err)
		}
		return true
	}
	if v := os.Getenv(hostEnv); v != "" && v != "0" {
		t.Logf("%s set: running on this machine's network, not in a namespace", hostEnv)
		return true
	}
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: the browser tests run in a network namespace, and CI runs as root", err)
		}
		t.Skipf("%v: the browser tests run in a network namespace (or set %s=1 to run them on this machine's network)", err, hostEnv)
	}
	ns, err := netns.New("e2e")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	runInside(t, ns, nil)
	return false
}

// runInside runs the calling test again in namespace ns (this test
// binary, -test.run with the subtests asked for), relays its output,
// reports its subtests' results as its own, and checks that nothing in
// ns tried to reach the outside. With a link (ns is its A), the test is
// told the link (linkEnv), its subnet counts as inside, and B is
// watched too.
func runInside(t *testing.T, ns *netns.Namespace, link *netns.Link) {
	t.Helper()
	watch, err := ns.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	watches := []*netns.Watch{watch}
	var env []string
	if link != nil {
		env = append(env, linkEnv+"="+link.String())
		other, err := link.B.Watch()
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		watches = append(watches, other)
		for _, w := range watches {
			w.Allow(link.Prefix)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The subtests asked for (-run TestFirefox/PushToTalk) are run inside;
	// with alternatives (-run 'TestA/X|TestB/Y') the part after the first
	// slash would be read as this test's subtests, and the other tests
	// matched inside too: then all of this test's subtests run.
	pattern := "^" + regexp.QuoteMeta(t.Name()) + "$"
	if f := flag.Lookup("test.run"); f != nil && !strings.Contains(f.Value.String(), "|") {
		if _, sub, ok := strings.Cut(f.Value.String(), "/"); ok {
			pattern += "/" + sub
		}
	}
	args := []string{"-test.run=" + pattern, "-test.v", "-test.count=1"}
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" {
		args = append(args, "-test.skip="+f.Value.String())
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-2*time.Second))
		defer cancel()
		args = append(args, fmt.Sprintf("-test.timeout=%v", time.Until(d)-5*time.Second))
	}
	cmd := ns.CommandContext(ctx, exe, args...)
	cmd.Env = append(append(os.Environ(), insideEnv+"="+ns.Name), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	err = cmd.Wait()
	for _, w := range watches {
		if n, first := w.Outside(); n > 0 {
			t.Errorf("%d packets in the namespaces were meant for the outside: %v", n, first)
		}
	}
	// Attempts at well-known ports inside (the test's servers have
	// ephemeral ones): name lookups (Chromium asks for Google's update
	// and autofill hosts), or a background service reaching out. They
	// stayed inside; -v shows them.
	for f, n := range watch.Flows() {
		if f.Proto != "icmp" && f.Dst.Port() < 1024 {
			t.Logf("inside the namespace: %d× %s to %s", n, f.Proto, f.Dst)
		}
	}
	// The subtests, as they ended inside.
	for _, sub := range res.order {
		r := res.subtests[sub]
		t.Run(strings.TrimPrefix(sub, t.Name()+"/"), func(t *testing.T) {
			switch r.result {
			case "FAIL":
				t.Errorf("failed in the namespace after %s (its output is above)", r.took)
			case "SKIP":
				t.Skip(r.last)
			case "PASS":
				t.Logf("passed in the namespace in %s", r.took)
			default:
				t.Error("did not end in the namespace")
			}
		})
	}
	top := res.subtests[t.Name()]
	switch {
	case err != nil:
		t.Fatalf("the test in namespace %s: %v (after %v)", ns.Name, err, time.Since(start).Round(time.Millisecond))
	case top == nil || top.result == "":
		t.Fatalf("the test did not run in namespace %s", ns.Name)
	case top.result == "SKIP":
		t.Skip("in the namespace: " + top.last)
	}
}

// subResult is how a test ended in the namespace.
type subResult struct {
	result string // PASS, FAIL, SKIP ("" if it did not end)
	took   string // "(12.34s)"
	last   string // its last log line: a skip's reason
}

type results struct {
	subtests map[string]*subResult
	order    []string // the subtests (one level down), in order
}

// logPrefix is the file and line that start a test's log line.
var logPrefix = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// readResults relays a test binary's -test.v output as log lines (each
// starting with │) and reads how each test ended.
func readResults(t *testing.T, out io.Reader) results {
	res := results{subtests: map[string]*subResult{}}
	get := func(name string) *subResult {
		r := res.subtests[name]
		if r == nil {
			r = &subResult{}
			res.subtests[name] = r
			if strings.Count(name, "/") == 1 && strings.HasPrefix(name, t.Name()+"/") {
				res.order = append(res.order, name)
			}
		}
		return r
	}
	current := ""
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.Log("│ " + line)
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "=== RUN "), strings.HasPrefix(trimmed, "=== NAME "), strings.HasPrefix(trimmed, "=== CONT "):
			f := strings.Fields(trimmed)
			if len(f) >= 3 {
				current = f[2]
				get(current)
			}
		case strings.HasPrefix(trimmed, "--- PASS: "), strings.HasPrefix(trimmed, "--- FAIL: "), strings.HasPrefix(trimmed, "--- SKIP: "):
			f := strings.Fields(trimmed)
			if len(f) >= 3 {
				r := get(f[2])
				r.result = strings.TrimSuffix(f[1], ":")
				if len(f) >= 4 {
					r.took = f[3]
				}
			}
		case strings.HasPrefix(line, "    ") && current != "":
			get(current).last = logPrefix.ReplaceAllString(trimmed, "")
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("reading the output of the test in the namespace: %v", err)
		io.Copy(io.Discard, out) // let it finish
	}
	return res
}

// ---- pages -----------------------------------------------------------

// page is one person's window, whatever the engine: what scenarios use.
type page struct {
	t      *testing.T
	name   string
	engine *engine
	d      driver
	sound  bool // the browser has a sound device (see browser.hasSound)

	mu           sync.Mutex
	urls         []string
	consoleLines []string
}

const opTimeout = 20 * time.Second

func (p *page) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func (p *page) fatal(err error) {
	p.t.Helper()
	p.t.Fatalf("%s (%s): %v", p.name, p.engine.label, err)
}

// navigate loads url and waits for its load event.
func (p *page) navigate(url string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	p.collect(ctx)
	if err := p.d.navigate(ctx, url); err != nil {
		p.fatal(err)
	}
}

// evalErr evaluates a JavaScript expression (awaiting promises) into out.
func (p *page) evalErr(expr string, out any) error {
	ctx, cancel := p.ctx()
	defer cancel()
	v, err := p.d.eval(ctx, expr)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if len(v) == 0 {
		v = []byte("null")
	}
	return json.Unmarshal(v, out)
}

// eval evaluates a JavaScript expression (awaiting promises) into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	var out T
	if err := p.evalErr(expr, &out); err != nil {
		p.t.Fatalf("%s (%s): %s: %v", p.name, p.engine.label, expr, err)
	}
	return out
}

// run evaluates expr for its effect.
func (p *page) run(expr string) {
	p.t.Helper()
	if err := p.evalErr(expr, nil); err != nil {
		p.t.Fatalf("%s (%s): %s: %v", p.name, p.engine.label, expr, err)
	}
}

// waitFor polls a JavaScript condition until it is true (20 s at most).
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		var ok bool
		err := p.evalErr(cond, &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			p.evalErr(`JSON.stringify({state: window.palabre && window.palabre.state, error: (document.getElementById('error')||{}).textContent, announced: window.palabre && window.palabre.announced})`, &state)
			p.t.Fatalf("%s (%s): waiting until %s: %v (last error: %v)", p.name, p.engine.label, what, state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// visible is a JavaScript condition: the element of selector is displayed.
func visible(selector string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0; })()`, selector)
}

// waitVisible waits until the element of selector is displayed.
func (p *page) waitVisible(selector string) {
	p.t.Helper()
	p.waitFor(selector+" visible", visible(selector))
}

// click waits until the element is displayed and clicks it.
func (p *page) click(selector string) {
	p.t.Helper()
	p.waitVisible(selector)
	// A click lands where the element is: wait until nothing (a toast, a
	// closing dialog) covers its centre, as WebDriver's element click does.
	covered := fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return 'gone';
		const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
		if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return ''; // scrolled to by the click
		const top = document.elementFromPoint(x, y);
		if (!top) return 'nothing at its centre';
		return top === e || e.contains(top) || top.contains(e) ? '' : top.outerHTML.slice(0, 200);
	})()`, selector)
	for deadline := time.Now().Add(opTimeout); ; {
		var by string
		if err := p.evalErr(covered, &by); err == nil && by == "" {
			break
		} else if time.Now().After(deadline) {
			p.t.Fatalf("%s (%s): %s stays covered by %s (%v)", p.name, p.engine.label, selector, by, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.click(ctx, selector); err != nil {
		p.fatal(err)
	}
}

// typeInto waits until the field is displayed and types text into it.
func (p *page) typeInto(selector, text string) {
	p.t.Helper()
	p.waitVisible(selector)
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.typeText(ctx, selector, text); err != nil {
		p.fatal(err)
	}
}

// choose sets a <select> to value, as if the user picked it.
func (p *page) choose(selector, value string) {
	p.t.Helper()
	p.run(fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, selector, value))
}

// key presses (down) or releases a key.
func (p *page) key(k string, down bool) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.key(ctx, k, down); err != nil {
		p.fatal(err)
	}
}

// space presses (down) or releases the Space bar.
func (p *page) space(down bool) { p.t.Helper(); p.key(keySpace, down) }

// holdTalkButton presses the mouse on the middle of the talk button and
// keeps it pressed; releaseTalkButton lets go.
func (p *page) holdTalkButton() {
	p.t.Helper()
	p.waitVisible("#ptt")
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.pointerDown(ctx, "#ptt"); err != nil {
		p.fatal(err)
	}
}

func (p *page) releaseTalkButton() {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.pointerUp(ctx); err != nil {
		p.fatal(err)
	}
}

// activate brings the page's window to the front and focuses it, as its
// person's hand on the mouse does. Only where a scenario needs it: each
// person is on a machine of their own, but the windows here share one
// screen, and the others lose the focus.
func (p *page) activate() {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.activate(ctx); err != nil {
		p.fatal(err)
	}
}

// viewport sets the viewport's size in CSS pixels.
func (p *page) viewport(width, height int) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.viewport(ctx, width, height); err != nil {
		p.fatal(err)
	}
}

// preload runs js in every later document of the page before its own
// scripts; the scenario is skipped where the engine cannot.
func (p *page) preload(js string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.d.preload(ctx, js); errors.Is(err, errUnsupported) {
		p.t.Skipf("%s: no preload scripts", p.engine.label)
	} else if err != nil {
		p.fatal(err)
	}
}

// screenshot saves a PNG of the viewport as
// e2e/screenshots/ENGINE-file (ignored by git) for people to look at.
func (p *page) screenshot(file string) {
	p.t.Helper()
	png := p.screenshotPNG()
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("screenshots", p.engine.name+"-"+file), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// screenshotPNG is a PNG of the viewport.
func (p *page) screenshotPNG() []byte {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	png, err := p.d.screenshot(ctx)
	if err != nil {
		p.fatal(fmt.Errorf("screenshot: %w", err))
	}
	return png
}

// collect takes what the driver recorded since last time.
func (p *page) collect(ctx context.Context) {
	urls := p.d.requests(ctx)
	lines := p.d.console()
	p.mu.Lock()
	p.urls = append(p.urls, urls...)
	p.consoleLines = append(p.consoleLines, lines...)
	p.mu.Unlock()
}

// waitConsole waits until the page's console has said text.
func (p *page) waitConsole(text string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := p.ctx()
		p.collect(ctx)
		cancel()
		p.mu.Lock()
		found := slices.ContainsFunc(p.consoleLines, func(l string) bool { return strings.Contains(l, text) })
		lines := append([]string(nil), p.consoleLines...)
		p.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s (%s): the console never said %q (it said %q)", p.name, p.engine.label, text, lines)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requests returns every URL the page asked for.
func (p *page) requests() []string {
	ctx, cancel := p.ctx()
	defer cancel()
	p.collect(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

// join goes through the prejoin screen of room at url.
func (p *page) join(url, name, password string) {
	p.t.Helper()
	p.navigate(url)
	p.waitVisible("#prejoin")
	p.typeInto("#name", name)
	if password != "" {
		p.typeInto("#password", password)
	}
	p.click("#join")
}

// joinRoom joins and waits for the room screen and a connected media path.
func (p *page) joinRoom(url, name, password string) {
	p.t.Helper()
	p.join(url, name, password)
	p.waitVisible("#room")
	p.waitFor("media connected", `!!(window.palabre.pc && window.palabre.pc.connectionState === 'connected')`)
}

// audioIn is what the page's RTCPeerConnection says it received.
type audioIn struct {
	Bytes  float64 `json:"bytes"`
	Energy float64 `json:"energy"`
}

const statsJS = `(async () => {
	const out = {bytes: 0, energy: 0};
	if (!window.palabre.pc) return out;
	(await window.palabre.pc.getStats()).forEach(r => {
		if (r.type === 'inbound-rtp' && r.kind === 'audio') {
			out.bytes += r.bytesReceived || 0;
			out.energy += r.totalAudioEnergy || 0;
		}
	});
	return out;
})()`

func (p *page) audio() audioIn { p.t.Helper(); return eval[audioIn](p, statsJS) }

// waitAudio waits until the page's current PeerConnection received 2000
// bytes of audio more than it had (and, withEnergy, audio energy too).
func (p *page) waitAudio(what string, withEnergy bool) {
	p.t.Helper()
	before := p.audio()
	cond := fmt.Sprintf(`s.bytes > %v + 2000`, before.Bytes)
	if withEnergy {
		cond += fmt.Sprintf(` && s.energy > %v`, before.Energy)
	}
	p.waitFor(what, fmt.Sprintf(`(async () => { const s = await (%s); return %s; })()`, statsJS, cond))
}

// waitSilence checks that the page receives no audio any more, once the
// packets in flight arrived.
func (p *page) waitSilence(what string) {
	p.t.Helper()
	time.Sleep(500 * time.Millisecond) // packets in flight
	settled := p.audio()
	time.Sleep(800 * time.Millisecond)
	if after := p.audio(); after.Bytes != settled.Bytes {
		p.t.Errorf("%s: %s: %v bytes of audio more", p.name, what, after.Bytes-settled.Bytes)
	}
}

// checkOnlyServer fails if a page asked anything of another origin.
func checkOnlyServer(t *testing.T, serverURL string, pages ...*page) {
	t.Helper()
	checkOnlyServers(t, []string{serverURL}, pages...)
}

// checkOnlyServers fails if a page asked anything of an origin that is
// none of serverURLs (the nodes of a cluster).
func checkOnlyServers(t *testing.T, serverURLs []string, pages ...*page) {
	t.Helper()
	var allowed []string
	for _, s := range serverURLs {
		allowed = append(allowed, s+"/", "ws"+strings.TrimPrefix(s, "http")+"/")
	}
	for _, p := range pages {
		urls := p.requests()
		if len(urls) == 0 {
			t.Errorf("%s: no network requests recorded", p.name)
		}
	next:
		for _, u := range urls {
			if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "about:") {
				continue
			}
			for _, a := range allowed {
				if strings.HasPrefix(u, a) {
					continue next
				}
			}
			t.Errorf("%s asked another origin: %s", p.name, u)
		}
	}
}

// speakingJS is true when the page marks participant id as speaking.
func speakingJS(id string) string {
	return fmt.Sprintf(`(document.querySelector('#participants li[data-participant-id=%q]') || {dataset: {}}).dataset.speaking === 'true'`, id)
}

// lockedBuffer is a bytes.Buffer for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
