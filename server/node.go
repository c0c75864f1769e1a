package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"palabre/admission"
	"palabre/client/web"
	"palabre/cluster"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling"
	"palabre/turn"
)

// Node is a running server: its parts, and the HTTP server in front.
type Node struct {
	opts Options // effective
	log  *slog.Logger

	ln          net.Listener // the raw listener (TLS is layered above it)
	store       *rooms.Store
	engine      *sfu.Engine
	cluster     *cluster.Node
	turn        *turn.Server
	sig         *signaling.Server
	hs          *http.Server
	acme        *http.Server // HTTP-01 challenges on :80
	profiles    *http.Server
	url         string
	fingerprint string

	serveErr  chan error
	closeOnce sync.Once
	closeErr  error
}

// Start checks o, starts every part and serves. The listener comes first
// (a second server on the same port stops there, before touching the
// data), then the room store, the media engine, the cluster node, the
// TURN server and the signaling server. Errors about a setting, a busy
// port included, are *SettingError. On error nothing is left running.
func Start(o Options) (_ *Node, err error) {
	n := &Node{serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			n.stopParts()
		}
	}()
	n.ln = o.Listener
	if o, err = o.Effective(); err != nil {
		return nil, err
	}
	n.opts, n.log = o, o.Logger
	if n.ln == nil {
		if n.ln, err = net.Listen("tcp", o.Listen); err != nil {
			return nil, &SettingError{Setting: "Listen", Value: o.Listen, Err: err}
		}
	}
	if n.store, err = rooms.Open(o.DataDir, rooms.Options{Hash: o.PasswordHash, MaxEphemeral: o.MaxAdhocRooms}); err != nil {
		return nil, &SettingError{Setting: "DataDir", Value: o.DataDir, Err: err}
	}
	if n.engine, err = startEngine(o); err != nil {
		return nil, err
	}
	tlsConfig, acmeHTTP, fingerprint, err := serverTLS(o)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	n.url, n.fingerprint = scheme+"://"+n.ln.Addr().String(), fingerprint
	publicURL := o.PublicURL
	if publicURL == "" && o.Cluster.Bind != "" {
		publicURL = defaultPublicURL(scheme, n.ln.Addr())
	}
	var clusterKey []byte
	if n.cluster, clusterKey, err = startCluster(o, publicURL); err != nil {
		return nil, err
	}
	var turnServer signaling.TURN // a nil interface when TURN is off
	if o.TURN.Enabled {
		ports := []int{n.engine.MediaAddr().Port}
		if a := n.engine.MediaTCPAddr(); a != nil {
			ports = append(ports, a.Port)
		}
		if n.turn, err = startTURN(o, ports, clusterKey); err != nil {
			return nil, err
		}
		turnServer = turnAt{n.turn, turnHost(o.MediaIP, o.PublicIPs)}
		n.engine.SetRelayCheck(n.turn.IsRelay)
	}
	n.sig, err = signaling.NewServer(signaling.Config{
		Software:        o.Software,
		Rooms:           n.store,
		Guard:           admission.NewGuard(o.Admission),
		Engine:          n.engine,
		AdhocRooms:      o.AdhocRooms,
		PublicURL:       o.PublicURL,
		CreateToken:     o.CreateToken,
		Web:             web.Files(),
		TURN:            turnServer,
		TURNTTL:         o.TURN.TTL,
		TrustedProxies:  o.TrustedProxies,
		LogIPs:          o.LogIPs,
		AdminTokens:     filepath.Join(o.DataDir, signaling.AdminTokenFile),
		Cluster:         n.cluster,
		Logger:          o.Logger,
		PerAddress:      o.PerAddress,
		UnjoinedTimeout: o.UnjoinedTimeout,
		BodyTimeout:     o.BodyTimeout,
		PrivateMetrics:  o.AdminListen != "",
	})
	if err != nil {
		return nil, err
	}
	if o.AdminListen != "" {
		if n.profiles, err = startAdmin(o.AdminListen, n.sig.Metrics()); err != nil {
			return nil, err
		}
		n.log.Info("metrics and profiles served on the admin listener, not the public one",
			"metrics", "http://"+o.AdminListen+"/metrics", "profiles", "http://"+o.AdminListen+"/debug/pprof/")
	}
	n.serve(tlsConfig, acmeHTTP)
	if n.cluster != nil {
		n.cluster.Join(o.Cluster.Join)
	}
	return n, nil
}

// startEngine binds the media ports.
func startEngine(o Options) (*sfu.Engine, error) {
	tcpAddr := ""
	if o.MediaTCPPort != 0 {
		tcpAddr = net.JoinHostPort(o.MediaIP, strconv.Itoa(max(o.MediaTCPPort, 0)))
	}
	e, err := sfu.NewEngine(sfu.Config{
		MediaAddr:    net.JoinHostPort(o.MediaIP, strconv.Itoa(o.MediaPort)),
		MediaTCPAddr: tcpAddr,
		PublicIPs:    o.PublicIPs,
		Slots:        o.Slots,
		VideoSlots:   o.VideoSlots,
		Logger:       o.Logger,
		// One allow-list for the ranges this deployment may reach that the
		// built-in policy refuses: the relay's peers and clients' ICE
		// candidates alike.
		AllowRemote: o.TURN.AllowPeers,
	})
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Net == "tcp" {
			return nil, &SettingError{Setting: "MediaTCPPort", Value: strconv.Itoa(o.MediaTCPPort), Err: err}
		}
		return nil, &SettingError{Setting: "MediaPort", Value: strconv.Itoa(o.MediaPort), Err: err}
	}
	return e, nil
}

// serve starts the HTTP server (and ACME's HTTP-01 listener on :80).
func (n *Node) serve(tlsConfig *tls.Config, acmeHTTP http.Handler) {
	n.hs = &http.Server{
		Handler:           n.sig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	ln := n.ln
	if tlsConfig != nil {
		n.hs.TLSConfig = tlsConfig
		ln = tls.NewListener(ln, tlsConfig)
	}
	if acmeHTTP != nil {
		// HTTP-01 challenges, and a redirect to HTTPS for everything else.
		n.acme = &http.Server{Addr: ":80", Handler: acmeHTTP, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := n.acme.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.log.Warn("ACME HTTP-01 listener on :80", "err", err)
			}
		}()
	}
	if n.fingerprint != "" {
		n.log.Info("self-signed LAN certificate: check this fingerprint in the browser before accepting it", "sha256", n.fingerprint)
	}
	n.log.Info("palabre serving", "software", n.opts.Software, "url", n.url,
		"media_udp", n.engine.MediaAddr().String(), "data", n.opts.DataDir, "adhoc_rooms", n.opts.AdhocRooms)
	go func() {
		if err := n.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.serveErr <- err
		}
	}()
}

// URL is the base URL the server listens at ("http://127.0.0.1:8080").
func (n *Node) URL() string { return n.url }

// Options are the effective settings the node runs with.
func (n *Node) Options() Options { return n.opts }

// Fingerprint is the SHA-256 of the self-signed LAN certificate, if any.
func (n *Node) Fingerprint() string { return n.fingerprint }

// Engine is the media engine.
func (n *Node) Engine() *sfu.Engine { return n.engine }

// TURN is the bundled TURN server, nil when it is off.
func (n *Node) TURN() *turn.Server { return n.turn }

// Signaling is the signaling server (live rooms, drain).
func (n *Node) Signaling() *signaling.Server { return n.sig }

// Rooms is the store of room definitions.
func (n *Node) Rooms() *rooms.Store { return n.store }

// Cluster is the cluster node, nil when the server is not one.
func (n *Node) Cluster() *cluster.Node { return n.cluster }

// Err delivers the error that stopped the HTTP server on its own.
func (n *Node) Err() <-chan error { return n.serveErr }

// DrainRequested is closed when an admin asks for a drain over the API.
func (n *Node) DrainRequested() <-chan struct{} { return n.sig.DrainRequested() }

// Drain moves a cluster node's rooms to the other nodes while still
// serving (newcomers are redirected), until none is left, ctx ends or
// Cluster.DrainTimeout passes, then leaves the cluster. It returns how
// many rooms were left (Close closes them). A server that is not a
// cluster node has nowhere to move rooms: Drain returns 0 at once.
func (n *Node) Drain(ctx context.Context) int {
	if n.cluster == nil {
		return 0
	}
	n.log.Info("draining: moving rooms to other nodes", "timeout", n.opts.Cluster.DrainTimeout)
	ctx, cancel := context.WithTimeout(ctx, n.opts.Cluster.DrainTimeout)
	left := n.sig.Drain(ctx)
	cancel()
	if left > 0 {
		n.log.Warn("rooms not moved (no other node to take them, or the drain timeout reached) are closed", "rooms", left)
	} else {
		n.log.Info("drained: no room left")
	}
	if err := n.cluster.Leave(5 * time.Second); err != nil {
		n.log.Warn("leaving the cluster", "err", err)
	}
	return left
}

// Close shuts down in order: sessions (participants are told), the HTTP
// server, gossip (without leaving: see Drain), the media engine, TURN and
// the store. It waits at most 10 s for sessions and requests. Close twice
// returns the first result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.log.Info("shutting down")
		n.closeErr = n.stopParts()
	})
	return n.closeErr
}

// stopParts stops whatever was started.
func (n *Node) stopParts() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if n.sig != nil {
		_ = n.sig.Close(ctx) // WebSockets are hijacked: close them first
	}
	if n.hs != nil {
		if err := n.hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			n.hs.Close()
		}
	}
	if n.ln != nil {
		// Shutdown closes only the listeners Serve has started on: a Close
		// right after Start could otherwise return with the port open.
		n.ln.Close()
	}
	for _, s := range []*http.Server{n.acme, n.profiles} {
		if s != nil {
			s.Close()
		}
	}
	if n.cluster != nil {
		if err := n.cluster.Shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	if n.engine != nil {
		n.engine.Close()
	}
	if n.turn != nil {
		if err := n.turn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
