package sfu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Measuring the cost of an idle participant needs the server alone in a
// process: the test binary re-executes itself as a bare media server
// (SFU_CHILD=1) driven by JSON lines on stdin, and the test plays the
// clients. Run with:
//
//	SFU_MEASURE=200 go test -run TestMeasureIdleParticipant -v ./sfu/

type childRequest struct {
	Op  string `json:"op"`
	ID  string `json:"id,omitempty"`
	SDP string `json:"sdp,omitempty"`
}

type childReply struct {
	SDP        string `json:"sdp,omitempty"`
	Err        string `json:"err,omitempty"`
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"`
	Connected  int    `json:"connected"`
}

// runChildServer is the child's main: a media server driven over stdio.
func runChildServer() {
	e, err := NewEngine(Config{MediaAddr: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		panic(err)
	}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	parts := map[string]*Participant{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req childRequest
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		var rep childReply
		switch req.Op {
		case "join":
			p, offer, err := room.Join(ParticipantConfig{ID: req.ID})
			if err != nil {
				rep.Err = err.Error()
				break
			}
			parts[req.ID] = p
			rep.SDP = offer.SDP
		case "answer":
			if err := parts[req.ID].SetAnswer(req.SDP); err != nil {
				rep.Err = err.Error()
			}
		case "stats":
			runtime.GC()
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			rep.Goroutines, rep.HeapInuse, rep.StackInuse, rep.RSS = runtime.NumGoroutine(), m.HeapInuse, m.StackInuse, rss()
			for _, p := range parts {
				if p.Connected() {
					rep.Connected++
				}
			}
		case "dump":
			if f, err := os.Create(os.Getenv("SFU_DUMP")); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 1)
				runtime.GC()
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		case "quit":
			_ = e.Close()
			_ = out.Encode(rep)
			return
		}
		if err := out.Encode(rep); err != nil {
			panic(err)
		}
	}
}

func rss() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

type child struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *json.Decoder
	cmd *exec.Cmd
}

func (c *child) call(t *testing.T, req childRequest) childReply {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(req)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	var rep childReply
	if err := c.out.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Err != "" {
		t.Fatalf("%s: %s", req.Op, rep.Err)
	}
	return rep
}

func TestMeasureIdleParticipant(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SFU_MEASURE"))
	if n <= 0 {
		t.Skip("set SFU_MEASURE=<participants> to measure the cost of idle participants")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SFU_CHILD=1")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{in: in, out: json.NewDecoder(outPipe), cmd: cmd}
	defer func() {
		c.call(t, childRequest{Op: "quit"})
		_ = cmd.Wait()
	}()

	// Warm up with a few participants so one-time costs are not counted.
	var pcs []*webrtc.PeerConnection
	defer func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
	}()
	connect := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("p%d", i)
			offer := c.call(t, childRequest{Op: "join", ID: id})
			pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				t.Fatal(err)
			}
			pcs = append(pcs, pc)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
				t.Fatal(err)
			}
			mic, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", id)
			if _, err := pc.AddTrack(mic); err != nil {
				t.Fatal(err)
			}
			answer, err := pc.CreateAnswer(nil)
			if err != nil {
				t.Fatal(err)
			}
			gathered := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(answer); err != nil {
				t.Fatal(err)
			}
			<-gathered
			c.call(t, childRequest{Op: "answer", ID: id, SDP: pc.LocalDescription().SDP})
		}
		deadline := time.Now().Add(60 * time.Second)
		for c.call(t, childRequest{Op: "stats"}).Connected < to {
			if time.Now().After(deadline) {
				t.Fatal("participants did not connect")
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(3 * time.Second) // settle: handshakes done, first reports sent
	}
	const warm = 10
	connect(0, warm)
	base := c.call(t, childRequest{Op: "stats"})
	connect(warm, warm+n)
	full := c.call(t, childRequest{Op: "stats"})
	if os.Getenv("SFU_DUMP") != "" {
		c.call(t, childRequest{Op: "dump"})
	}
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) / 1024 }
	t.Logf("%d idle participants (connected, no media), server process only, per participant:", n)
	t.Logf("  goroutines  %.1f", float64(full.Goroutines-base.Goroutines)/float64(n))
	t.Logf("  heap in use %.1f KiB", per(base.HeapInuse, full.HeapInuse))
	t.Logf("  stacks      %.1f KiB", per(base.StackInuse, full.StackInuse))
	t.Logf("  RSS         %.1f KiB", per(base.RSS, full.RSS))
}
