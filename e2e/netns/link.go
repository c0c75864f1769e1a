package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// A Link is a veth pair between two namespaces made by New: a virtual
// cable with one address at each end, on a subnet of their own. Nothing
// of it is in the host's namespace: the pair is made inside A with its
// B end moved straight into B, and no route of the host changes. Both
// namespaces keep their default route on lo, so that the subnet is the
// only thing either can reach besides its own loopback.
type Link struct {
	A, B         *Namespace
	DevA, DevB   string     // the interfaces, in A and in B
	AddrA, AddrB netip.Addr // their addresses
	Prefix       netip.Prefix
}

// Connect links a and b with a veth pair on prefix (an IPv4 /30 or
// larger, private): a gets the prefix's first host address, b the second.
// The link goes away with the namespaces.
func Connect(a, b *Namespace, prefix netip.Prefix) (*Link, error) {
	if !prefix.Addr().Is4() || prefix.Bits() > 30 || !prefix.Addr().IsPrivate() {
		return nil, fmt.Errorf("netns: link subnet %s: want a private IPv4 /30 or larger", prefix)
	}
	base := prefix.Masked().Addr()
	l := &Link{A: a, B: b, DevA: "veth-a", DevB: "veth-b", AddrA: base.Next(), AddrB: base.Next().Next(), Prefix: prefix.Masked()}
	bits := strconv.Itoa(prefix.Bits())
	steps := [][]string{
		{"-n", a.Name, "link", "add", l.DevA, "type", "veth", "peer", "name", l.DevB, "netns", b.Name},
		{"-n", a.Name, "addr", "add", l.AddrA.String() + "/" + bits, "dev", l.DevA},
		{"-n", b.Name, "addr", "add", l.AddrB.String() + "/" + bits, "dev", l.DevB},
		// No IPv6 on the link: its link-local address would send
		// neighbour discovery and multicast listener reports.
		{"netns", "exec", a.Name, "sysctl", "-q", "-w", "net.ipv6.conf." + l.DevA + ".disable_ipv6=1"},
		{"netns", "exec", b.Name, "sysctl", "-q", "-w", "net.ipv6.conf." + l.DevB + ".disable_ipv6=1"},
		{"-n", a.Name, "link", "set", l.DevA, "up"},
		{"-n", b.Name, "link", "set", l.DevB, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Cap limits what A sends to B to rate bits per second, as a slow link
// does: a token bucket (tc tbf) on A's end, whose queue holds up to
// queue of sending before it drops. rate 0 removes the cap.
func (l *Link) Cap(rate int, queue time.Duration) error {
	if _, err := exec.LookPath("tc"); err != nil {
		return errors.New("netns: no tc(8) (apt-get install iproute2)")
	}
	if rate == 0 {
		out, err := exec.Command("tc", "-n", l.A.Name, "qdisc", "del", "dev", l.DevA, "root").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "No such file") && !strings.Contains(string(out), "Cannot delete qdisc with handle of zero") {
			return fmt.Errorf("netns: tc qdisc del: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	// burst: a little more than the rate allows per kernel tick (at most
	// 10 ms at 1000 Hz), and at least a few full packets.
	burst := max(rate/8/100, 4*1514)
	args := []string{"-n", l.A.Name, "qdisc", "replace", "dev", l.DevA, "root", "tbf",
		"rate", strconv.Itoa(rate) + "bit", "burst", strconv.Itoa(burst),
		"latency", strconv.Itoa(int(queue/time.Millisecond)) + "ms"}
	if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("netns: tc %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Dropped is how many packets A's cap has dropped so far (tc's count).
func (l *Link) Dropped() (int, error) {
	out, err := exec.Command("tc", "-s", "-n", l.A.Name, "qdisc", "show", "dev", l.DevA).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("netns: tc -s qdisc show: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return parseDropped(string(out))
}

// parseDropped reads "(dropped N," from tc -s qdisc show's output: the
// sum over its qdiscs.
func parseDropped(out string) (int, error) {
	total, found := 0, false
	for rest := out; ; {
		_, after, ok := strings.Cut(rest, "(dropped ")
		if !ok {
			break
		}
		num, tail, _ := strings.Cut(after, ",")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil {
			return 0, fmt.Errorf("netns: tc's dropped count %q: %v", num, err)
		}
		total += n
		found = true
		rest = tail
	}
	if !found {
		return 0, fmt.Errorf("netns: no dropped count in tc's output %q", out)
	}
	return total, nil
}

// String encodes the link for another process (ParseLink): the test
// binary run again inside A.
func (l *Link) String() string {
	return strings.Join([]string{l.A.Name, l.B.Name, l.DevA, l.DevB, l.Prefix.String()}, " ")
}

// ParseLink is the Link that String encoded. Its namespaces are the
// caller's to use, not to Close: they belong to the process that made
// them.
func ParseLink(s string) (*Link, error) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return nil, fmt.Errorf("netns: link %q: want 5 fields", s)
	}
	prefix, err := netip.ParsePrefix(f[4])
	if err != nil {
		return nil, fmt.Errorf("netns: link %q: %v", s, err)
	}
	base := prefix.Masked().Addr()
	return &Link{A: &Namespace{Name: f[0]}, B: &Namespace{Name: f[1]}, DevA: f[2], DevB: f[3],
		AddrA: base.Next(), AddrB: base.Next().Next(), Prefix: prefix.Masked()}, nil
}
