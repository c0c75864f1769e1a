package netns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Packet is one IP packet seen by a Watch.
type Packet struct {
	Proto    string // "tcp", "udp", "icmp", "icmpv6" or the protocol number
	Src, Dst netip.AddrPort
	opens    bool // a UDP datagram or ICMP message, or a TCP SYN (not a SYN-ACK)
}

func (p Packet) String() string { return fmt.Sprintf("%s %s -> %s", p.Proto, p.Src, p.Dst) }

// Watch sees every IP packet sent in a namespace (a packet socket on its
// interfaces, that is lo) and keeps those whose source or destination is
// not a loopback address: traffic meant for the outside world, which the
// namespace drops, but which a test wants to know about.
type Watch struct {
	f *os.File

	mu      sync.Mutex
	total   int
	outside int
	first   []Packet // the first outside packets, at most keepPackets
	allowed []netip.Prefix
	flows   map[Flow]int
	done    chan struct{}
}

const keepPackets = 20

// Watch starts watching the namespace's traffic until Close.
func (ns *Namespace) Watch() (*Watch, error) {
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns: packet socket in %s: %w", ns.Name, err)
	}
	w := &Watch{f: os.NewFile(uintptr(fd), "packets-"+ns.Name), done: make(chan struct{}), flows: map[Flow]int{}}
	go w.run()
	return w, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (w *Watch) run() {
	defer close(w.done)
	rc, err := w.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 65536)
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			continue
		}
		// On lo every packet is seen twice, going out and coming in:
		// count it once.
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype != unix.PACKET_OUTGOING {
			continue
		}
		p, ok := parsePacket(buf[:n])
		if !ok {
			continue
		}
		w.mu.Lock()
		w.total++
		if p.opens && len(w.flows) < maxFlows {
			w.flows[Flow{p.Proto, p.Dst}]++
		}
		if !w.inside(p.Src.Addr()) || !w.inside(p.Dst.Addr()) {
			w.outside++
			if len(w.first) < keepPackets {
				w.first = append(w.first, p)
			}
		}
		w.mu.Unlock()
	}
}

// Allow makes the addresses of prefix count as inside, as loopback does:
// a Link's subnet, between two namespaces of the test.
func (w *Watch) Allow(prefix netip.Prefix) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.allowed = append(w.allowed, prefix.Masked())
}

// inside reports whether a is loopback or allowed (w.mu held).
func (w *Watch) inside(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, p := range w.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePacket reads the addresses, protocol and ports of an IPv4 or IPv6
// packet (ports 0 for protocols without them).
func parsePacket(b []byte) (Packet, bool) {
	if len(b) < 1 {
		return Packet{}, false
	}
	var src, dst netip.Addr
	var proto byte
	var rest []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < 20 || ihl < 20 || len(b) < ihl {
			return Packet{}, false
		}
		proto = b[9]
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		rest = b[ihl:]
	case 6:
		if len(b) < 40 {
			return Packet{}, false
		}
		proto = b[6] // extension headers are not followed: ports stay 0
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		rest = b[40:]
	default:
		return Packet{}, false
	}
	var sport, dport uint16
	name := fmt.Sprint(proto)
	opens := true
	switch proto {
	case unix.IPPROTO_TCP, unix.IPPROTO_UDP:
		if len(rest) >= 4 {
			sport, dport = binary.BigEndian.Uint16(rest[0:2]), binary.BigEndian.Uint16(rest[2:4])
		}
		if proto == unix.IPPROTO_TCP {
			const syn, ack = 0x02, 0x10
			opens = len(rest) >= 14 && rest[13]&(syn|ack) == syn
		}
		name = map[byte]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp"}[proto]
	case unix.IPPROTO_ICMP:
		name = "icmp"
	case unix.IPPROTO_ICMPV6:
		name = "icmpv6"
	}
	return Packet{Proto: name, Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(dst, dport), opens: opens}, true
}

// Outside returns how many packets went to or came from a non-loopback
// address so far, and the first of them.
func (w *Watch) Outside() (n int, first []Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outside, append([]Packet(nil), w.first...)
}

// Flow is the protocol and destination of packets.
type Flow struct {
	Proto string
	Dst   netip.AddrPort
}

const maxFlows = 10000

// Flows counts, by protocol and destination, the TCP connection attempts
// (SYNs), UDP datagrams and ICMP messages seen so far (the first 10,000
// flows): who tried to reach what.
func (w *Watch) Flows() map[Flow]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[Flow]int, len(w.flows))
	for f, n := range w.flows {
		out[f] = n
	}
	return out
}

// Total is the number of IP packets seen so far.
func (w *Watch) Total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// Close stops watching.
func (w *Watch) Close() error {
	err := w.f.Close()
	<-w.done
	return err
}
