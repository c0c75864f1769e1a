package signaling_test

import (
	"testing"
	"time"

	"palabre/admission"
	"palabre/client"
	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

func tryJoin(t *testing.T, ts *testServer, req client.JoinRequest) error {
	t.Helper()
	c := ts.dial()
	_, err := c.Join(testCtx(t, 10*time.Second), req)
	return err
}

func TestJoinRefusals(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) {
		o.Admission = admission.GuardConfig{
			JoinsPerSecond: 1000, JoinBurst: 1000,
			FailureDelay: time.Minute,
		}
	}))
	ts.createRoom(signaling.CreateRoomRequest{Name: "guarded", Mode: "ptt", Password: "open sesame"})
	ts.createRoom(signaling.CreateRoomRequest{Name: "small", MaxParticipants: 2})

	t.Run("wrong password", func(t *testing.T) {
		err := tryJoin(t, ts, client.JoinRequest{Room: "guarded", Name: "x", Password: "nope"})
		if errCode(err) != proto.CodeBadPassword {
			t.Fatalf("got %v, want bad_password", err)
		}
	})
	t.Run("missing password", func(t *testing.T) {
		err := tryJoin(t, ts, client.JoinRequest{Room: "guarded", Name: "x"})
		if errCode(err) != proto.CodeBadPassword {
			t.Fatalf("got %v, want bad_password", err)
		}
	})
	t.Run("repeated guesses are rate limited", func(t *testing.T) {
		var err error
		for range 5 {
			if err = tryJoin(t, ts, client.JoinRequest{Room: "guarded", Name: "x", Password: "guess"}); errCode(err) == proto.CodeRateLimited {
				break
			}
		}
		if errCode(err) != proto.CodeRateLimited {
			t.Fatalf("got %v after repeated guesses, want rate_limited", err)
		}
		// Even the right password waits now: no oracle for the guesser.
		err = tryJoin(t, ts, client.JoinRequest{Room: "guarded", Name: "x", Password: "open sesame"})
		if errCode(err) != proto.CodeRateLimited {
			t.Fatalf("right password while limited: %v, want rate_limited", err)
		}
	})
	t.Run("full room", func(t *testing.T) {
		ts.join("small", "one", "")
		ts.join("small", "two", "")
		err := tryJoin(t, ts, client.JoinRequest{Room: "small", Name: "three"})
		if errCode(err) != proto.CodeRoomFull {
			t.Fatalf("got %v, want room_full", err)
		}
	})

}

// With ad-hoc rooms off, an unknown room is refused. (A test of its own:
// each test's goroutine-leak check must see only its own server.)
func TestUnknownRoomWithoutAdhocRooms(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) { o.AdhocRooms = false }))
	err := tryJoin(t, ts, client.JoinRequest{Room: "nowhere", Name: "x"})
	if errCode(err) != proto.CodeNotFound {
		t.Fatalf("got %v, want not_found", err)
	}
}

// Locking is checked on a room without password so rate limits cannot mask it.
func TestLockedRoom(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "club"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "club", Name: "org", Secret: secret})
	member := ts.join("club", "member", "")
	if _, err := member.Request(testCtx(t, 5*time.Second), proto.Message{Type: proto.TypeLock}); errCode(err) != proto.CodeNotAllowed {
		t.Fatalf("lock by a non-organizer: %v, want not_allowed", err)
	}
	if _, err := org.Request(testCtx(t, 5*time.Second), proto.Message{Type: proto.TypeLock}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, member, "room event", func(m proto.Message) bool { return m.Type == proto.TypeRoom })
	if !ev.RoomInfo.Locked {
		t.Fatalf("room event after lock: %+v", ev.RoomInfo)
	}
	if err := tryJoin(t, ts, client.JoinRequest{Room: "club", Name: "late"}); errCode(err) != proto.CodeRoomLocked {
		t.Fatalf("got %v, want room_locked", err)
	}
	if _, err := org.Request(testCtx(t, 5*time.Second), proto.Message{Type: proto.TypeUnlock}); err != nil {
		t.Fatal(err)
	}
	ts.join("club", "late", "")
}

// Rooms, password hashes and organizer secrets survive a restart.
func TestRoomsSurviveRestart(t *testing.T) {
	ts := startServer(t)
	created := ts.createRoom(signaling.CreateRoomRequest{Name: "durable", Mode: "moderated", Password: "pw", MaxSpeakers: 2})
	ts.restart()

	err := tryJoin(t, ts, client.JoinRequest{Room: "durable", Name: "x", Password: "wrong"})
	if errCode(err) != proto.CodeBadPassword {
		t.Fatalf("wrong password after restart: %v", err)
	}
	c := ts.dial()
	joined, err := c.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "durable", Name: "x", Password: "pw"})
	if err != nil {
		t.Fatalf("right password after restart: %v", err)
	}
	if r := joined.RoomInfo; r.Mode != "moderated" || !r.HasPassword || r.MaxSpeakers != 2 {
		t.Errorf("room after restart: %+v", r)
	}
	org := ts.dial()
	joined, err = org.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "durable", Name: "org", Secret: created.OrganizerSecret})
	if err != nil || !joined.Self.Organizer {
		t.Fatalf("organizer after restart: %v %+v", err, joined)
	}
}
