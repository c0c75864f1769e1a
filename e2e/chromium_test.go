// Package e2e runs the browser app in real browsers (Chromium, Firefox,
// WebKitGTK) against a real Palabre server, each engine's tests in a
// network namespace whose only interface is lo: see README.md.
package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var chromiumPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			chromiumPath = p
			break
		}
	}
	os.Exit(m.Run())
}

// TestChromium runs every scenario in Chromium (Debian's chromium, over
// CDP with chromedp).
func TestChromium(t *testing.T) { runEngine(t, chromiumEngine) }

var chromiumEngine = &engine{
	name: "chromium", label: "Chromium", webrtc: true,
	missing: func() string {
		if chromiumPath == "" {
			return "no Chromium installed (apt-get install chromium)"
		}
		return ""
	},
	start: startChromium,
}

// chromium is one headless Chromium; each person is a browser context
// of it (its own storage), like separate people on separate machines.
type chromium struct {
	browser context.Context
	cancel  func()
}

func startChromium(t *testing.T, run *engineRun, v variant) (browser, error) {
	if v.noWebRTC {
		return nil, errors.New("Chromium has no switch to turn WebRTC off: the scenario removes RTCPeerConnection with a preload script")
	}
	exclude := ""
	if u, err := url.Parse(v.origin); err == nil && v.origin != "" {
		exclude = ", EXCLUDE " + u.Hostname()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(run.t.TempDir()),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		// No name resolves but the test servers': Chromium's background
		// services (updates, autofill, Google's client hosts) would
		// otherwise look up their hosts through the machine's resolver.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"+exclude),
		// WebRTC on loopback: offer plain addresses, and use loopback.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,Translate"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		// The HTTPS test uses a self-signed certificate (testserver.StartTLS).
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1000, 800),
	)
	if v.camera {
		file, err := fakeCameraFile(run.t.TempDir())
		if err != nil {
			return nil, err
		}
		opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", file))
	}
	if v.ns != "" {
		opts = append(opts, chromedp.ModifyCmdFunc(inNamespace(v.ns)))
	}
	if v.origin != "" {
		opts = append(opts, chromedp.Flag("unsafely-treat-insecure-origin-as-secure", v.origin))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	// Start the browser now, without a timeout (a timeout would stop it).
	if err := chromedp.Do(ctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, err
	}
	return &chromium{browser: ctx, cancel: func() { cancelBrowser(); cancelAlloc() }}, nil
}

// inNamespace makes chromedp start the browser with ip netns exec in
// namespace ns. chromedp talks to it over two pipes (fds 3 and 4), which
// ip passes on: it execs the browser, which keeps the process, so the
// death signal chromedp's own setting would give still applies.
func inNamespace(ns string) func(*exec.Cmd) {
	return func(cmd *exec.Cmd) {
		ip, err := exec.LookPath("ip")
		if err != nil {
			cmd.Err = err
			return
		}
		cmd.Args = append([]string{"ip", "netns", "exec", ns, cmd.Path}, cmd.Args[1:]...)
		cmd.Path, cmd.Err = ip, nil
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
}

func (c *chromium) close()         { c.cancel() }
func (c *chromium) hasSound() bool { return true } // its level meter moves without a sound device

// cdpPage is one tab in its own browser context, with its network log
// and console.
type cdpPage struct {
	ctx    context.Context
	cancel func()

	mu      sync.Mutex
	urls    []string
	lines   []string
	mouseAt [2]float64 // where the mouse was pressed
}

func (c *chromium) open(t *testing.T, name string) (driver, error) {
	ctx, cancel := chromedp.NewContext(c.browser, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil { // open the tab
		cancel()
		return nil, err
	}
	p := &cdpPage{ctx: ctx, cancel: cancel}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	sockets := chromedp.Events(ctx, network.WebSocketCreated)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.lines = append(p.lines, m.Time.Format("15:04:05.000")+" "+m.String())
			p.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.urls = append(p.urls, ev.Request.URL)
			p.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range sockets {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.urls = append(p.urls, ev.URL)
			p.mu.Unlock()
		}
	}()
	return p, nil
}

func (p *cdpPage) with(ctx context.Context) context.Context {
	// chromedp wants its own context; the caller's deadline bounds it.
	c, cancel := context.WithCancel(p.ctx)
	go func() {
		select {
		case <-ctx.Done():
		case <-c.Done():
		}
		cancel()
	}()
	return c
}

func (p *cdpPage) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	c := p.with(ctx)
	return chromedp.Do(c, steps...)
}

func (p *cdpPage) navigate(ctx context.Context, url string) error {
	return p.do(ctx, chromedp.Navigate(url))
}

func (p *cdpPage) eval(ctx context.Context, expr string) ([]byte, error) {
	v, err := chromedp.Run(p.with(ctx), chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err == nil && len(v) == 0 {
		v = []byte("null")
	}
	return v, err
}

func (p *cdpPage) typeText(ctx context.Context, selector, text string) error {
	return p.do(ctx, chromedp.SendKeys(chromedp.CSS(selector), text))
}

func (p *cdpPage) click(ctx context.Context, selector string) error {
	return p.do(ctx, chromedp.Click(chromedp.CSS(selector)))
}

// keyEvent is the CDP key event of a WebDriver key value.
func keyEvent(k string) (input.DispatchKeyEventParams, error) {
	switch {
	case k == keySpace:
		return input.DispatchKeyEventParams{Key: " ", Code: "Space", Text: " ", WindowsVirtualKeyCode: 32, NativeVirtualKeyCode: 32}, nil
	case k == keyEnter:
		return input.DispatchKeyEventParams{Key: "Enter", Code: "Enter", Text: "\r", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}, nil
	case k == keyEscape:
		return input.DispatchKeyEventParams{Key: "Escape", Code: "Escape", WindowsVirtualKeyCode: 27, NativeVirtualKeyCode: 27}, nil
	case k == keyTab:
		return input.DispatchKeyEventParams{Key: "Tab", Code: "Tab", WindowsVirtualKeyCode: 9, NativeVirtualKeyCode: 9}, nil
	case k == "?": // Shift+/ on a US keyboard
		return input.DispatchKeyEventParams{Key: "?", Code: "Slash", Text: "?", Modifiers: 8 /* Shift */, WindowsVirtualKeyCode: 191, NativeVirtualKeyCode: 191}, nil
	case len(k) == 1 && k >= "a" && k <= "z":
		up := strings.ToUpper(k)
		return input.DispatchKeyEventParams{Key: k, Code: "Key" + up, Text: k, WindowsVirtualKeyCode: int64(up[0]), NativeVirtualKeyCode: int64(up[0])}, nil
	case len(k) == 1 && k >= "0" && k <= "9":
		return input.DispatchKeyEventParams{Key: k, Code: "Digit" + k, Text: k, WindowsVirtualKeyCode: int64(k[0]), NativeVirtualKeyCode: int64(k[0])}, nil
	}
	return input.DispatchKeyEventParams{}, fmt.Errorf("key %q: not mapped to a CDP key event", k)
}

func (p *cdpPage) key(ctx context.Context, k string, down bool) error {
	params, err := keyEvent(k)
	if err != nil {
		return err
	}
	params.Type = input.DispatchKeyEventTypeKeyUp
	if down {
		params.Type = input.DispatchKeyEventTypeKeyDown
	} else {
		params.Text = ""
	}
	_, err = chromedp.Call(p.with(ctx), input.DispatchKeyEvent, params)
	return err
}

// pointerDown scrolls the element into view (as the Firefox driver does:
// input events do not scroll) and presses the mouse on its middle.
func (p *cdpPage) pointerDown(ctx context.Context, selector string) error {
	var at [2]float64
	v, err := chromedp.Run(p.with(ctx), chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, selector)))
	if err != nil {
		return err
	}
	copy(at[:], v)
	p.mu.Lock()
	p.mouseAt = at
	p.mu.Unlock()
	c := p.with(ctx)
	if _, err := chromedp.Call(c, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: at[0], Y: at[1]}); err != nil {
		return err
	}
	_, err = chromedp.Call(c, input.DispatchMouseEvent, input.DispatchMouseEventParams{
		Type: input.DispatchMouseEventTypeMousePressed, X: at[0], Y: at[1], Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1,
	})
	return err
}

func (p *cdpPage) pointerUp(ctx context.Context) error {
	p.mu.Lock()
	at := p.mouseAt
	p.mu.Unlock()
	_, err := chromedp.Call(p.with(ctx), input.DispatchMouseEvent, input.DispatchMouseEventParams{
		Type: input.DispatchMouseEventTypeMouseReleased, X: at[0], Y: at[1], Button: input.MouseButtonLeft, ClickCount: 1,
	})
	return err
}

// viewport emulates the size; up to 480 px wide, a phone's (mobile, with
// touch).
func (p *cdpPage) viewport(ctx context.Context, width, height int) error {
	var opts []chromedp.EmulateViewportOption
	if width <= 480 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return p.do(ctx, chromedp.EmulateViewport(int64(width), int64(height), opts...))
}

func (p *cdpPage) activate(ctx context.Context) error {
	return p.do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.BringToFront, cdp.Empty{})
		return chromedp.Void{}, err
	})
}

func (p *cdpPage) screenshot(ctx context.Context) ([]byte, error) {
	return chromedp.Run(p.with(ctx), chromedp.CaptureScreenshot())
}

func (p *cdpPage) preload(ctx context.Context, js string) error {
	return p.do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return chromedp.Void{}, err
	})
}

func (p *cdpPage) requests(context.Context) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.urls
	p.urls = nil
	return out
}

func (p *cdpPage) console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.lines
	p.lines = nil
	return out
}

func (p *cdpPage) close() { p.cancel() }
