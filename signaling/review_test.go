package signaling_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/rooms"
	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// Regression tests for the defects found in review (issue 11).

// patch sends PATCH /api/v1/rooms/{name} with the organizer's secret.
func (ts *testServer) patch(name, secret, body string) *http.Response {
	ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, ts.URL+"/api/v1/rooms/"+name, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A PATCH refused for one of its fields changes nothing, the password
// included, and the live room hears of no change.
func TestRefusedPatchChangesNothing(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "hall"}).OrganizerSecret
	member := ts.join("hall", "member", "")

	resp := ts.patch("hall", secret, `{"password":"new-one","max_speakers":99}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PATCH with max_speakers 99: %s, want 400", resp.Status)
	}
	def, err := ts.Rooms.Get("hall")
	if err != nil {
		t.Fatal(err)
	}
	if def.HasPassword() {
		t.Error("the refused PATCH set the password")
	}
	ts.join("hall", "newcomer", "") // still no password needed

	// The next accepted change is the first the members hear of.
	if resp := ts.patch("hall", secret, `{"locked":true}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH locked: %s", resp.Status)
	}
	ev := waitEvent(t, member, "room event", func(m proto.Message) bool { return m.Type == proto.TypeRoom })
	if !ev.RoomInfo.Locked || ev.RoomInfo.HasPassword {
		t.Errorf("first room event after the refused PATCH: %+v", ev.RoomInfo)
	}
}

// Someone who joins while another talks is told who is speaking in the
// joined message itself, as are the floor holders.
func TestLateJoinerSeesCurrentSpeakers(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "late", Mode: "ptt"})
	speaker := ts.join("late", "speaker", "")
	if err := speaker.Publish(client.NewToneSource([]byte("spk"), 30)); err != nil {
		t.Fatal(err)
	}
	if err := speaker.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, speaker, "speaking", func(m proto.Message) bool {
		return m.Type == proto.TypeSpeaking && m.Speaker.Participant == speaker.Self().ID
	})

	late := ts.dial()
	joined, err := late.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "late", Name: "late"})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Speaker{Slot: 0, Participant: speaker.Self().ID, Source: speaker.Self().Source}
	if len(joined.Speakers) != 1 || joined.Speakers[0] != want {
		t.Errorf("joined speakers = %+v, want [%+v]", joined.Speakers, want)
	}
	if len(joined.Floor) != 1 || joined.Floor[0] != speaker.Self().ID {
		t.Errorf("joined floor = %v, want [%s]", joined.Floor, speaker.Self().ID)
	}

	// Once the speaker stops, a newcomer sees a quiet room.
	if err := speaker.PTTOff(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, late, "quiet", func(m proto.Message) bool {
		return m.Type == proto.TypeSpeaking && m.Speaker.Participant == ""
	})
	after, err := ts.dial().Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "late", Name: "later"})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Speakers) != 0 || len(after.Floor) != 0 {
		t.Errorf("joined a quiet room: speakers %+v, floor %v", after.Speakers, after.Floor)
	}
}

// welcome names the server's software as configured, not a package default.
func TestWelcomeNamesConfiguredSoftware(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) { o.Software = "palabre/1.2.3" }))
	if got := ts.dial().Welcome().Software; got != "palabre/1.2.3" {
		t.Errorf("welcome software = %q", got)
	}
}

// An organizer's mute that arrives while a self-unmute is being decided is
// not lost: the media plane and what the room is told agree, and the
// participant ends up muted by the organizer.
func TestOrganizerMuteDuringSelfUnmute(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "race"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "race", Name: "org", Secret: secret})
	alice := ts.join("race", "alice", "")
	ctx := testCtx(t, 20*time.Second)
	if err := alice.Mute(ctx, ""); err != nil {
		t.Fatal(err)
	}

	// When alice's unmute has been decided, the organizer mutes her. The
	// hook gives that mute 300 ms to finish inside the window: with the
	// decision and its effect one step it cannot, and waits its turn.
	orgDone := make(chan error, 1)
	var once sync.Once
	hook := func(id string, muted bool) {
		if muted || id != alice.Self().ID {
			return
		}
		once.Do(func() {
			go func() { orgDone <- org.Mute(ctx, alice.Self().ID) }()
			select {
			case err := <-orgDone:
				orgDone <- err
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
	ts.Signaling.SetMuteDecidedHook(hook)
	if err := alice.Unmute(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := <-orgDone; err != nil {
		t.Fatal(err)
	}
	media, told, byOrg, ok := ts.Signaling.MuteState("race", alice.Self().ID)
	if !ok || !media || !told || !byOrg {
		t.Errorf("after the organizer's mute: media muted %v, room told muted %v, by organizer %v; want all true",
			media, told, byOrg)
	}
	if err := alice.Unmute(ctx, ""); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("self-unmute after the organizer's mute: %v, want not_allowed", err)
	}
}

// Store writes finish in any order; the live room keeps the newest
// definition whatever order they are applied in.
func TestLiveRoomKeepsNewestDefinition(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "order", Mode: "ptt"})
	ts.join("order", "member", "")
	older, err := ts.Rooms.Edit("order", rooms.Change{Locked: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := ts.Rooms.Edit("order", rooms.Change{Locked: ptr(false), MaxSpeakers: ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	ts.Signaling.ApplyDefinition(newer)
	ts.Signaling.ApplyDefinition(older) // late, stale
	if got, _ := ts.Signaling.LiveDefinition("order"); got != newer {
		t.Errorf("live definition = %+v, want the newer %+v", got, newer)
	}

	// Concurrent edits from the API and from organizers' messages: the
	// live room ends up with what the store holds.
	_, secret, err := ts.Rooms.RotateOrganizerSecret("order")
	if err != nil {
		t.Fatal(err)
	}
	org := ts.joinAs(client.JoinRequest{Room: "order", Name: "org", Secret: secret})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ts.patch("order", secret, fmt.Sprintf(`{"max_speakers":%d}`, 1+i%3))
		}()
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				org.Lock(testCtx(t, 10*time.Second))
			} else {
				org.Unlock(testCtx(t, 10*time.Second))
			}
		}()
	}
	wg.Wait()
	stored, _ := ts.Rooms.Get("order")
	if got, _ := ts.Signaling.LiveDefinition("order"); got != stored {
		t.Errorf("after concurrent edits the live room has %+v, the store %+v", got, stored)
	}
}

func ptr[T any](v T) *T { return &v }

// The cap on ad-hoc rooms is a condition any visitor can reach: it has its
// own code and is logged at Info, not reported as an internal error.
func TestAdhocCapIsItsOwnError(t *testing.T) {
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, withOptions(func(o *server.Options) { o.MaxAdhocRooms, o.Logger = 1, logger }))
	ts.join("first", "a", "")
	err := tryJoin(t, ts, client.JoinRequest{Room: "second", Name: "b"})
	if errCode(err) != proto.CodeTooManyRooms {
		t.Fatalf("join over the ad-hoc cap: %v, want %s", err, proto.CodeTooManyRooms)
	}
	testkit.Eventually(t, 5*time.Second, "the refusal is logged", func() bool {
		return strings.Contains(logs.String(), "ad-hoc room refused")
	})
	for _, line := range bytes.Split([]byte(logs.String()), []byte("\n")) {
		var rec struct{ Level, Msg string }
		if json.Unmarshal(line, &rec) == nil && strings.Contains(rec.Msg, "ad-hoc") && rec.Level != "INFO" {
			t.Errorf("logged at %s: %s", rec.Level, line)
		}
		if json.Unmarshal(line, &rec) == nil && rec.Level == "ERROR" {
			t.Errorf("error logged: %s", line)
		}
	}
}
