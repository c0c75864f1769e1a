package signaling_test

import (
	"testing"
	"time"

	"palabre/client"
	"palabre/internal/testkit"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// A moderated room: only granted speakers are heard; hands, mute, revoke
// and kick work as the organizer expects.
func TestModeratedRoomOrganizerControls(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "debate", Mode: "moderated"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "debate", Name: "chair", Secret: secret})
	alice := ts.join("debate", "alice", "")
	bob := ts.join("debate", "bob", "")
	ctx := testCtx(t, 60*time.Second)
	req := func(c *client.Client, typ, target string) error {
		_, err := c.Request(ctx, proto.Message{Type: typ, Target: target})
		return err
	}
	if err := alice.Publish(client.NewToneSource([]byte("alice"), 30)); err != nil {
		t.Fatal(err)
	}
	src := alice.Self().Source
	aliceID := alice.Self().ID

	if err := alice.PTTOn(ctx); errCode(err) != proto.CodeNotAllowed {
		t.Fatalf("ptt_on in a moderated room: %v, want not_allowed", err)
	}
	if err := req(alice, proto.TypeRaiseHand, ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, org, "hand raised", func(m proto.Message) bool {
		return m.Type == proto.TypeHand && m.Participant.ID == aliceID && m.Participant.Hand
	})
	ts.assertSilent(t, "hand raised, no floor", src, bob)
	if n := heard(bob, src); n != 0 {
		t.Fatalf("bob heard %d packets before alice was granted the floor", n)
	}

	if err := req(bob, proto.TypeGrant, aliceID); errCode(err) != proto.CodeNotAllowed {
		t.Fatalf("grant by a participant: %v, want not_allowed", err)
	}
	if err := req(org, proto.TypeGrant, aliceID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, "floor to alice", func(m proto.Message) bool {
		return m.Type == proto.TypeFloor && len(m.Floor) == 1 && m.Floor[0] == aliceID
	})
	testkit.Eventually(t, 5*time.Second, "bob hears alice", func() bool { return heard(bob, src) > 20 })

	// Muted by the organizer: not heard, and she cannot unmute herself.
	if err := req(org, proto.TypeMute, aliceID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, "alice muted", func(m proto.Message) bool {
		return m.Type == proto.TypeMuted && m.Participant.ID == aliceID && m.Participant.Muted && m.By == org.Self().ID
	})
	ts.assertSilent(t, "muted by the organizer", src, bob)
	before := heard(bob, src)
	if err := req(alice, proto.TypeUnmute, ""); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("self-unmute after an organizer mute: %v, want not_allowed", err)
	}
	if err := req(org, proto.TypeUnmute, aliceID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "bob hears alice again", func() bool { return heard(bob, src) > before+20 })

	if err := req(org, proto.TypeRevoke, aliceID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, "floor empty", func(m proto.Message) bool { return m.Type == proto.TypeFloor && len(m.Floor) == 0 })
	ts.assertSilent(t, "floor revoked", src, bob)

	if err := req(org, proto.TypeKick, bob.Self().ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, "kicked", func(m proto.Message) bool { return m.Type == proto.TypeKicked })
	select {
	case <-bob.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("kicked client still connected")
	}
	ev := waitEvent(t, alice, "bob left", func(m proto.Message) bool {
		_, left := m.Presence.Departure(bob.Self().ID)
		return m.Type == proto.TypePresence && left
	})
	if left, _ := ev.Presence.Departure(bob.Self().ID); left.Reason != "kicked" {
		t.Errorf("leave reason %q, want kicked", left.Reason)
	}
}

// Organizers change mode and password; the room follows.
func TestOrganizerChangesModeAndPassword(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "flex"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "flex", Name: "org", Secret: secret})
	ctx := testCtx(t, 30*time.Second)
	if _, err := org.Request(ctx, proto.Message{Type: proto.TypeSetMode, Mode: proto.ModePTT}); err != nil {
		t.Fatal(err)
	}
	if _, err := org.Request(ctx, proto.Message{Type: proto.TypeSetPassword, Password: "fresh"}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, org, "room with password", func(m proto.Message) bool {
		return m.Type == proto.TypeRoom && m.RoomInfo.HasPassword
	})
	if ev.RoomInfo.Mode != proto.ModePTT || ev.RoomInfo.MaxSpeakers != 1 {
		t.Errorf("room after changes: %+v", ev.RoomInfo)
	}
	if err := tryJoin(t, ts, client.JoinRequest{Room: "flex", Name: "x"}); errCode(err) != proto.CodeBadPassword {
		t.Fatalf("join without the new password: %v", err)
	}
	ts.join("flex", "y", "fresh")
}
