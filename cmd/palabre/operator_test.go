package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/signaling"
	"palabre/turn"
)

// Every command and subcommand answers -h and --help with its usage on
// standard output, and exit 0.
func TestEveryCommandHasHelp(t *testing.T) {
	commands := [][]string{
		{"serve"}, {"room"}, {"room", "create"}, {"room", "show"}, {"room", "list"}, {"room", "delete"},
		{"room", "set-password"}, {"room", "set-mode"}, {"admin"}, {"admin", "token"}, {"loadtest"},
		{"check"}, {"cluster"}, {"cluster", "keygen"}, {"cluster", "nodes"}, {"drain"}, {"config"},
		{"config", "show"}, {"version"},
	}
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), cmd...), h)
			var out, errOut bytes.Buffer
			code := run(args, nil, &out, &errOut)
			if code != 0 || !strings.HasPrefix(out.String(), "Usage: palabre "+cmd[0]) || errOut.Len() != 0 {
				t.Errorf("palabre %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, firstLine(out.String()), errOut.String())
			}
		}
	}
	// And "palabre help COMMAND" is "palabre COMMAND --help".
	var out bytes.Buffer
	if code := run([]string{"help", "room"}, nil, &out, new(bytes.Buffer)); code != 0 || !strings.Contains(out.String(), "set-password") {
		t.Errorf("palabre help room: exit %d, %q", code, out.String())
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// protoCode matches a protocol error code in parentheses: "(bad_message)".
var protoCode = regexp.MustCompile(`\([a-z]+(_[a-z]+)*\)`)

// room show --json prints the server's answer, as room create --json does;
// API errors are told in words, without the protocol's codes.
func TestRoomShowJSONAndPlainErrors(t *testing.T) {
	url := startTestServer(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"room", "create", "agora", "--mode", "ptt", "--server", url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("room create: %s", errOut.String())
	}
	out.Reset()
	if code := run([]string{"room", "show", "--json", "agora", "--server", url}, nil, &out, &errOut); code != 0 {
		t.Fatalf("room show --json: exit %d: %s", code, errOut.String())
	}
	var st signaling.RoomStatus
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Room.Name != "agora" || st.Room.Mode != "ptt" {
		t.Errorf("room show --json: %v %q", err, out.String())
	}
	for _, args := range [][]string{
		{"room", "create", "agora", "--server", url},                     // exists
		{"room", "create", "karaoke", "--mode", "loud", "--server", url}, // bad mode
		{"room", "show", "nowhere", "--server", url},                     // not found
	} {
		errOut.Reset()
		if code := run(args, nil, &out, &errOut); code != 1 || protoCode.MatchString(errOut.String()) {
			t.Errorf("%v: exit %d, %q: want a plain message without the protocol code", args, code, errOut.String())
		}
	}
}

// Errors in serve's settings name the flag and the value, in the
// operator's words: no Go field names, no doubled package prefixes.
func TestServeErrorsNameFlagAndValue(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--turn-port", "70000"}, "--turn-port 70000: must be 1..65535"},
		{[]string{"--media-port", "99999"}, "--media-port 99999: must be 1..65535"},
		{[]string{"--media-tcp-port", "-7"}, "--media-tcp-port -7: must be 1..65535"},
		{[]string{"--slots", "9"}, "--slots 9: must be 1..8"},
		{[]string{"--media-ip", "nope"}, "--media-ip nope: not an IP address"},
		{[]string{"--public-ip", "x"}, "--public-ip x: not an IP address"},
		{[]string{"--listen", "nowhere"}, "--listen nowhere: want HOST:PORT"},
		{[]string{"--turn-relay-ports", "9-5"}, "--turn-relay-ports 9-5: want LOW-HIGH within 1024-65535"},
		{[]string{"--trusted-proxy", "10.0.0.0/99"}, "--trusted-proxy 10.0.0.0/99: want an address range"},
		{[]string{"--public-url", "talk.example.org"}, "--public-url talk.example.org: want a URL"},
		{[]string{"--join-rate", "0"}, "--join-rate 0: must be more than 0"},
		{[]string{"--turn-secret", "short"}, "--turn-secret: must be at least 16 bytes"},
		{[]string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, "--tls-cert /nonexistent/cert.pem: cannot load the certificate"},
	}
	for _, tc := range cases {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--media-tcp-port", "0", "--turn-port", "0", "--data", t.TempDir(), "--log-level", "error"}, tc.args...)
		var out, errOut bytes.Buffer
		code := run(args, nil, &out, &errOut)
		msg := errOut.String()
		if code != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 with %q", tc.args, code, msg, tc.want)
		}
		for _, bad := range []string{"TURN.", "Options", "RelayIP", "turn: ", "sfu: ", "rooms: ", "serve: serve:"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%v: message %q contains %q", tc.args, msg, bad)
			}
		}
		if tc.args[0] == "--turn-secret" && strings.Contains(msg, tc.args[1]) {
			t.Errorf("the message prints the secret: %q", msg)
		}
	}
}

// palabre check says in one line why it cannot start: no server there,
// or a server address without a scheme.
func TestCheckOneLineWhenUnreachable(t *testing.T) {
	cases := []struct {
		server string
		code   int
		want   string
	}{
		{"http://127.0.0.1:1", 1, "check: cannot reach the server at http://127.0.0.1:1: nothing listens there"},
		{"127.0.0.1:8080", 2, "check: --server 127.0.0.1:8080: want a URL such as http://127.0.0.1:8080"},
		{"localhost:8080", 2, "check: --server localhost:8080: want a URL"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := run([]string{"check", "--server", tc.server, "--timeout", "3s"}, nil, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		if code != tc.code || len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) || out.Len() != 0 {
			t.Errorf("check --server %s: exit %d, stdout %q, stderr %q; want exit %d and one line %q", tc.server, code, out.String(), errOut.String(), tc.code, tc.want)
		}
	}
}

var columns = regexp.MustCompile(`\s{2,}`)

// config show prints the media ports as they will be, and where the TURN
// secret comes from.
func TestConfigShowEffectiveValues(t *testing.T) {
	show := func(args ...string) map[string][2]string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"config", "show"}, args...), nil, &out, &errOut); code != 0 {
			t.Fatalf("config show %v: exit %d: %s", args, code, errOut.String())
		}
		rows := map[string][2]string{}
		for _, line := range strings.Split(out.String(), "\n")[1:] {
			// Columns are padded with two spaces or more; an empty
			// value leaves two columns only.
			if f := columns.Split(strings.TrimSpace(line), -1); len(f) == 3 {
				rows[f[0]] = [2]string{f[1], f[2]}
			}
		}
		return rows
	}
	data := t.TempDir()
	rows := show("--listen", "127.0.0.1:9000", "--data", data)
	if r := rows["media-port"]; r[0] != "9000" || !strings.Contains(r[1], "the listen port") {
		t.Errorf("media-port %v, want 9000 from the listen port", r)
	}
	if r := rows["media-tcp-port"]; r[0] != "9001" || !strings.Contains(r[1], "listen port + 1") {
		t.Errorf("media-tcp-port %v, want 9001", r)
	}
	if r := rows["turn-secret"]; r[0] != "(generated)" || !strings.Contains(r[1], "generated at the first start") {
		t.Errorf("turn-secret before the first start: %v", r)
	}
	if _, err := turn.LoadOrCreateSecret(data); err != nil {
		t.Fatal(err)
	}
	if r := show("--data", data)["turn-secret"]; !strings.Contains(r[1], "generated earlier, kept in "+filepath.Join(data, turn.SecretFile)) {
		t.Errorf("turn-secret after the first start: %v", r)
	}
	if r := show("--data", data, "--turn-secret", "a secret given by the operator")["turn-secret"]; r[0] != "********" || r[1] != "flag" {
		t.Errorf("turn-secret given: %v", r)
	}
	if r := show("--media-port", "7000", "--media-tcp-port", "0")["media-port"]; r[0] != "7000" || r[1] != "flag" {
		t.Errorf("media-port given: %v", r)
	}
}

// palabre serve says in one plain line, at start, where to open the app.
func TestServeSaysWhereToOpen(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--media-port", "0",
		"--media-tcp-port", "0", "--turn=false", "--data", t.TempDir(), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PALABRE_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	want := fmt.Sprintf("Palabre is running: open http://127.0.0.1:%d/ in a browser", port)
	select {
	case line := <-lines:
		if line != want {
			t.Errorf("first line %q, want %q", line, want)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no line on standard output within 15 s")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 15 s after SIGTERM")
	}
}

func TestOpenURL(t *testing.T) {
	cases := []struct{ public, listen, lan, want string }{
		{"", "http://127.0.0.1:8080", "192.168.1.20", "http://127.0.0.1:8080/"},
		{"https://talk.example.org", "http://127.0.0.1:8080", "", "https://talk.example.org/"},
		{"", "https://[::]:8443", "", "https://localhost:8443/"},
		{"", "https://[::]:8443", "192.168.1.20", "https://localhost:8443/ on this machine, https://192.168.1.20:8443/ from the others,"},
		{"", "http://[::1]:8080", "", "http://[::1]:8080/"},
	}
	for _, tc := range cases {
		if got := openURL(tc.public, tc.listen, tc.lan); got != tc.want {
			t.Errorf("openURL(%q, %q, %q) = %q, want %q", tc.public, tc.listen, tc.lan, got, tc.want)
		}
	}
}

// A second palabre serve on a port the first one holds says which port is
// taken and which flag changes it.
func TestSecondServeNamesTheBusyPort(t *testing.T) {
	f := testFlags(t)
	httpPort, udp, iceTCP, turnPort, gossip := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	f.o.Listen = "127.0.0.1:" + strconv.Itoa(httpPort)
	f.o.MediaPort, f.o.MediaTCPPort, f.o.TURN.Port = udp, iceTCP, turnPort
	f.o.Cluster.Bind, f.o.Cluster.Insecure = "127.0.0.1:"+strconv.Itoa(gossip), true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startServer(t, ctx, f)
	// serve sets the default logger to its own: put it back.
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })

	p := strconv.Itoa
	free := []string{"--media-port", "0", "--media-tcp-port", "0", "--turn=false"}
	cases := []struct {
		args []string
		want string
	}{
		{append([]string{"--listen", "127.0.0.1:" + p(httpPort)}, free...), "TCP port " + p(httpPort) + " (HTTP) is already in use"},
		{[]string{"--media-port", p(udp), "--media-tcp-port", "0", "--turn=false"}, "UDP port " + p(udp) + " (media) is already in use"},
		{[]string{"--listen", "127.0.0.1:" + p(udp), "--media-tcp-port", "0", "--turn=false"}, "UDP port " + p(udp) + " (media), the --listen port by default, is already in use"},
		{[]string{"--media-port", "0", "--media-tcp-port", p(iceTCP), "--turn=false"}, "TCP port " + p(iceTCP) + " (ICE-TCP) is already in use"},
		{[]string{"--media-port", "0", "--media-tcp-port", "0", "--turn-port", p(turnPort)}, "port " + p(turnPort) + " (TURN, UDP and TCP) is already in use"},
		{append([]string{"--cluster-bind", "127.0.0.1:" + p(gossip), "--cluster-insecure"}, free...), "gossip port " + p(gossip) + " (TCP and UDP) is already in use"},
	}
	flags := map[int]string{0: "--listen", 1: "--media-port", 2: "--media-port", 3: "--media-tcp-port", 4: "--turn-port", 5: "--cluster-bind"}
	for i, tc := range cases {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "error"}, tc.args...)
		var out bytes.Buffer
		var errOut testkit.SyncBuffer
		code := run(args, nil, &out, &errOut)
		want := tc.want + ", by another program or another palabre serve: stop it, or choose another port with " + flags[i]
		if code != 1 || !strings.Contains(errOut.String(), want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, errOut.String(), want)
		}
	}
	// Free ports, but the first one's data directory.
	var out bytes.Buffer
	var errOut testkit.SyncBuffer
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", f.o.DataDir, "--log-level", "error"}, free...)
	want := "--data " + f.o.DataDir + ": the data directory is in use by another palabre serve"
	if code := run(args, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), want) {
		t.Errorf("same --data: exit %d, %q; want %q", code, errOut.String(), want)
	}
}
