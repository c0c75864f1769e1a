package cluster

import (
	"testing"
	"time"
)

func TestLiveTable(t *testing.T) {
	lt := liveTable{}
	lt.apply(liveMsg{Node: "a", Seq: 2, Room: "r", Participants: 3, Since: 10})
	if lt.apply(liveMsg{Node: "a", Seq: 1, Room: "r", Participants: 0}) {
		t.Error("an older removal was applied")
	}
	if h := lt.holders("r"); len(h) != 1 || h[0].participants != 3 {
		t.Fatalf("holders = %+v", h)
	}
	lt.apply(liveMsg{Node: "a", Seq: 3, Room: "r"})
	if h := lt.holders("r"); len(h) != 0 {
		t.Fatalf("holders after removal = %+v", h)
	}
	if lt.apply(liveMsg{Node: "a", Seq: 2, Room: "r", Participants: 3}) {
		t.Error("a stale announcement revived a removed room")
	}

	// A full list replaces what the node announced before it.
	lt.apply(liveMsg{Node: "b", Seq: 5, Room: "x", Participants: 1})
	lt.apply(liveMsg{Node: "b", Seq: 9, Room: "y", Participants: 1})
	lt.replace("b", 8, []liveMsg{{Node: "b", Seq: 7, Room: "z", Participants: 2}})
	if len(lt.holders("x")) != 0 {
		t.Error("x, absent from b's list, is still live")
	}
	if len(lt.holders("y")) != 1 {
		t.Error("y, announced after b's list, was dropped")
	}
	if len(lt.holders("z")) != 1 {
		t.Error("z from b's list is missing")
	}
	lt.forget("b")
	if len(lt.holders("y")) != 0 {
		t.Error("forgotten node still holds y")
	}
}

func TestLiveTablePurge(t *testing.T) {
	lt := liveTable{}
	lt.apply(liveMsg{Node: "a", Seq: 1, Room: "gone"})
	lt.apply(liveMsg{Node: "a", Seq: 2, Room: "here", Participants: 1})
	lt.purge(time.Now().Add(time.Second))
	if _, ok := lt["a"]["gone"]; ok {
		t.Error("old removal kept")
	}
	if _, ok := lt["a"]["here"]; !ok {
		t.Error("live room purged")
	}
}

func TestLiveMsgValid(t *testing.T) {
	long := string(make([]byte, 65))
	cases := []struct {
		m    liveMsg
		want bool
	}{
		{liveMsg{Node: "a", Room: "r", Participants: 3}, true},
		{liveMsg{Node: "a", Room: "r"}, true},
		{liveMsg{Room: "r"}, false},
		{liveMsg{Node: "a"}, false},
		{liveMsg{Node: long, Room: "r"}, false},
		{liveMsg{Node: "a", Room: long}, false},
		{liveMsg{Node: "a", Room: "r", Participants: -1}, false},
	}
	for i, tc := range cases {
		if got := tc.m.valid(); got != tc.want {
			t.Errorf("case %d: valid = %v, want %v", i, got, tc.want)
		}
	}
}
