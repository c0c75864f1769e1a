package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultPort is the gossip port (TCP and UDP) when the bind address has
// none: memberlist's usual port.
const DefaultPort = 7946

// Config describes this node and how it reaches the others.
type Config struct {
	// NodeID names this node in the cluster: unique, stable across
	// restarts (the caller keeps it in the data directory).
	NodeID string
	// PublicURL is where participants reach this node
	// ("https://b.example.org"): redirects point there.
	PublicURL string
	// Region is free text shown to operators ("eu-west", "school-basement").
	Region string
	// Capacity is this node's weight in placement: 2 takes twice the rooms
	// of 1. Default 1.
	Capacity float64
	// BindAddr is the gossip address ("0.0.0.0:7946"); port 0 picks one.
	BindAddr string
	// AdvertiseAddr is the address other nodes reach this one at, when it
	// differs from BindAddr (NAT, 0.0.0.0).
	AdvertiseAddr string
	// Key encrypts and authenticates gossip (16, 24 or 32 bytes). A node
	// without it cannot join. Required unless Insecure.
	Key []byte
	// Insecure allows a cluster without a key: gossip in clear, anyone
	// who reaches the port may join. For tests and closed networks only.
	Insecure bool
	// WAN tunes failure detection for nodes across the Internet (slower,
	// more tolerant); the default suits one data centre or LAN.
	WAN bool
	// Logger receives the cluster's logs; default slog.Default().
	Logger *slog.Logger

	// transport replaces memberlist's network transport (tests: a
	// network that can be split).
	transport memberlist.Transport
}

// Entry is one entry of the replicated registry, as package rooms defines
// it (rooms.Replica has the same fields, so the two convert).
type Entry struct {
	Name    string `json:"n"`
	Clock   uint64 `json:"c"`
	Node    string `json:"o"`
	Deleted bool   `json:"d,omitempty"`
	Data    []byte `json:"v,omitempty"`
}

// Registry stores the replicated entries (package rooms' Store, through an
// adapter): every entry and tombstone for a full-state exchange, and the
// last-writer-wins merge of entries from peers.
type Registry interface {
	Entries() []Entry
	// Apply merges a batch of entries from peers, in one write, and
	// returns the names whose entry changed, once the change is stored.
	// The batch may hold several entries of one name, in no particular
	// order. An error may come with changes (entries it refused, the
	// others applied). Apply runs on one goroutine of the Node's, never
	// inside memberlist's callbacks, one call at a time.
	Apply([]Entry) (changed []string, err error)
}

// Member is one node as this node sees it.
type Member struct {
	ID           string  `json:"id"`
	URL          string  `json:"url"`
	Region       string  `json:"region,omitempty"`
	Capacity     float64 `json:"capacity"`
	Participants int     `json:"participants"`
	Rooms        int     `json:"rooms"`
	Draining     bool    `json:"draining"`
	// State is "alive", "suspect" (missed its probes; dead soon unless it
	// answers) or "draining".
	State    string `json:"state"`
	Protocol int    `json:"protocol"`
	Addr     string `json:"addr"` // gossip address
	Local    bool   `json:"local,omitempty"`
}

// Placement says where a room belongs.
type Placement struct {
	Member
	// Live is true when the room has participants on that node, false
	// when the node was chosen by hashing.
	Live bool
}

// Node is this process's membership in the cluster.
type Node struct {
	cfg   Config
	log   *slog.Logger
	ml    *memberlist.Memberlist
	clock hlc
	// gossipAddr is where others join this node, read once at start:
	// memberlist's LocalNode is its own state, written under its lock by
	// UpdateNode (a read of it races with the load announcements).
	gossipAddr string

	mu       sync.Mutex
	meta     meta
	registry Registry
	live     liveTable
	seq      uint64          // of this node's live announcements
	dirty    map[string]bool // rooms whose participant count changed since the last tick
	outbox   batch           // waiting for the sender
	metaSent meta            // load as last gossiped
	// members is the membership as memberlist's events told it (copied
	// inside the callbacks: the *memberlist.Node values it hands out
	// change under its own lock afterwards).
	members       map[string]memberRecord
	probeInterval time.Duration
	// everURL holds the public URL of every node seen since start, gone
	// ones included: pages they served must still reach the survivors.
	everURL map[string]string

	inbox *inbox // entries from peers, waiting for the applier (inbox.go)
	kick  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup

	// failed are the nodes that failed, called until they are back
	// (reconnect.go); reconnectKick wakes the caller.
	failed        map[string]*failedPeer
	reconnectKick chan struct{}

	gossipQueue atomic.Pointer[memberlist.TransmitLimitedQueue] // set once ml exists
	noDirect    atomic.Bool                                     // tests: gossip only
}

// tick is how often participant counts and load are sent.
const tick = time.Second

// New starts this node's gossip listener; it is alone until Join.
// Attach the registry with SetRegistry before Join.
func New(cfg Config) (*Node, error) {
	if cfg.NodeID == "" || len(cfg.NodeID) > 64 || strings.ContainsAny(cfg.NodeID, " \t\r\n") {
		return nil, errors.New("cluster: node id must be 1 to 64 characters without spaces")
	}
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, err
	}
	switch len(cfg.Key) {
	case 0:
		if !cfg.Insecure {
			return nil, errors.New("cluster: a key is required to encrypt gossip: make one with `palabre cluster keygen --out cluster.key` and pass --cluster-key-file on every node (or --cluster-insecure on a closed test network)")
		}
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("cluster: key is %d bytes, want 16, 24 or 32", len(cfg.Key))
	}
	if len(cfg.Region) > maxRegionLen {
		return nil, fmt.Errorf("cluster: region is %d bytes long, at most %d allowed", len(cfg.Region), maxRegionLen)
	}
	if cfg.Capacity < 0 || cfg.Capacity > 1000 {
		return nil, fmt.Errorf("cluster: capacity %g out of range 0..1000", cfg.Capacity)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "cluster"),
		clock: hlc{now: time.Now},
		meta: meta{
			URL: cfg.PublicURL, Region: cfg.Region, Capacity: cfg.Capacity, Protocol: ProtocolVersion,
		},
		live:    liveTable{},
		dirty:   make(map[string]bool),
		members: make(map[string]memberRecord),
		everURL: make(map[string]string),
		inbox:   newInbox(),
		failed:  make(map[string]*failedPeer),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),

		reconnectKick: make(chan struct{}, 1),
	}
	if _, err := n.meta.encode(); err != nil {
		return nil, err
	}
	mc, err := n.memberlistConfig()
	if err != nil {
		return nil, err
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: start gossip on %s: %w", cfg.BindAddr, err)
	}
	n.ml = ml
	ln := ml.LocalNode()
	n.gossipAddr = net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port)))
	n.gossipQueue.Store(&memberlist.TransmitLimitedQueue{NumNodes: ml.NumMembers, RetransmitMult: mc.RetransmitMult})
	n.wg.Add(4)
	go n.sendLoop()
	go n.tickLoop()
	go n.applyLoop()
	go n.reconnectLoop()
	n.log.Info("cluster node started", "node", cfg.NodeID, "gossip", n.GossipAddr(), "encrypted", len(cfg.Key) > 0)
	return n, nil
}

func (n *Node) memberlistConfig() (*memberlist.Config, error) {
	mc := memberlist.DefaultLANConfig()
	if n.cfg.WAN {
		mc = memberlist.DefaultWANConfig()
	} else {
		// Room definitions also travel by direct sends; the periodic
		// full-state exchange repairs what those missed.
		mc.PushPullInterval = 15 * time.Second
		// Probe twice as often as memberlist's LAN default (1 s, 500 ms):
		// a dead node is found in about 3 s instead of 6, which is how
		// long its participants wait in silence. The cost is one more
		// small UDP probe per node per second; a LAN answers in far less
		// than 250 ms.
		mc.ProbeInterval = 500 * time.Millisecond
		mc.ProbeTimeout = 250 * time.Millisecond
	}
	mc.Name = n.cfg.NodeID
	host, port, err := splitHostPort(n.cfg.BindAddr, "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("cluster: bind address: %w", err)
	}
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertisePort = port
	if n.cfg.AdvertiseAddr != "" {
		host, port, err := splitHostPort(n.cfg.AdvertiseAddr, "")
		if err != nil || host == "" {
			return nil, fmt.Errorf("cluster: advertise address %q: want host:port", n.cfg.AdvertiseAddr)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = host, port
	}
	if len(n.cfg.Key) > 0 {
		mc.SecretKey = n.cfg.Key
	}
	// A label keeps other memberlist users (Consul, Nomad…) on the same
	// network from mixing with this cluster.
	mc.Label = "palabre"
	mc.DeadNodeReclaimTime = 30 * time.Second // a node may come back with a new address
	d := &delegate{n}
	mc.Delegate, mc.Events, mc.Ping = d, d, d
	n.probeInterval = mc.ProbeInterval
	mc.Logger = newMemberlistLogger(n.log)
	mc.Transport = n.cfg.transport
	return mc, nil
}

// splitHostPort parses "host:port", "host" or ":port".
func splitHostPort(addr, defaultHost string) (string, int, error) {
	if addr == "" {
		return defaultHost, DefaultPort, nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, DefaultPort, nil // a bare host
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if host == "" {
		host = defaultHost
	}
	return host, port, nil
}

// SetRegistry attaches the replicated registry. Entries that arrive
// before it is set are dropped (the next full-state exchange brings them).
func (n *Node) SetRegistry(r Registry) {
	n.mu.Lock()
	n.registry = r
	n.mu.Unlock()
}

// ID returns this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// GossipAddr returns the address and port other nodes join this one at.
func (n *Node) GossipAddr() string { return n.gossipAddr }

// Join contacts the given nodes ("host:port") in the background until one
// answers; it returns at once. A node started alone (no peers, or none
// reachable yet) keeps serving, and the others can join it.
func (n *Node) Join(peers []string) {
	if len(peers) == 0 {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		wait := 500 * time.Millisecond
		for {
			count, err := n.ml.Join(peers)
			if count > 0 {
				n.log.Info("joined the cluster", "through", count, "members", n.ml.NumMembers())
				return
			}
			n.log.Warn("could not join the cluster; retrying (check --cluster-join, the firewall, and that every node has the same --cluster-key-file)",
				"peers", strings.Join(peers, ","), "err", err, "retry_in", wait)
			select {
			case <-n.stop:
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 10*time.Second)
		}
	}()
}

// Stamp returns a fresh version for a local registry write.
func (n *Node) Stamp() (clock uint64, node string) { return n.clock.next(), n.cfg.NodeID }

// Publish sends a local registry write to every other node.
func (n *Node) Publish(e Entry) {
	n.mu.Lock()
	n.outbox.Entries = append(n.outbox.Entries, e)
	n.mu.Unlock()
	n.wake()
	n.gossipCopy("e:"+e.Name, batch{Entries: []Entry{e}})
}

func (n *Node) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// SetDraining marks this node as draining (no new rooms; its live rooms
// go elsewhere) and tells the others at once.
func (n *Node) SetDraining(draining bool) {
	n.mu.Lock()
	n.meta.Draining = draining
	n.mu.Unlock()
	if err := n.ml.UpdateNode(5 * time.Second); err != nil {
		n.log.Warn("could not announce draining to every node", "err", err)
	}
}

// Draining reports whether SetDraining(true) was called.
func (n *Node) Draining() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.meta.Draining
}

// Leave tells the other nodes this one is going (so they do not wait for
// it to time out), then stops gossip. Use Shutdown alone for a crash-like
// stop.
func (n *Node) Leave(timeout time.Duration) error {
	err := n.ml.Leave(timeout)
	return errors.Join(err, n.Shutdown())
}

// Shutdown stops gossip and the node's goroutines.
func (n *Node) Shutdown() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	err := n.ml.Shutdown()
	n.wg.Wait()
	return err
}
