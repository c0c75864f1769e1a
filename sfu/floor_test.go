package sfu

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// The floor goes only to a participant whose media connection is up.
func TestFloorNeedsConnectedMedia(t *testing.T) {
	e := newTestEngine(t, 3)
	room := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	p, _, err := room.Join(ParticipantConfig{ID: "silent"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Leave)
	for _, preempt := range []bool{false, true} {
		if err := room.RequestFloor(p, preempt); !errors.Is(err, ErrNotConnected) {
			t.Errorf("RequestFloor (preempt %v) before the media connection: %v, want ErrNotConnected", preempt, err)
		}
	}
	if f := room.Floor(); len(f) != 0 {
		t.Errorf("floor %v", f)
	}
}

// Floor rules, without media: the participants are marked connected.
func TestFloorRules(t *testing.T) {
	e := newTestEngine(t, 3)
	obs := &recorder{}
	room := e.NewRoom(RoomSettings{Mode: ModeFloor, MaxSpeakers: 2}, obs)
	ps := map[string]*Participant{}
	for _, id := range []string{"a", "b", "c", "d"} {
		p, _, err := room.Join(ParticipantConfig{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		p.connected.Store(true)
		ps[id] = p
		t.Cleanup(p.Leave)
	}
	type step struct {
		op      string // request, preempt, release, configure, mute, unmute
		id      string
		mode    Mode
		max     int
		err     error
		floor   []string
		slotsOf map[string]int // expected slot per participant (-1 none)
	}
	steps := []step{
		{op: "request", id: "a", floor: []string{"a"}, slotsOf: map[string]int{"a": 0}},
		{op: "request", id: "a", floor: []string{"a"}}, // again: no-op
		{op: "request", id: "b", floor: []string{"a", "b"}, slotsOf: map[string]int{"b": 1}},
		{op: "request", id: "c", err: ErrFloorBusy, floor: []string{"a", "b"}, slotsOf: map[string]int{"c": -1}},
		{op: "preempt", id: "c", floor: []string{"b", "c"}, slotsOf: map[string]int{"a": -1, "c": 0}},
		{op: "release", id: "b", floor: []string{"c"}, slotsOf: map[string]int{"b": -1}},
		{op: "release", id: "b", floor: []string{"c"}},                               // not holding
		{op: "mute", id: "c", floor: []string{"c"}, slotsOf: map[string]int{"c": 0}}, // keeps floor and slot
		{op: "request", id: "d", floor: []string{"c", "d"}, slotsOf: map[string]int{"d": 1}},
		{op: "configure", mode: ModeFloor, max: 1, floor: []string{"d"}, slotsOf: map[string]int{"c": -1, "d": 1}},
		{op: "clear", floor: []string{}, slotsOf: map[string]int{"d": -1}},
		{op: "request", id: "a", floor: []string{"a"}, slotsOf: map[string]int{"a": 0}},
		{op: "configure", mode: ModeOpen, floor: []string{}, slotsOf: map[string]int{"a": -1}},
		{op: "request", id: "b", floor: []string{}, slotsOf: map[string]int{"b": -1}}, // open: no-op
	}
	for i, s := range steps {
		var err error
		switch s.op {
		case "request":
			err = room.RequestFloor(ps[s.id], false)
		case "preempt":
			err = room.RequestFloor(ps[s.id], true)
		case "release":
			room.ReleaseFloor(ps[s.id])
		case "configure":
			room.Configure(RoomSettings{Mode: s.mode, MaxSpeakers: s.max})
		case "clear":
			room.ClearFloor()
		case "mute":
			room.SetMuted(ps[s.id], true)
		}
		if !errors.Is(err, s.err) {
			t.Errorf("step %d (%s %s): err %v, want %v", i, s.op, s.id, err, s.err)
		}
		if got := room.Floor(); !slices.Equal(got, s.floor) {
			t.Errorf("step %d (%s %s): floor %v, want %v", i, s.op, s.id, got, s.floor)
		}
		for id, want := range s.slotsOf {
			if got := ps[id].slot(); got != want {
				t.Errorf("step %d (%s %s): %s holds slot %d, want %d", i, s.op, s.id, id, got, want)
			}
		}
	}
	// Every floor change was reported, ending with the empty floor, and
	// every slot change once (a preempted slot goes straight to the new
	// holder).
	var floors [][]string
	var slots []string
	for _, ev := range obs.all() {
		switch ev.kind {
		case "floor":
			floors = append(floors, ev.holders)
		case "slot":
			slots = append(slots, fmt.Sprintf("%d%s", ev.slot, ev.id))
		}
	}
	if want := []string{"0a", "1b", "0c", "1", "1d", "0", "1", "0a", "0"}; !slices.Equal(slots, want) {
		t.Errorf("SlotChanged events %v, want %v", slots, want)
	}
	if len(floors) != 9 || len(floors[len(floors)-1]) != 0 {
		t.Errorf("FloorChanged events: %v", floors)
	}
	other := e.NewRoom(RoomSettings{Mode: ModeFloor}, nil)
	if err := other.RequestFloor(ps["a"], false); !errors.Is(err, ErrNotInRoom) {
		t.Errorf("RequestFloor in another room = %v", err)
	}
}
