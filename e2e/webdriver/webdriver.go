// Package webdriver is a small client of classic W3C WebDriver
// (https://www.w3.org/TR/webdriver2/), JSON over HTTP, for the browser
// tests of WebKitGTK: its WebKitWebDriver speaks classic WebDriver only
// (no BiDi), and drives MiniBrowser.
//
// It covers what the tests need, no more: a session, navigation, scripts
// (synchronous and asynchronous), elements (find, click, send keys,
// screenshot), frames, input actions (keys and pointer, held across
// calls), the window's size, screenshots, and ending the session. Start
// runs a WebKitWebDriver.
//
// The protocol: each command is an HTTP request to
// /session/{id}/…, with a JSON body; the answer is {"value": …}, an error
// {"value": {"error": code, "message": …}} with a 4xx or 5xx status.
package webdriver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ElementKey is the key of a web element reference in JSON.
const ElementKey = "element-6066-11e4-a52e-4f735466cecf"

// Error is an error answer: Code is WebDriver's error code ("no such
// element", "javascript error", "timeout"…).
type Error struct {
	Command string // "POST /session/…/url"
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("webdriver: %s: %d %s: %s", e.Command, e.Status, e.Code, e.Message)
}

// Client talks to one WebDriver server (a driver's URL).
type Client struct {
	URL  string // http://127.0.0.1:PORT
	HTTP *http.Client
}

// do sends one command and decodes its value into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("webdriver: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("webdriver: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("webdriver: %s %s: %w", method, path, err)
	}
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return fmt.Errorf("webdriver: %s %s: %d, not JSON: %.200q", method, path, resp.StatusCode, data)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		json.Unmarshal(answer.Value, &e)
		return &Error{Command: method + " " + path, Status: resp.StatusCode, Code: e.Error, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Value, out); err != nil {
		return fmt.Errorf("webdriver: %s %s: value: %w", method, path, err)
	}
	return nil
}

// Session is one WebDriver session: one browser window.
type Session struct {
	Client       *Client
	ID           string
	Capabilities map[string]any
}

// NewSession starts a session with capabilities (alwaysMatch).
func (c *Client) NewSession(ctx context.Context, capabilities map[string]any) (*Session, error) {
	var out struct {
		SessionID    string         `json:"sessionId"`
		Capabilities map[string]any `json:"capabilities"`
	}
	err := c.do(ctx, http.MethodPost, "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": capabilities}}, &out)
	if err != nil {
		return nil, err
	}
	return &Session{Client: c, ID: out.SessionID, Capabilities: out.Capabilities}, nil
}

func (s *Session) do(ctx context.Context, method, path string, body, out any) error {
	return s.Client.do(ctx, method, "/session/"+s.ID+path, body, out)
}

// Delete ends the session (the browser closes).
func (s *Session) Delete(ctx context.Context) error {
	return s.do(ctx, http.MethodDelete, "", nil, nil)
}

// Navigate loads url and waits for it as the page load strategy says
// ("normal": the load event).
func (s *Session) Navigate(ctx context.Context, url string) error {
	return s.do(ctx, http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// CurrentURL is the address of the top-level page.
func (s *Session) CurrentURL(ctx context.Context) (string, error) {
	var u string
	err := s.do(ctx, http.MethodGet, "/url", nil, &u)
	return u, err
}

// Execute runs script as the body of a function of args and returns
// what it returns, as JSON.
func (s *Session) Execute(ctx context.Context, script string, args ...any) (json.RawMessage, error) {
	return s.execute(ctx, "/execute/sync", script, args)
}

// ExecuteAsync runs script as the body of a function of args plus a
// callback, its last argument: the value passed to the callback comes
// back, as JSON. The session's script timeout (30 s by default) bounds it.
func (s *Session) ExecuteAsync(ctx context.Context, script string, args ...any) (json.RawMessage, error) {
	return s.execute(ctx, "/execute/async", script, args)
}

func (s *Session) execute(ctx context.Context, path, script string, args []any) (json.RawMessage, error) {
	if args == nil {
		args = []any{}
	}
	var out json.RawMessage
	err := s.do(ctx, http.MethodPost, path, map[string]any{"script": script, "args": args}, &out)
	return out, err
}

// Element is a reference to an element of the page.
type Element struct{ ID string }

// MarshalJSON makes an element a script argument or a frame to switch to.
func (e Element) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{ElementKey: e.ID})
}

// FindElement returns the first element that matches a CSS selector.
func (s *Session) FindElement(ctx context.Context, selector string) (Element, error) {
	var out map[string]string
	err := s.do(ctx, http.MethodPost, "/element", map[string]string{"using": "css selector", "value": selector}, &out)
	if err != nil {
		return Element{}, err
	}
	return Element{ID: out[ElementKey]}, nil
}

// Click scrolls the element into view and clicks its middle.
func (s *Session) Click(ctx context.Context, el Element) error {
	return s.do(ctx, http.MethodPost, "/element/"+el.ID+"/click", struct{}{}, nil)
}

// SendKeys focuses the element and types text into it, key by key.
func (s *Session) SendKeys(ctx context.Context, el Element, text string) error {
	return s.do(ctx, http.MethodPost, "/element/"+el.ID+"/value", map[string]string{"text": text}, nil)
}

// Clear empties a text field.
func (s *Session) Clear(ctx context.Context, el Element) error {
	return s.do(ctx, http.MethodPost, "/element/"+el.ID+"/clear", struct{}{}, nil)
}

// ElementScreenshot captures the element's box as PNG.
func (s *Session) ElementScreenshot(ctx context.Context, el Element) ([]byte, error) {
	var b64 string
	if err := s.do(ctx, http.MethodGet, "/element/"+el.ID+"/screenshot", nil, &b64); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(b64)
}

// Screenshot captures the viewport as PNG.
func (s *Session) Screenshot(ctx context.Context) ([]byte, error) {
	var b64 string
	if err := s.do(ctx, http.MethodGet, "/screenshot", nil, &b64); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(b64)
}

// SwitchToFrame makes commands act in the document of an <iframe>
// element; SwitchToParentFrame goes back up.
func (s *Session) SwitchToFrame(ctx context.Context, el Element) error {
	return s.do(ctx, http.MethodPost, "/frame", map[string]any{"id": el}, nil)
}

// SwitchToParentFrame makes commands act in the parent document.
func (s *Session) SwitchToParentFrame(ctx context.Context) error {
	return s.do(ctx, http.MethodPost, "/frame/parent", struct{}{}, nil)
}

// Rect is a window's position and size in CSS pixels.
type Rect struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// SetWindowRect resizes the window (its outer size) and returns the size
// it got: a window manager or the browser's own widgets may keep it
// larger than asked.
func (s *Session) SetWindowRect(ctx context.Context, width, height int) (Rect, error) {
	var r Rect
	err := s.do(ctx, http.MethodPost, "/window/rect", map[string]int{"width": width, "height": height}, &r)
	return r, err
}

// WindowRect is the window's position and size.
func (s *Session) WindowRect(ctx context.Context) (Rect, error) {
	var r Rect
	err := s.do(ctx, http.MethodGet, "/window/rect", nil, &r)
	return r, err
}

// Actions are one input source's steps, as in WebDriver's actions: a
// keyboard (Keys) or a mouse (Pointer).
type Actions struct {
	Type       string         `json:"type"` // key, pointer, none
	ID         string         `json:"id"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Actions    []Action       `json:"actions"`
}

// Action is one step of an input source.
type Action map[string]any

// Keys is a keyboard's steps.
func Keys(steps ...Action) Actions { return Actions{Type: "key", ID: "keyboard", Actions: steps} }

// Pointer is a mouse's steps.
func Pointer(steps ...Action) Actions {
	return Actions{Type: "pointer", ID: "mouse", Parameters: map[string]any{"pointerType": "mouse"}, Actions: steps}
}

// Special keys: WebDriver's code points for keys that type no character.
const (
	KeySpace  = " "
	KeyEnter  = "\uE007"
	KeyTab    = "\uE004"
	KeyEscape = "\uE00C"
)

// KeyDown presses a key: a character or one of the Key constants.
func KeyDown(key string) Action { return Action{"type": "keyDown", "value": key} }

// KeyUp releases a key.
func KeyUp(key string) Action { return Action{"type": "keyUp", "value": key} }

// Pause waits ms milliseconds, keeping pressed what is pressed.
func Pause(ms int) Action { return Action{"type": "pause", "duration": ms} }

// MoveTo moves the pointer to the middle of an element.
func MoveTo(el Element) Action {
	return Action{"type": "pointerMove", "x": 0, "y": 0, "origin": el}
}

// PointerDown presses the main button; PointerUp releases it.
func PointerDown() Action { return Action{"type": "pointerDown", "button": 0} }

// PointerUp releases the main button.
func PointerUp() Action { return Action{"type": "pointerUp", "button": 0} }

// PerformActions runs input actions; a key or button pressed without its
// release stays pressed until a later call releases it (or
// ReleaseActions).
func (s *Session) PerformActions(ctx context.Context, sources ...Actions) error {
	return s.do(ctx, http.MethodPost, "/actions", map[string]any{"actions": sources}, nil)
}

// ReleaseActions releases whatever is still pressed.
func (s *Session) ReleaseActions(ctx context.Context) error {
	return s.do(ctx, http.MethodDelete, "/actions", nil, nil)
}
