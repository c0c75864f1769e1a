package bidi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/e2e/netns"
)

// testPage records what the user did to it in window.seen.
const testPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>bidi test</title>
<meta name="viewport" content="width=device-width">
<style>body{margin:0} #b{position:absolute;left:100px;top:80px;width:120px;height:60px}</style></head>
<body><button id="b">hold me</button>
<script>
window.seen = [];
addEventListener('keydown', e => seen.push('keydown:' + e.code + ':' + e.repeat));
addEventListener('keyup', e => seen.push('keyup:' + e.code));
const b = document.getElementById('b');
b.addEventListener('pointerdown', e => seen.push('pointerdown:' + e.target.id + ':' + e.isTrusted));
b.addEventListener('pointerup', e => seen.push('pointerup:' + e.target.id));
console.log('page loaded', 7);
</script></body></html>`

// launchInNamespace starts a Firefox inside a fresh network namespace
// and serves testPage from a listener made inside it; it returns the
// browser, the page's URL and the namespace's packet watch.
func launchInNamespace(t *testing.T) (*Firefox, string, *netns.Watch) {
	t.Helper()
	if FindFirefox() == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Firefox under CI: .ci/run must install firefox-esr")
		}
		t.Skip("no Firefox (apt-get install firefox-esr)")
	}
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ns, err := netns.New("bidi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	watch, err := ns.Watch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Close() })
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	var out syncBuffer
	// Firefox starts in 3 to 8 s, 20 s next to the rest of the suite on
	// two cores: room to spare.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	ff, err := Launch(ctx, LaunchOptions{
		ProfileDir:  t.TempDir(),
		Command:     ns.Command,
		DialContext: ns.DialContext,
		Output:      &out,
	})
	if err != nil {
		t.Fatalf("%v\nFirefox said:\n%s", err, out.String())
	}
	t.Logf("Firefox %s started in %v", ff.Session.Capabilities.BrowserVersion, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := ff.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("Firefox said:\n%s", out.String())
		}
	})
	return ff, "http://" + ln.Addr().String() + "/", watch
}

func portOf(u string) uint16 {
	p, err := url.Parse(u)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p.Port())
	return uint16(n)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every command the package has, against a real Firefox in a namespace.
func TestFirefox(t *testing.T) {
	ff, pageURL, watch := launchInNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var logs []LogEntry
	var requests []string
	ff.OnLog(func(e LogEntry) {
		mu.Lock()
		logs = append(logs, e)
		mu.Unlock()
	})
	ff.OnRequest(func(r Request) {
		mu.Lock()
		requests = append(requests, r.URL)
		mu.Unlock()
	})
	if err := ff.Subscribe(ctx, "log.entryAdded", "network.beforeRequestSent"); err != nil {
		t.Fatal(err)
	}

	tree, err := ff.GetTree(ctx)
	if err != nil || len(tree) == 0 {
		t.Fatalf("getTree: %v %v", tree, err)
	}
	// Two people: two user contexts, a window each.
	var tabs []*Context
	for range 2 {
		uc, err := ff.CreateUserContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := ff.CreateContext(ctx, uc, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := tab.Navigate(ctx, pageURL); err != nil {
			t.Fatal(err)
		}
		tabs = append(tabs, tab)
	}
	a, b := tabs[0], tabs[1]
	if _, err := ff.AddPreloadScript(ctx, `() => { window.preloaded = 'yes'; }`, b.UserContext); err != nil {
		t.Fatal(err)
	}
	for i, want := range []any{nil, "yes"} {
		if err := tabs[i].Navigate(ctx, pageURL); err != nil {
			t.Fatal(err)
		}
		if v, err := tabs[i].Evaluate(ctx, `window.preloaded`); err != nil || v != want {
			t.Errorf("tab %d: preloaded %v %v, want %v", i, v, err, want)
		}
	}
	for _, tab := range tabs {
		if v, err := tab.Evaluate(ctx, `document.visibilityState`); v != "visible" {
			t.Errorf("a window's document is %v %v, want visible", v, err)
		}
	}
	if _, err := a.Evaluate(ctx, `localStorage.setItem('who', 'a')`); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Evaluate(ctx, `localStorage.getItem('who')`); err != nil || v != nil {
		t.Errorf("B sees A's storage: %v %v", v, err)
	}
	if v, err := a.Evaluate(ctx, `localStorage.getItem('who')`); err != nil || v != "a" {
		t.Errorf("A's storage: %v %v", v, err)
	}

	// Values of every kind come back as Go values.
	v, err := a.Evaluate(ctx, `({s: 'x', n: 1.5, t: true, z: null, u: undefined, arr: [1, 'two'], o: {k: 'v'}, big: 10n ** 20n, d: new Date(0), m: new Map([[1, 'one']])})`)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := v.(map[string]any)
	if m == nil || m["s"] != "x" || m["n"] != 1.5 || m["t"] != true || m["z"] != nil || fmt.Sprint(m["arr"]) != "[1 two]" ||
		fmt.Sprint(m["o"]) != "map[k:v]" || fmt.Sprint(m["big"]) != "100000000000000000000" || fmt.Sprint(m["m"]) != "map[1:one]" {
		t.Errorf("evaluate: %#v", v)
	}
	if d, ok := m["d"].(time.Time); !ok || !d.Equal(time.Unix(0, 0)) {
		t.Errorf("date: %#v", m["d"])
	}
	if v, err := a.Evaluate(ctx, `new Promise(r => setTimeout(() => r(42), 20))`); err != nil || v != 42.0 {
		t.Errorf("awaited promise: %v %v", v, err)
	}
	var se *ScriptError
	if _, err := a.Evaluate(ctx, `(() => { throw new Error('boom') })()`); !errors.As(err, &se) || !strings.Contains(se.Text, "boom") {
		t.Errorf("exception: %v", err)
	}
	if _, err := a.Evaluate(ctx, `Promise.reject(new TypeError('nope'))`); !errors.As(err, &se) || !strings.Contains(se.Text, "nope") {
		t.Errorf("rejection: %v", err)
	}
	if v, err := a.CallFunction(ctx, `(x, y, o) => x + y + o.k`, 2, 3.5, map[string]any{"k": 1}); err != nil || v != 6.5 {
		t.Errorf("callFunction: %v %v", v, err)
	}
	// BiDi errors carry their code.
	var be *Error
	if err := (&Context{Conn: ff.Conn, ID: "no-such-context"}).Navigate(ctx, pageURL); !errors.As(err, &be) || be.Code != "no such frame" {
		t.Errorf("navigating a context that does not exist: %v", err)
	}

	// Space held, then released.
	if err := a.PerformActions(ctx, Keys(KeyDown(KeySpace))); err != nil {
		t.Fatal(err)
	}
	if err := a.PerformActions(ctx, Keys(Pause(0))); err != nil {
		t.Fatal(err)
	}
	if err := a.PerformActions(ctx, Keys(KeyUp(KeySpace))); err != nil {
		t.Fatal(err)
	}
	// The button held with the mouse: down, a pause, then (later) up.
	btn, err := a.Element(ctx, "#b")
	if err != nil || btn.LocalName != "button" || btn.SharedID == "" {
		t.Fatalf("element: %+v %v", btn, err)
	}
	if err := a.PerformActions(ctx, Pointer(MoveTo(btn), PointerDown(), Pause(50))); err != nil {
		t.Fatal(err)
	}
	held, _ := a.Evaluate(ctx, `seen.join(' ')`)
	if err := a.PerformActions(ctx, Pointer(PointerUp())); err != nil {
		t.Fatal(err)
	}
	if want := "keydown:Space:false keyup:Space pointerdown:b:true"; held != want {
		t.Errorf("while the button is held the page saw %q, want %q", held, want)
	}
	if seen, _ := a.Evaluate(ctx, `seen.join(' ')`); !strings.HasSuffix(fmt.Sprint(seen), "pointerup:b") {
		t.Errorf("after the release the page saw %q", seen)
	}
	if err := a.ReleaseActions(ctx); err != nil {
		t.Error(err)
	}

	// Viewport and screenshot.
	if err := a.SetViewport(ctx, 360, 640, 0); err != nil {
		t.Fatal(err)
	}
	if w, _ := a.Evaluate(ctx, `window.innerWidth`); w != 360.0 {
		t.Errorf("innerWidth %v after setViewport 360", w)
	}
	png, err := a.Screenshot(ctx)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: %d bytes, %v", len(png), err)
	}

	mu.Lock()
	var sawLog bool
	for _, e := range logs {
		if e.Text == "page loaded 7" && e.Method == "log" {
			sawLog = true
		}
	}
	sawRequest := false
	for _, r := range requests {
		sawRequest = sawRequest || r == pageURL
	}
	t.Logf("%d log entries, %d requests", len(logs), len(requests))
	mu.Unlock()
	if !sawLog {
		t.Errorf("console.log not seen in %v", logs)
	}
	if !sawRequest {
		t.Errorf("request to %s not seen in %v", pageURL, requests)
	}
	if err := b.Close(ctx); err != nil {
		t.Error(err)
	}
	if err := ff.RemoveUserContext(ctx, a.UserContext); err != nil {
		t.Error(err)
	}
	if err := ff.Close(); err != nil {
		t.Error(err)
	}
	select {
	case <-ff.Exited():
	default:
		t.Error("Firefox still runs after Close")
	}
	// What went where inside the namespace, besides the page and BiDi:
	// background services would show here (names resolve to localhost).
	for f, n := range watch.Flows() {
		if port := f.Dst.Port(); f.Proto == "tcp" && (port == portOf(pageURL) || port == portOf(ff.URL)) {
			continue
		}
		t.Logf("other traffic: %d packets %s to %s", n, f.Proto, f.Dst)
	}
	if n, first := watch.Outside(); n > 0 {
		t.Errorf("Firefox sent %d packets meant for the outside: %v", n, first)
	}
}
