package main

import (
	"net/http"
	"os/exec"
	"testing"
	"time"

	"palabre/internal/testkit"
)

// process is a palabre process started by a test: its command, its exit,
// its logs. node (procs_test.go) and nsNode (netns_test.go) embed it.
type process struct {
	id     string
	cmd    *exec.Cmd
	exited chan error
	logs   *testkit.SyncBuffer
}

// run starts cmd with its output in the logs, kills it when the test ends,
// and waits until its /healthz at url answers through hc (a process that
// exits, or does not answer within up, fails the test).
func (p *process) run(t *testing.T, cmd *exec.Cmd, hc *http.Client, url string, up time.Duration) {
	t.Helper()
	p.cmd = cmd
	if p.logs == nil {
		p.logs = &testkit.SyncBuffer{}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(p.cmd, p.exited)
	t.Cleanup(p.kill)
	deadline := time.Now().Add(up)
	for {
		if resp, err := hc.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("%s exited at start: %v\n%s", p.id, err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up within %v\n%s", p.id, up, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process at once, as a crash would (SIGKILL).
func (p *process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return
	default:
	}
	p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
}
