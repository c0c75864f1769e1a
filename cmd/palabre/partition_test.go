//go:build linux

package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"palabre/signaling"
	"palabre/signaling/proto"
)

// partitionHold is how long the cluster stays split at least. It is
// longer than memberlist's GossipToTheDeadTime (30 s in the LAN
// configuration), after which each side has forgotten the other and
// sends it nothing: healing then depends on the nodes trying their
// failed peers again, as a real partition of minutes would.
const partitionHold = 40 * time.Second

// convergeWithin bounds each measured time after the network heals.
const convergeWithin = 30 * time.Second

// TestPartition runs a 3-node cluster of real palabre processes, each in
// its own network namespace on a bridge (netns_test.go), splits it
// {n1, n2} | {n3} by taking n3 off the bridge, changes rooms on both
// sides (creations, the same name created on both sides with different
// settings, edits, deletions, the same room live on both sides), heals
// the network and measures how long it takes until every node has the
// same definitions and no room is live on two nodes.
//
// The test talks to each node from inside the node's namespace (a socket
// made on a thread that entered it, see dialIn), so the split never cuts
// the test off; participants are client.Members in helper processes run
// with ip netns exec, which follow redirects as browsers do.
func TestPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes in network namespaces and holds a partition for 40 s")
	}
	needNetns(t)
	tn := newTestNet(t, 3)

	dir := t.TempDir()
	key := filepath.Join(dir, "cluster.key")
	if code := run([]string{"cluster", "keygen", "--out", key}, nil, new(strings.Builder), new(strings.Builder)); code != 0 {
		t.Fatal("cluster keygen failed")
	}
	var tokenOut strings.Builder
	if code := run([]string{"admin", "token", "--data", dir}, nil, &tokenOut, new(strings.Builder)); code != 0 {
		t.Fatal("admin token failed")
	}
	hashes, err := os.ReadFile(filepath.Join(dir, signaling.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	var n [4]*nsNode // 1-based
	for i := 1; i <= 3; i++ {
		n[i] = &nsNode{
			process: process{id: fmt.Sprintf("n%d", i)}, t: t, net: tn, i: i, data: t.TempDir(), key: key,
			token: strings.TrimSpace(tokenOut.String()), http: tn.httpClient(i),
		}
		if i > 1 {
			n[i].join = []string{n[1].gossipAddr()}
		}
		if err := os.WriteFile(filepath.Join(n[i].data, signaling.AdminTokenFile), hashes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all := []*nsNode{n[1], n[2], n[3]}
	for _, nd := range all {
		nd.start()
	}
	for _, nd := range all {
		within(t, 15*time.Second, "the cluster forms on "+nd.id, func() error { return nd.sees("n1", "n2", "n3") })
	}

	// Rooms from before the split.
	for k := range 20 {
		if _, err := n[1].create(signaling.CreateRoomRequest{Name: fmt.Sprintf("base-%02d", k)}); err != nil {
			t.Fatal(err)
		}
	}
	var want map[string]bool // the room names every node must end with
	within(t, 5*time.Second, "the 20 rooms on every node", func() error {
		lists, err := roomLists(all)
		if err != nil {
			return err
		}
		if err := sameDefinitions(lists); err != nil {
			return err
		}
		if len(lists[0]) < 20 {
			return fmt.Errorf("%d rooms", len(lists[0]))
		}
		want = map[string]bool{}
		for name := range lists[0] {
			want[name] = true
		}
		return nil
	})

	// The split.
	cutAt := time.Now()
	if err := tn.cut(3); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tn.restore(3) }) // processes die first; harmless
	within(t, 20*time.Second, "n1 and n2 see n3 gone", func() error {
		return errors.Join(n[1].sees("n1", "n2"), n[2].sees("n1", "n2"))
	})
	within(t, 20*time.Second, "n3 sees n1 and n2 gone", func() error { return n[3].sees("n3") })
	detected := time.Since(cutAt)
	t.Logf("split {n1,n2} | {n3}: each side sees the other dead %v after the cut", detected.Round(10*time.Millisecond))

	// Changes on both sides.
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range 20 {
		name := fmt.Sprintf("a-%02d", k)
		_, err := n[1+k%2].create(signaling.CreateRoomRequest{Name: name})
		mustDo(err)
		want[name] = true
		name = fmt.Sprintf("b-%02d", k)
		_, err = n[3].create(signaling.CreateRoomRequest{Name: name})
		mustDo(err)
		want[name] = true
	}
	// The same names created on both sides with different settings; n3's
	// are written later, so they win everywhere.
	twinSecrets := map[string][2]string{} // room → {side A's secret, n3's}
	for k := range 4 {
		name := fmt.Sprintf("twin-%d", k)
		sa, err := n[1].create(signaling.CreateRoomRequest{Name: name, Mode: "ptt", MaxParticipants: 10})
		mustDo(err)
		time.Sleep(5 * time.Millisecond)
		sb, err := n[3].create(signaling.CreateRoomRequest{Name: name, Mode: "open", MaxParticipants: 20})
		mustDo(err)
		twinSecrets[name] = [2]string{sa, sb}
		want[name] = true
	}
	patch := func(nd *nsNode, room string, change signaling.UpdateRoomRequest) {
		t.Helper()
		mustDo(nd.admin(http.MethodPatch, "/api/v1/rooms/"+room, change, http.StatusOK, nil))
		time.Sleep(5 * time.Millisecond) // the next write, on the other side, is later
	}
	del := func(nd *nsNode, room string) {
		t.Helper()
		mustDo(nd.admin(http.MethodDelete, "/api/v1/rooms/"+room, nil, http.StatusNoContent, nil))
		delete(want, room)
		time.Sleep(5 * time.Millisecond)
	}
	intp := func(v int) *int { return &v }
	patch(n[2], "base-02", signaling.UpdateRoomRequest{Mode: "ptt"})               // one side
	patch(n[1], "base-03", signaling.UpdateRoomRequest{MaxParticipants: intp(30)}) // both sides,
	patch(n[3], "base-03", signaling.UpdateRoomRequest{MaxParticipants: intp(33)}) // n3's later
	del(n[2], "base-04")                                                           // deleted on one side
	patch(n[3], "base-05", signaling.UpdateRoomRequest{MaxParticipants: intp(55)}) // edited on one side,
	del(n[1], "base-05")                                                           // deleted later on the other
	del(n[3], "base-06")                                                           // deleted on one side,
	patch(n[2], "base-06", signaling.UpdateRoomRequest{MaxParticipants: intp(66)}) // edited later on the other:
	want["base-06"] = true                                                         // last writer wins, it is back
	checkValues := func(lists []map[string]signaling.RoomStatus) error {
		r := lists[0]
		var errs []error
		expect := func(room, what string, ok bool) {
			if !ok {
				errs = append(errs, fmt.Errorf("%s: want %s, have %+v", room, what, r[room].Room))
			}
		}
		expect("base-02", "mode ptt", r["base-02"].Room.Mode == "ptt")
		expect("base-03", "max 33", r["base-03"].Room.MaxParticipants == 33)
		expect("base-06", "max 66", r["base-06"].Room.MaxParticipants == 66)
		for name := range twinSecrets {
			expect(name, "n3's open/20", r[name].Room.Mode == "open" && r[name].Room.MaxParticipants == 20)
		}
		return errors.Join(errs...)
	}

	// The same rooms live on both sides: one from before the split and
	// one of the twins, preferably placed on n1 by side A.
	sideA, err := n[1].rooms()
	mustDo(err)
	pick := func(prefix string) string {
		var names []string
		for name := range sideA {
			if strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			if sideA[name].Node == "n1" {
				return name
			}
		}
		return names[0]
	}
	shared, twin := pick("base-1"), pick("twin-")
	holderA := n[map[string]int{"n1": 1, "n2": 2}[sideA[shared].Node]]
	twinA := n[map[string]int{"n1": 1, "n2": 2}[sideA[twin].Node]]
	t.Logf("live on both sides: %s (side A on %s, 2 participants; n3: 1) and %s (side A on %s, 1 participant; n3: 2)",
		shared, holderA.id, twin, twinA.id)
	pa := startParticipants(t, tn, 1, n[1].url(), []participantSpec{
		{Room: shared, Name: "a-speaker", Speak: true},
		{Room: shared, Name: "a-listener"},
		{Room: twin, Name: "a-twin"},
		{Room: "a-00", Name: "a-solo"},
	})
	pb := startParticipants(t, tn, 3, n[3].url(), []participantSpec{
		{Room: shared, Name: "b-shared"},
		{Room: twin, Name: "b-speaker", Speak: true},
		{Room: twin, Name: "b-listener"},
		{Room: "b-00", Name: "b-solo"},
	})
	who := map[string]*participants{}
	for _, name := range []string{"a-speaker", "a-listener", "a-twin", "a-solo"} {
		who[name] = pa
	}
	for _, name := range []string{"b-shared", "b-speaker", "b-listener", "b-solo"} {
		who[name] = pb
	}
	state := func(name string) participantState { return who[name].get(name) }
	within(t, 60*time.Second, "every participant joined, the listeners hear", func() error {
		for name := range who {
			st := state(name)
			if st.URL == "" {
				return fmt.Errorf("%s not joined (%s)", name, st.Err)
			}
		}
		for _, name := range []string{"a-listener", "b-listener"} {
			if st := state(name); st.Packets < 20 {
				return fmt.Errorf("%s heard %d packets", name, st.Packets)
			}
		}
		return nil
	})
	liveCounts := func() (map[string][]string, error) {
		lists, err := roomLists(all)
		if err != nil {
			return nil, err
		}
		return liveOn(all, lists), nil
	}
	within(t, 10*time.Second, "both rooms live on two nodes", func() error {
		live, err := liveCounts()
		if err != nil {
			return err
		}
		want := map[string][]string{
			shared: {holderA.id + ":2", "n3:1"},
			twin:   {twinA.id + ":1", "n3:2"},
		}
		for room, w := range want {
			if !slices.Equal(live[room], w) {
				return fmt.Errorf("%s live on %v, want %v", room, live[room], w)
			}
		}
		return nil
	})
	for _, name := range []string{"a-speaker", "a-listener", "a-twin", "a-solo"} {
		if st := state(name); st.URL != n[1].url() && st.URL != n[2].url() {
			t.Fatalf("%s on %s during the split", name, st.URL)
		}
	}

	// The split lasts at least partitionHold.
	if d := partitionHold - time.Since(cutAt); d > 0 {
		t.Logf("holding the split %v more (%v in all)", d.Round(time.Second), partitionHold)
		time.Sleep(d)
	}

	// Heal, and measure.
	before := map[string]participantState{}
	for name := range who {
		before[name] = state(name)
	}
	healAt := time.Now()
	splitFor := healAt.Sub(cutAt)
	if err := tn.restore(3); err != nil {
		t.Fatal(err)
	}
	everyoneSeesAll := func() error {
		return errors.Join(n[1].sees("n1", "n2", "n3"), n[2].sees("n1", "n2", "n3"), n[3].sees("n1", "n2", "n3"))
	}
	converged := []*condition{
		{what: "all members alive", check: func([]map[string]signaling.RoomStatus) error { return everyoneSeesAll() }},
		{what: "definitions identical", check: func(lists []map[string]signaling.RoomStatus) error {
			return errors.Join(sameDefinitions(lists), sameNames(lists, want), checkValues(lists))
		}},
		{what: "placement agreed", check: func(lists []map[string]signaling.RoomStatus) error {
			return errors.Join(everyoneSeesAll(), samePlacement(lists))
		}},
		{what: "no room live on two nodes", check: func(lists []map[string]signaling.RoomStatus) error {
			return liveOnOne(liveOn(all, lists))
		}},
	}
	moved := &condition{what: "moved participants hear again", check: func([]map[string]signaling.RoomStatus) error {
		bs, at := state("b-shared"), state("a-twin")
		switch {
		case bs.URL != holderA.url() || at.URL != n[3].url():
			return fmt.Errorf("b-shared on %s, a-twin on %s", bs.URL, at.URL)
		case bs.Packets < before["b-shared"].Packets+20 || at.Packets < before["a-twin"].Packets+20:
			return fmt.Errorf("b-shared and a-twin moved, not heard yet")
		}
		return nil
	}}
	t.Logf("healed after a split of %v: %s", splitFor.Round(time.Second), measure(t, all, healAt, append(converged, moved)))

	// And it stays so: the final state, checked after a pause.
	time.Sleep(2 * time.Second)
	lists, err := roomLists(all)
	mustDo(err)
	mustDo(errors.Join(sameDefinitions(lists), sameNames(lists, want), checkValues(lists), samePlacement(lists)))
	live := liveOn(all, lists)
	mustDo(liveOnOne(live))
	if w := []string{holderA.id + ":3"}; !slices.Equal(live[shared], w) {
		t.Errorf("%s live on %v, want %v", shared, live[shared], w)
	}
	if w := []string{"n3:3"}; !slices.Equal(live[twin], w) {
		t.Errorf("%s live on %v, want %v", twin, live[twin], w)
	}
	for room, nd := range map[string]*nsNode{shared: holderA, twin: n[3]} {
		if lists[0][room].Node != nd.id {
			t.Errorf("%s placed on %s, lives on %s", room, lists[0][room].Node, nd.id)
		}
	}
	for name := range who {
		st := state(name)
		moved := name == "b-shared" || name == "a-twin"
		if st.Err != "" || (st.Reconnects != 0) != moved || (!moved && st.URL != before[name].URL) {
			t.Errorf("%s: %+v (before healing: %+v)", name, st, before[name])
		}
	}
	// The twins' organizer secrets: n3's work everywhere, side A's
	// nowhere. A malformed change answers 400 to the organizer (the
	// secret is checked first), 403 to anyone else, and changes nothing.
	for name, secrets := range twinSecrets {
		for _, nd := range all {
			for k, wantStatus := range []int{http.StatusForbidden, http.StatusBadRequest} {
				status, body, err := nd.call(http.MethodPatch, "/api/v1/rooms/"+name, secrets[k], "not json")
				if err != nil || status != wantStatus {
					t.Errorf("%s on %s with the secret from side %d: %d %s %v, want %d", name, nd.id, k+1, status, body, err, wantStatus)
				}
			}
		}
	}
	if t.Failed() {
		return
	}

	// A short split, healed as soon as both sides saw the other dead:
	// memberlist has not forgotten the dead nodes yet, a different path
	// from the long split's. The participants stay where they are (their
	// media and WebSockets outlive a few seconds of silence).
	cutAt = time.Now()
	mustDo(tn.cut(3))
	within(t, 20*time.Second, "the second split seen on both sides", func() error {
		return errors.Join(n[1].sees("n1", "n2"), n[2].sees("n1", "n2"), n[3].sees("n3"))
	})
	_, err = n[2].create(signaling.CreateRoomRequest{Name: "c-a"})
	mustDo(err)
	_, err = n[3].create(signaling.CreateRoomRequest{Name: "c-b"})
	mustDo(err)
	del(n[1], "b-01")
	want["c-a"], want["c-b"] = true, true
	healAt = time.Now()
	splitFor = healAt.Sub(cutAt)
	mustDo(tn.restore(3))
	t.Logf("healed after a split of %v: %s", splitFor.Round(100*time.Millisecond), measure(t, all, healAt, converged))
	lists, err = roomLists(all)
	mustDo(err)
	mustDo(errors.Join(sameDefinitions(lists), sameNames(lists, want), samePlacement(lists), liveOnOne(liveOn(all, lists))))
}

// condition is one thing measured after the network heals.
type condition struct {
	what  string
	check func(lists []map[string]signaling.RoomStatus) error // the nodes' room lists
	after time.Duration                                       // since healing, when it first held
	held  bool
}

// measure checks the conditions every 100 ms from healAt until each held
// once, and says when each did; it fails the test if one did not within
// convergeWithin.
func measure(t *testing.T, all []*nsNode, healAt time.Time, conds []*condition) string {
	t.Helper()
	for _, c := range conds {
		c.held = false
	}
	var lastErr error
	for {
		lists, err := roomLists(all)
		since := time.Since(healAt)
		if err == nil {
			for _, c := range conds {
				if c.held {
					continue
				}
				if err := c.check(lists); err != nil {
					lastErr = fmt.Errorf("%s: %w", c.what, err)
				} else {
					c.held, c.after = true, since
				}
			}
		} else {
			lastErr = err
		}
		var report []string
		done := true
		for _, c := range conds {
			if c.held {
				report = append(report, fmt.Sprintf("%s after %v", c.what, c.after.Round(10*time.Millisecond)))
			} else {
				done = false
				report = append(report, c.what+" not yet")
			}
		}
		if done {
			return strings.Join(report, ", ")
		}
		if since > convergeWithin {
			t.Fatalf("%v after healing: %s; %v", convergeWithin, strings.Join(report, ", "), lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// roomLists returns every node's room list, in the order of nodes.
func roomLists(nodes []*nsNode) ([]map[string]signaling.RoomStatus, error) {
	out := make([]map[string]signaling.RoomStatus, len(nodes))
	for k, nd := range nodes {
		var err error
		if out[k], err = nd.rooms(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameDefinitions checks that every node lists the same rooms with the
// same settings.
func sameDefinitions(lists []map[string]signaling.RoomStatus) error {
	defs := func(l map[string]signaling.RoomStatus) map[string]proto.RoomInfo {
		out := make(map[string]proto.RoomInfo, len(l))
		for name, st := range l {
			out[name] = st.Room
		}
		return out
	}
	first := defs(lists[0])
	for k, l := range lists[1:] {
		if d := defs(l); !maps.Equal(first, d) {
			return fmt.Errorf("n%d's definitions differ from n1's: %s", k+2, diffDefs(first, d))
		}
	}
	return nil
}

func diffDefs(a, b map[string]proto.RoomInfo) string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(a)) {
		if bi, ok := b[name]; !ok {
			out = append(out, "-"+name)
		} else if bi != a[name] {
			out = append(out, fmt.Sprintf("%s %+v vs %+v", name, a[name], bi))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[name]; !ok {
			out = append(out, "+"+name)
		}
	}
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("and %d more", len(out)-6))
	}
	return strings.Join(out, ", ")
}

// sameNames checks that the first list holds exactly the names of want.
func sameNames(lists []map[string]signaling.RoomStatus, want map[string]bool) error {
	got := slices.Sorted(maps.Keys(lists[0]))
	w := slices.Sorted(maps.Keys(want))
	if !slices.Equal(got, w) {
		return fmt.Errorf("rooms %v, want %v", got, w)
	}
	return nil
}

// samePlacement checks that every node places every room on the same node.
func samePlacement(lists []map[string]signaling.RoomStatus) error {
	for name, st := range lists[0] {
		for k, l := range lists[1:] {
			if l[name].Node != st.Node {
				return fmt.Errorf("%s: n1 places it on %s, n%d on %s", name, st.Node, k+2, l[name].Node)
			}
		}
	}
	return nil
}

// liveOn returns, for each room live somewhere, "node:participants" for
// every node it is live on, sorted (each node counts its own participants).
func liveOn(nodes []*nsNode, lists []map[string]signaling.RoomStatus) map[string][]string {
	out := map[string][]string{}
	for k, l := range lists {
		for name, st := range l {
			if st.Participants > 0 {
				out[name] = append(out[name], fmt.Sprintf("%s:%d", nodes[k].id, st.Participants))
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// liveOnOne checks that no room is live on two nodes.
func liveOnOne(live map[string][]string) error {
	var errs []error
	for room, on := range live {
		if len(on) > 1 {
			errs = append(errs, fmt.Errorf("%s live on %v", room, on))
		}
	}
	return errors.Join(errs...)
}
