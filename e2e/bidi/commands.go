package bidi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Capabilities are the session.new capabilities asked for (alwaysMatch).
type Capabilities struct {
	// AcceptInsecureCerts accepts self-signed and other invalid TLS
	// certificates (httptest's), for every user context.
	AcceptInsecureCerts bool `json:"acceptInsecureCerts,omitempty"`
	// UnhandledPromptBehavior: "dismiss", "accept", "ignore"… ("" leaves
	// the browser's default).
	UnhandledPromptBehavior string `json:"unhandledPromptBehavior,omitempty"`
}

// SessionInfo is what session.new answered.
type SessionInfo struct {
	SessionID    string `json:"sessionId"`
	Capabilities struct {
		BrowserName    string `json:"browserName"`
		BrowserVersion string `json:"browserVersion"`
		UserAgent      string `json:"userAgent"`
	} `json:"capabilities"`
}

// NewSession starts the BiDi session (a browser has at most one).
func (c *Conn) NewSession(ctx context.Context, caps Capabilities) (SessionInfo, error) {
	var out SessionInfo
	err := c.Call(ctx, "session.new", map[string]any{"capabilities": map[string]any{"alwaysMatch": caps}}, &out)
	return out, err
}

// Subscribe asks for events ("log.entryAdded", "network.beforeRequestSent"
// or whole modules such as "log"), of every context.
func (c *Conn) Subscribe(ctx context.Context, events ...string) error {
	return c.Call(ctx, "session.subscribe", map[string]any{"events": events}, nil)
}

// CloseBrowser closes every window and ends the browser process
// (browser.close); the connection ends with it.
func (c *Conn) CloseBrowser(ctx context.Context) error {
	err := c.Call(ctx, "browser.close", nil, nil)
	if err != nil {
		select {
		case <-c.Done(): // the answer can lose the race with the socket's end
			return nil
		default:
		}
	}
	return err
}

// CreateUserContext makes a user context: its own cookies and storage,
// like another profile (browser.createUserContext).
func (c *Conn) CreateUserContext(ctx context.Context) (string, error) {
	var out struct {
		UserContext string `json:"userContext"`
	}
	err := c.Call(ctx, "browser.createUserContext", nil, &out)
	return out.UserContext, err
}

// RemoveUserContext closes a user context and its browsing contexts.
func (c *Conn) RemoveUserContext(ctx context.Context, userContext string) error {
	return c.Call(ctx, "browser.removeUserContext", map[string]any{"userContext": userContext}, nil)
}

// ContextInfo is one browsing context of browsingContext.getTree.
type ContextInfo struct {
	Context     string        `json:"context"`
	URL         string        `json:"url"`
	UserContext string        `json:"userContext"`
	Children    []ContextInfo `json:"children"`
}

// GetTree lists the top-level browsing contexts (tabs) and their frames.
func (c *Conn) GetTree(ctx context.Context) ([]ContextInfo, error) {
	var out struct {
		Contexts []ContextInfo `json:"contexts"`
	}
	err := c.Call(ctx, "browsingContext.getTree", nil, &out)
	return out.Contexts, err
}

// Context is one browsing context (a tab) of a connection.
type Context struct {
	Conn        *Conn
	ID          string
	UserContext string
}

// CreateContext opens a tab, or a window of its own, in userContext ("" for
// the default one). A tab in the background of a window is a hidden
// document (animation frames stop, timers slow down): a page that must
// stay visible next to others wants its own window.
func (c *Conn) CreateContext(ctx context.Context, userContext string, window bool) (*Context, error) {
	params := map[string]any{"type": "tab"}
	if window {
		params["type"] = "window"
	}
	if userContext != "" {
		params["userContext"] = userContext
	}
	var out struct {
		Context string `json:"context"`
	}
	if err := c.Call(ctx, "browsingContext.create", params, &out); err != nil {
		return nil, err
	}
	return &Context{Conn: c, ID: out.Context, UserContext: userContext}, nil
}

// Close closes the tab.
func (bc *Context) Close(ctx context.Context) error {
	return bc.Conn.Call(ctx, "browsingContext.close", map[string]any{"context": bc.ID}, nil)
}

// Activate brings the tab to the front and gives it the focus, as a user
// clicking on its window does (browsingContext.activate). Firefox
// resolves navigator.mediaDevices.enumerateDevices() only in a focused
// document.
func (bc *Context) Activate(ctx context.Context) error {
	return bc.Conn.Call(ctx, "browsingContext.activate", map[string]any{"context": bc.ID}, nil)
}

// Navigate loads url and waits until the document is complete.
func (bc *Context) Navigate(ctx context.Context, url string) error {
	return bc.Conn.Call(ctx, "browsingContext.navigate", map[string]any{"context": bc.ID, "url": url, "wait": "complete"}, nil)
}

// Screenshot captures the viewport as PNG.
func (bc *Context) Screenshot(ctx context.Context) ([]byte, error) {
	var out struct {
		Data string `json:"data"`
	}
	err := bc.Conn.Call(ctx, "browsingContext.captureScreenshot", map[string]any{
		"context": bc.ID, "origin": "viewport", "format": map[string]any{"type": "image/png"},
	}, &out)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(out.Data)
}

// SetViewport sets the size of the tab's viewport in CSS pixels, and its
// device pixel ratio (0 leaves it).
func (bc *Context) SetViewport(ctx context.Context, width, height int, devicePixelRatio float64) error {
	params := map[string]any{"context": bc.ID, "viewport": map[string]int{"width": width, "height": height}}
	if devicePixelRatio > 0 {
		params["devicePixelRatio"] = devicePixelRatio
	}
	return bc.Conn.Call(ctx, "browsingContext.setViewport", params, nil)
}

// ScriptError is a script that threw (or a promise that rejected).
type ScriptError struct {
	Text         string // "TypeError: x is undefined"
	Line, Column int
	Exception    any // the thrown value, decoded
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("bidi: script threw at %d:%d: %s", e.Line+1, e.Column+1, e.Text)
}

type evaluateResult struct {
	Type             string          `json:"type"` // success, exception
	Result           json.RawMessage `json:"result"`
	ExceptionDetails struct {
		Text         string          `json:"text"`
		LineNumber   int             `json:"lineNumber"`
		ColumnNumber int             `json:"columnNumber"`
		Exception    json.RawMessage `json:"exception"`
	} `json:"exceptionDetails"`
}

func (r evaluateResult) value() (any, error) {
	if r.Type == "exception" {
		exc, _ := Decode(r.ExceptionDetails.Exception)
		return nil, &ScriptError{Text: r.ExceptionDetails.Text, Line: r.ExceptionDetails.LineNumber, Column: r.ExceptionDetails.ColumnNumber, Exception: exc}
	}
	return Decode(r.Result)
}

// Evaluate runs a JavaScript expression in the page (its own globals, not
// a sandbox), awaits it if it is a promise, and decodes its value (see
// Decode). It is no user gesture: what needs one (playing audio, say)
// comes from PerformActions.
func (bc *Context) Evaluate(ctx context.Context, expression string) (any, error) {
	var out evaluateResult
	err := bc.Conn.Call(ctx, "script.evaluate", map[string]any{
		"expression": expression, "target": map[string]string{"context": bc.ID},
		"awaitPromise": true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.value()
}

// CallFunction calls a JavaScript function declaration ("(a, b) => a + b")
// with args (see LocalValue), awaits its promise, and decodes its value.
func (bc *Context) CallFunction(ctx context.Context, function string, args ...any) (any, error) {
	local := make([]any, len(args))
	for i, a := range args {
		lv, err := LocalValue(a)
		if err != nil {
			return nil, err
		}
		local[i] = lv
	}
	var out evaluateResult
	err := bc.Conn.Call(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": function, "target": map[string]string{"context": bc.ID},
		"arguments": local, "awaitPromise": true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.value()
}

// AddPreloadScript makes every new document of the given user contexts
// (all of them without any) run function (a function declaration) before
// the page's own scripts (script.addPreloadScript). It returns the
// script's id.
func (c *Conn) AddPreloadScript(ctx context.Context, function string, userContexts ...string) (string, error) {
	params := map[string]any{"functionDeclaration": function}
	if len(userContexts) > 0 {
		params["userContexts"] = userContexts
	}
	var out struct {
		Script string `json:"script"`
	}
	err := c.Call(ctx, "script.addPreloadScript", params, &out)
	return out.Script, err
}

// Element returns the first element matching a CSS selector, or an error
// if there is none.
func (bc *Context) Element(ctx context.Context, selector string) (Node, error) {
	v, err := bc.CallFunction(ctx, `(s) => document.querySelector(s)`, selector)
	if err != nil {
		return Node{}, err
	}
	n, ok := v.(Node)
	if !ok {
		return Node{}, fmt.Errorf("bidi: no element %s", selector)
	}
	return n, nil
}

// Actions are one input source's actions for PerformActions: a keyboard
// (Keys) or a mouse (Pointer), each made of steps.
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

// Special keys, for KeyDown and KeyUp: WebDriver's code points for the
// keys that type no character.
const (
	KeySpace  = " "
	KeyEnter  = "\uE007"
	KeyTab    = "\uE004"
	KeyEscape = "\uE00C"
)

// KeyDown presses a key: a character ("a", " ") or one of the Key constants.
func KeyDown(key string) Action { return Action{"type": "keyDown", "value": key} }

// KeyUp releases a key.
func KeyUp(key string) Action { return Action{"type": "keyUp", "value": key} }

// Pause waits ms milliseconds (keeps whatever is pressed, pressed).
func Pause(ms int) Action { return Action{"type": "pause", "duration": ms} }

// MoveTo moves the pointer to the center of an element.
func MoveTo(el Node) Action {
	return Action{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": map[string]string{"sharedId": el.SharedID}}}
}

// MoveToPoint moves the pointer to viewport coordinates.
func MoveToPoint(x, y int) Action { return Action{"type": "pointerMove", "x": x, "y": y} }

// PointerDown presses the main mouse button.
func PointerDown() Action { return Action{"type": "pointerDown", "button": 0} }

// PointerUp releases the main mouse button.
func PointerUp() Action { return Action{"type": "pointerUp", "button": 0} }

// PerformActions runs input actions in the tab; what is still pressed at
// the end (a key down without its up) stays pressed until a later call
// releases it, or ReleaseActions.
func (bc *Context) PerformActions(ctx context.Context, sources ...Actions) error {
	return bc.Conn.Call(ctx, "input.performActions", map[string]any{"context": bc.ID, "actions": sources}, nil)
}

// ReleaseActions releases every key and button still pressed.
func (bc *Context) ReleaseActions(ctx context.Context) error {
	return bc.Conn.Call(ctx, "input.releaseActions", map[string]any{"context": bc.ID}, nil)
}

// LogEntry is a log.entryAdded event: a console message or an uncaught
// JavaScript error.
type LogEntry struct {
	Type      string `json:"type"`  // console, javascript
	Level     string `json:"level"` // debug, info, warn, error
	Text      string `json:"text"`
	Method    string `json:"method"`    // console method: log, warn…
	Timestamp int64  `json:"timestamp"` // ms since the epoch
	Source    struct {
		Context string `json:"context"`
	} `json:"source"`
}

func (e LogEntry) String() string {
	kind := e.Type
	if e.Method != "" {
		kind = e.Method
	}
	return fmt.Sprintf("%s %s: %s", e.Level, kind, strings.TrimSpace(e.Text))
}

// OnLog calls f with every log entry (after Subscribe(ctx, "log.entryAdded")).
func (c *Conn) OnLog(f func(LogEntry)) (remove func()) {
	return c.On("log.entryAdded", func(p json.RawMessage) {
		var e LogEntry
		if json.Unmarshal(p, &e) == nil {
			f(e)
		}
	})
}

// Request is a network.beforeRequestSent event.
type Request struct {
	Context string
	URL     string
	Method  string
}

// OnRequest calls f before every request a page sends (after
// Subscribe(ctx, "network.beforeRequestSent")).
func (c *Conn) OnRequest(f func(Request)) (remove func()) {
	return c.On("network.beforeRequestSent", func(p json.RawMessage) {
		var e struct {
			Context string `json:"context"`
			Request struct {
				URL    string `json:"url"`
				Method string `json:"method"`
			} `json:"request"`
		}
		if json.Unmarshal(p, &e) == nil {
			f(Request{Context: e.Context, URL: e.Request.URL, Method: e.Request.Method})
		}
	})
}
