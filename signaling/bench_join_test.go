package signaling_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"palabre/internal/testkit/testserver"
	"palabre/server"
	"palabre/signaling"
)

// BenchmarkJoinRoomSize measures the server's CPU time per join into a
// room that already holds 100, 1,000, 5,000 or 19,000 members
// (PALABRE_JOIN_SIZES="100,1000" to choose), over real WebSocket
// sessions: a whole server in this process (signaling, rooms and the
// media plane: every member has its sfu participant and its offer), the
// members in a child process (this test binary again, TestJoinHelper),
// which says hello, joins, reads its joined and its offer and then reads
// and drops everything the server sends. The child never answers the
// offer: no ICE, no DTLS, which would cost the same for every room size.
// The media plane closes a connection that is not up 30 s after its
// offer: a room that takes longer to fill (19,000 here: 80 s) loses its
// first members before the measure, which the members metric shows. The
// figures of docs/performance.md at 19,000 were taken on the pion plane,
// which waited (removed since).
// The server's CPU is its process's (getrusage), so the members' reading
// does not count. 19,000, not 20,000: every member is a TCP socket on
// each side, and where a process may not open more than 20,000 files
// (a container's hard limit, which root cannot raise there) 20,000
// members do not fit; with a higher hard limit the benchmark raises its
// own and PALABRE_JOIN_SIZES=20000 runs.
//
// One operation is one more member joining, one after the other.
// cpu-µs/join is the CPU from the first join's dial to the last one's
// offer, per join; cpu-µs/join+batches runs on until the room's first
// member saw the last count (the batch that goes to everyone, up to
// CountInterval later, or at once on the old protocol) and 300 ms more.
// Both less the idle CPU of the room over the same time, measured just
// before (once the server is quiet). The room grows by the joins
// measured; they leave after (not counted). cpu-µs/join is that per join,
// x-100 its ratio to the 100-member room of the same run (when 100 is
// among the sizes, first).
//
//	flock /tmp/palabre-bench.lock go test -run '^$' -bench JoinRoomSize \
//	    -benchtime 100x -timeout 60m ./signaling/
func BenchmarkJoinRoomSize(b *testing.B) {
	sizes := []int{100, 1000, 5000, 19000}
	if env := os.Getenv("PALABRE_JOIN_SIZES"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("PALABRE_JOIN_SIZES: %q", env)
			}
			sizes = append(sizes, n)
		}
	}
	raiseFileLimit(b, slices.Max(sizes)+b.N+10000)
	var base, baseAll float64 // cpu per join of the first size
	parent := b
	for _, n := range sizes {
		// The framework runs a sub-benchmark more than once (b.N 1 first):
		// the room is filled once, by the first run.
		var bench *joinBench
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			if bench == nil {
				bench = newJoinBench(parent, b, n)
			}
			// Settle (the fill's last messages, the last run's members
			// leaving), then the room's idle CPU over the measuring window.
			settle(b)
			window := 1500 * time.Millisecond
			idle0 := processCPU()
			time.Sleep(window)
			idle := (processCPU() - idle0).Seconds() / window.Seconds() // cores
			// Members still there (the protocol before presence batches
			// disconnects, as too slow, some that could not keep up).
			_, live := bench.ts.Signaling.LiveRooms()
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			bench.join(b, b.N)
			wall := time.Since(start)
			cpuJoins := processCPU() - cpu0
			// Until the first member saw the count (the last batch), and
			// the batch is written to everyone.
			bench.command(b, fmt.Sprintf("wait %d", n+b.N))
			time.Sleep(300 * time.Millisecond)
			total := time.Since(start)
			cpuAll := processCPU() - cpu0
			b.StopTimer()
			// The room is back to n members for the next run (not counted).
			bench.command(b, fmt.Sprintf("drop %d", b.N))

			perJoin := (cpuJoins.Seconds() - idle*wall.Seconds()) * 1e6 / float64(b.N)
			perAll := (cpuAll.Seconds() - idle*total.Seconds()) * 1e6 / float64(b.N)
			b.ReportMetric(perJoin, "cpu-µs/join")
			b.ReportMetric(perAll, "cpu-µs/join+batches")
			b.ReportMetric(wall.Seconds()*1e3/float64(b.N), "wall-ms/join")
			b.ReportMetric(idle*100, "idle-%cpu")
			b.ReportMetric(float64(live), "members")
			if n == sizes[0] {
				base, baseAll = perJoin, perAll // its last run, the one with b.N joins
			}
			b.ReportMetric(perJoin/base, "x-first")
			b.ReportMetric(perAll/baseAll, "x-first+batches")
		})
		if bench != nil {
			bench.close()
		}
	}
}

// joinBench is a server with one room of n members, held by a child
// process.
type joinBench struct {
	ts   *testserver.Server
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	next int
	room string
}

// newJoinBench starts the server (its clean-up on parent) and fills the
// room.
func newJoinBench(parent, b *testing.B, n int) *joinBench {
	ts := testserver.Start(parent, func(o *server.Options) {
		o.TURN.Enabled = false
		o.Admission.JoinsPerSecond, o.Admission.JoinBurst = 1e6, 1e6
		o.PerAddress = signaling.AddressLimits{Unjoined: 1 << 20, Participants: 1 << 20, AdhocRooms: 1 << 10}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestJoinHelper$", "-test.v=false")
	cmd.Env = append(os.Environ(), "PALABRE_JOIN_HELPER="+ts.URL)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	jb := &joinBench{ts: ts, cmd: cmd, in: in, out: bufio.NewScanner(outp), room: "big"}
	start := time.Now()
	jb.command(b, fmt.Sprintf("fill %s %d 8", jb.room, n))
	b.Logf("%d members joined in %v", n, time.Since(start).Round(time.Millisecond))
	return jb
}

// settle waits until the server is quiet: under 3 % of a core over
// half a second (at most two minutes).
func settle(b *testing.B) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		c0 := processCPU()
		time.Sleep(500 * time.Millisecond)
		if processCPU()-c0 < 15*time.Millisecond {
			return
		}
	}
	b.Log("the server did not settle in 2 minutes")
}

// join has k more members join, one after the other.
func (jb *joinBench) join(b *testing.B, k int) {
	jb.command(b, fmt.Sprintf("fill %s %d 1", jb.room, k))
}

func (jb *joinBench) command(b *testing.B, line string) {
	if _, err := fmt.Fprintln(jb.in, line); err != nil {
		b.Fatal(err)
	}
	for jb.out.Scan() {
		t := jb.out.Text()
		if t == "ok" {
			return
		}
		if strings.HasPrefix(t, "error ") {
			b.Fatal("join helper: " + t)
		}
		if strings.HasPrefix(t, "note: ") {
			b.Log("join helper: " + t)
		}
	}
	b.Fatalf("join helper ended: %v", jb.out.Err())
}

func (jb *joinBench) close() {
	jb.in.Close()
	jb.cmd.Wait()
	jb.ts.Close()
}

// TestJoinHelper is BenchmarkJoinRoomSize's child: members that join
// and read. Commands on stdin, one a line: "fill ROOM N C" has N more
// members join ROOM, C at a time; "ok" on stdout when they all did.
// It ends (its members' connections closed) when stdin closes.
func TestJoinHelper(t *testing.T) {
	base := os.Getenv("PALABRE_JOIN_HELPER")
	if base == "" {
		t.Skip("run by BenchmarkJoinRoomSize")
	}
	u, _ := url.Parse(base)
	u.Scheme = "ws"
	u.Path = "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var conns []*websocket.Conn
	var readers sync.WaitGroup
	defer func() {
		cancel()
		for _, c := range conns {
			c.CloseNow()
		}
		readers.Wait()
	}()
	var seq atomic.Int64
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var room string
		var n, c int
		if _, err := fmt.Sscanf(in.Text(), "wait %d", &n); err == nil {
			// Until the first member knows of n members (10 s at most:
			// the protocol before presence batches may have disconnected
			// it as too slow during the fill).
			deadline := time.Now().Add(10 * time.Second)
			for firstCount.Load() < int64(n) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if firstCount.Load() < int64(n) {
				fmt.Println("note: the first member saw", firstCount.Load(), "members, not", n)
			}
			fmt.Println("ok")
			continue
		}
		if _, err := fmt.Sscanf(in.Text(), "drop %d", &n); err == nil {
			// The last n members leave (their connections closed).
			mu.Lock()
			k := max(len(conns)-n, 0)
			for _, c := range conns[k:] {
				c.CloseNow()
			}
			conns = conns[:k]
			mu.Unlock()
			fmt.Println("ok")
			continue
		}
		if _, err := fmt.Sscanf(in.Text(), "fill %s %d %d", &room, &n, &c); err != nil {
			fmt.Println("error", err)
			continue
		}
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		work := make(chan int)
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					conn, err := joinRaw(ctx, &readers, u.String(), room, fmt.Sprintf("m%d", seq.Add(1)))
					if err != nil {
						failed.Store(&err)
						continue
					}
					mu.Lock()
					conns = append(conns, conn)
					mu.Unlock()
				}
			}()
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
		if err := failed.Load(); err != nil {
			fmt.Println("error", *err)
			continue
		}
		fmt.Println("ok")
	}
}

// firstCount is how many members the helper's first member knows of:
// from the presence batches' count, or (the protocol before them) from
// its joined list and the participant_joined and participant_left events.
var firstCount atomic.Int64

// joinRaw says hello and joins room as name; when its joined and its
// offer arrived it returns the connection, read and dropped from then on
// (the first member's messages are counted: firstCount).
func joinRaw(ctx context.Context, readers *sync.WaitGroup, wsURL, room, name string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	send := func(v any) error {
		data, _ := json.Marshal(v)
		return conn.Write(dctx, websocket.MessageText, data)
	}
	if err := send(map[string]any{"type": "hello", "id": 1, "version": 1}); err != nil {
		return nil, err
	}
	if err := send(map[string]any{"type": "join", "id": 2, "room": room, "name": name}); err != nil {
		return nil, err
	}
	var joined, offer bool
	for !joined || !offer {
		_, data, err := conn.Read(dctx)
		if err != nil {
			return nil, err
		}
		var m struct {
			Type         string            `json:"type"`
			ID           int               `json:"id"`
			Message      string            `json:"message"`
			Count        int64             `json:"count"`
			Participants []json.RawMessage `json:"participants"`
		}
		json.Unmarshal(data, &m)
		if name == "m1" && m.Type != "joined" {
			noteFirst(data)
		}
		switch m.Type {
		case "joined":
			joined = true
			if name == "m1" {
				firstCount.Store(max(m.Count, int64(len(m.Participants))))
			}
		case "offer":
			offer = true
		case "error":
			return nil, fmt.Errorf("join refused: %s", m.Message)
		}
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if name == "m1" {
				noteFirst(data)
			}
		}
	}()
	return conn, nil
}

// noteFirst follows the first member's count.
func noteFirst(data []byte) {
	var m struct {
		Type     string `json:"type"`
		Presence *struct {
			Count int64 `json:"count"`
		} `json:"presence"`
	}
	json.Unmarshal(data, &m)
	switch {
	case m.Type == "presence" && m.Presence != nil:
		firstCount.Store(m.Presence.Count)
	case m.Type == "participant_joined":
		firstCount.Add(1)
	case m.Type == "participant_left":
		firstCount.Add(-1)
	}
}

// processCPU is the CPU time this process used so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lets this process (and its child) hold n descriptors.
func raiseFileLimit(b *testing.B, n int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= uint64(n) {
		return
	}
	want := lim
	want.Cur = uint64(n)
	if want.Max < want.Cur {
		want.Max = want.Cur
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not allowed: as many as the hard limit.
		want.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
		b.Logf("cannot raise the file limit to %d (%v): at most %d descriptors", n, err, lim.Max)
	}
}
