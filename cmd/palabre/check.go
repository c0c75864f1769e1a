package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
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
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "server `URL`")
	room := fs.String("room", "", "room to join (default: a new ad-hoc room palabre-check-…)")
	password := fs.String("password", "", "the room's password, if it has one")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *room == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		*room = "palabre-check-" + hex.EncodeToString(b[:])
	}
	quiet := slog.New(slog.DiscardHandler)
	checks := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"web server (/healthz)", func(ctx context.Context) error { return healthz(ctx, *server) }},
		{"signaling (WebSocket, join)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet}, false)
		}},
		{"media over UDP", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, TURNTransport: "none"}, true)
		}},
		{"media over TCP (ICE-TCP)", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, TCPOnly: true, TURNTransport: "none"}, true)
		}},
		{"media through TURN over UDP", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, RelayOnly: true, TURNTransport: "udp"}, true)
		}},
		{"media through TURN over TCP", func(ctx context.Context) error {
			return joinWith(ctx, *server, *room, *password, client.Options{Logger: quiet, RelayOnly: true, TURNTransport: "tcp"}, true)
		}},
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	failed := 0
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		start := time.Now()
		err := c.run(ctx)
		took := time.Since(start).Round(10 * time.Millisecond)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(tw, "%s\tFAIL\t%v\t%v\n", c.name, took, err)
		} else {
			fmt.Fprintf(tw, "%s\tok\t%v\t\n", c.name, took)
		}
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d of %d checks failed: see docs/networking.md for the ports to open.\n", failed, len(checks))
		return 1
	}
	return 0
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
