package signaling_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling"
)

// A whole join, talk and leave logs neither the participants' addresses
// nor their names at the default level, signaling and media alike.
func TestLogsHoldNoAddressOrName(t *testing.T) {
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, withOptions(func(o *server.Options) {
		// The server's own media address is 127.0.0.2, so 127.0.0.1 in
		// the logs can only be a client's.
		o.Logger, o.MediaIP = logger, "127.0.0.2"
	}))
	// From here on: the start-up lines name the server's own HTTP
	// address, which is on 127.0.0.1.
	since := len(logs.String())
	ts.createRoom(signaling.CreateRoomRequest{Name: "private", Mode: "ptt"})
	a := ts.join("private", "Zéphyrine Talkative", "")
	b := ts.join("private", "Barnabé Listener", "")
	if err := a.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(client.NewToneSource([]byte("a"), 30)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "b hears a", func() bool { return heard(b, a.Self().Source) > 10 })
	a.Leave(testCtx(t, 5*time.Second))
	b.Close()
	// Both leaves handled: the room is closed, whatever it logged is in.
	testkit.Eventually(t, 5*time.Second, "the room closes", func() bool {
		rooms, participants := ts.Signaling.LiveRooms()
		return rooms == 0 && participants == 0
	})
	out := logs.String()[since:]
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
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, withOptions(func(o *server.Options) { o.Logger, o.LogIPs = logger, true }))
	ts.join("opt-in", "someone", "")
	if !strings.Contains(logs.String(), "remote=127.0.0.1") {
		t.Errorf("LogIPs on, but no address in the logs:\n%s", logs.String())
	}
}
