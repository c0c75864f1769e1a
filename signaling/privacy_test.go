package signaling

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/client"
	"palabre/sfu"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A whole join, talk and leave logs neither the participants' addresses
// nor their names at the default level, signaling and media alike.
func TestLogsHoldNoAddressOrName(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, withConfig(func(c *Config) { c.Logger = logger }),
		// The server's own media address is 127.0.0.2, so 127.0.0.1 in
		// the logs can only be a client's.
		withEngine(sfu.Config{MediaAddr: "127.0.0.2:0", Logger: logger}))
	ts.createRoom(CreateRoomRequest{Name: "private", Mode: "ptt"})
	a := ts.join("private", "Zéphyrine Talkative", "")
	b := ts.join("private", "Barnabé Listener", "")
	if err := a.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(client.NewToneSource([]byte("a"), 30)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b hears a", func() bool { return heard(b, a.Self().Source) > 10 })
	a.Leave(testCtx(t, 5*time.Second))
	b.Close()
	time.Sleep(200 * time.Millisecond)
	out := logs.String()
	if !strings.Contains(out, "joined") {
		t.Fatalf("no join logged at all:\n%s", out)
	}
	for _, secret := range []string{"127.0.0.1", "Zéphyrine", "Barnabé"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
}

// With LogIPs, the operator's explicit choice, the address is logged.
func TestLogIPsOptIn(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, withConfig(func(c *Config) { c.Logger, c.LogIPs = logger, true }))
	ts.join("opt-in", "someone", "")
	if !strings.Contains(logs.String(), "remote=127.0.0.1") {
		t.Errorf("LogIPs on, but no address in the logs:\n%s", logs.String())
	}
}
