// Package netns makes throw-away Linux network namespaces for browser
// tests: a namespace whose only interface is loopback (up), with a default
// route on it, so that a browser started inside can reach servers on
// 127.0.0.1 of the same namespace and nothing else. Whatever it gathers
// as its "default route address" for WebRTC is 127.0.0.1, and a packet it
// sends anywhere else is dropped inside the namespace instead of leaving
// the machine.
//
// A Namespace is made and removed with ip(8), and needs root. Processes
// are started inside with Command (ip netns exec). Sockets are made inside
// with Listen, ListenPacket and DialContext: they run the socket call on
// an OS thread that entered the namespace with setns(2), and a socket
// keeps its namespace for its whole life, whichever thread uses it later.
// Sockets that code makes later on its own threads (a TURN relay per
// allocation, for instance) would land in the caller's namespace instead:
// for a whole server inside, run the process inside (Command).
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Available says why namespaces cannot be made here (nil when they can):
// it needs root and ip(8).
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netns: no ip(8) (apt-get install iproute2)")
	}
	return nil
}

// Namespace is one named network namespace (/run/netns/Name).
type Namespace struct {
	Name   string
	closed atomic.Bool
}

var counter atomic.Uint64

// New makes a namespace with a unique name starting with prefix: lo up,
// a default route on lo (IPv4 and IPv6), and a resolv.conf of its own
// (/etc/netns/Name/resolv.conf, which ip netns exec mounts over
// /etc/resolv.conf) naming 127.0.0.1, so that name lookups of processes
// started with Command stay inside too.
func New(prefix string) (*Namespace, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = "palabre"
	}
	removeStale(prefix)
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), counter.Add(1))
	ns := &Namespace{Name: name}
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "route", "add", "default", "dev", "lo"},
		{"-n", name, "-6", "route", "add", "default", "dev", "lo"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			ns.Close()
			return nil, err
		}
	}
	dir := filepath.Join("/etc/netns", name)
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n"), 0o644)
	}
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netns: %w", err)
	}
	return ns, nil
}

// removeStale removes the namespaces that New made with prefix for a
// process that no longer runs (a test binary that was killed).
func removeStale(prefix string) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix+"-")
		if !ok {
			continue
		}
		pid, n, ok := strings.Cut(rest, "-")
		if !ok || !digits(pid) || !digits(n) {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pid)); !os.IsNotExist(err) {
			continue
		}
		old := &Namespace{Name: e.Name()}
		old.Close()
	}
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Path is the namespace's file, /run/netns/Name.
func (ns *Namespace) Path() string { return filepath.Join("/run/netns", ns.Name) }

// Do runs f on an OS thread inside the namespace and returns its error.
// Sockets that f creates belong to the namespace. f must not start
// goroutines that create sockets (they would run elsewhere).
func (ns *Namespace) Do(f func() error) error {
	target, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: %s: %w", ns.Name, err)
	}
	defer unix.Close(target)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread goes back to its own namespace afterwards; if that
		// fails, it stays locked, and the runtime ends it with the
		// goroutine instead of reusing it.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns: own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns: entering %s: %w", ns.Name, err)
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		done <- ferr
	}()
	return <-done
}

// Listen is net.Listen inside the namespace.
func (ns *Namespace) Listen(network, address string) (l net.Listener, err error) {
	err = ns.Do(func() error {
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacket is net.ListenPacket inside the namespace.
func (ns *Namespace) ListenPacket(network, address string) (c net.PacketConn, err error) {
	err = ns.Do(func() error {
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// DialContext connects from inside the namespace (to a numeric address:
// name lookups would run elsewhere). It fits http.Transport.DialContext.
func (ns *Namespace) DialContext(ctx context.Context, network, address string) (c net.Conn, err error) {
	err = ns.Do(func() error {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Command is exec.Command for a program run inside the namespace (with
// ip netns exec, which also mounts the namespace's resolv.conf).
func (ns *Namespace) Command(name string, arg ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, arg...)...)
}

// CommandContext is Command with a context, as exec.CommandContext.
func (ns *Namespace) CommandContext(ctx context.Context, name string, arg ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, arg...)...)
}

// Close removes the namespace's name and files. The namespace itself goes
// away with its last process and socket. Close twice is harmless.
func (ns *Namespace) Close() error {
	if ns.closed.Swap(true) {
		return nil
	}
	err := ip("netns", "del", ns.Name)
	if rerr := os.RemoveAll(filepath.Join("/etc/netns", ns.Name)); err == nil {
		err = rerr
	}
	return err
}

// Current returns the name of the namespace this process was started in
// by ip netns exec ("" if none can be told): the one whose /run/netns
// file is the same namespace as /proc/self/ns/net.
func Current() string {
	var self unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil {
		return ""
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/run/netns", e.Name()), &st) == nil && st.Ino == self.Ino && st.Dev == self.Dev {
			return e.Name()
		}
	}
	return ""
}
