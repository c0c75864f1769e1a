package sfu

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// iceCredentials returns the ice-ufrag and ice-pwd of an SDP.
func iceCredentials(sdp string) (ufrag, pwd string) {
	for _, line := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}

// bindingRequest is a valid ICE connectivity check from the client c (the
// controlled agent) to the server.
func bindingRequest(t testing.TB, c *testClient) []byte {
	t.Helper()
	sUfrag, sPwd := iceCredentials(c.pc.RemoteDescription().SDP)
	cUfrag, _ := iceCredentials(c.pc.LocalDescription().SDP)
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(sUfrag+":"+cUfrag),
		ice.PriorityAttr(1845501695), ice.AttrControlled(12345),
		stun.NewShortTermIntegrity(sPwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// A participant knows its own ICE credentials: 10,000 valid checks from
// 2,000 source addresses (127.0.x.y) must not become 2,000 candidates.
func TestAttackChecksFromManyAddresses(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	h := newHonest(t, room)
	c := join(t, room, "attacker")
	dst := e.MediaAddr()
	time.Sleep(500 * time.Millisecond)

	const addrs, perAddr = 2000, 5
	before := heapInUse()
	cpu0, wall0 := cpuTime(), time.Now()
	var mu sync.Mutex
	answered := map[string]int{}
	var wg sync.WaitGroup
	for i := range addrs {
		ip := net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))
		s, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		for range perAddr {
			if _, err := s.WriteTo(bindingRequest(t, c), dst); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			buf := make([]byte, 1500)
			_ = s.SetReadDeadline(time.Now().Add(3 * time.Second))
			for {
				if _, _, err := s.ReadFrom(buf); err != nil {
					return
				}
				mu.Lock()
				answered[s.LocalAddr().String()]++
				mu.Unlock()
			}
		}()
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond) // 10,000 checks in about a second
		}
	}
	wg.Wait()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	growth := int64(heapInUse()) - int64(before)
	total := 0
	for _, n := range answered {
		total += n
	}
	t.Logf("%d checks from %d addresses in %v: server answered %d addresses (%d packets to them), heap %+.1f MiB, this process used %.0f%% of a core",
		addrs*perAddr, addrs, wall.Round(time.Millisecond), len(answered), total, float64(growth)/(1<<20), 100*cpu.Seconds()/wall.Seconds())
	if len(answered) > addrBurst {
		t.Errorf("the server answered %d source addresses, want at most %d", len(answered), addrBurst)
	}
	// Refused as checks (new addresses past the budget) or as a flood
	// (past the participant's control rate, before the HMAC).
	if st := e.Stats(); st.DropICECheck+st.DropFlood < addrs*perAddr-addrBurst*perAddr {
		t.Errorf("DropICECheck = %d, DropFlood = %d", st.DropICECheck, st.DropFlood)
	}
	if growth > 4<<20 {
		t.Errorf("heap grew by %.1f MiB, want < 4 MiB", float64(growth)/(1<<20))
	}
	h.check()
}

// The same over ICE-TCP: every connection is a new source address; those
// beyond the participant's budget get no answer (and are closed when their
// first-check deadline passes).
func TestAttackTCPChecksFromManyAddresses(t *testing.T) {
	e, err := NewEngine(Config{MediaAddr: "127.0.0.1:0", MediaTCPAddr: "127.0.0.1:0", Slots: 3, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	h := newHonest(t, room)
	c := join(t, room, "attacker")
	dst := e.MediaTCPAddr()

	const conns = 24
	answered := 0
	start := time.Now()
	for i := range conns {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i))}}
		conn, err := d.Dial("tcp", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		req := bindingRequest(t, c)
		frame := append([]byte{byte(len(req) >> 8), byte(len(req))}, req...)
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := conn.Read(make([]byte, 1500)); err == nil {
			answered++
		}
		defer conn.Close()
		if i%4 == 3 {
			time.Sleep(time.Second) // within the new-address rate: only the life budget stops them
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d ICE-TCP connections with valid checks from distinct addresses in %v: %d answered", conns, elapsed.Round(time.Millisecond), answered)
	// A participant's new addresses (a stream is one): 8 at once, then one
	// per 10 s on the rtc plane (the pion plane's guard: 8 in its life).
	if limit := addrBurst + int(elapsed/(10*time.Second)); answered > limit {
		t.Errorf("%d connections answered in %v, want at most %d", answered, elapsed, limit)
	}
	h.check()
}

// addrBurst is how many new source addresses a participant's checks may
// bring at once (rtc: 8, then one per 10 s).
const addrBurst = 8
