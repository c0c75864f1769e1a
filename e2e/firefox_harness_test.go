package e2e

// Firefox behind the driver interface: Firefox ESR over WebDriver BiDi
// (palabre/e2e/bidi), with a PulseAudio null sink as its sound device.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"palabre/e2e/bidi"
)

// TestFirefox runs every scenario in Firefox (Debian's firefox-esr, over
// WebDriver BiDi).
func TestFirefox(t *testing.T) { runEngine(t, firefoxEngine) }

var firefoxEngine = &engine{
	name: "firefox", label: "Firefox", webrtc: true, pulse: true,
	missing: func() string {
		if bidi.FindFirefox() == "" {
			return "no Firefox installed (apt-get install firefox-esr)"
		}
		return ""
	},
	start: startFirefox,
}

// firefox is one headless Firefox; each person is a user context of it
// (its own storage) in a window of its own (a background tab would be a
// hidden document, without animation frames for the level meter).
type firefox struct {
	t     *testing.T // the engine's test
	ff    *bidi.Firefox
	sound bool
	out   *lockedBuffer
}

func startFirefox(t *testing.T, run *engineRun, v variant) (browser, error) {
	env := run.pulseEnv()
	out := &lockedBuffer{}
	// Firefox starts in 3 to 8 s, 20 s next to the rest of the suite on
	// two cores: room to spare.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := bidi.LaunchOptions{ProfileDir: run.t.TempDir(), Output: out, Env: env}
	if v.noWebRTC {
		// A profile of its own: the pref is read at startup.
		opts.Prefs = map[string]any{"media.peerconnection.enabled": false}
	}
	if v.pulseMics {
		if env == nil {
			return nil, errors.New("Firefox's PulseAudio microphones need pulseaudio")
		}
		// getUserMedia opens PulseAudio's sources (startPulse's tones),
		// still without a prompt.
		opts.Prefs = map[string]any{"media.navigator.streams.fake": false}
	}
	ff, err := bidi.Launch(ctx, opts)
	if err != nil {
		return nil, err
	}
	t.Logf("Firefox %s (sound device: %v, WebRTC: %v)", ff.Session.Capabilities.BrowserVersion, env != nil, !v.noWebRTC)
	if err := ff.Subscribe(ctx, "log.entryAdded", "network.beforeRequestSent"); err != nil {
		ff.Close()
		return nil, err
	}
	f := &firefox{t: run.t, ff: ff, sound: env != nil, out: out}
	return f, nil
}

func (f *firefox) close() {
	if err := f.ff.Close(); err != nil {
		f.t.Log(err)
	}
	if f.t.Failed() {
		f.t.Logf("Firefox's output:\n%s", f.out.String())
	}
}

func (f *firefox) hasSound() bool { return f.sound }

// fxPage is one Firefox window in its own user context, with what it
// logged and asked for.
type fxPage struct {
	ff *bidi.Firefox
	bc *bidi.Context

	mu    sync.Mutex
	urls  []string
	lines []string
	stop  []func()
}

func (f *firefox) open(t *testing.T, name string) (driver, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	uc, err := f.ff.CreateUserContext(ctx)
	if err != nil {
		return nil, err
	}
	bc, err := f.ff.CreateContext(ctx, uc, true)
	if err != nil {
		return nil, err
	}
	p := &fxPage{ff: f.ff, bc: bc}
	p.stop = append(p.stop, f.ff.OnLog(func(e bidi.LogEntry) {
		if e.Source.Context != bc.ID {
			return
		}
		p.mu.Lock()
		p.lines = append(p.lines, time.UnixMilli(e.Timestamp).Format("15:04:05.000")+" "+e.String())
		p.mu.Unlock()
	}), f.ff.OnRequest(func(r bidi.Request) {
		if r.Context != bc.ID {
			return
		}
		p.mu.Lock()
		p.urls = append(p.urls, r.URL)
		p.mu.Unlock()
	}))
	return p, nil
}

func (p *fxPage) navigate(ctx context.Context, url string) error { return p.bc.Navigate(ctx, url) }

func (p *fxPage) eval(ctx context.Context, expr string) ([]byte, error) {
	v, err := p.bc.Evaluate(ctx, expr)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// element finds the element and scrolls it into view: input actions
// aimed at an element outside the viewport fail ("move target out of
// bounds"), they do not scroll as WebDriver's element click does.
func (p *fxPage) element(ctx context.Context, selector string) (bidi.Node, error) {
	v, err := p.bc.CallFunction(ctx, `(s) => {
		const e = document.querySelector(s);
		if (e) e.scrollIntoView({block: 'center', inline: 'center'});
		return e;
	}`, selector)
	if err != nil {
		return bidi.Node{}, err
	}
	n, ok := v.(bidi.Node)
	if !ok {
		return bidi.Node{}, fmt.Errorf("no element %s", selector)
	}
	return n, nil
}

func (p *fxPage) typeText(ctx context.Context, selector, text string) error {
	if err := p.click(ctx, selector); err != nil {
		return err
	}
	var steps []bidi.Action
	for _, r := range text {
		steps = append(steps, bidi.KeyDown(string(r)), bidi.KeyUp(string(r)))
	}
	return p.bc.PerformActions(ctx, bidi.Keys(steps...))
}

func (p *fxPage) click(ctx context.Context, selector string) error {
	el, err := p.element(ctx, selector)
	if err != nil {
		return err
	}
	return p.bc.PerformActions(ctx, bidi.Pointer(bidi.MoveTo(el), bidi.PointerDown(), bidi.PointerUp()))
}

func (p *fxPage) key(ctx context.Context, k string, down bool) error {
	if down {
		return p.bc.PerformActions(ctx, bidi.Keys(bidi.KeyDown(k)))
	}
	return p.bc.PerformActions(ctx, bidi.Keys(bidi.KeyUp(k)))
}

func (p *fxPage) pointerDown(ctx context.Context, selector string) error {
	el, err := p.element(ctx, selector)
	if err != nil {
		return err
	}
	return p.bc.PerformActions(ctx, bidi.Pointer(bidi.MoveTo(el), bidi.PointerDown(), bidi.Pause(50)))
}

func (p *fxPage) pointerUp(ctx context.Context) error {
	return p.bc.PerformActions(ctx, bidi.Pointer(bidi.PointerUp()))
}

func (p *fxPage) viewport(ctx context.Context, width, height int) error {
	return p.bc.SetViewport(ctx, width, height, 0)
}

func (p *fxPage) activate(ctx context.Context) error { return p.bc.Activate(ctx) }

func (p *fxPage) screenshot(ctx context.Context) ([]byte, error) { return p.bc.Screenshot(ctx) }

func (p *fxPage) preload(ctx context.Context, js string) error {
	_, err := p.ff.AddPreloadScript(ctx, "() => { "+js+"; }", p.bc.UserContext)
	return err
}

func (p *fxPage) requests(context.Context) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.urls
	p.urls = nil
	return out
}

func (p *fxPage) console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.lines
	p.lines = nil
	return out
}

func (p *fxPage) close() {
	for _, f := range p.stop {
		f()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.ff.RemoveUserContext(ctx, p.bc.UserContext)
}

// startPulse runs a PulseAudio server with one null sink for the test and
// returns the environment that points a browser at it ("PULSE_SERVER=…"),
// or nil without pulseaudio installed (a failure under CI, which installs
// it). Without any sound device Firefox keeps every AudioContext
// suspended, so the app's level meters read 0 (received WebRTC audio
// plays and is counted without one).
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
		// Two microphones for Firefox's pulseMics variant (a tone each;
		// they generate nothing while nobody records).
		"--load=module-sine-source source_name=palabre_mic_a rate=48000 frequency=440",
		"--load=module-sine-source source_name=palabre_mic_b rate=48000 frequency=660",
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
