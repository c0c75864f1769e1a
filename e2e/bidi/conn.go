// Package bidi is a small WebDriver BiDi client (https://w3c.github.io/webdriver-bidi/)
// for the browser tests, over github.com/coder/websocket, and a launcher
// for Firefox, which speaks BiDi natively when started with
// --remote-debugging-port: no geckodriver.
//
// It covers what the tests need, no more: a session, browsing contexts in
// separate user contexts (one per person: separate storage), navigation,
// screenshots, the viewport, script evaluation with remote values decoded
// into Go values, input actions (keys and pointer), events (log entries,
// network requests) and closing the browser.
//
// Why not a library: when this was written no maintained Go BiDi client
// existed (chromedp stays on CDP; go-rod is CDP only; playwright-go drives
// a Node.js server it downloads). The protocol is JSON over one WebSocket:
// a command is {id, method, params}, the answer {type: "success", id,
// result} or {type: "error", id, error, message}, and events come as
// {type: "event", method, params}.
package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// Error is an error answer of the remote end: Code is BiDi's error code
// ("no such frame", "invalid argument", "unknown command"…).
type Error struct {
	Method     string // the command that failed
	Code       string
	Message    string
	Stacktrace string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("bidi: %s: %s", e.Method, e.Code)
	}
	return fmt.Sprintf("bidi: %s: %s: %s", e.Method, e.Code, e.Message)
}

// ErrClosed is returned by calls on a closed connection (or after the
// browser went away).
var ErrClosed = errors.New("bidi: connection closed")

// Conn is one BiDi connection. Its methods may be called from several
// goroutines.
type Conn struct {
	ws *websocket.Conn

	mu       sync.Mutex
	nextID   uint64
	pending  map[uint64]chan message
	handlers map[string]map[int]func(json.RawMessage)
	nextH    int
	err      error // why the connection ended

	done chan struct{}
}

// message is anything the remote end sends.
type message struct {
	Type   string          `json:"type"` // success, error, event
	ID     *uint64         `json:"id"`
	Result json.RawMessage `json:"result"`
	// errors
	Error      string `json:"error"`
	Message    string `json:"message"`
	Stacktrace string `json:"stacktrace"`
	// events
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// DialOptions change how Dial connects.
type DialOptions struct {
	// DialContext, if set, makes the TCP connection (e.g. from inside a
	// network namespace).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial connects to a BiDi WebSocket URL, e.g. ws://127.0.0.1:9222/session.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, error) {
	var wsOpts websocket.DialOptions
	if opts != nil && opts.DialContext != nil {
		wsOpts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: opts.DialContext}}
	}
	ws, _, err := websocket.Dial(ctx, url, &wsOpts)
	if err != nil {
		return nil, fmt.Errorf("bidi: dial %s: %w", url, err)
	}
	// Screenshots come as base64 PNG in one message.
	ws.SetReadLimit(128 << 20)
	c := &Conn{
		ws:       ws,
		pending:  map[uint64]chan message{},
		handlers: map[string]map[int]func(json.RawMessage){},
		done:     make(chan struct{}),
	}
	go c.read()
	return c, nil
}

func (c *Conn) read() {
	var err error
	defer func() {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		for id, ch := range c.pending {
			close(ch)
			delete(c.pending, id)
		}
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var data []byte
		_, data, err = c.ws.Read(context.Background())
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch {
		case m.Type == "event":
			c.mu.Lock()
			var hs []func(json.RawMessage)
			for _, h := range c.handlers[m.Method] {
				hs = append(hs, h)
			}
			c.mu.Unlock()
			for _, h := range hs {
				h(m.Params)
			}
		case m.ID != nil:
			c.mu.Lock()
			ch := c.pending[*m.ID]
			delete(c.pending, *m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// Call sends a command and waits for its answer, decoded into result
// (unless result is nil). params nil sends {}. An error answer is an
// *Error.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return ErrClosed
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	data, err := json.Marshal(struct {
		ID     uint64 `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params"`
	}{id, method, params})
	if err != nil {
		forget()
		return fmt.Errorf("bidi: %s: %w", method, err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		forget()
		return fmt.Errorf("bidi: %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("bidi: %s: %w", method, ErrClosed)
		}
		if m.Type == "error" {
			return &Error{Method: method, Code: m.Error, Message: m.Message, Stacktrace: m.Stacktrace}
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("bidi: %s: result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("bidi: %s: %w", method, ctx.Err())
	}
}

// On calls f with the parameters of every event named method (e.g.
// "log.entryAdded") until the returned function is called. Events are
// delivered only after session.subscribe asked for them. f runs on the
// connection's reader: it must not block, nor call Call.
func (c *Conn) On(method string, f func(params json.RawMessage)) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextH++
	id := c.nextH
	if c.handlers[method] == nil {
		c.handlers[method] = map[int]func(json.RawMessage){}
	}
	c.handlers[method][id] = f
	return func() {
		c.mu.Lock()
		delete(c.handlers[method], id)
		c.mu.Unlock()
	}
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the WebSocket (the browser keeps running: see
// Session.CloseBrowser).
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	c.mu.Unlock()
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	return err
}
