package signaling_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// behindProxy makes the test server believe X-Forwarded-For from loopback,
// so that clients can play many addresses.
func behindProxy(o *server.Options) {
	o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// Connections that never join are closed at a deadline counted from their
// opening, pings or not; one address holds at most its limit of them,
// while other addresses connect as usual. (Before: 5,000 idle WebSockets
// from 20 addresses were all held.)
func TestUnjoinedConnectionsBounded(t *testing.T) {
	ts := startServer(t, withOptions(behindProxy))
	base := runtime.NumGoroutine()
	const addresses, perAddress = 20, signaling.DefaultUnjoinedPerAddress + 20
	var mu sync.Mutex
	var held []*client.Client
	refused := 0
	var wg sync.WaitGroup
	for a := range addresses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perAddress {
				c, err := ts.dialFrom(fmt.Sprintf("10.5.0.%d", a+1))
				mu.Lock()
				if err != nil {
					refused++
				} else {
					held = append(held, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if max := addresses * signaling.DefaultUnjoinedPerAddress; len(held) > max || ts.Signaling.SessionCount() > max {
		t.Errorf("%d connections held (%d sessions), at most %d allowed", len(held), ts.Signaling.SessionCount(), max)
	}
	if refused < addresses*(perAddress-signaling.DefaultUnjoinedPerAddress) {
		t.Errorf("%d connections refused, want at least %d", refused, addresses*(perAddress-signaling.DefaultUnjoinedPerAddress))
	}
	// Another address is not affected.
	other, err := ts.dialFrom("10.6.0.1")
	if err != nil {
		t.Fatalf("an honest address refused during the flood: %v", err)
	}
	if _, err := other.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "fine", Name: "honest"}); err != nil {
		t.Fatal(err)
	}

	for _, c := range held {
		c.Close()
	}
	testkit.Eventually(t, 10*time.Second, "the flood's connections are gone", func() bool {
		return ts.Signaling.SessionCount() == 1 && runtime.NumGoroutine() <= base+40
	})
	if n := ts.Signaling.AddressesHeld(); n != 1 {
		t.Errorf("address table holds %d addresses, want 1 (the honest participant)", n)
	}
}

// Pings do not keep a connection that never joins: it is closed at a
// deadline counted from its opening, with an error saying why.
func TestUnjoinedDeadlineIgnoresPings(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) { o.UnjoinedTimeout = 700 * time.Millisecond }))
	var clients []*client.Client
	for range 10 {
		clients = append(clients, ts.dial())
	}
	stop := make(chan struct{})
	defer close(stop)
	for _, c := range clients {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-c.Done():
					return
				case <-time.After(50 * time.Millisecond):
					c.Ping(context.Background())
				}
			}
		}()
	}
	joined := ts.join("kept", "member", "") // a joined one stays
	testkit.Eventually(t, 10*time.Second, "every unjoined connection is closed", func() bool {
		return ts.Signaling.SessionCount() == 1
	})
	for _, c := range clients {
		<-c.Done()
	}
	select {
	case <-joined.Done():
		t.Error("the joined participant was closed too")
	default:
	}
}

// One address holds at most its limits of participants and of live ad-hoc
// rooms (before: 499 participants in 499 ad-hoc rooms); others are not
// affected, and a closed room gives its place back.
func TestParticipantsAndAdhocRoomsPerAddress(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) {
		behindProxy(o)
		o.PerAddress = signaling.AddressLimits{Participants: 5, AdhocRooms: 3}
	}))
	join := func(ip, room string) (*client.Client, error) {
		c, err := ts.dialFrom(ip)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		_, err = c.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: room, Name: "n"})
		return c, err
	}
	const a = "10.7.0.1"
	var inRooms []*client.Client
	for i := range 3 {
		c, err := join(a, fmt.Sprintf("adhoc-%d", i))
		if err != nil {
			t.Fatalf("ad-hoc room %d: %v", i, err)
		}
		inRooms = append(inRooms, c)
	}
	if _, err := join(a, "adhoc-3"); errCode(err) != proto.CodeAddressLimit {
		t.Fatalf("4th ad-hoc room: %v, want %s", err, proto.CodeAddressLimit)
	}
	for range 2 { // existing rooms: up to the participant limit
		if _, err := join(a, "adhoc-0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := join(a, "adhoc-1"); errCode(err) != proto.CodeAddressLimit {
		t.Fatalf("6th participant: %v, want %s", err, proto.CodeAddressLimit)
	}
	if _, err := join("10.7.1.1", "adhoc-3"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// adhoc-2 empties: the address may open a room and bring in a
	// participant again.
	inRooms[2].Close()
	testkit.Eventually(t, 5*time.Second, "adhoc-2 closes", func() bool { return !ts.Signaling.IsLive("adhoc-2") })
	if _, err := join(a, "adhoc-4"); err != nil {
		t.Fatalf("after a room closed: %v", err)
	}
}

// A flood of malformed room creations from one address spends nothing:
// neither its own budget nor anybody else's (before: honest creations
// succeeded 1 time in 13).
func TestRoomCreationFloodSpendsNothing(t *testing.T) {
	ts := startServer(t, withOptions(behindProxy))
	post := func(ip, body string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/rooms", strings.NewReader(body))
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	malformed := 0
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			bodies := []string{`{"name":"Bad Name!"}`, `{"name":"x","mode":"loud"}`, `not json`, `{"name":"x","max_speakers":99}`}
			if post("10.8.0.1", bodies[i%len(bodies)]) != http.StatusBadRequest {
				t.Error("a malformed creation was not refused with 400")
				return
			}
			malformed++
		}
	}()
	for i := range 15 {
		if code := post("10.8.1.1", fmt.Sprintf(`{"name":"honest-%d"}`, i)); code != http.StatusCreated {
			t.Errorf("honest creation %d during the flood: %d", i, code)
		}
	}
	close(stop)
	wg.Wait()
	// The flooder's own budget is untouched by its malformed requests.
	if code := post("10.8.0.1", `{"name":"flooder-room"}`); code != http.StatusCreated {
		t.Errorf("after %d malformed requests, a valid creation from the same address: %d", malformed, code)
	}
	t.Logf("%d malformed creations refused during 15 honest ones", malformed)
}

// A request body sent a byte at a time is cut off at the body timeout
// (before: 20 such requests were all still open after 20 s).
func TestSlowRequestBodiesCutOff(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) { o.BodyTimeout = 500 * time.Millisecond }))
	addr := strings.TrimPrefix(ts.URL, "http://")
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
			done := make(chan struct{})
			go func() {
				defer close(done)
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err == nil {
					resp.Body.Close()
				}
			}()
			for {
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
					if time.Since(start) > 10*time.Second {
						errs <- fmt.Errorf("slow body still open after 10 s")
						return
					}
					conn.Write([]byte(" "))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow bodies took %v to be cut off, timeout 500 ms", d)
	}
}

// A flood of flooding clients is one log line, not one per client.
func TestFloodLogsBounded(t *testing.T) {
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, withOptions(func(o *server.Options) { o.Logger = logger }))
	var wg sync.WaitGroup
	for range 30 {
		c := ts.dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := c.Send(proto.Message{Type: proto.TypePing}); err != nil {
					return
				}
				select {
				case <-c.Done():
					return
				default:
				}
			}
		}()
	}
	wg.Wait()
	if n := bytes.Count([]byte(logs.String()), []byte("flood")); n > 2 {
		t.Errorf("%d log lines about floods for 30 flooding clients, want at most 2", n)
	}
}
