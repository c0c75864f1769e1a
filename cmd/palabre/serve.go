package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"palabre/admission"
	"palabre/client/web"
	"palabre/rooms"
	"palabre/sfu"
	"palabre/signaling"
)

type serveFlags struct {
	listen      string
	data        string
	mediaPort   int
	mediaTCP    int
	slots       int
	adhoc       bool
	publicURL   string
	createToken string
	logLevel    string
	logFormat   string
	joinRate    float64
	adminListen string
	net         networkFlags
	proxies     listFlag
	configFile  string
	logIPs      bool
	acmeEmail   string
	lan         bool
	cluster     clusterFlags
}

func serve(args []string, stderr io.Writer) int {
	fs, f := newServeFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	source, err := applyConfig(fs, f.configFile, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if f.lan && source["listen"] == "default" {
		f.listen = ":8443" // a LAN meeting listens on every interface
	}
	return serveWith(*f, stderr)
}

// newServeFlags declares every setting of palabre serve.
func newServeFlags(stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	f := new(serveFlags)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configFile, "config", "", "TOML `file` of settings named like these flags (env PALABRE_CONFIG); flags and PALABRE_* variables win over it")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "HTTP and WebSocket listen `address`")
	fs.StringVar(&f.data, "data", "palabre-data", "`directory` for rooms and state (created if missing)")
	fs.IntVar(&f.mediaPort, "media-port", -1, "UDP `port` carrying all media (default: the listen port)")
	fs.IntVar(&f.mediaTCP, "media-tcp-port", -1, "TCP `port` for ICE-TCP, for participants who can only use TCP (default: the listen port + 1; 0 turns it off)")
	fs.IntVar(&f.slots, "slots", 3, "audio slots per participant: how many voices each one hears at once (1-8)")
	fs.BoolVar(&f.adhoc, "adhoc-rooms", true, "joining an unknown room creates an open ephemeral room")
	fs.StringVar(&f.publicURL, "public-url", "", "base `URL` of links given to organizers (default: from each request)")
	fs.StringVar(&f.createToken, "create-token", "", "if set, creating rooms over the API needs this bearer `token`")
	fs.Float64Var(&f.joinRate, "join-rate", 20, "joins per second allowed from one address (bursts of 5× that); raise it for load tests")
	fs.StringVar(&f.adminListen, "admin-listen", "", "if set, an admin listener at `ADDR` serves Go's pprof profiles under /debug/pprof/ (keep it on loopback)")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "get the HTTPS certificate for --public-url's name from Let's Encrypt (ACME, TLS-ALPN-01 and HTTP-01 on :80), with this contact `address`")
	fs.BoolVar(&f.lan, "lan", false, "serve HTTPS with a self-signed certificate (kept in the data directory) for a quick meeting on a local network; prints its fingerprint")
	fs.BoolVar(&f.logIPs, "log-ips", false, "log participants' IP addresses (off by default: Palabre collects nothing about the people using it)")
	f.net.register(fs)
	f.cluster.register(fs)
	fs.Var(&f.proxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (repeatable)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "auto", "text, json, or auto: text on a terminal, JSON otherwise")
	return fs, f
}

func serveWith(f serveFlags, stderr io.Writer) int {
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal (drain, then shutdown), a second one
		// stops the process at once.
		<-ctx.Done()
		stop()
	}()
	if err := runServer(ctx, f, log, nil); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// runServer assembles the parts, serves until ctx ends, then shuts down
// in order: stop accepting, close sessions, close media, close the store.
// ready, if not nil, gets the server's base URL once it accepts requests.
func runServer(ctx context.Context, f serveFlags, log *slog.Logger, ready func(url string)) error {
	host, port, err := net.SplitHostPort(f.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", f.listen, err)
	}
	if f.mediaPort < 0 {
		if f.mediaPort, err = strconv.Atoi(port); err != nil {
			return fmt.Errorf("--listen %q: port must be a number to derive --media-port", f.listen)
		}
	}
	if f.mediaTCP < 0 {
		p, err := strconv.Atoi(port)
		if err != nil {
			return fmt.Errorf("--listen %q: port must be a number to derive --media-tcp-port", f.listen)
		}
		if p != 0 {
			f.mediaTCP = p + 1
		} else {
			f.mediaTCP = 0
		}
	}
	mediaIP, err := mediaBindIP(f.net, host)
	if err != nil {
		return err
	}
	mediaTCP := ""
	if f.mediaTCP > 0 {
		mediaTCP = net.JoinHostPort(mediaIP, strconv.Itoa(f.mediaTCP))
	}
	store, err := rooms.Open(f.data, rooms.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	engine, err := sfu.NewEngine(sfu.Config{
		MediaAddr:    net.JoinHostPort(mediaIP, strconv.Itoa(f.mediaPort)),
		MediaTCPAddr: mediaTCP,
		PublicIPs:    f.net.publicIPs,
		Slots:        f.slots,
		Logger:       log,
	})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer engine.Close()

	var proxies []netip.Prefix
	for _, p := range f.proxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxy %q: %w", p, err)
		}
		proxies = append(proxies, pfx)
	}

	// The listener comes before the cluster node, whose public URL may be
	// derived from it.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	scheme := "http"
	tlsConfig, acmeHTTP, lanFingerprint, err := serverTLS(f)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		scheme = "https"
	}
	publicURL := f.publicURL
	if publicURL == "" && f.cluster.bind != "" {
		publicURL = defaultPublicURL(scheme, ln.Addr())
	}
	node, clusterKey, err := startCluster(f.cluster, f.data, publicURL, log)
	if err != nil {
		return err
	}
	if node != nil {
		defer node.Shutdown()
		if f.net.turnSecret == "" && clusterKey != nil {
			// Credentials from any node must work on every node.
			secret, err := turnSecretFromKey(clusterKey)
			if err != nil {
				return err
			}
			f.net.turnSecret = string(secret)
		}
	}

	var turnServer signaling.TURN
	if f.net.turnOn {
		ports := []int{engine.MediaAddr().Port}
		if a := engine.MediaTCPAddr(); a != nil {
			ports = append(ports, a.Port)
		}
		ts, err := startTURN(f.net, f.data, mediaIP, ports, log)
		if err != nil {
			return fmt.Errorf("TURN: %w", err)
		}
		defer ts.Close()
		turnServer = turnAt{ts, turnHost(mediaIP, f.net.publicIPs)}
	}

	srv, err := signaling.NewServer(signaling.Config{
		Software:       "palabre/" + version,
		Rooms:          store,
		Guard:          admission.NewGuard(admission.GuardConfig{JoinsPerSecond: f.joinRate, JoinBurst: int(5 * f.joinRate)}),
		Engine:         engine,
		AdhocRooms:     f.adhoc,
		PublicURL:      f.publicURL,
		CreateToken:    f.createToken,
		Web:            web.Files(),
		TURN:           turnServer,
		TrustedProxies: proxies,
		LogIPs:         f.logIPs,
		AdminTokens:    filepath.Join(f.data, signaling.AdminTokenFile),
		TURNTTL:        f.net.turnTTL,
		Cluster:        node,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if tlsConfig != nil {
		hs.TLSConfig = tlsConfig
		ln = tls.NewListener(ln, tlsConfig)
	}
	if acmeHTTP != nil {
		// HTTP-01 challenges, and a redirect to HTTPS for everything else.
		h80 := &http.Server{Addr: ":80", Handler: acmeHTTP, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := h80.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("ACME HTTP-01 listener on :80", "err", err)
			}
		}()
		defer h80.Close()
	}
	if lanFingerprint != "" {
		log.Info("self-signed LAN certificate: check this fingerprint in the browser before accepting it", "sha256", lanFingerprint)
	}
	log.Info("palabre serving", "version", version, "url", scheme+"://"+ln.Addr().String(),
		"media_udp", engine.MediaAddr().String(), "data", f.data, "adhoc_rooms", f.adhoc)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if f.adminListen != "" {
		dbg, err := startAdmin(f.adminListen)
		if err != nil {
			return fmt.Errorf("--admin-listen: %w", err)
		}
		defer dbg.Close()
		log.Info("profiles served", "url", "http://"+f.adminListen+"/debug/pprof/")
	}
	if node != nil {
		node.Join(f.cluster.join)
	}
	if ready != nil {
		ready(scheme + "://" + ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-srv.DrainRequested():
		log.Info("drain requested over the admin API")
	}
	if node != nil {
		// Move the rooms to other nodes while still serving (newcomers
		// are redirected), then say goodbye to the cluster.
		log.Info("draining: moving rooms to other nodes", "timeout", f.cluster.drainTimeout)
		dctx, cancel := context.WithTimeout(context.Background(), f.cluster.drainTimeout)
		left := srv.Drain(dctx)
		cancel()
		if left > 0 {
			log.Warn("rooms not moved (no other node to take them, or --drain-timeout reached) are closed", "rooms", left)
		} else {
			log.Info("drained: no room left")
		}
		if err := node.Leave(5 * time.Second); err != nil {
			log.Warn("leaving the cluster", "err", err)
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Close(sctx) // WebSockets are hijacked: close them first
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startAdmin serves pprof on its own listener, away from the public one.
func startAdmin(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text, json or auto", format)
}
