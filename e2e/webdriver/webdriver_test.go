package webdriver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDriver answers like a WebDriver server and records the commands.
type fakeDriver struct {
	mu   sync.Mutex
	seen []string // "POST /session/s1/url {"url":"…"}"
}

func (f *fakeDriver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(body)))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	answer := func(v any) { json.NewEncoder(w).Encode(map[string]any{"value": v}) }
	switch r.Method + " " + r.URL.Path {
	case "POST /session":
		answer(map[string]any{"sessionId": "s1", "capabilities": map[string]any{"browserName": "fake"}})
	case "POST /session/s1/execute/async":
		answer(map[string]any{"ok": true, "v": 42})
	case "POST /session/s1/element":
		var q struct{ Using, Value string }
		json.Unmarshal(body, &q)
		if q.Value == "#missing" {
			w.WriteHeader(http.StatusNotFound)
			answer(map[string]any{"error": "no such element", "message": "none", "stacktrace": ""})
			return
		}
		answer(map[string]string{ElementKey: "e1"})
	case "GET /session/s1/screenshot":
		answer(base64.StdEncoding.EncodeToString([]byte("\x89PNG")))
	case "POST /session/s1/window/rect":
		answer(map[string]int{"x": 0, "y": 0, "width": 447, "height": 740})
	default:
		answer(nil)
	}
}

func TestWireFormat(t *testing.T) {
	fake := &fakeDriver{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	c := &Client{URL: srv.URL}
	s, err := c.NewSession(ctx, map[string]any{"acceptInsecureCerts": true})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "s1" || s.Capabilities["browserName"] != "fake" {
		t.Errorf("session %+v", s)
	}
	if err := s.Navigate(ctx, "http://127.0.0.1:1/"); err != nil {
		t.Fatal(err)
	}
	v, err := s.ExecuteAsync(ctx, "arguments[1](arguments[0])", 7)
	if err != nil || string(v) != `{"ok":true,"v":42}` {
		t.Errorf("ExecuteAsync: %s, %v", v, err)
	}
	el, err := s.FindElement(ctx, "#ptt")
	if err != nil || el.ID != "e1" {
		t.Fatalf("FindElement: %+v, %v", el, err)
	}
	_, err = s.FindElement(ctx, "#missing")
	var werr *Error
	if !errors.As(err, &werr) || werr.Code != "no such element" || werr.Status != 404 {
		t.Errorf("a missing element: %v", err)
	}
	if err := s.Click(ctx, el); err != nil {
		t.Fatal(err)
	}
	if err := s.SendKeys(ctx, el, "hé"); err != nil {
		t.Fatal(err)
	}
	if err := s.PerformActions(ctx, Keys(KeyDown(KeySpace)), Pointer(MoveTo(el), PointerDown(), Pause(50))); err != nil {
		t.Fatal(err)
	}
	if r, err := s.SetWindowRect(ctx, 360, 740); err != nil || r.Width != 447 {
		t.Errorf("SetWindowRect: %+v, %v", r, err)
	}
	if png, err := s.Screenshot(ctx); err != nil || string(png) != "\x89PNG" {
		t.Errorf("Screenshot: %q, %v", png, err)
	}
	if err := s.SwitchToFrame(ctx, el); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`POST /session {"capabilities":{"alwaysMatch":{"acceptInsecureCerts":true}}}`,
		`POST /session/s1/url {"url":"http://127.0.0.1:1/"}`,
		`POST /session/s1/execute/async {"args":[7],"script":"arguments[1](arguments[0])"}`,
		`POST /session/s1/element {"using":"css selector","value":"#ptt"}`,
		`POST /session/s1/element {"using":"css selector","value":"#missing"}`,
		`POST /session/s1/element/e1/click {}`,
		`POST /session/s1/element/e1/value {"text":"hé"}`,
		`POST /session/s1/actions {"actions":[{"type":"key","id":"keyboard","actions":[{"type":"keyDown","value":" "}]},` +
			`{"type":"pointer","id":"mouse","parameters":{"pointerType":"mouse"},"actions":[` +
			`{"origin":{"element-6066-11e4-a52e-4f735466cecf":"e1"},"type":"pointerMove","x":0,"y":0},` +
			`{"button":0,"type":"pointerDown"},{"duration":50,"type":"pause"}]}]}`,
		`POST /session/s1/window/rect {"height":740,"width":360}`,
		`GET /session/s1/screenshot`,
		`POST /session/s1/frame {"id":{"element-6066-11e4-a52e-4f735466cecf":"e1"}}`,
		`DELETE /session/s1`,
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.seen) != len(want) {
		t.Fatalf("commands:\n%s", strings.Join(fake.seen, "\n"))
	}
	for i := range want {
		if fake.seen[i] != want[i] {
			t.Errorf("command %d:\n got %s\nwant %s", i, fake.seen[i], want[i])
		}
	}
}

// The real driver starts, answers /status and stops (WebKitGTK's
// sessions need a display: the e2e package's TestWebKit drives them).
func TestStartDriver(t *testing.T) {
	driver, _ := FindWebKit()
	if driver == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no WebKitWebDriver under CI: .ci/run must install webkit2gtk-driver")
		}
		t.Skip("no WebKitWebDriver (apt-get install webkit2gtk-driver)")
	}
	if _, err := exec.LookPath(driver); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDriver(ctx, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.URL, "http://127.0.0.1:") {
		t.Errorf("driver URL %s", d.URL)
	}
	d.Close()
	select {
	case <-d.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the driver did not exit")
	}
}
