package e2e

// The Firefox side of the browser tests: Firefox driven over WebDriver
// BiDi (palabre/e2e/bidi), each test run in a network namespace of its
// own (palabre/e2e/netns) with its server, its browsers and its Go
// clients: see README.md.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/e2e/bidi"
	"palabre/e2e/netns"
)

// insideEnv names the namespace a test process was started in by
// isolated: set, the test runs for real.
const insideEnv = "PALABRE_E2E_NETNS"

// isolated runs the calling test in a network namespace of its own and
// tells the caller whether to go on. Outside, it makes the namespace,
// runs this test binary again inside it for this one test (-test.run),
// relays its output, fails or skips as it did, checks that nothing in the
// namespace tried to reach the outside, and returns false: the caller
// returns. Inside, it returns true at once.
//
// The whole process goes in, not only some sockets: the server's TURN
// relays are opened per allocation, Go clients and Chromium dial out, and
// every one of them must be inside.
func isolated(t *testing.T) bool {
	t.Helper()
	if name := os.Getenv(insideEnv); name != "" {
		if ifs, err := net.Interfaces(); err != nil || len(ifs) != 1 || ifs[0].Name != "lo" {
			t.Fatalf("in namespace %s with interfaces %v (%v), want lo only", name, ifs, err)
		}
		return true
	}
	if bidi.FindFirefox() == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Firefox under CI: .ci/run must install firefox-esr")
		}
		t.Skip("no Firefox installed (apt-get install firefox-esr)")
	}
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: the Firefox tests run in a network namespace, and CI runs as root", err)
		}
		t.Skipf("%v: the Firefox tests run in a network namespace", err)
	}
	ns, err := netns.New("e2e")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	watch, err := ns.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-2*time.Second))
		defer cancel()
		args = append(args, fmt.Sprintf("-test.timeout=%v", time.Until(d)-5*time.Second))
	}
	cmd := ns.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), insideEnv+"="+ns.Name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ran, skipped, skipWhy, last := false, false, "", ""
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.Log("│ " + line)
		switch {
		case strings.HasPrefix(line, "--- SKIP: "+t.Name()+" "):
			// With -v the reason is the test's last log line, before.
			ran, skipped, skipWhy = true, true, last
		case strings.HasPrefix(line, "--- PASS: "+t.Name()+" "), strings.HasPrefix(line, "--- FAIL: "+t.Name()+" "):
			ran = true
		case strings.HasPrefix(line, "    "):
			last = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("reading the output of the test in the namespace: %v", err)
		io.Copy(io.Discard, out) // let it finish
	}
	err = cmd.Wait()
	if n, first := watch.Outside(); n > 0 {
		t.Errorf("%d packets in the namespace were meant for the outside: %v", n, first)
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
	switch {
	case err != nil:
		t.Fatalf("the test in namespace %s: %v (after %v)", ns.Name, err, time.Since(start).Round(time.Millisecond))
	case !ran:
		t.Fatalf("the test did not run in namespace %s", ns.Name)
	case skipped:
		t.Skip("in the namespace: " + skipWhy)
	}
	return false
}

// fxBrowser is one Firefox of a test.
type fxBrowser struct {
	*bidi.Firefox
	// sound says whether it has a sound device (a PulseAudio null sink):
	// without one its AudioContexts stay suspended and the level meters
	// read 0.
	sound bool
}

// newFirefox starts one headless Firefox for the test (inside the test's
// namespace: see isolated), with a PulseAudio null sink as its sound
// device when pulseaudio is installed. Each page made from it lives in
// its own user context, like separate people on separate machines.
func newFirefox(t *testing.T) *fxBrowser {
	t.Helper()
	if os.Getenv(insideEnv) == "" {
		t.Fatal("newFirefox outside a namespace: begin the test with `if !isolated(t) { return }`")
	}
	env := startPulse(t)
	var out lockedBuffer
	// Firefox starts in 3 to 8 s, 20 s next to the rest of the suite on
	// two cores: room to spare.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	ff, err := bidi.Launch(ctx, bidi.LaunchOptions{ProfileDir: t.TempDir(), Output: &out, Env: env})
	if err != nil {
		t.Fatalf("starting Firefox: %v\n%s", err, out.String())
	}
	t.Logf("Firefox %s started in %v (sound device: %v)", ff.Session.Capabilities.BrowserVersion, time.Since(start).Round(time.Millisecond), env != nil)
	t.Cleanup(func() {
		if err := ff.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("Firefox's output:\n%s", out.String())
		}
	})
	if err := ff.Subscribe(ctx, "log.entryAdded", "network.beforeRequestSent"); err != nil {
		t.Fatal(err)
	}
	return &fxBrowser{Firefox: ff, sound: env != nil}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fxPage is one Firefox window in its own user context, with what it
// logged and asked for.
type fxPage struct {
	t     *testing.T
	name  string
	bc    *bidi.Context
	sound bool // the browser has a sound device

	mu      sync.Mutex
	urls    []string
	console []string
}

func newFxPage(t *testing.T, ff *fxBrowser, name string) *fxPage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	uc, err := ff.CreateUserContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := ff.CreateContext(ctx, uc, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &fxPage{t: t, name: name, bc: bc, sound: ff.sound}
	stopLog := ff.OnLog(func(e bidi.LogEntry) {
		if e.Source.Context != bc.ID {
			return
		}
		p.mu.Lock()
		p.console = append(p.console, time.UnixMilli(e.Timestamp).Format("15:04:05.000")+" "+e.String())
		p.mu.Unlock()
	})
	stopReq := ff.OnRequest(func(r bidi.Request) {
		if r.Context != bc.ID {
			return
		}
		p.mu.Lock()
		p.urls = append(p.urls, r.URL)
		p.mu.Unlock()
	})
	t.Cleanup(func() {
		stopLog()
		stopReq()
		if !t.Failed() {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, line := range p.console {
			t.Logf("%s console: %s", name, line)
		}
	})
	return p
}

func (p *fxPage) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 20*time.Second)
}

// fxEval evaluates a JavaScript expression (awaiting promises) into T.
func fxEval[T any](p *fxPage, expr string) T {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	v, err := p.bc.Evaluate(ctx, expr)
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	out, err := bidi.As[T](v)
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	return out
}

// waitFor polls a JavaScript condition until it is true.
func (p *fxPage) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := p.ctx()
		v, err := p.bc.Evaluate(ctx, cond)
		cancel()
		if err == nil && v == true {
			return
		}
		if time.Now().After(deadline) {
			state := fxEval[string](p, `JSON.stringify({state: window.palabre && window.palabre.state, error: (document.getElementById('error')||{}).textContent})`)
			p.t.Fatalf("%s: waiting until %s: %v (last: %v, %v)", p.name, what, state, v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// visibleJS is true when the element of id is displayed.
func visibleJS(id string) string {
	return fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0; })()`, id)
}

func (p *fxPage) navigate(url string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.bc.Navigate(ctx, url); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

func (p *fxPage) actions(sources ...bidi.Actions) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.bc.PerformActions(ctx, sources...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

func (p *fxPage) element(selector string) bidi.Node {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	el, err := p.bc.Element(ctx, selector)
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return el
}

// click clicks the middle of the element of id.
func (p *fxPage) click(id string) {
	p.t.Helper()
	p.actions(bidi.Pointer(bidi.MoveTo(p.element("#"+id)), bidi.PointerDown(), bidi.PointerUp()))
}

// typeInto focuses the element of id and types text, key by key.
func (p *fxPage) typeInto(id, text string) {
	p.t.Helper()
	p.click(id)
	var steps []bidi.Action
	for _, r := range text {
		steps = append(steps, bidi.KeyDown(string(r)), bidi.KeyUp(string(r)))
	}
	p.actions(bidi.Keys(steps...))
}

// join goes through the prejoin screen of room at url.
func (p *fxPage) join(url, name, password string) {
	p.t.Helper()
	p.navigate(url)
	p.waitFor("the prejoin screen", visibleJS("prejoin")+" && "+visibleJS("name"))
	p.typeInto("name", name)
	if password != "" {
		p.waitFor("the password field", visibleJS("password"))
		p.typeInto("password", password)
	}
	p.click("join")
}

// joinRoom joins and waits for the room screen and a connected media path.
func (p *fxPage) joinRoom(url, name, password string) {
	p.t.Helper()
	p.join(url, name, password)
	p.waitFor("the room screen", visibleJS("room"))
	p.waitFor("media connected", `!!(window.palabre.pc && window.palabre.pc.connectionState === 'connected')`)
}

// space presses (down) or releases the Space bar.
func (p *fxPage) space(down bool) {
	p.t.Helper()
	if down {
		p.actions(bidi.Keys(bidi.KeyDown(bidi.KeySpace)))
	} else {
		p.actions(bidi.Keys(bidi.KeyUp(bidi.KeySpace)))
	}
}

// holdTalkButton presses the mouse on the middle of the talk button and
// keeps it pressed; releaseTalkButton lets go.
func (p *fxPage) holdTalkButton() {
	p.t.Helper()
	p.actions(bidi.Pointer(bidi.MoveTo(p.element("#ptt")), bidi.PointerDown(), bidi.Pause(50)))
}

func (p *fxPage) releaseTalkButton() {
	p.t.Helper()
	p.actions(bidi.Pointer(bidi.PointerUp()))
}

// audio is what the page's RTCPeerConnection says it received (statsJS).
func (p *fxPage) audio() audioIn { return fxEval[audioIn](p, statsJS) }

func (p *fxPage) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

// fxCheckOnlyServer fails if a page asked anything of another origin
// than serverURL (HTTP, or the WebSocket's ws: or http: form).
func fxCheckOnlyServer(t *testing.T, serverURL string, pages ...*fxPage) {
	t.Helper()
	allowed := []string{serverURL + "/", "ws" + strings.TrimPrefix(serverURL, "http") + "/"}
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

// screenshot saves a PNG of the viewport under e2e/screenshots/.
func (p *fxPage) screenshot(file string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	png, err := p.bc.Screenshot(ctx)
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("screenshots", file), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fxPage) viewport(width, height int) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.bc.SetViewport(ctx, width, height, 0); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// startPulse runs a PulseAudio server with one null sink for the test and
// returns the environment that points Firefox at it ("PULSE_SERVER=…"),
// or nil without pulseaudio installed (a failure under CI, which installs
// it). Without any sound device Firefox
// keeps every AudioContext suspended, so the app's level meters read 0
// (received WebRTC audio plays and is counted without one).
func startPulse(t *testing.T) []string {
	t.Helper()
	bin, err := exec.LookPath("pulseaudio")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no pulseaudio under CI: .ci/run must install it")
		}
		return nil
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "native")
	cmd := exec.Command(bin, "--daemonize=no", "--exit-idle-time=-1", "-n", "--use-pid-file=no",
		"--disallow-exit", "--disallow-module-loading", "--log-target=stderr",
		"--load=module-null-sink sink_name=palabre_null",
		"--load=module-native-protocol-unix auth-anonymous=1 socket="+sock)
	// Its own runtime and home directories: nothing of the machine's
	// sessions is used or touched.
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("pulseaudio: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("pulseaudio exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulseaudio did not open %s: %s", sock, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return []string{"PULSE_SERVER=unix:" + sock}
}
