package signaling_test

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling"
)

// Chat messages live only in the live room: delivered, but neither logged
// (at any level) nor written to the data directory, public or private.
func TestChatNeitherLoggedNorStored(t *testing.T) {
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dataDir := t.TempDir()
	ts := startServer(t, withOptions(func(o *server.Options) { o.Logger, o.DataDir = logger, dataDir }))
	ts.createRoom(signaling.CreateRoomRequest{Name: "secrets"})
	a, b := ts.join("secrets", "Ana", ""), ts.join("secrets", "Ben", "")
	ctx := testCtx(t, 10*time.Second)
	const public, private = "xylophone-public-7f3a", "zanzibar-private-91c2"
	if err := a.Chat(ctx, public); err != nil {
		t.Fatal(err)
	}
	if got := chatEvent(t, b, "the public message"); got.Text != public {
		t.Fatalf("Ben got %+v", got)
	}
	if err := a.ChatTo(ctx, b.Self().ID, private); err != nil {
		t.Fatal(err)
	}
	if got := chatEvent(t, b, "the private message"); got.Text != private {
		t.Fatalf("Ben got %+v", got)
	}
	a.Close()
	b.Close()
	testkit.Eventually(t, 5*time.Second, "the room closes", func() bool {
		rooms, participants := ts.Signaling.LiveRooms()
		return rooms == 0 && participants == 0
	})
	ts.Close() // everything the server writes is on disk
	// Positive control: the logs and the data directory are the ones the
	// server used (the join was logged, the room's definition stored).
	if !strings.Contains(logs.String(), "joined") {
		t.Fatalf("no join in the logs: not the server's logger?\n%s", logs.String())
	}
	var files, stored int
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte("secrets")) {
			stored++
		}
		for _, text := range []string{public, private} {
			if bytes.Contains(b, []byte(text)) {
				t.Errorf("%s holds the chat message %q", path, text)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 || stored == 0 {
		t.Fatalf("data directory: %d files, %d naming the room: not the server's data", files, stored)
	}
	for _, text := range []string{public, private} {
		if strings.Contains(logs.String(), text) {
			t.Errorf("the logs hold the chat message %q", text)
		}
	}
}
