package signaling_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"palabre/client"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// joinOnly dials and joins without waiting for the media (quicker: the
// presence tests are about signaling).
func (ts *testServer) joinOnly(room, name string) *client.Client {
	ts.t.Helper()
	c := ts.dial()
	if _, err := c.Join(testCtx(ts.t, 15*time.Second), client.JoinRequest{Room: room, Name: name}); err != nil {
		ts.t.Fatalf("%s joins %s: %v", name, room, err)
	}
	return c
}

// presences collects c's presence batches until done says it has what
// it waits for, or d passes; then for another quiet period, so that a
// batch too many is seen.
func presences(t *testing.T, c *client.Client, d, quiet time.Duration, done func([]proto.Presence) bool) []proto.Presence {
	t.Helper()
	var got []proto.Presence
	deadline := time.After(d)
	var settle <-chan time.Time
	for {
		select {
		case m, ok := <-c.Events():
			if !ok {
				t.Fatalf("connection ended: %v", c.Err())
			}
			if m.Type == proto.TypePresence && m.Presence != nil {
				got = append(got, *m.Presence)
				if settle == nil && done(got) {
					settle = time.After(quiet)
				}
			}
		case <-deadline:
			if settle == nil {
				t.Fatalf("after %v, %d presence batches: %+v", d, len(got), got)
			}
		case <-settle:
			return got
		}
	}
}

// waitCount drains c's events until a presence batch says the room has
// n members.
func waitCount(t *testing.T, c *client.Client, n int) {
	t.Helper()
	waitEvent(t, c, fmt.Sprintf("a count of %d", n), func(m proto.Message) bool {
		return m.Type == proto.TypePresence && m.Presence.Count == n
	})
}

func TestPresenceBatches(t *testing.T) {
	cases := []struct {
		name     string
		settings signaling.PresenceSettings
		before   int  // members besides the observer before the burst
		listed   bool // the burst's joins are listed (a small room)
	}{
		// Intervals long enough for five joins under -race on a busy
		// machine.
		{"small room: a burst of joins is one batch", signaling.PresenceSettings{Interval: 8 * time.Second}, 0, true},
		{"large room: a burst of joins is one count", signaling.PresenceSettings{Interval: 300 * time.Millisecond, CountInterval: 8 * time.Second, LargeRoom: 3}, 4, false},
	}
	const burst = 5
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			ts.Signaling.SetPresence(tc.settings)
			obs := ts.joinOnly("hall", "Observer")
			waitCount(t, obs, 1)
			for i := range tc.before {
				ts.joinOnly("hall", fmt.Sprintf("Early %d", i))
			}
			if tc.before > 0 {
				waitCount(t, obs, 1+tc.before)
			}

			// The joins: in one interval (the small room sent the
			// observer's own join at once, then waits an interval).
			var ids []string
			var cs []*client.Client
			for i := range burst {
				c := ts.joinOnly("hall", fmt.Sprintf("Burst %d", i))
				ids, cs = append(ids, c.Self().ID), append(cs, c)
			}
			want := 1 + tc.before + burst
			got := presences(t, obs, 20*time.Second, time.Second, func(ps []proto.Presence) bool { return ps[len(ps)-1].Count == want })
			if len(got) != 1 {
				t.Fatalf("%d joins made %d presence batches, want 1: %+v", burst, len(got), got)
			}
			p := got[0]
			var listed []string
			for _, q := range p.Joined {
				listed = append(listed, q.ID)
			}
			if tc.listed && !slices.Equal(listed, ids) {
				t.Errorf("batch lists %v, want the burst %v in join order", listed, ids)
			}
			if !tc.listed && len(listed) != 0 {
				t.Errorf("a large room's batch lists ordinary newcomers: %+v", p.Joined)
			}
			if p.Paged == tc.listed {
				t.Errorf("paged %v in a room of %d", p.Paged, want)
			}

			// The same burst leaving: one batch, every departure in it.
			for _, c := range cs {
				c.Leave(testCtx(t, 5*time.Second))
			}
			got = presences(t, obs, 20*time.Second, time.Second, func(ps []proto.Presence) bool { return ps[len(ps)-1].Count == want-burst })
			if len(got) != 1 {
				t.Fatalf("%d departures made %d presence batches, want 1: %+v", burst, len(got), got)
			}
			for _, id := range ids {
				if d, ok := got[0].Departure(id); !ok || d.Reason != "left" {
					t.Errorf("departure of %s: %+v %v, want reason left", id, d, ok)
				}
			}
		})
	}
}

// In a small room a pending batch goes before any other event: a
// newcomer's mute never arrives before its join.
func TestPresenceBeforeEvents(t *testing.T) {
	ts := startServer(t)
	ts.Signaling.SetPresence(signaling.PresenceSettings{Interval: 5 * time.Second})
	obs := ts.joinOnly("hall", "Observer")
	waitCount(t, obs, 1)
	late := ts.joinOnly("hall", "Late") // in the interval: batched
	if err := late.Mute(testCtx(t, 5*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	m := waitEvent(t, obs, "the join, then the mute", func(m proto.Message) bool {
		return m.Type == proto.TypePresence || m.Type == proto.TypeMuted
	})
	if m.Type != proto.TypePresence || m.Presence.Arrival(late.Self().ID) == nil {
		t.Fatalf("first event %s %+v, want the presence with Late", m.Type, m.Presence)
	}
	waitEvent(t, obs, "the mute", func(m proto.Message) bool {
		return m.Type == proto.TypeMuted && m.Participant.ID == late.Self().ID && m.Participant.Muted
	})
}

// pageAll lists the whole room with pages of limit, optionally only the
// names matching query, and returns the names in order.
func pageAll(t *testing.T, c *client.Client, query string, limit int) (names []string, pages int) {
	t.Helper()
	cursor := ""
	for {
		reply, err := c.List(testCtx(t, 5*time.Second), client.ListRequest{Cursor: cursor, Query: query, Limit: limit})
		if errCode(err) == proto.CodeRateLimited {
			// As a client should: wait as told, ask again.
			time.Sleep(time.Duration(reply.RetryAfter) * time.Second)
			continue
		}
		if err != nil {
			t.Fatalf("list after %q: %v", cursor, err)
		}
		if reply.Type != proto.TypePage || len(reply.Participants) > limit {
			t.Fatalf("list reply %s with %d participants, limit %d", reply.Type, len(reply.Participants), limit)
		}
		pages++
		for _, p := range reply.Participants {
			names = append(names, p.Name)
		}
		if reply.Cursor == "" {
			return names, pages
		}
		cursor = reply.Cursor
	}
}

func TestLargeRoomPaging(t *testing.T) {
	ts := startServer(t)
	ts.Signaling.SetPresence(signaling.PresenceSettings{Interval: 100 * time.Millisecond, CountInterval: 200 * time.Millisecond, LargeRoom: 4, FirstPage: 2})
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "hall"}).OrganizerSecret
	org := ts.dial()
	if _, err := org.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "hall", Name: "Organizer", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	names := []string{"Ana Lima", "Bob", "anabel", "Chris", "Dana", "Eve"}
	members := map[string]*client.Client{}
	for _, n := range names {
		members[n] = ts.joinOnly("hall", n)
	}
	newcomer := ts.dial()
	joined, err := newcomer.Join(testCtx(t, 10*time.Second), client.JoinRequest{Room: "hall", Name: "Newcomer"})
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]string{"Organizer"}, names...), "Newcomer")

	t.Run("joined carries the stage, a first page and the count", func(t *testing.T) {
		var got []string
		for _, p := range joined.Participants {
			got = append(got, p.Name)
		}
		if !joined.Paged || joined.Count != len(all) || joined.Cursor == "" {
			t.Errorf("joined paged %v count %d cursor %q, want paged, %d, a cursor", joined.Paged, joined.Count, joined.Cursor, len(all))
		}
		if want := []string{"Organizer", "Ana Lima", "Bob"}; !slices.Equal(got, want) {
			t.Errorf("first page %v, want %v", got, want)
		}
		reply, err := newcomer.List(testCtx(t, 5*time.Second), client.ListRequest{Cursor: joined.Cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(reply.Participants) != 2 || reply.Participants[0].Name != "anabel" {
			t.Errorf("page after the first: %+v", reply.Participants)
		}
	})
	t.Run("pages list everyone once in join order", func(t *testing.T) {
		for _, limit := range []int{1, 3, proto.MaxPageSize} {
			got, pages := pageAll(t, newcomer, "", limit)
			if !slices.Equal(got, all) {
				t.Errorf("limit %d: %v, want %v", limit, got, all)
			}
			if want := (len(all) + limit - 1) / limit; pages != want {
				t.Errorf("limit %d: %d pages, want %d", limit, pages, want)
			}
		}
	})
	t.Run("search ignores case and pages", func(t *testing.T) {
		cases := []struct {
			query string
			limit int
			want  []string
		}{
			{"ana", 2, []string{"Ana Lima", "anabel", "Dana"}},
			{"ANA", proto.MaxPageSize, []string{"Ana Lima", "anabel", "Dana"}},
			{"b", 1, []string{"Bob", "anabel"}},
			{"nobody", 5, nil},
		}
		for _, tc := range cases {
			got, _ := pageAll(t, newcomer, tc.query, tc.limit)
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q (limit %d): %v, want %v", tc.query, tc.limit, got, tc.want)
			}
		}
	})
	t.Run("the stage changes reach everyone, the rest only the count", func(t *testing.T) {
		chris := members["Chris"]
		if err := chris.RaiseHand(testCtx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, chris, "Chris's own hand event", func(m proto.Message) bool {
			return m.Type == proto.TypeHand && m.Participant.ID == chris.Self().ID && m.Participant.Hand
		})
		ev := waitEvent(t, newcomer, "Chris's raised hand in a batch", func(m proto.Message) bool {
			if m.Type != proto.TypePresence {
				return false
			}
			i := slices.IndexFunc(m.Presence.Changed, func(p proto.Participant) bool { return p.ID == chris.Self().ID })
			return i >= 0 && m.Presence.Changed[i].Hand
		})
		if !ev.Presence.Paged {
			t.Errorf("batch of a large room not paged: %+v", ev.Presence)
		}
		waitEvent(t, newcomer, "the hands queue", func(m proto.Message) bool {
			return m.Type == proto.TypeHands && slices.Equal(m.Hands, []string{chris.Self().ID})
		})
		// Bob mutes himself: not on the stage, nobody else is told.
		bob := members["Bob"]
		if err := bob.Mute(testCtx(t, 5*time.Second), ""); err != nil {
			t.Fatal(err)
		}
		quiet, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if m, err := newcomer.WaitEvent(quiet, func(m proto.Message) bool {
			return (m.Type == proto.TypeMuted && m.Participant.ID == bob.Self().ID) ||
				(m.Type == proto.TypePresence && slices.ContainsFunc(m.Presence.Changed, func(p proto.Participant) bool { return p.ID == bob.Self().ID }))
		}); err == nil {
			t.Errorf("an ordinary member's mute reached the room: %+v", m)
		}
		if !bob.Self().Muted {
			t.Error("Bob was not told he is muted")
		}
	})
	t.Run("departures are listed", func(t *testing.T) {
		eve := members["Eve"]
		id := eve.Self().ID
		eve.Leave(testCtx(t, 5*time.Second))
		waitEvent(t, newcomer, "Eve's departure", func(m proto.Message) bool {
			_, left := m.Presence.Departure(id)
			return m.Type == proto.TypePresence && left && m.Presence.Count == len(all)-1
		})
	})
	t.Run("small again: the whole list", func(t *testing.T) {
		for _, n := range []string{"Ana Lima", "Bob", "anabel", "Chris", "Dana"} {
			members[n].Leave(testCtx(t, 5*time.Second))
		}
		// 2 left (Organizer, Newcomer): below 3/4 of 4.
		ev := waitEvent(t, newcomer, "the whole list", func(m proto.Message) bool {
			return m.Type == proto.TypePresence && m.Presence.Full
		})
		var got []string
		for _, p := range ev.Presence.Joined {
			got = append(got, p.Name)
		}
		if ev.Presence.Paged || !slices.Equal(got, []string{"Organizer", "Newcomer"}) || ev.Presence.Count != 2 {
			t.Errorf("full list %v (paged %v, count %d)", got, ev.Presence.Paged, ev.Presence.Count)
		}
	})
}

func TestListBadInput(t *testing.T) {
	ts := startServer(t)
	ts.Signaling.SetPresence(signaling.PresenceSettings{Interval: 50 * time.Millisecond})
	c := ts.joinOnly("hall", "Asker")
	cases := []struct {
		name string
		req  client.ListRequest
	}{
		{"page too big", client.ListRequest{Limit: proto.MaxPageSize + 1}},
		{"negative page", client.ListRequest{Limit: -1}},
		{"cursor not a number", client.ListRequest{Cursor: "abc"}},
		{"cursor with a leading zero", client.ListRequest{Cursor: "007"}},
		{"cursor too long", client.ListRequest{Cursor: strings.Repeat("9", proto.MaxCursorLen+1)}},
		{"cursor out of range", client.ListRequest{Cursor: "99999999999999999999"}},
		{"query with a control character", client.ListRequest{Query: "a\x01"}},
		{"query too long", client.ListRequest{Query: strings.Repeat("é", proto.MaxQueryRunes+1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.List(testCtx(t, 5*time.Second), tc.req)
			if errCode(err) != proto.CodeBadMessage {
				t.Errorf("got %v, want bad_message", err)
			}
		})
	}
	t.Run("a cursor past the end is an empty page", func(t *testing.T) {
		reply, err := c.List(testCtx(t, 5*time.Second), client.ListRequest{Cursor: "123456"})
		if err != nil || len(reply.Participants) != 0 || reply.Cursor != "" || reply.Count != 1 {
			t.Errorf("got %+v %v", reply, err)
		}
	})
	t.Run("a flood of list requests is refused, nothing else", func(t *testing.T) {
		time.Sleep(3 * time.Second) // the limiter refills (4 a second, bursts of 10)
		served, limited := 0, 0
		for range 30 {
			reply, err := c.List(testCtx(t, 5*time.Second), client.ListRequest{})
			switch {
			case err == nil:
				served++
			case errCode(err) == proto.CodeRateLimited && reply.RetryAfter > 0:
				limited++
			default:
				t.Fatalf("list: %v", err)
			}
		}
		if served < 10 || served > 15 || limited != 30-served {
			t.Errorf("%d served, %d rate limited, want about 10 served and the rest limited", served, limited)
		}
		// The session goes on: a ping, a presence batch, a list later.
		if err := c.Ping(testCtx(t, 5*time.Second)); err != nil {
			t.Fatalf("session after the flood: %v", err)
		}
		other := ts.joinOnly("hall", "Other")
		waitEvent(t, c, "the next join", func(m proto.Message) bool {
			return m.Type == proto.TypePresence && m.Presence.Arrival(other.Self().ID) != nil
		})
		time.Sleep(time.Second)
		if _, err := c.List(testCtx(t, 5*time.Second), client.ListRequest{}); err != nil {
			t.Errorf("list a second later: %v", err)
		}
	})
}
