package signaling_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/client"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// chatEvent waits for c's next chat event.
func chatEvent(t *testing.T, c *client.Client, what string) proto.ChatMessage {
	t.Helper()
	return *waitEvent(t, c, what, func(m proto.Message) bool { return m.Type == proto.TypeChat }).Chat
}

// Messages reach the room; a private one reaches its addressee (and comes
// back to its sender) and nobody else.
func TestChatDelivery(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "talk"})
	a, b, c := ts.join("talk", "Ana", ""), ts.join("talk", "Ben", ""), ts.join("talk", "Cleo", "")
	ctx := testCtx(t, 20*time.Second)
	if err := a.Chat(ctx, "hello, https://example.org"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*client.Client{a, b, c} {
		got := chatEvent(t, x, "the room's message")
		if got.Text != "hello, https://example.org" || got.From != a.Self().ID || got.Name != "Ana" || got.Private {
			t.Errorf("%s got %+v", x.Self().Name, got)
		}
	}
	if err := a.ChatTo(ctx, b.Self().ID, "just for you"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*client.Client{b, a} {
		if got := chatEvent(t, x, "the private message"); got.Text != "just for you" || !got.Private || got.To != b.Self().ID {
			t.Errorf("%s got %+v", x.Self().Name, got)
		}
	}
	// Cleo gets the next public message, and never the private one before it.
	if err := b.Chat(ctx, "for all again"); err != nil {
		t.Fatal(err)
	}
	if got := chatEvent(t, c, "the next public message"); got.Text != "for all again" {
		t.Errorf("Cleo got %+v: the private message reached her", got)
	}
	if err := a.ChatTo(ctx, "pnobody", "lost"); errCode(err) != proto.CodeNotFound {
		t.Errorf("private message to nobody: %v, want not_found", err)
	}
}

// A message is bounded in size and rate; a flooder is cut off while the
// others chat on.
func TestChatBounds(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "bounds"})
	flooder, other := ts.join("bounds", "flood", ""), ts.join("bounds", "calm", "")
	ctx := testCtx(t, 20*time.Second)
	if err := flooder.Chat(ctx, strings.Repeat("é", proto.MaxChatRunes+1)); errCode(err) != proto.CodeBadMessage {
		t.Errorf("oversized message: %v, want bad_message", err)
	}
	if err := flooder.Chat(ctx, "   "); errCode(err) != proto.CodeBadMessage {
		t.Errorf("blank message: %v, want bad_message", err)
	}
	var limited, sent int
	for i := 0; i < 40; i++ {
		err := flooder.Chat(ctx, fmt.Sprintf("spam %d", i))
		switch {
		case err == nil:
			sent++
		case errCode(err) == proto.CodeRateLimited:
			limited++
		default:
			i = 40 // cut off
		}
	}
	if sent > 6 || limited == 0 {
		t.Errorf("%d messages through, %d refused: want at most the burst of 5 (+1 refilled)", sent, limited)
	}
	select {
	case <-flooder.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the flooder was not cut off")
	}
	if err := other.Chat(ctx, "still here"); err != nil {
		t.Errorf("the other participant after the flood: %v", err)
	}
}

// With the room's chat off only organizers chat; a chat-muted participant
// cannot chat while the others can.
func TestChatOffAndChatMute(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "quiet"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "quiet", Name: "org", Secret: secret})
	a, b := ts.join("quiet", "a", ""), ts.join("quiet", "b", "")
	ctx := testCtx(t, 20*time.Second)
	if err := a.SetChat(ctx, false); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("chat_off by a participant: %v, want not_allowed", err)
	}
	if err := org.ChatMute(ctx, a.Self().ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, "chat muted", func(m proto.Message) bool {
		return m.Type == proto.TypeMuted && m.Participant.ID == a.Self().ID && m.Participant.ChatMuted
	})
	if err := a.Chat(ctx, "hi"); errCode(err) != proto.CodeChatOff {
		t.Errorf("chat while chat-muted: %v, want chat_off", err)
	}
	if err := b.Chat(ctx, "hi"); err != nil {
		t.Errorf("another participant: %v", err)
	}
	if err := org.SetChat(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, "chat closed", func(m proto.Message) bool { return m.Type == proto.TypeRoom && !m.RoomInfo.Chat })
	if err := b.Chat(ctx, "hi"); errCode(err) != proto.CodeChatOff {
		t.Errorf("chat with the room's chat off: %v, want chat_off", err)
	}
	if err := org.Chat(ctx, "organizers may"); err != nil {
		t.Errorf("organizer with the chat off: %v", err)
	}
	if err := org.SetChat(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, "chat open", func(m proto.Message) bool { return m.Type == proto.TypeRoom && m.RoomInfo.Chat })
	if err := b.Chat(ctx, "back"); err != nil {
		t.Errorf("chat open again: %v", err)
	}
}

// lobbyJoin starts a join into a room with a lobby; the returned channel
// gets the join's outcome.
func lobbyJoin(t *testing.T, ts *testServer, room, name, password string, waiting chan<- string) (*client.Client, <-chan error) {
	c := ts.dial()
	done := make(chan error, 1)
	go func() {
		_, err := c.Join(testCtx(t, 30*time.Second), client.JoinRequest{Room: room, Name: name, Password: password,
			OnWaiting: func(proto.RoomInfo) { waiting <- name }})
		done <- err
	}()
	return c, done
}

// A room with its lobby on keeps newcomers waiting until an organizer
// admits them (their media then connects) or refuses them; only
// organizers see and decide.
func TestLobby(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "door", Password: "pw"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "door", Name: "org", Secret: secret})
	member := ts.join("door", "member", "pw")
	ctx := testCtx(t, 30*time.Second)
	if err := org.SetLobby(ctx, true); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 4)
	anna, annaDone := lobbyJoin(t, ts, "door", "Anna", "pw", waiting)
	select {
	case <-waiting:
	case err := <-annaDone:
		t.Fatalf("Anna did not wait: %v", err)
	}
	lobby := waitEvent(t, org, "the lobby lists Anna", func(m proto.Message) bool {
		return m.Type == proto.TypeLobby && len(m.Waiting) == 1 && m.Waiting[0].Name == "Anna"
	})
	if err := member.Admit(ctx, lobby.Waiting[0].ID); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("admit by a participant: %v, want not_allowed", err)
	}
	select {
	case err := <-annaDone:
		t.Fatalf("Anna's join ended before anyone admitted her: %v", err)
	default:
	}
	if err := org.Admit(ctx, lobby.Waiting[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := <-annaDone; err != nil {
		t.Fatalf("Anna after admission: %v", err)
	}
	if err := anna.WaitConnected(ctx); err != nil {
		t.Fatalf("Anna's media: %v", err)
	}
	waitEvent(t, member, "Anna joins", func(m proto.Message) bool {
		return m.Type == proto.TypePresence && m.Presence.ArrivalNamed("Anna") != nil
	})

	// Refused: the join fails with ErrRefused.
	_, bobDone := lobbyJoin(t, ts, "door", "Bob", "pw", waiting)
	select {
	case <-waiting:
	case err := <-bobDone:
		t.Fatalf("Bob did not wait: %v", err)
	}
	lobby = waitEvent(t, org, "the lobby lists Bob", func(m proto.Message) bool {
		return m.Type == proto.TypeLobby && len(m.Waiting) == 1 && m.Waiting[0].Name == "Bob"
	})
	if err := org.Refuse(ctx, lobby.Waiting[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := <-bobDone; !errors.Is(err, client.ErrRefused) {
		t.Errorf("Bob refused: %v, want ErrRefused", err)
	}

	// Two wait; admit_all lets both in. The password still counts.
	if err := tryJoin(t, ts, client.JoinRequest{Room: "door", Name: "no pw"}); errCode(err) != proto.CodeBadPassword {
		t.Errorf("lobby without the password: %v, want bad_password", err)
	}
	var dones []<-chan error
	for _, name := range []string{"Cy", "Di"} {
		_, done := lobbyJoin(t, ts, "door", name, "pw", waiting)
		select {
		case <-waiting:
		case err := <-done:
			t.Fatalf("%s did not wait: %v", name, err)
		}
		dones = append(dones, done)
	}
	if err := org.AdmitAll(ctx); err != nil {
		t.Fatal(err)
	}
	for i, done := range dones {
		if err := <-done; err != nil {
			t.Errorf("waiter %d after admit_all: %v", i, err)
		}
	}
	// Lobby off: nobody waits.
	if err := org.SetLobby(ctx, false); err != nil {
		t.Fatal(err)
	}
	ts.join("door", "late", "pw")
}

// Raised hands are a queue in the server's order, whatever the
// concurrency; grant_next serves its front; the holder gives the floor
// back with ptt_off and is no longer heard.
func TestHandQueue(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "debate", Mode: "moderated"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "debate", Name: "chair", Secret: secret})
	var people []*client.Client
	for i := range 8 {
		people = append(people, ts.join("debate", fmt.Sprintf("p%d", i), ""))
	}
	ctx := testCtx(t, 30*time.Second)
	var wg sync.WaitGroup
	for _, p := range people {
		wg.Add(1)
		go func() { defer wg.Done(); p.RaiseHand(ctx) }()
	}
	wg.Wait()
	// Every hands event extends the previous one: the queue only grows at
	// its end while hands go up.
	var last []string
	for len(last) < len(people) {
		ev := waitEvent(t, org, "hands", func(m proto.Message) bool { return m.Type == proto.TypeHands })
		if !slices.Equal(ev.Hands[:min(len(last), len(ev.Hands))], last) {
			t.Fatalf("hands went from %v to %v: not a queue", last, ev.Hands)
		}
		last = ev.Hands
	}
	if len(last) != len(people) {
		t.Fatalf("queue %v", last)
	}
	first := last[0]
	var speaker *client.Client
	for _, p := range people {
		if p.Self().ID == first {
			speaker = p
		}
	}
	// Someone lowers a hand: out of the queue.
	lowered := people[0]
	if lowered == speaker {
		lowered = people[1]
	}
	if err := lowered.LowerHand(ctx); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, org, "hands after a lowered hand", func(m proto.Message) bool { return m.Type == proto.TypeHands })
	if slices.Contains(ev.Hands, lowered.Self().ID) || len(ev.Hands) != len(people)-1 {
		t.Errorf("after %s lowered: %v", lowered.Self().ID, ev.Hands)
	}
	if err := speaker.Publish(client.NewToneSource([]byte("sp"), 30)); err != nil {
		t.Fatal(err)
	}
	if err := org.GrantNext(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, org, "floor to the first hand", func(m proto.Message) bool {
		return m.Type == proto.TypeFloor && len(m.Floor) == 1 && m.Floor[0] == first
	})
	ev = waitEvent(t, org, "hands without the speaker", func(m proto.Message) bool { return m.Type == proto.TypeHands })
	if slices.Contains(ev.Hands, first) {
		t.Errorf("the floor holder is still in the queue: %v", ev.Hands)
	}
	listener := people[len(people)-1]
	if listener == speaker {
		listener = people[len(people)-2]
	}
	testkitEventuallyHears(t, listener, speaker)
	// "I'm done": the holder gives the floor back.
	if err := speaker.PTTOff(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, org, "floor empty", func(m proto.Message) bool { return m.Type == proto.TypeFloor && len(m.Floor) == 0 })
	ts.assertSilent(t, "after giving the floor back", speaker.Self().Source, listener)
}

func testkitEventuallyHears(t *testing.T, l, speaker *client.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for heard(l, speaker.Self().Source) < 20 {
		if time.Now().After(deadline) {
			t.Fatal("the listener does not hear the floor holder")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Whoever opens an ad-hoc room is its organizer for its life, and comes
// back as such with the secret it was given; the next ones are not.
func TestAdhocOpenerIsOrganizer(t *testing.T) {
	ts := startServer(t)
	opener := ts.dial()
	j, err := opener.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "pop-up", Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if !j.Self.Organizer || j.OrganizerSecret == "" {
		t.Fatalf("the opener: organizer %v, secret %q", j.Self.Organizer, j.OrganizerSecret)
	}
	guest := ts.join("pop-up", "guest", "")
	if guest.Self().Organizer || guest.Joined().OrganizerSecret != "" {
		t.Errorf("the second joiner is organizer (%v) or got the secret", guest.Self().Organizer)
	}
	ctx := testCtx(t, 10*time.Second)
	if err := opener.Mute(ctx, guest.Self().ID); err != nil {
		t.Errorf("the opener mutes a guest: %v", err)
	}
	if err := guest.Kick(ctx, opener.Self().ID); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("the guest kicks the opener: %v, want not_allowed", err)
	}
	opener.Close()
	back := ts.joinAs(client.JoinRequest{Room: "pop-up", Name: "first again", Secret: j.OrganizerSecret})
	if !back.Self().Organizer {
		t.Error("the opener came back without its rights")
	}
	if err := back.Kick(ctx, guest.Self().ID); err != nil {
		t.Errorf("the returning opener kicks: %v", err)
	}
}

// An organizer mutes everyone else at once.
func TestMuteAll(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "hush"}).OrganizerSecret
	org := ts.joinAs(client.JoinRequest{Room: "hush", Name: "org", Secret: secret})
	var others []*client.Client
	for i := range 3 {
		others = append(others, ts.join("hush", fmt.Sprintf("o%d", i), ""))
	}
	if err := others[0].MuteAll(context.Background()); errCode(err) != proto.CodeNotAllowed {
		t.Errorf("mute_all by a participant: %v", err)
	}
	if err := org.MuteAll(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, o := range others {
		waitEvent(t, o, "muted", func(m proto.Message) bool {
			return m.Type == proto.TypeMuted && m.Participant.ID == o.Self().ID && m.Participant.Muted
		})
		if err := o.Unmute(testCtx(t, 5*time.Second), ""); errCode(err) != proto.CodeNotAllowed {
			t.Errorf("self-unmute after mute_all: %v, want not_allowed", err)
		}
	}
	if org.Self().Muted {
		t.Error("mute_all muted the organizer too")
	}
}
