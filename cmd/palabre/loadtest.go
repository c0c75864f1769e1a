package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"palabre/loadtest"
)

func loadTest(args []string, stdout, stderr io.Writer) int {
	var cfg loadtest.Config
	fs := newFlagSet("loadtest", "loadtest [flags]",
		"Measures a server with simulated participants (real WebRTC connections): push-to-talk\nrooms, listeners, speakers taking turns; prints delivery, latency, CPU and memory.\nWith --video the speakers publish cameras too, and the listeners count the video.\nWith --sample it also reads the server's state at intervals; --assert-flat then fails\nthe run when memory, goroutines, FDs or CPU grew, or audio was lost (a soak).\nWith --light the participants' media is Palabre's own WebRTC client (sfu/rtc: ICE,\nDTLS, SRTP, one shared engine) instead of a pion PeerConnection each, so that one\nprocess drives tens of thousands of them; audio only (no --video).")
	fs.StringVar(&cfg.Server, "server", defaultServer, "server `URL`")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "push-to-talk rooms to create")
	fs.IntVar(&cfg.Listeners, "listeners", 20, "listeners per room")
	fs.IntVar(&cfg.Speakers, "speakers", 1, "speakers per room, taking turns on the floor")
	fs.DurationVar(&cfg.Turn, "turn", loadtestDefaultTurn, "how long each speaker holds the floor")
	fs.DurationVar(&cfg.Duration, "duration", loadtestDefaultDuration, "measurement time once everyone has joined")
	fs.Float64Var(&cfg.JoinRate, "join-rate", 20, "joins per second while ramping up")
	fs.StringVar(&cfg.Token, "token", os.Getenv("PALABRE_CREATE_TOKEN"), "room creation `token`, if the server needs one")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "`pid` of the server on this machine, to read its CPU, memory and open files from /proc")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "", "the server's Prometheus `URL` (default: --server + /metrics; the admin listener's when the server has --admin-listen)")
	fs.DurationVar(&cfg.Sample, "sample", 0, "read the server's memory, goroutines, FDs and CPU and the listeners' figures every `interval` (e.g. 10s; 0: off)")
	fs.BoolVar(&cfg.Video, "video", false, "video too: rooms allow video, everybody joins with video, each speaker publishes a camera (three simulcast layers) for the whole run")
	fs.StringVar(&cfg.VideoDir, "video-dir", loadtest.DefaultVideoDir, "with --video: the `directory` of the camera's VP8 files camera-q.ivf, camera-h.ivf, camera-f.ivf")
	fs.DurationVar(&cfg.VideoWarmup, "video-warmup", 45*time.Second, "with --video: time for the listeners' layers to climb before the measurement starts (the server climbs a layer at a time, 3 s or more apart; 50 listeners of the load tester, which send no REMB, are close to the top in 45 s)")
	fs.BoolVar(&cfg.Light, "light", false, "light participants: media on sfu/rtc's client mode (ICE controlling, DTLS client, SRTP; one engine, a UDP socket and a goroutine each) instead of a pion PeerConnection each; same signaling, same result; audio only, no --video")
	fs.StringVar(&cfg.LightIP, "light-ip", "127.0.0.1", "with --light: the local `IP` the participants' media sockets bind to (the family of the server's candidate: ::1 for a server on IPv6)")
	fs.IntVar(&cfg.Idle, "idle", 0, "also join this many idle participants, light whatever --light says, in push-to-talk rooms of their own where nobody speaks (first, before the rooms above; with --rooms 0, only them)")
	fs.IntVar(&cfg.IdleRoomSize, "idle-room-size", 1000, "with --idle: idle participants per room")
	fs.Float64Var(&cfg.IdleJoinRate, "idle-join-rate", 0, "with --idle: joins per second of the idle participants (default: --join-rate)")
	fs.DurationVar(&cfg.GCWatch, "gc-watch", 0, "read the server's garbage collections every `interval` (e.g. 1s; 0: off) and report the listeners' latency in the windows around a collection apart from the others")
	assertFlat := fs.Bool("assert-flat", false, "with --sample: fail the run when, after the warm-up, memory, goroutines, FDs, CPU or latency grew, or loss passed --max-loss (the rules: docs/performance.md, Soak)")
	warmup := fs.Duration("warmup", loadtest.DefaultFlatLimits().Warmup, "with --assert-flat: samples in this first `time` (and the first 20 % of them) are not judged")
	maxLoss := fs.Float64("max-loss", loadtest.DefaultFlatLimits().MaxLossPct, "with --assert-flat: the loss allowed after the warm-up, in `percent`")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	jsonFile := fs.String("json-file", "", "also write the JSON result to this `file`")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if err := checkServerURL(cfg.Server); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	if u, err := url.Parse(cfg.MetricsURL); cfg.MetricsURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		fmt.Fprintf(stderr, "loadtest: --metrics-url %s: want a URL such as http://127.0.0.1:6060/metrics\n", cfg.MetricsURL)
		return 2
	}
	if cfg.Light && cfg.Video {
		fmt.Fprintln(stderr, "loadtest: --light carries no video: drop --video or --light")
		return 2
	}
	if *assertFlat && cfg.Sample <= 0 {
		fmt.Fprintln(stderr, "loadtest: --assert-flat needs --sample, e.g. --sample 10s")
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
	if *assertFlat {
		lim := loadtest.DefaultFlatLimits()
		lim.MaxLossPct, lim.Warmup = *maxLoss, *warmup
		res.Flat = res.CheckFlat(lim)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		res.WriteTable(stdout)
	}
	if *jsonFile != "" {
		raw, _ := json.MarshalIndent(res, "", "  ")
		if werr := os.WriteFile(*jsonFile, append(raw, '\n'), 0o644); werr != nil {
			fmt.Fprintln(stderr, "loadtest: --json-file:", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest: interrupted:", err)
		return 1
	}
	if res.Flat != nil && !res.Flat.OK() {
		fmt.Fprintln(stderr, "loadtest:", res.Flat.Err())
		return 1
	}
	return 0
}
