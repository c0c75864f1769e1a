package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"palabre/server"
)

func serve(args []string, stdout, stderr io.Writer) int {
	fs, f := newServeFlags(stderr)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	source, err := applyConfig(fs, f.configFile, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "palabre serve:", err)
		return 2
	}
	f.source = source
	if f.o.TLS.LAN && source["listen"] == "default" {
		f.o.Listen = ":8443" // a LAN meeting listens on every interface
	}
	return serveWith(f, stdout, stderr)
}

func serveWith(f *serveFlags, stdout, stderr io.Writer) int {
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "palabre serve:", err)
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
	ready := func(n *server.Node) { fmt.Fprintln(stdout, runningLine(n)) }
	if err := runServer(ctx, f, log, ready); err != nil {
		fmt.Fprintln(stderr, "palabre serve:", err)
		return 1
	}
	return 0
}

// runServer translates the flags into server options, starts the server,
// serves until ctx ends or an admin asks for a drain, then drains and
// closes it. ready, if not nil, is called once the server accepts
// requests. Errors are in the flags' words.
func runServer(ctx context.Context, f *serveFlags, log *slog.Logger, ready func(*server.Node)) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	o.Software = "palabre/" + version
	o.Logger = log
	if err := applyMemoryLimit(f.memLimit, log); err != nil {
		return err
	}
	n, err := server.Start(o)
	if err != nil {
		return explain(err, f.source)
	}
	if ready != nil {
		ready(n)
	}
	select {
	case err := <-n.Err():
		n.Close()
		return err
	case <-ctx.Done():
	case <-n.DrainRequested():
		log.Info("drain requested over the admin API")
	}
	n.Drain(context.Background())
	return n.Close()
}

// runningLine is the one plain line saying where to go.
func runningLine(n *server.Node) string {
	line := "Palabre is running: open " + openURL(n.Options().PublicURL, n.URL(), lanAddress()) + " in a browser"
	if fp := n.Fingerprint(); fp != "" {
		line += "\n(the certificate is self-signed: accept it only if the browser shows this SHA-256 fingerprint: " + fp + ")"
	}
	return line
}

// openURL is the address to open: the public URL if given, else the
// listener's, named so that a browser can use it when the server listens
// on every interface (lan, if known, is this machine's address for the
// others).
func openURL(publicURL, listenURL, lan string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/") + "/"
	}
	u, err := url.Parse(listenURL)
	if err != nil {
		return listenURL
	}
	host, port, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return u.String() + "/"
	}
	u.Host = net.JoinHostPort("localhost", port)
	here := u.String() + "/"
	if lan == "" {
		return here
	}
	u.Host = net.JoinHostPort(lan, port)
	return here + " on this machine, " + u.String() + "/ from the others,"
}

// lanAddress is this machine's first non-loopback IPv4 address, or "".
func lanAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	return ""
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
