package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/signaling"
)

// A node is a real palabre server process (the test binary re-executed as
// "palabre serve", see TestMain) that is a cluster node on loopback.
type node struct {
	process
	t      *testing.T
	data   string
	http   int // HTTP port
	gossip int // gossip port (TCP and UDP)
	turn   int // TURN port (UDP and TCP)
	ice    int // ICE-TCP port
	relays string
	key    string   // key file
	join   []string // gossip addresses to join
	extra  []string // more serve flags
}

// freePort returns a port that is free on 127.0.0.1 for TCP and UDP.
func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func newNode(t *testing.T, id, key string, relayBase int) *node {
	return &node{
		process: process{id: id}, t: t, data: t.TempDir(), key: key,
		http: freePort(t), gossip: freePort(t), turn: freePort(t), ice: freePort(t),
		relays: fmt.Sprintf("%d-%d", relayBase, relayBase+99),
	}
}

func (n *node) url() string        { return "http://127.0.0.1:" + strconv.Itoa(n.http) }
func (n *node) gossipAddr() string { return "127.0.0.1:" + strconv.Itoa(n.gossip) }

// start runs the process and waits until it answers /healthz.
func (n *node) start() {
	t := n.t
	t.Helper()
	args := []string{"serve",
		"--listen", "127.0.0.1:" + strconv.Itoa(n.http), "--public-url", n.url(),
		"--media-port", "0", "--media-tcp-port", strconv.Itoa(n.ice),
		"--turn-port", strconv.Itoa(n.turn), "--turn-relay-ports", n.relays,
		"--data", n.data, "--node-id", n.id, "--join-rate", "1000",
		"--cluster-bind", n.gossipAddr(), "--cluster-key-file", n.key,
		"--drain-timeout", "20s", "--log-level", "info", "--log-format", "json",
	}
	for _, j := range n.join {
		args = append(args, "--cluster-join", j)
	}
	args = append(args, n.extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PALABRE_TEST_MAIN=1")
	if n.logs == nil {
		n.logs = &testkit.SyncBuffer{}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("logs of %s:\n%s", n.id, n.logs.String())
			}
		})
	}
	fmt.Fprintf(n.logs, "--- start %s\n", time.Now().Format(time.RFC3339Nano))
	n.run(t, cmd, http.DefaultClient, n.url(), 15*time.Second)
}

func (n *node) wait(d time.Duration) error {
	select {
	case err := <-n.exited:
		n.exited <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %v", n.id, d)
	}
}

func (n *node) terminate() error {
	n.cmd.Process.Signal(syscall.SIGTERM)
	return n.wait(30 * time.Second)
}

// palabre runs a palabre command in-process, with the admin token.
func (n *node) palabre(args ...string) (string, error) {
	var out, errOut strings.Builder
	args = append(args, "--server", n.url(), "--admin-token-file", filepath.Join(n.data, "token"))
	if code := run(args, nil, &out, &errOut); code != 0 {
		return out.String(), fmt.Errorf("palabre %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String(), nil
}

// giveAdminToken makes token valid on n (the file of hashes and a file with
// the token for the commands).
func (n *node) giveAdminToken(t *testing.T, tokenHashes []byte, token string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(n.data, signaling.AdminTokenFile), tokenHashes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.data, "token"), []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nodes returns the answer of "palabre cluster nodes --json" on n.
func (n *node) nodes() (signaling.NodesResponse, error) {
	var resp signaling.NodesResponse
	out, err := n.palabre("cluster", "nodes", "--json")
	if err != nil {
		return resp, err
	}
	err = json.Unmarshal([]byte(out), &resp)
	return resp, err
}

func (n *node) roomStatus(name string) (signaling.RoomStatus, bool) {
	var st signaling.RoomStatus
	resp, err := http.Get(n.url() + "/api/v1/rooms/" + name)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil
}

// wantMembers checks that n lists exactly ids, all in state.
func (n *node) wantMembers(state string, ids ...string) error {
	resp, err := n.nodes()
	if err != nil {
		return err
	}
	var got []string
	for _, m := range resp.Nodes {
		if m.State != state {
			return fmt.Errorf("%s lists %s as %s", n.id, m.ID, m.State)
		}
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		return fmt.Errorf("%s lists %v, want %v", n.id, got, ids)
	}
	return nil
}

// within waits until check passes, and fails the test saying what was
// waited for if it does not within d.
func within(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	testkit.EventuallyNil(t, d, func() error {
		if err := check(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
