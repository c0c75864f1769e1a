package netns

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Two namespaces joined by Connect reach each other on the link's
// addresses, and still nothing else: the host's routes are untouched.
func TestConnect(t *testing.T) {
	a, b := newNS(t), newNS(t)
	l, err := Connect(a, b, netip.MustParsePrefix("10.78.9.0/30"))
	if err != nil {
		t.Fatal(err)
	}
	if l.AddrA.String() != "10.78.9.1" || l.AddrB.String() != "10.78.9.2" {
		t.Errorf("addresses %s, %s", l.AddrA, l.AddrB)
	}
	pc, err := a.ListenPacket("udp", l.AddrA.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	mustOutput(t, b.Command("bash", "-c", "echo -n ping > /dev/udp/"+l.AddrA.String()+"/"+strconv.Itoa(port)))
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, from, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if got := from.(*net.UDPAddr).IP.String(); got != l.AddrB.String() {
		t.Errorf("datagram from %s, want B's %s", got, l.AddrB)
	}
	out := mustOutput(t, b.Command("ip", "route", "get", "203.0.113.1"))
	if !strings.Contains(out, "dev lo") {
		t.Errorf("B's route to the outside: %s, want lo", out)
	}
	back, err := ParseLink(l.String())
	if err != nil || back.A.Name != a.Name || back.B.Name != b.Name || back.AddrA != l.AddrA || back.AddrB != l.AddrB || back.DevA != l.DevA || back.Prefix != l.Prefix {
		t.Errorf("ParseLink(%q) = %+v, %v", l.String(), back, err)
	}
	for _, bad := range []string{"10.78.9.0/31", "192.0.2.0/30", "fd00::/64"} {
		if _, err := Connect(a, b, netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("Connect on %s: no error", bad)
		}
	}
}

// A cap slows what A sends to B to its rate (a lower bound on the time,
// which no machine's load can break), not what B sends to A; removed, it
// is gone.
func TestLinkCap(t *testing.T) {
	a, b := newNS(t), newNS(t)
	l, err := Connect(a, b, netip.MustParsePrefix("10.78.9.4/30"))
	if err != nil {
		t.Fatal(err)
	}
	const rate, size = 2_000_000, 500_000 // 500 kB at 2 Mbit/s: 2 s
	if err := l.Cap(rate, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ln, err := b.Listen("tcp", l.AddrB.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	start := time.Now()
	c, err := a.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := <-got; n != size {
		t.Fatalf("B received %d bytes, want %d", n, size)
	}
	took := time.Since(start)
	if min := time.Duration(float64(size*8) / rate * 0.9 * float64(time.Second)); took < min {
		t.Errorf("%d bytes through a %d bit/s cap in %v, faster than the cap allows (%v)", size, rate, took, min)
	}
	t.Logf("%d kB through the %d kbit/s cap in %v", size/1000, rate/1000, took.Round(time.Millisecond))
	if _, err := l.Dropped(); err != nil {
		t.Error(err)
	}
	if err := l.Cap(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Cap(0, 0); err != nil {
		t.Errorf("removing no cap: %v", err)
	}
}

func TestParseDropped(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want int
		bad  bool
	}{
		{out: "qdisc tbf 8001: root refcnt 2 rate 2Mbit burst 6056b lat 200ms\n Sent 520 bytes 8 pkt (dropped 3, overlimits 5 requeues 0)\n", want: 3},
		{out: "qdisc a\n (dropped 2, x)\nqdisc b\n (dropped 40, y)\n", want: 42},
		{out: "qdisc noqueue 0: root refcnt 2\n", bad: true},
		{out: " (dropped x, y)", bad: true},
	} {
		n, err := parseDropped(tc.out)
		if (err != nil) != tc.bad || n != tc.want {
			t.Errorf("parseDropped(%q) = %d, %v; want %d (error %v)", tc.out, n, err, tc.want, tc.bad)
		}
	}
}
