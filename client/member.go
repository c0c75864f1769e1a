package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"palabre/signaling/proto"
)

// MemberOptions configure a Member.
type MemberOptions struct {
	// Options are used for every connection the Member makes.
	Options
	// OnConnect runs after every join, first and later ones, once the
	// media is connected: start publishing, take the floor. An error
	// counts as a failed attempt.
	OnConnect func(ctx context.Context, c *Client) error
	// OnRTP receives the audio of every connection (see Client.OnRTP).
	OnRTP func(slot int, p *rtp.Packet)
	// AttemptTimeout bounds one connection attempt; default 10 s.
	AttemptTimeout time.Duration
	// MaxBackoff bounds the pause between failed attempts; default 2 s.
	MaxBackoff time.Duration
}

// Member keeps a participant in a room the way the browser app does: it
// follows the redirects of a cluster, and when its connection is lost
// (node failure, drain, network) it joins again, trying the node it was
// on, the other nodes the server listed, then the first URL. It stops on
// Close, on a kick, and on errors that retrying cannot fix (bad password).
type Member struct {
	opts  MemberOptions
	first string // the URL the Member was created with
	req   JoinRequest

	mu     sync.Mutex
	cur    *Client
	curURL string   // base URL of cur's server
	nodes  []string // from the last joined message
	err    error
	change chan struct{} // closed and replaced at each new connection

	reconnects atomic.Int64
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}
}

// JoinMember connects to serverURL (following redirects), joins the room
// and waits for the media. Later failures are repaired in the background.
func JoinMember(ctx context.Context, serverURL string, req JoinRequest, opts MemberOptions) (*Member, error) {
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	m := &Member{opts: opts, first: serverURL, req: req, change: make(chan struct{}), done: make(chan struct{})}
	c, base, err := m.connect(ctx, serverURL, 0, false)
	if err != nil {
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.setCurrent(c, base)
	go m.supervise()
	return m, nil
}

// connect joins at base, following redirects up to proto.MaxHops, and
// returns the connected client and the base URL of its server.
func (m *Member) connect(ctx context.Context, base string, hops int, rejoin bool) (*Client, string, error) {
	for {
		c, err := m.attempt(ctx, base, hops, rejoin)
		var re *RedirectError
		if !errors.As(err, &re) {
			return c, base, err
		}
		if hops >= proto.MaxHops {
			return nil, "", fmt.Errorf("palabre client: still redirected after %d hops (last to %s)", hops, re.URL)
		}
		if !validNodeURL(re.URL) {
			return nil, "", fmt.Errorf("palabre client: redirected to an unusable URL %q", re.URL)
		}
		base, hops = re.URL, hops+1
	}
}

func (m *Member) attempt(ctx context.Context, base string, hops int, rejoin bool) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.AttemptTimeout)
	defer cancel()
	c, err := Dial(ctx, base, m.opts.Options)
	if err != nil {
		return nil, err
	}
	if m.opts.OnRTP != nil {
		c.OnRTP(m.opts.OnRTP)
	}
	req := m.req
	req.Hops, req.Rejoin = hops, rejoin
	joined, err := c.Join(ctx, req)
	if err != nil {
		c.Close()
		return nil, err
	}
	if joined.OrganizerSecret != "" {
		// It opened an ad-hoc room: it comes back as its organizer.
		// (attempt runs once at a time: at the start, then from supervise.)
		m.req.Secret = joined.OrganizerSecret
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("palabre client: media at %s: %w", base, err)
	}
	if f := m.opts.OnConnect; f != nil {
		if err := f(ctx, c); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (m *Member) setCurrent(c *Client, base string) {
	var nodes []string
	if j := c.Joined(); j != nil {
		for _, u := range j.Nodes {
			if validNodeURL(u) && len(nodes) < 16 {
				nodes = append(nodes, u)
			}
		}
	}
	m.mu.Lock()
	m.cur, m.curURL = c, base
	if len(nodes) > 0 {
		m.nodes = nodes
	}
	close(m.change)
	m.change = make(chan struct{})
	m.mu.Unlock()
}

// supervise rejoins whenever the current connection ends.
func (m *Member) supervise() {
	defer close(m.done)
	for {
		m.mu.Lock()
		c := m.cur
		m.mu.Unlock()
		select {
		case <-m.ctx.Done():
			c.Close()
			return
		case <-c.Done():
		}
		err := c.Err()
		c.Close()
		m.log().Debug("connection lost; rejoining", "err", err)
		var ce *ClosedError
		errors.As(err, &ce)
		if ce != nil && ce.Kicked != nil {
			m.stop(err)
			return
		}
		var moved string
		if ce != nil && ce.Redirect != nil && validNodeURL(ce.Redirect.URL) {
			moved = ce.Redirect.URL
		}
		nc, base, err := m.rejoin(moved)
		if err != nil {
			m.stop(err)
			return
		}
		m.reconnects.Add(1)
		m.setCurrent(nc, base)
	}
}

// rejoin tries the new home of a moved room first, then every known node
// in turn, with a growing pause, until one admits the member again.
func (m *Member) rejoin(moved string) (*Client, string, error) {
	backoff := 100 * time.Millisecond
	next := 0 // index in candidates() of the next node to try
	for {
		// The new home of a moved room first, as one redirect followed.
		base, hops := moved, 1
		if moved == "" {
			candidates := m.candidates()
			base, hops = candidates[next%len(candidates)], 0
			next++
		}
		moved = ""
		c, got, err := m.connect(m.ctx, base, hops, true)
		if err == nil {
			return c, got, nil
		}
		m.log().Debug("rejoin attempt failed", "server", base, "err", err)
		if m.ctx.Err() != nil {
			return nil, "", ErrClosed
		}
		var pe *proto.Error
		if errors.As(err, &pe) && permanent(pe.Code) {
			return nil, "", err
		}
		select {
		case <-m.ctx.Done():
			return nil, "", ErrClosed
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.opts.MaxBackoff)
	}
}

// candidates are the nodes to try: the current one, the others the server
// listed, and the URL the member started from.
func (m *Member) candidates() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{m.curURL}
	for _, u := range append(slices.Clone(m.nodes), m.first) {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// permanent says whether a join error cannot be cured by retrying.
func permanent(code string) bool {
	switch code {
	case proto.CodeBadPassword, proto.CodeBadSecret, proto.CodeBadMessage, proto.CodeUnsupportedVersion:
		return true
	}
	return false
}

func validNodeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func (m *Member) stop(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
}

func (m *Member) log() *slog.Logger {
	if m.opts.Logger != nil {
		return m.opts.Logger
	}
	return slog.Default()
}

// Client returns the current connection. It changes after a reconnect.
func (m *Member) Client() *Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// URL returns the base URL of the server the member is connected to.
func (m *Member) URL() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.curURL
}

// Changed is closed at the next new connection.
func (m *Member) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.change
}

// Reconnects counts the joins after the first.
func (m *Member) Reconnects() int { return int(m.reconnects.Load()) }

// Done is closed when the member gave up (Err says why) or was closed.
func (m *Member) Done() <-chan struct{} { return m.done }

// Err says why the member stopped; nil while it runs.
func (m *Member) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Close leaves the room and stops reconnecting.
func (m *Member) Close() error {
	m.stop(ErrClosed)
	m.cancel()
	<-m.done
	return nil
}
