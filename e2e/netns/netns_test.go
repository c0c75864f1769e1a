package netns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func newNS(t *testing.T) *Namespace {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI runs as root with iproute2)", err)
		}
		t.Skip(err)
	}
	ns, err := New("nstest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(ns.Path()); !os.IsNotExist(err) {
			t.Errorf("%s still there after Close", ns.Path())
		}
	})
	return ns
}

func TestOnlyLoopback(t *testing.T) {
	ns := newNS(t)
	var names []string
	err := ns.Do(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "lo" {
		t.Errorf("interfaces inside: %v, want [lo]", names)
	}
	out, err := ns.Command("ip", "-o", "link").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "lo:") || !strings.Contains(lines[0], "UP") {
		t.Errorf("ip link inside:\n%s", out)
	}
	out, err = ns.Command("ip", "route", "get", "203.0.113.1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dev lo") {
		t.Errorf("route to the outside inside: %v %s", err, out)
	}
	out, err = ns.Command("cat", "/etc/resolv.conf").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nameserver 127.0.0.1") {
		t.Errorf("resolv.conf inside: %v %s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(mustOutput(t, ns.Command(exe, "-test.run=^TestHelperCurrent$"))); !strings.Contains(got, "current="+ns.Name) {
		t.Errorf("Current() inside says %q, want %s", got, ns.Name)
	}
	if Current() == ns.Name {
		t.Error("Current() outside names the test namespace")
	}
}

func mustOutput(t *testing.T, cmd interface{ CombinedOutput() ([]byte, error) }) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return string(out)
}

// TestHelperCurrent prints Current() for TestOnlyLoopback.
func TestHelperCurrent(t *testing.T) {
	os.Stdout.WriteString("current=" + Current() + "\n")
}

// A TCP listener made inside is reachable from inside only.
func TestListenInside(t *testing.T) {
	ns := newNS(t)
	l, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
			accepted <- struct{}{}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ns.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("read %q, %v", buf, err)
	}
	c.Close()
	<-accepted
	// The same address on the host's loopback is another socket (or none).
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.Close()
		select {
		case <-accepted:
			t.Error("the listener inside accepted a connection from outside")
		case <-time.After(200 * time.Millisecond):
		}
	}
	// A process inside reaches it too.
	out := mustOutput(t, ns.Command("bash", "-c", "exec 3<>/dev/tcp/"+strings.Replace(l.Addr().String(), ":", "/", 1)+"; cat <&3"))
	if out != "hello" {
		t.Errorf("process inside read %q", out)
	}
}

// A UDP socket made inside receives what a process inside sends.
func TestListenPacketInside(t *testing.T) {
	ns := newNS(t)
	pc, err := ns.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	mustOutput(t, ns.Command("bash", "-c", "echo -n ping > /dev/udp/"+strings.Replace(pc.LocalAddr().String(), ":", "/", 1)))
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Errorf("read %q, %v", buf[:n], err)
	}
}

// The watch tells loopback traffic from traffic meant for the outside
// (which stays inside: the namespace has nowhere to send it).
func TestWatch(t *testing.T) {
	ns := newNS(t)
	w, err := ns.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pc, err := ns.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	mustOutput(t, ns.Command("bash", "-c", "echo -n local > /dev/udp/"+strings.Replace(pc.LocalAddr().String(), ":", "/", 1)))
	// 203.0.113.0/24 is TEST-NET-3, for documentation: routed to lo
	// inside, and dropped there.
	ns.Command("bash", "-c", "echo -n away > /dev/udp/203.0.113.7/9").Run()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, first := w.Outside()
		if n > 0 {
			want := netip.MustParseAddrPort("203.0.113.7:9")
			if first[0].Dst != want || first[0].Proto != "udp" {
				t.Errorf("first outside packet %v, want udp to %v", first[0], want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the packet to 203.0.113.7 was not seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w.Total() < 2 {
		t.Errorf("saw %d packets, want the local one too", w.Total())
	}
	if n, first := w.Outside(); n != 1 {
		t.Errorf("%d outside packets, want 1: %v", n, first)
	}
}

func TestParsePacket(t *testing.T) {
	v4 := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 203, 0, 113, 7, 0x30, 0x39, 0, 53, 0, 8, 0, 0}
	v6 := make([]byte, 48)
	v6[0] = 0x60
	v6[6] = 6 // tcp
	v6[23] = 1
	v6[39] = 1
	v6[40], v6[41], v6[42], v6[43] = 0x1f, 0x90, 0, 80
	for _, tc := range []struct {
		name string
		b    []byte
		want string
		ok   bool
	}{
		{"udp4", v4, "udp 127.0.0.1:12345 -> 203.0.113.7:53", true},
		{"tcp6", v6, "tcp [::1]:8080 -> [::1]:80", true},
		{"short", v4[:10], "", false},
		{"empty", nil, "", false},
		{"not ip", []byte{0x10, 1, 2}, "", false},
	} {
		p, ok := parsePacket(tc.b)
		if ok != tc.ok || (ok && p.String() != tc.want) {
			t.Errorf("%s: %v %v, want %q %v", tc.name, p, ok, tc.want, tc.ok)
		}
	}
}

// A namespace left by a process that died is removed by the next New with
// its prefix; those of live processes, and other names, are left alone.
func TestRemoveStale(t *testing.T) {
	ns := newNS(t)
	// A pid that cannot run: above the kernel's pid_max (at most 2^22).
	stale := &Namespace{Name: "nstest-99999999-1"}
	if err := ip("netns", "add", stale.Name); err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	other := &Namespace{Name: "nstestother-99999999-1"}
	if err := ip("netns", "add", other.Name); err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ns2, err := New("nstest")
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Close()
	if _, err := os.Stat(stale.Path()); !os.IsNotExist(err) {
		t.Errorf("stale %s not removed", stale.Name)
	}
	for _, keep := range []*Namespace{ns, other} {
		if _, err := os.Stat(keep.Path()); err != nil {
			t.Errorf("%s removed: %v", keep.Name, err)
		}
	}
}
