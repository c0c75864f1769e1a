package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"palabre/client"
)

// TestMain lets the test binary run as the palabre command itself, so a
// test can start a real server process and signal it.
func TestMain(m *testing.M) {
	if os.Getenv("PALABRE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// A real server process gets SIGTERM during a live call: the participant
// is told, the process exits cleanly within its deadline, and the rooms are
// there after a restart.
func TestSIGTERMDuringCall(t *testing.T) {
	data := t.TempDir()
	start := func() (*exec.Cmd, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(os.Args[0], "serve", "--listen", addr, "--media-port", "0", "--media-tcp-port", "0",
			"--turn=false", "--data", data, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "PALABRE_TEST_MAIN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		url := "http://" + addr
		deadline := time.Now().Add(10 * time.Second)
		for {
			if resp, err := http.Get(url + "/healthz"); err == nil {
				resp.Body.Close()
				return cmd, url
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("server process did not come up")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	cmd, url := start()
	if code := run([]string{"room", "create", "kept", "--mode", "ptt", "--server", url}, nil, new(strings.Builder), new(strings.Builder)); code != 0 {
		t.Fatal("room create failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, client.JoinRequest{Room: "kept", Name: "talker"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exited with %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server still running 15 s after SIGTERM")
	}
	select {
	case <-c.Done():
		if err := c.Err(); err == nil || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("participant closed with %v, want the shutdown reason", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("participant not told")
	}

	cmd, url = start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	var out strings.Builder
	if code := run([]string{"room", "show", "kept", "--server", url}, nil, &out, new(strings.Builder)); code != 0 || !strings.Contains(out.String(), "ptt") {
		t.Errorf("room after restart: %q", out.String())
	}
}
