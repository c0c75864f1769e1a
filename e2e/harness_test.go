// Package e2e runs the browser app in real headless Chromium against a real
// Palabre server on loopback. Chromium comes from Debian's packages
// (.ci/run installs it); without it the tests are skipped, except under CI
// where that is a failure.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"palabre/internal/testkit/testserver"
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
	if chromiumPath == "" && os.Getenv("CI") != "" {
		fmt.Fprintln(os.Stderr, "e2e: no Chromium under CI: .ci/run must install Debian's chromium")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func startServer(t *testing.T) *testserver.Server { return testserver.Start(t) }

// newBrowser starts one headless Chromium for the test. Each page made from
// it lives in its own browser context (its own storage), like separate
// people on separate machines.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if chromiumPath == "" {
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		// No name resolves but the test servers': Chromium's background
		// services (updates, autofill, Google's client hosts) would
		// otherwise look up their hosts through the machine's resolver.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		// WebRTC on loopback: offer plain addresses, and use loopback.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,Translate"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		// The HTTPS test uses a self-signed certificate (testserver.StartTLS).
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1000, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	// Start the browser now, without a timeout (a timeout would stop it).
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return browser
}

// page is one tab in its own browser context, with its network log.
type page struct {
	t    *testing.T
	ctx  context.Context
	name string

	mu      sync.Mutex
	urls    []string
	console []string // what the page wrote to its console, logged if the test fails
}

func newPage(t *testing.T, browser context.Context, name string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, name: name}
	if err := chromedp.Do(ctx); err != nil { // open the tab
		t.Fatal(err)
	}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	sockets := chromedp.Events(ctx, network.WebSocketCreated)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.Time.Format("15:04:05.000")+" "+m.String())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, line := range p.console {
			t.Logf("%s console: %s", name, line)
		}
	})
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
	return p
}

// do runs steps with a time limit.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression (awaiting promises) into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		state := eval[string](p, `JSON.stringify({state: window.palabre && window.palabre.state, error: (document.getElementById('error')||{}).textContent})`)
		p.t.Fatalf("%s: waiting until %s: %v (%s)", p.name, what, err, state)
	}
}

// join goes through the prejoin screen of room at url.
func (p *page) join(url, name, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("prejoin")))
	p.do(chromedp.WaitVisible(chromedp.ID("name")), chromedp.SendKeys(chromedp.ID("name"), name))
	if password != "" {
		p.do(chromedp.WaitVisible(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), password))
	}
	p.do(chromedp.Click(chromedp.ID("join")))
}

// joinRoom joins and waits for the room screen and a connected media path.
func (p *page) joinRoom(url, name, password string) {
	p.t.Helper()
	p.join(url, name, password)
	p.do(chromedp.WaitVisible(chromedp.ID("room")))
	p.waitFor("media connected", `!!(window.palabre.pc && window.palabre.pc.connectionState === 'connected')`)
}

// key sends one key event ("keyDown" or "keyUp") for the Space bar.
func (p *page) space(down bool) {
	p.t.Helper()
	params := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: " ", Code: "Space", WindowsVirtualKeyCode: 32, NativeVirtualKeyCode: 32}
	if down {
		params.Type, params.Text = input.DispatchKeyEventTypeKeyDown, " "
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, params); err != nil {
		p.t.Fatalf("%s: space: %v", p.name, err)
	}
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

func (p *page) audio() audioIn { return eval[audioIn](p, statsJS) }

// requests returns every URL the page asked for (HTTP and WebSocket).
func (p *page) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

// checkOnlyServer fails if the page asked anything of another origin.
func checkOnlyServer(t *testing.T, serverURL string, pages ...*page) {
	t.Helper()
	checkOnlyServers(t, []string{serverURL}, pages...)
}

// checkOnlyServers fails if the page asked anything of an origin that is
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
			if strings.HasPrefix(u, "data:") {
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

// screenshot saves a PNG under e2e/screenshots/ (ignored by git) for
// people to look at.
func (p *page) screenshot(file string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("screenshots", file), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
