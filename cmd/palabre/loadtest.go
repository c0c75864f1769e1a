package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"palabre/loadtest"
)

func loadTest(args []string, stdout, stderr io.Writer) int {
	var cfg loadtest.Config
	fs := newFlagSet("loadtest", "loadtest [flags]",
		"Measures a server with simulated participants (real WebRTC connections): push-to-talk\nrooms, listeners, speakers taking turns; prints delivery, latency, CPU and memory.")
	fs.StringVar(&cfg.Server, "server", defaultServer, "server `URL`")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "push-to-talk rooms to create")
	fs.IntVar(&cfg.Listeners, "listeners", 20, "listeners per room")
	fs.IntVar(&cfg.Speakers, "speakers", 1, "speakers per room, taking turns on the floor")
	fs.DurationVar(&cfg.Turn, "turn", loadtestDefaultTurn, "how long each speaker holds the floor")
	fs.DurationVar(&cfg.Duration, "duration", loadtestDefaultDuration, "measurement time once everyone has joined")
	fs.Float64Var(&cfg.JoinRate, "join-rate", 20, "joins per second while ramping up")
	fs.StringVar(&cfg.Token, "token", os.Getenv("PALABRE_CREATE_TOKEN"), "room creation `token`, if the server needs one")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "`pid` of the server on this machine, to read its CPU and memory from /proc")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if err := checkServerURL(cfg.Server); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	cfg.Progress = stderr
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, cfg)
	if err != nil && res == nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		res.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest: interrupted:", err)
		return 1
	}
	return 0
}
