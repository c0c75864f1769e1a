//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"

	"palabre/client"
	"palabre/cluster"
	"palabre/internal/testkit"
	"palabre/signaling"
)

// This file is the network of TestPartition: network namespaces joined by
// a bridge, server processes inside them, the test's own connections into
// them, and participants run as helper processes inside them.
//
// The layout, for n nodes:
//
//	namespace "<prefix>-sw": bridge br0, ports v1…vn (one end of each veth pair)
//	namespace "<prefix>-n<i>": eth0 (the other end), 10.77.0.<i>/24, lo up
//
// Nothing is created in the test's own (the host's) namespace: the veth
// pairs are made inside the switch namespace, their node ends moved
// straight into the node namespaces, and no route of the host changes.
// Node i is cut off by taking its port off the bridge (ip link set vi
// nomaster): its packets are dropped silently, as by a broken link, not
// refused. Putting it back heals it.

// netSubnet is the private test subnet inside the namespaces.
const netSubnet = "10.77.0"

// nsPrefix starts the names of every namespace this package creates; the
// test's pid follows it, so namespaces left by a test binary that was
// killed can be told from those of a test running now.
const nsPrefix = "palabre-pt-"

// testNet is the namespaces of one test run.
type testNet struct {
	t      *testing.T
	prefix string   // nsPrefix + pid + random
	sw     string   // switch namespace
	nodes  []string // node namespaces, index 0 is node 1
}

// needNetns skips the test unless it can make network namespaces (root,
// the ip command), or fails it if CI is set: CI must run it.
func needNetns(t *testing.T) {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s: this test needs root and iproute2 (ip) to make network namespaces", why)
		}
		t.Skipf("%s: this test needs root and iproute2 (ip) to make network namespaces", why)
	}
	if os.Geteuid() != 0 {
		skip("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("no ip command")
	}
	probe := fmt.Sprintf("%s%d-probe-%s", nsPrefix, os.Getpid(), randomHex(3))
	if err := ipCmd("netns", "add", probe); err != nil {
		skip(fmt.Sprintf("cannot make a network namespace (%v)", err))
	}
	ipCmd("netns", "del", probe)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ipCmd runs ip with args and returns its output in the error.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// removeStaleNamespaces deletes the namespaces of this package's earlier
// test processes that no longer run (killed by a timeout before their
// cleanup ran). Namespaces of tests still running are left alone.
func removeStaleNamespaces(t *testing.T) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil {
			continue // its test still runs
		}
		if err := ipCmd("netns", "del", e.Name()); err == nil {
			t.Logf("removed %s, left by test process %d", e.Name(), pid)
		}
	}
}

// newTestNet makes the switch and n node namespaces, removed when the test
// ends, whatever its outcome.
func newTestNet(t *testing.T, n int) *testNet {
	t.Helper()
	removeStaleNamespaces(t)
	tn := &testNet{t: t, prefix: fmt.Sprintf("%s%d-%s", nsPrefix, os.Getpid(), randomHex(3))}
	tn.sw = tn.prefix + "-sw"
	// Registered first, so it runs last: after the processes inside are
	// gone.
	t.Cleanup(tn.remove)
	must := func(args ...string) {
		t.Helper()
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("netns", "add", tn.sw)
	must("-n", tn.sw, "link", "set", "lo", "up")
	must("-n", tn.sw, "link", "add", "br0", "type", "bridge")
	must("-n", tn.sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("%s-n%d", tn.prefix, i)
		must("netns", "add", ns)
		tn.nodes = append(tn.nodes, ns)
		port := "v" + strconv.Itoa(i)
		// Made inside the switch namespace, the node's end moved
		// straight to the node's namespace.
		must("-n", tn.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		must("-n", tn.sw, "link", "set", port, "master", "br0")
		must("-n", tn.sw, "link", "set", port, "up")
		must("-n", ns, "link", "set", "lo", "up")
		must("-n", ns, "addr", "add", tn.addr(i)+"/24", "dev", "eth0")
		must("-n", ns, "link", "set", "eth0", "up")
	}
	return tn
}

// addr is node i's address (1-based).
func (tn *testNet) addr(i int) string { return netSubnet + "." + strconv.Itoa(i) }

func (tn *testNet) remove() {
	for _, ns := range append(append([]string(nil), tn.nodes...), tn.sw) {
		if err := ipCmd("netns", "del", ns); err != nil {
			tn.t.Errorf("removing namespace: %v", err)
		}
	}
}

// cut takes node i's port off the bridge: from then on its packets reach
// no other node, and theirs do not reach it.
func (tn *testNet) cut(i int) error {
	return ipCmd("-n", tn.sw, "link", "set", "v"+strconv.Itoa(i), "nomaster")
}

// restore puts node i's port back on the bridge.
func (tn *testNet) restore(i int) error {
	return ipCmd("-n", tn.sw, "link", "set", "v"+strconv.Itoa(i), "master", "br0")
}

// command runs the test binary inside node i's namespace (ip netns exec,
// which execs it, so the process is the binary itself). The process is
// killed if the test process dies.
func (tn *testNet) command(i int, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", tn.nodes[i-1], os.Args[0]}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// httpClient makes HTTP requests from inside node i's namespace.
func (tn *testNet) httpClient(i int) *http.Client {
	path := "/run/netns/" + tn.nodes[i-1]
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: dialIn(path), MaxIdleConnsPerHost: 4},
	}
}

// dialIn returns a dial function whose sockets are made inside the
// network namespace at path: a goroutine locked to its OS thread enters
// the namespace (setns), dials, and goes back to the thread's namespace
// before unlocking; the socket stays in the namespace it was made in
// whichever thread uses it later. If going back fails, the goroutine ends
// locked and the Go runtime throws the thread away.
//
// Threads must not die otherwise: the processes the test starts are
// killed when the thread that forked them ends (Pdeathsig, see command),
// and any thread may have forked one before it ran this goroutine.
func dialIn(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, err}
				return
			}
			defer unix.Close(home)
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, fmt.Errorf("open %s: %w", path, err)}
				return
			}
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
			if err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, fmt.Errorf("setns %s: %w", path, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if unix.Setns(home, unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// nsNode is a palabre serve process in its own namespace, a cluster node
// at 10.77.0.<i>: HTTP and media on 8080, ICE-TCP 8081, TURN 3478, gossip
// 7946 (every node has the same ports: each has its own namespace).
type nsNode struct {
	process
	t     *testing.T
	net   *testNet
	i     int
	data  string
	key   string
	join  []string
	token string // admin token

	http *http.Client
}

func (n *nsNode) addr() string       { return n.net.addr(n.i) }
func (n *nsNode) url() string        { return "http://" + n.addr() + ":8080" }
func (n *nsNode) gossipAddr() string { return n.addr() + ":7946" }

func (n *nsNode) start() {
	t := n.t
	t.Helper()
	args := []string{"serve",
		"--listen", n.addr() + ":8080", "--public-url", n.url(),
		"--media-ip", n.addr(), "--media-port", "8080", "--media-tcp-port", "8081",
		"--turn-port", "3478", "--turn-relay-ports", "49160-49200",
		"--data", n.data, "--node-id", n.id, "--load-test",
		"--cluster-bind", n.gossipAddr(), "--cluster-key-file", n.key,
		"--log-level", "info", "--log-format", "json",
	}
	for _, j := range n.join {
		args = append(args, "--cluster-join", j)
	}
	cmd := n.net.command(n.i, args...)
	cmd.Env = append(os.Environ(), "PALABRE_TEST_MAIN=1")
	n.logs = &testkit.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s:\n%s", n.id, n.logs.String())
		}
	})
	n.run(t, cmd, n.http, n.url(), 20*time.Second)
}

func (n *nsNode) call(method, path, bearer string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, n.url()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// admin makes an admin API request and decodes the answer into out
// (unless nil); a status other than want is an error.
func (n *nsNode) admin(method, path string, body any, want int, out any) error {
	status, b, err := n.call(method, path, n.token, body)
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", method, path, n.id, err)
	}
	if status != want {
		return fmt.Errorf("%s %s on %s: %d %s", method, path, n.id, status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// rooms is n's admin room list (palabre room list --json) by name.
func (n *nsNode) rooms() (map[string]signaling.RoomStatus, error) {
	var list []signaling.RoomStatus
	if err := n.admin(http.MethodGet, "/api/v1/rooms", nil, http.StatusOK, &list); err != nil {
		return nil, err
	}
	out := make(map[string]signaling.RoomStatus, len(list))
	for _, st := range list {
		out[st.Room.Name] = st
	}
	return out, nil
}

// members is n's view of the cluster (palabre cluster nodes --json).
func (n *nsNode) members() ([]cluster.Member, error) {
	var resp signaling.NodesResponse
	err := n.admin(http.MethodGet, "/api/v1/cluster/nodes", nil, http.StatusOK, &resp)
	return resp.Nodes, err
}

// sees checks that n lists exactly ids, all alive.
func (n *nsNode) sees(ids ...string) error {
	ms, err := n.members()
	if err != nil {
		return err
	}
	var got []string
	for _, m := range ms {
		if m.State != "alive" {
			return fmt.Errorf("%s lists %s as %s", n.id, m.ID, m.State)
		}
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		return fmt.Errorf("%s lists %v, want %v", n.id, got, ids)
	}
	return nil
}

// create makes a room on n and returns its organizer secret.
func (n *nsNode) create(req signaling.CreateRoomRequest) (string, error) {
	var resp signaling.CreateRoomResponse
	if err := n.admin(http.MethodPost, "/api/v1/rooms", req, http.StatusCreated, &resp); err != nil {
		return "", err
	}
	return resp.OrganizerSecret, nil
}

// participantSpec is one participant of a helper process.
type participantSpec struct {
	Room  string `json:"room"`
	Name  string `json:"name"`
	Speak bool   `json:"speak,omitempty"`
}

// participantState is what a helper process reports of one participant.
type participantState struct {
	Name       string `json:"name"`
	URL        string `json:"url"` // node it is on; empty until joined
	Reconnects int    `json:"reconnects"`
	Packets    uint64 `json:"packets"` // audio packets received
	Err        string `json:"err,omitempty"`
}

// participants is a helper process (TestPartitionParticipants) inside a
// node's namespace holding client.Members in rooms; it reports their state
// four times a second.
type participants struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	logs  *testkit.SyncBuffer

	mu    sync.Mutex
	state map[string]participantState
	done  chan struct{}
}

// startParticipants runs a helper process in node i's namespace whose
// participants join at server (following redirects, rejoining when moved)
// and stay until the test ends.
func startParticipants(t *testing.T, tn *testNet, i int, server string, specs []participantSpec) *participants {
	t.Helper()
	js, _ := json.Marshal(specs)
	p := &participants{logs: &testkit.SyncBuffer{}, state: map[string]participantState{}, done: make(chan struct{})}
	p.cmd = tn.command(i, "-test.run=^TestPartitionParticipants$")
	p.cmd.Env = append(os.Environ(), "PALABRE_PT_SERVER="+server, "PALABRE_PT_PARTICIPANTS="+string(js))
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var snap []participantState
			if json.Unmarshal(sc.Bytes(), &snap) != nil {
				p.logs.Write(append(sc.Bytes(), '\n')) // the test framework's lines
				continue
			}
			p.mu.Lock()
			for _, s := range snap {
				p.state[s.Name] = s
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Closing stdin makes the participants leave and the helper
		// exit; it is killed if it does not.
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("participants in namespace %d:\n%s", i, p.logs.String())
		}
	})
	return p
}

// get returns the last reported state of the participant.
func (p *participants) get(name string) participantState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state[name]
}

// TestPartitionParticipants is not a test: it is the helper process of
// TestPartition that holds participants inside a network namespace (run
// by startParticipants, configured by its environment).
func TestPartitionParticipants(t *testing.T) {
	server := os.Getenv("PALABRE_PT_SERVER")
	if server == "" {
		t.Skip("the participants' helper process of TestPartition")
	}
	var specs []participantSpec
	if err := json.Unmarshal([]byte(os.Getenv("PALABRE_PT_PARTICIPANTS")), &specs); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	type entry struct {
		spec    participantSpec
		packets atomic.Uint64
		mu      sync.Mutex
		m       *client.Member
		err     error
	}
	entries := make([]*entry, len(specs))
	for k, s := range specs {
		e := &entry{spec: s}
		entries[k] = e
		go func() {
			opts := client.MemberOptions{
				OnRTP:          func(int, *rtp.Packet) { e.packets.Add(1) },
				MaxBackoff:     500 * time.Millisecond,
				AttemptTimeout: 10 * time.Second,
			}
			opts.Logger = logger.With("participant", s.Name)
			if s.Speak {
				opts.OnConnect = func(ctx context.Context, c *client.Client) error {
					return c.Publish(client.NewToneSource([]byte(s.Name), 30))
				}
			}
			var m *client.Member
			var err error
			for try := 0; try < 5; try++ {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				m, err = client.JoinMember(ctx, server, client.JoinRequest{Room: s.Room, Name: s.Name}, opts)
				cancel()
				if err == nil {
					break
				}
				logger.Warn("join failed; retrying", "participant", s.Name, "err", err)
				time.Sleep(time.Second)
			}
			e.mu.Lock()
			e.m, e.err = m, err
			e.mu.Unlock()
		}()
	}
	quit := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(quit)
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	enc := json.NewEncoder(os.Stdout)
	for {
		select {
		case <-quit:
			for _, e := range entries {
				e.mu.Lock()
				if e.m != nil {
					e.m.Close()
				}
				e.mu.Unlock()
			}
			return
		case <-tick.C:
		}
		snap := make([]participantState, 0, len(entries))
		for _, e := range entries {
			st := participantState{Name: e.spec.Name, Packets: e.packets.Load()}
			e.mu.Lock()
			if e.m != nil {
				st.URL, st.Reconnects = e.m.URL(), e.m.Reconnects()
				if err := e.m.Err(); err != nil {
					st.Err = err.Error()
				}
			} else if e.err != nil {
				st.Err = e.err.Error()
			}
			e.mu.Unlock()
			snap = append(snap, st)
		}
		if err := enc.Encode(snap); err != nil {
			return
		}
	}
}
