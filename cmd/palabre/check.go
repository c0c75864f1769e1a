package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"palabre/client"
	"palabre/signaling/proto"
)

// check tests a deployment the way a participant uses it: the web server,
// the signaling WebSocket, then media over UDP, over ICE-TCP and through
// the TURN relay over UDP and over TCP. It joins a throw-away ad-hoc room.
func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "check [--server URL] [flags]",
		"Tests a deployment the way a participant reaches it: the web server, the signaling\nWebSocket, then media over UDP, over ICE-TCP and through TURN over UDP and TCP.")
	server := fs.String("server", defaultServer, "server `URL`")
	room := fs.String("room", "", "room to join (default: a new ad-hoc room palabre-check-…)")
	password := fs.String("password", "", "the room's password, if it has one")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each check")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if err := checkServerURL(*server); err != nil {
		fmt.Fprintln(stderr, "check:", err)
		return 2
	}
	// Nothing else can pass if the server cannot be reached: say so once.
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	err := reachable(ctx, *server)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "check:", err)
		return 1
	}
	if *room == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		*room = "palabre-check-" + hex.EncodeToString(b[:])
	}
	quiet := slog.New(slog.DiscardHandler)
	checks := []struct {
		name string
		hint string // what to open when it fails
		run  func(ctx context.Context) error
	}{
		{"web server (/healthz)", "", func(ctx context.Context) error { return healthz(ctx, *server) }},
		{"signaling (WebSocket, join)", "a reverse proxy in front must pass WebSocket upgrades on /ws", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet}, false)
		}},
		{"media over UDP", "the media UDP port (serve --media-port, the listen port by default)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, TURNTransport: "none"}, true)
		}},
		{"media over TCP (ICE-TCP)", "the ICE-TCP port (serve --media-tcp-port, the listen port + 1 by default)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, TCPOnly: true, TURNTransport: "none"}, true)
		}},
		{"media through TURN over UDP", "the TURN port over UDP (serve --turn-port, 3478 by default)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, RelayOnly: true, TURNTransport: "udp"}, true)
		}},
		{"media through TURN over TCP", "the TURN port over TCP (serve --turn-port, 3478 by default)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, RelayOnly: true, TURNTransport: "tcp"}, true)
		}},
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	failed := 0
	var hints []string
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		start := time.Now()
		err := c.run(ctx)
		took := time.Since(start).Round(10 * time.Millisecond)
		cancel()
		if err != nil {
			failed++
			if c.hint != "" {
				hints = append(hints, c.hint)
			}
			fmt.Fprintf(tw, "%s\tFAIL\t%v\t%v\n", c.name, took, err)
		} else {
			fmt.Fprintf(tw, "%s\tok\t%v\t\n", c.name, took)
		}
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d of %d checks failed. Check that the server runs them and that firewalls between here and\nthe server let them through:\n", failed, len(checks))
		for _, h := range hints {
			fmt.Fprintln(stdout, "  -", h)
		}
		return 1
	}
	return 0
}

// reachable checks that an HTTP server answers at server, in the words
// of reachError when none does.
func reachable(ctx context.Context, server string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reachError(server, err)
	}
	resp.Body.Close()
	return nil
}

func healthz(ctx context.Context, server string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// joinWith joins the room with the given client options and, if media,
// waits for the WebRTC connection.
func joinWith(ctx context.Context, server, room, password string, opts client.Options, media bool) error {
	opts.Software = "palabre-check/" + version
	c, err := client.Dial(ctx, server, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	// Hops at the limit: a cluster node admits the check itself instead of
	// redirecting it to the room's node, so this node's paths are tested.
	req := client.JoinRequest{Room: room, Name: "palabre check", Password: password, Hops: proto.MaxHops}
	if _, err := c.Join(ctx, req); err != nil {
		return err
	}
	if media {
		if err := c.WaitConnected(ctx); err != nil {
			return fmt.Errorf("no media connection: %w", err)
		}
	}
	_ = c.Leave(ctx)
	return nil
}
