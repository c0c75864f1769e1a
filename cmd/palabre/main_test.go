package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"

	"palabre/client"
	"palabre/internal/pionlog"
	"palabre/server"
)

// testFlags are the serve flags of the test servers: the defaults, on
// loopback ports chosen by the system (no ICE-TCP), with the data in a
// temporary directory.
func testFlags(t *testing.T) *serveFlags {
	_, f := newServeFlags(io.Discard)
	f.o.Listen, f.o.DataDir = "127.0.0.1:0", t.TempDir()
	f.o.MediaPort, f.o.MediaTCPPort, f.o.TURN.Port = 0, 0, 0
	f.relayPorts = "40000-40100"
	return f
}

// startServer runs runServer with f until the test ends and returns the
// server's URL once it serves, and a channel of runServer's result.
func startServer(t *testing.T, ctx context.Context, f *serveFlags) (string, <-chan error) {
	t.Helper()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, f, slog.New(slog.DiscardHandler), func(n *server.Node) { urls <- n.URL() })
	}()
	select {
	case u := <-urls:
		return u, done
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return "", nil
}

// startTestServer runs the real server assembly (runServer, as palabre
// serve does) with testFlags until the test ends.
func startTestServer(t *testing.T) string {
	t.Helper()
	return startTestServerWith(t, func(*serveFlags) {})
}

// startTestServerWith is startTestServer with changed flags.
func startTestServerWith(t *testing.T, edit func(*serveFlags)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	f := testFlags(t)
	edit(f)
	go func() {
		done <- runServer(ctx, f, slog.New(slog.DiscardHandler), func(n *server.Node) { urls <- n.URL() })
	}()
	stopped := false
	t.Cleanup(func() {
		cancel()
		if stopped {
			return
		}
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case u := <-urls:
		return u
	case err := <-done:
		stopped = true
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return ""
}

func TestRoomCreateAndShow(t *testing.T) {
	url := startTestServer(t)
	var out, errOut bytes.Buffer
	code := run([]string{"room", "create", "choir", "--mode", "ptt", "--password-stdin", "--server", url},
		strings.NewReader("s3cret words\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("room create: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{url + "/r/choir", "#org=", "Organizer secret:", "shown only this once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("room create output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := run([]string{"room", "show", "choir", "--server", url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("room show: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"mode:          ptt", "password:      yes", "max speakers:  1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("room show output lacks %q:\n%s", want, out.String())
		}
	}

	errOut.Reset()
	if code := run([]string{"room", "create", "choir", "--server", url}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "exists") {
		t.Errorf("creating it twice: exit %d, %q", code, errOut.String())
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"fly"}, 2, "unknown command"},
		{[]string{"room", "create"}, 2, "missing NAME"},
		{[]string{"room", "create", "x", "--password-stdin"}, 2, "no password"},
		{[]string{"serve", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"version"}, 0, ""},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit %d with %q", tc.args, code, out.String()+errOut.String(), tc.code, tc.want)
		}
	}
}

func TestNetworkFlagErrors(t *testing.T) {
	worldReadable := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(worldReadable, []byte("MDEyMzQ1Njc4OWFiY2RlZg=="), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--media-ip", "not-an-ip", "--data", t.TempDir()}, "--media-ip"},
		{[]string{"serve", "--turn-relay-ports", "9-5", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, "--turn-relay-ports"},
		{[]string{"serve", "--turn-allow-peer", "10.0.0.0/99", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, "--turn-allow-peer"},
		{[]string{"serve", "--turn-tls-port", "5349", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, "--tls-cert"},
		{[]string{"serve", "--cluster-join", "127.0.0.1:7946", "--listen", "127.0.0.1:0", "--turn=false", "--data", t.TempDir()}, "need --cluster-bind"},
		{[]string{"serve", "--cluster-bind", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--turn=false", "--data", t.TempDir()}, "palabre cluster keygen --out"},
		{[]string{"serve", "--cluster-bind", "127.0.0.1:0", "--cluster-key-file", worldReadable, "--listen", "127.0.0.1:0", "--turn=false", "--data", t.TempDir()}, "chmod 600"},
		{[]string{"serve", "--cluster-bind", "127.0.0.1:0", "--cluster-insecure", "--listen", "0.0.0.0:0", "--turn=false", "--data", t.TempDir()}, "--public-url: needed"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		if code := run(tc.args, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 mentioning %s", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// With media bound to 127.0.0.2, participants get TURN credentials for
// 127.0.0.2, and the relay refuses every non-public peer but the server's
// own media address. Only permissions are asked for: nothing is relayed.
func TestTURNRelayPolicyWithMediaIP(t *testing.T) {
	url := startTestServerWith(t, func(f *serveFlags) { f.o.MediaIP = "127.0.0.2" })

	jctx, jcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer jcancel()
	c, err := client.Dial(jctx, url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joined, err := c.Join(jctx, client.JoinRequest{Room: "lobby", Name: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if len(joined.ICEServers) != 1 {
		t.Fatalf("ice servers %+v", joined.ICEServers)
	}
	ice := joined.ICEServers[0]
	var turnAddr string
	for _, u := range ice.URLs {
		if rest, ok := strings.CutPrefix(u, "turn:"); ok && strings.HasSuffix(u, "?transport=udp") {
			turnAddr = strings.TrimSuffix(rest, "?transport=udp")
		}
	}
	if !strings.HasPrefix(turnAddr, "127.0.0.2:") {
		t.Fatalf("TURN URLs %v do not name 127.0.0.2", ice.URLs)
	}

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc, err := pturn.NewClient(&pturn.ClientConfig{
		TURNServerAddr: turnAddr, Conn: conn, Username: ice.Username, Password: ice.Credential,
		Realm: "palabre", LoggerFactory: pionlog.Factory(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := tc.Allocate()
	if err != nil {
		t.Fatalf("allocate with the joined credentials: %v", err)
	}
	defer relay.Close()
	for _, peer := range []string{"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
		"169.254.169.254", "0.0.0.0", "224.0.0.1", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1"} {
		if err := tc.CreatePermission(&net.UDPAddr{IP: net.ParseIP(peer), Port: 9}); err == nil {
			t.Errorf("permission for %s granted", peer)
		}
	}
	if err := tc.CreatePermission(&net.UDPAddr{IP: net.ParseIP("127.0.0.2"), Port: 9}); err != nil {
		t.Errorf("permission for the server's own media address 127.0.0.2: %v", err)
	}
}

// palabre check passes every check against a server with ICE-TCP and TURN,
// and reports the failing ones when a path is missing.
func TestCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := startTestServerWith(t, func(f *serveFlags) { f.o.MediaTCPPort = tcpPort })
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--server", url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"media over UDP", "media over TCP (ICE-TCP)", "through TURN over UDP", "through TURN over TCP"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	// Without ICE-TCP, that check fails and its hint names the port. (The
	// relayed paths may miss the short timeout on a loaded machine: only
	// UDP and ICE-TCP are asserted.)
	url = startTestServer(t)
	out.Reset()
	code := run([]string{"check", "--server", url, "--timeout", "4s"}, nil, &out, &errOut)
	if code != 1 || !regexp.MustCompile(`media over UDP\s+ok`).MatchString(out.String()) ||
		!regexp.MustCompile(`media over TCP \(ICE-TCP\)\s+FAIL`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "ICE-TCP port (serve --media-tcp-port") {
		t.Errorf("check without ICE-TCP: exit %d\n%s", code, out.String())
	}
}

// Stopping the server during a live call (what SIGTERM does): the
// participants are told, the server exits within its deadline, and the
// rooms are intact when it starts again on the same data directory.
func TestGracefulShutdownDuringCall(t *testing.T) {
	f := testFlags(t)
	f.o.TURN.Enabled = false
	data := f.o.DataDir
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done := startServer(t, ctx, f)

	var out, errOut bytes.Buffer
	if code := run([]string{"room", "create", "durable", "--mode", "ptt", "--server", url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("room create: %s", errOut.String())
	}
	jctx, jcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer jcancel()
	var clients []*client.Client
	for _, name := range []string{"speaker", "listener"} {
		c, err := client.Dial(jctx, url, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Join(jctx, client.JoinRequest{Room: "durable", Name: name}); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConnected(jctx); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	if err := clients[0].PTTOn(jctx); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within its 10 s deadline")
	}
	t.Logf("stopped in %v", time.Since(start))
	for _, c := range clients {
		select {
		case <-c.Done():
			if err := c.Err(); err == nil || !strings.Contains(err.Error(), "shutting down") {
				t.Errorf("client closed with %v, want the shutdown reason", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("a client was not disconnected")
		}
	}

	// Back up on the same data directory: the room is still there.
	url = startTestServerWith(t, func(g *serveFlags) { g.o.DataDir = data })
	out.Reset()
	if code := run([]string{"room", "show", "durable", "--server", url}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ptt") {
		t.Errorf("after restart: exit %d %q %q", code, out.String(), errOut.String())
	}
}

func TestLogFormatAuto(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Errorf("auto format on a non-terminal wrote %q, want JSON", buf.String())
	}
}
