// Package loadtest drives a Palabre server with real WebRTC participants
// (ICE, DTLS, SRTP through the client library) and measures what an
// operator sizing a machine needs: join times, forwarding latency, loss and
// the server's CPU and memory per forwarded packet.
//
// Speakers send synthetic Opus-sized frames stamped with their send time;
// the server does not decode audio, so listeners on the same machine can
// measure the forwarding latency from the stamp. With Config.Video the
// speakers also publish cameras, from VP8 files, for the whole run.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"palabre/client"
	"palabre/sfu/rtc"
	"palabre/signaling/proto"
)

// Config describes one load test.
type Config struct {
	Server    string        // base URL, e.g. http://127.0.0.1:8080
	Rooms     int           // rooms to create
	Listeners int           // listeners per room
	Speakers  int           // push-to-talk speakers per room, taking turns (0: idle test)
	Turn      time.Duration // how long each speaker holds the floor
	Duration  time.Duration // measurement time once everyone has joined
	JoinRate  float64       // joins per second while ramping up
	Token     string        // room creation token, if the server needs one
	ServerPID int           // read the server's CPU, memory and FDs from /proc (same machine)
	Progress  io.Writer     // progress lines while ramping up; nil: none
	Logger    *slog.Logger

	// MetricsURL is the server's Prometheus endpoint (default: Server +
	// "/metrics"; elsewhere when the server has an admin listener).
	MetricsURL string
	// Sample, if positive, reads the server's state and the listeners'
	// figures at this interval during the measurement (Result.Samples):
	// what a soak judges with Result.CheckFlat.
	Sample time.Duration
	// GCWatch, if positive, reads the server's garbage collections at
	// this interval during the measurement (e.g. 1s) and splits the
	// listeners' latency into the windows around a collection and the
	// others (Result.GC): whether forwarding slows while the server
	// collects.
	GCWatch time.Duration

	// Video: rooms allow video, everybody joins with video, and every
	// speaker publishes a camera (three simulcast layers, the files of
	// VideoDir, default DefaultVideoDir) for the whole run, while the
	// audio turns go on as without video (Result.Video).
	Video    bool
	VideoDir string
	// VideoWarmup is the time given to the listeners' layers to settle
	// once every listener has a keyframe, before the measurement starts:
	// the server moves a slot up one layer at a time, 3 s or more apart
	// (docs/video.md), and 50 listeners of this package, which send no
	// REMB, are within 5 % of the top 45 s after the cameras went on and
	// reach it in about a minute (docs/performance.md, Video). 0: none.
	VideoWarmup time.Duration

	// Light: every participant's media is a connection of sfu/rtc's
	// client mode (ICE controlling, DTLS client, SRTP on Palabre's own
	// primitives) from one engine shared by the run, instead of a pion
	// PeerConnection each: one process can drive tens of thousands.
	// The signaling is the same client (Options.OnOffer), and so is the
	// Result. Audio only: Video is refused.
	Light bool
	// LightIP is the local IP the light participants' sockets bind to
	// (default 127.0.0.1; ::1 for a server on IPv6 loopback).
	LightIP string

	// Idle, if positive, adds that many idle participants besides the
	// rooms: light participants (sfu/rtc's client mode, whatever Light
	// says) in push-to-talk rooms of their own, IdleRoomSize each
	// (default 1,000), where nobody speaks. They join first, at
	// IdleJoinRate a second (default JoinRate), and stay to the end: the
	// silent crowd of a soak, whose cost the server's figures include,
	// beside the talking rooms that measure loss and latency. With Idle,
	// Rooms may be 0: a run of idle participants only.
	Idle         int
	IdleRoomSize int
	IdleJoinRate float64
}

func (c *Config) defaults() error {
	if c.Server == "" {
		c.Server = "http://127.0.0.1:8080"
	}
	if c.MetricsURL == "" {
		c.MetricsURL = strings.TrimRight(c.Server, "/") + "/metrics"
	}
	if c.Speakers < 0 || c.Listeners < 0 || c.Rooms < 0 || c.Idle < 0 {
		return errors.New("rooms, speakers, listeners and idle participants must not be negative")
	}
	if c.Rooms == 0 && c.Idle == 0 {
		c.Rooms = 1
	}
	if c.Speakers+c.Listeners == 0 {
		if c.Idle == 0 {
			return errors.New("nobody to join: give speakers, listeners or idle participants")
		}
		c.Rooms = 0 // idle participants only
	}
	if c.IdleRoomSize <= 0 {
		c.IdleRoomSize = 1000
	}
	if c.Turn <= 0 {
		c.Turn = 5 * time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.JoinRate <= 0 {
		c.JoinRate = 20
	}
	if c.IdleJoinRate <= 0 {
		c.IdleJoinRate = c.JoinRate
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Light && c.Video {
		return errors.New("the light mode carries no video")
	}
	if c.LightIP == "" {
		c.LightIP = "127.0.0.1"
	}
	if c.VideoDir == "" {
		c.VideoDir = DefaultVideoDir
	}
	return nil
}

// toneTag starts every synthetic frame, so listeners recognise them.
var toneTag = []byte("palabre-lt")

// run is the state of one load test.
type run struct {
	cfg     Config
	joinMS  histogram
	latency histogram

	joinFailures atomic.Uint64
	sent         atomic.Uint64 // frames sent by speakers while holding the floor
	received     atomic.Uint64 // frames received by listeners

	camera  []*client.VP8File // with Video: the layers each speaker publishes
	cameras int               // speakers publishing a camera

	engine *rtc.Engine // Light and Idle: the engine of the light participants' media

	mu        sync.Mutex
	peers     map[*client.Client]*lightPeer // Light: each client's media
	clients   []*client.Client
	listeners []*client.Client
	idle      int // idle participants joined
	rooms     []*room
	idleRooms []*room
}

type room struct {
	name      string
	secret    string
	speakers  []*client.Client
	organizer *client.Client // with Video: the first speaker, who turns video on
}

// Run executes the load test and returns its result. It always leaves the
// server as it found it: every participant leaves and the rooms it created
// are deleted.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, peers: map[*client.Client]*lightPeer{}}
	if cfg.Light || cfg.Idle > 0 {
		var err error
		if r.engine, err = newLightEngine(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Video {
		var err error
		if r.camera, err = openCameraFiles(cfg.VideoDir); err != nil {
			return nil, err
		}
	}
	defer r.cleanup()

	if err := r.ramp(ctx); err != nil {
		return nil, err
	}
	if cfg.Video {
		if err := r.startVideo(ctx); err != nil {
			return nil, err
		}
		fmt.Fprintf(cfg.Progress, "%d cameras on; %s for the layers to settle\n", r.cameras, cfg.VideoWarmup)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(cfg.VideoWarmup):
		}
	}
	fmt.Fprintf(cfg.Progress, "all %d participants joined; measuring for %s\n", r.participants(), cfg.Duration)

	// Speakers send audio only while taking turns, so everything counted
	// from here on is the steady state; the cameras, which run from
	// startVideo on, are counted from a snapshot taken here.
	start, err := r.serverSample(ctx)
	if err != nil {
		return nil, err
	}
	videoStart, videoFrom := r.videoSnapshot(), time.Now()
	genStart := readGenerator(false)
	var sm *sampler
	if cfg.Sample > 0 {
		sm = r.startSampling(ctx, cfg.Sample)
	}
	var gw *gcWatch
	if cfg.GCWatch > 0 {
		gw = r.startGCWatch(ctx, cfg.GCWatch)
	}
	mctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	var wg sync.WaitGroup
	for _, rm := range r.rooms {
		wg.Add(1)
		go func() { defer wg.Done(); r.takeTurns(mctx, rm) }()
	}
	<-mctx.Done() // with no speakers, this is an idle test
	// The cameras run on until cleanup: their count stops here.
	videoEnd, videoElapsed := r.videoSnapshot(), time.Since(videoFrom)
	wg.Wait()
	cancel()
	r.settle(ctx)
	var samples []Sample
	if sm != nil {
		samples = sm.finish(ctx, cfg.Sample)
	}
	var gc *GCResult
	if gw != nil {
		gc = gw.finish(ctx)
	}
	end, err := r.serverSample(ctx)
	if err != nil {
		return nil, err
	}
	var video *VideoResult
	if cfg.Video {
		video = r.videoResult(videoStart, videoEnd, videoElapsed)
	}
	res := r.result(start, end, video)
	res.generator(genStart, readGenerator(true), res.Participants)
	res.GC = gc
	if sm != nil {
		res.SampleEveryS, res.Samples = cfg.Sample.Seconds(), samples
	}
	return res, ctx.Err()
}

// settle waits for the last packets to land: until no listener has
// received anything for 300 ms, for 3 s at most. On a loaded machine the
// listeners' readers fall behind, and counting at a fixed instant would
// call late packets missing.
func (r *run) settle(ctx context.Context) {
	const quiet, most = 300 * time.Millisecond, 3 * time.Second
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(most)
	last, since := r.received.Load(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := r.received.Load(); n != last {
			last, since = n, time.Now()
		}
	}
}

func (r *run) participants() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

// role is what a participant does in the run.
type role int

const (
	roleListener role = iota
	roleSpeaker
	roleIdle // Config.Idle: a light participant in a room where nobody speaks
)

func (r *run) idleJoined() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idle
}

// ramp creates the rooms and joins everybody at the configured pace: the
// idle participants first (Config.Idle), then the rooms' speakers and
// listeners.
func (r *run) ramp(ctx context.Context) error {
	for i := range r.cfg.Rooms {
		rm, err := r.createRoom(ctx, i)
		if err != nil {
			return err
		}
		r.rooms = append(r.rooms, rm)
	}
	idleRooms := (r.cfg.Idle + r.cfg.IdleRoomSize - 1) / r.cfg.IdleRoomSize
	for i := range idleRooms {
		rm, err := r.createRoom(ctx, r.cfg.Rooms+i)
		if err != nil {
			return err
		}
		r.idleRooms = append(r.idleRooms, rm)
	}
	type joiner struct {
		rm   *room
		role role
		i    int
	}
	var idle, talk []joiner
	for k := range r.cfg.Idle {
		idle = append(idle, joiner{r.idleRooms[k/r.cfg.IdleRoomSize], roleIdle, k % r.cfg.IdleRoomSize})
	}
	for _, rm := range r.rooms {
		for j := range r.cfg.Speakers + r.cfg.Listeners {
			ro := roleListener
			if j < r.cfg.Speakers {
				ro = roleSpeaker
			}
			talk = append(talk, joiner{rm, ro, j})
		}
	}
	total := len(idle) + len(talk)
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	n := 0
	lastReport := time.Now()
	for _, phase := range []struct {
		joiners []joiner
		rate    float64
	}{{idle, r.cfg.IdleJoinRate}, {talk, r.cfg.JoinRate}} {
		if len(phase.joiners) == 0 {
			continue
		}
		tick := time.NewTicker(time.Duration(float64(time.Second) / phase.rate))
		for _, jn := range phase.joiners {
			select {
			case <-ctx.Done():
				tick.Stop()
				wg.Wait()
				return ctx.Err()
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.join(ctx, jn.rm, jn.role, jn.i); err != nil {
					r.joinFailures.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
			}()
			n++
			if time.Since(lastReport) >= time.Second || n == total {
				fmt.Fprintf(r.cfg.Progress, "joining: %d/%d started, %d connected, %d failed\n",
					n, total, r.participants(), r.joinFailures.Load())
				lastReport = time.Now()
			}
		}
		tick.Stop()
	}
	wg.Wait()
	if f := r.joinFailures.Load(); f > 0 {
		if int(f) == total {
			return fmt.Errorf("every join failed; first error: %w", firstErr)
		}
		r.cfg.Logger.Warn("some joins failed", "failed", f, "first_error", firstErr)
	}
	return nil
}

// join adds one participant. A join refused as rate limited is retried
// after a pause (the server's per-address limit), up to ten times.
func (r *run) join(ctx context.Context, rm *room, ro role, i int) error {
	for try := 0; ; try++ {
		err := r.joinOnce(ctx, rm, ro, i)
		var pe *proto.Error
		if err == nil || try == 10 || !errors.As(err, &pe) || pe.Code != proto.CodeRateLimited {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (r *run) joinOnce(ctx context.Context, rm *room, ro role, i int) error {
	start := time.Now()
	speaker := ro == roleSpeaker
	name := fmt.Sprintf("listener-%d", i)
	switch ro {
	case roleSpeaker:
		name = fmt.Sprintf("speaker-%d", i)
	case roleIdle:
		name = fmt.Sprintf("idle-%d", i)
	}
	light := r.cfg.Light || ro == roleIdle
	video := r.cfg.Video && ro != roleIdle
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// In a cluster, a room on another node answers with a redirect:
	// follow it, as participants' clients do.
	server := r.cfg.Server
	var c *client.Client
	var lp *lightPeer
	for hops := 0; ; hops++ {
		var err error
		// Nobody reads the events: a buffer of 1 instead of 1,024
		// messages (640 KiB a participant, which a room's join events
		// would fill in part).
		opts := client.Options{Software: "palabre-loadtest", Logger: r.cfg.Logger, EventBuffer: 1}
		if light {
			lp = r.newLightPeer(ro == roleListener)
			opts.OnOffer = lp.answer
		}
		c, err = client.Dial(ctx, server, opts)
		if err != nil {
			return err
		}
		if ro == roleListener {
			c.OnRTP(r.onRTP)
		}
		req := client.JoinRequest{Room: rm.name, Name: name, Hops: hops, WantVideo: video}
		if video && speaker && i == 0 {
			req.Secret = rm.secret // the organizer, who turns video on
		}
		_, err = c.Join(jctx, req)
		if err == nil {
			break
		}
		c.Close()
		if lp != nil {
			lp.close()
		}
		var re *client.RedirectError
		if !errors.As(err, &re) || hops == proto.MaxHops {
			return fmt.Errorf("join %s: %w", rm.name, err)
		}
		server = re.URL
	}
	err := c.WaitConnected(jctx) // Light: the answer was accepted
	if err == nil && lp != nil {
		select {
		case <-lp.connected:
		case <-lp.failed:
			err = lp.failErr
		case <-jctx.Done():
			err = jctx.Err()
		}
	}
	if err != nil {
		c.Close()
		if lp != nil {
			lp.close()
		}
		return fmt.Errorf("media for %s: %w", name, err)
	}
	r.joinMS.record(time.Since(start))
	r.mu.Lock()
	r.clients = append(r.clients, c)
	if lp != nil {
		r.peers[c] = lp
	}
	switch ro {
	case roleSpeaker:
		rm.speakers = append(rm.speakers, c)
		if video && i == 0 {
			rm.organizer = c
		}
	case roleListener:
		r.listeners = append(r.listeners, c)
	case roleIdle:
		r.idle++
	}
	r.mu.Unlock()
	return nil
}

// onRTP runs in the listeners' slot reader goroutines.
func (r *run) onRTP(slot int, p *rtp.Packet) {
	r.received.Add(1)
	if _, sent, ok := client.ParseToneFrame(p.Payload, toneTag); ok {
		r.latency.record(time.Since(sent))
	}
}

// takeTurns passes the floor from speaker to speaker until ctx ends. A
// speaker sends only while it holds the floor, so every frame sent should
// reach every listener.
func (r *run) takeTurns(ctx context.Context, rm *room) {
	r.mu.Lock()
	speakers := append([]*client.Client(nil), rm.speakers...)
	r.mu.Unlock()
	for i := 0; ctx.Err() == nil && len(speakers) > 0; i++ {
		sp := speakers[i%len(speakers)]
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := sp.PTTOn(actx)
		cancel()
		if err != nil {
			r.cfg.Logger.Warn("ptt_on failed", "room", rm.name, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		src := &countingSource{Source: client.NewToneSource(toneTag, 30), n: &r.sent}
		stopLight := r.startPublishing(sp, src, rm)
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.Turn):
		}
		stopLight()
		actx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		_ = sp.PTTOff(actx)
		cancel()
	}
}

// startPublishing publishes src from sp (a goroutine of the run's in
// the light mode) and returns what stops it.
func (r *run) startPublishing(sp *client.Client, src client.Source, rm *room) (stop func()) {
	r.mu.Lock()
	lp := r.peers[sp]
	r.mu.Unlock()
	if lp == nil {
		if err := sp.Publish(src); err != nil {
			r.cfg.Logger.Warn("publish failed", "room", rm.name, "err", err)
		}
		return sp.StopPublishing
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); lp.publish(src, quit) }()
	return func() { close(quit); <-done }
}

// slotStats are a listener's counters per slot, whichever its media.
// Called with r.mu held.
func (r *run) slotStats(c *client.Client) []client.SlotStats {
	if lp := r.peers[c]; lp != nil {
		return lp.stats()
	}
	return c.Stats()
}

// countingSource counts the frames a speaker sends.
type countingSource struct {
	client.Source
	n *atomic.Uint64
}

func (s *countingSource) NextFrame() ([]byte, uint8, time.Duration, error) {
	p, level, d, err := s.Source.NextFrame()
	if err == nil {
		s.n.Add(1)
	}
	return p, level, d, err
}

func (r *run) cleanup() {
	r.mu.Lock()
	clients := r.clients
	r.clients = nil
	peers := r.peers
	r.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = c.Leave(ctx)
			cancel()
			c.Close()
			if lp := peers[c]; lp != nil {
				lp.close()
			}
		}()
	}
	wg.Wait()
	for _, rm := range append(r.rooms, r.idleRooms...) {
		r.deleteRoom(rm)
	}
	if r.engine != nil {
		r.engine.Close()
	}
}
