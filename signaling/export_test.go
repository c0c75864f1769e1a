package signaling

import (
	"palabre/rooms"
)

// This file lets the external tests (package signaling_test, which run the
// production wiring from package server) reach what they check inside the
// server. It is compiled into tests only.

// SetMuteDecidedHook runs fn between a mute's decision and its effect on
// the media plane (the mute race test).
func (s *Server) SetMuteDecidedHook(fn func(participantID string, muted bool)) {
	hook := func(se *session, muted bool) { fn(se.info.ID, muted) }
	s.hooks.muteDecided.Store(&hook)
}

// MuteState reports, for a participant of a live room: whether the media
// plane drops its packets, whether the room was told it is muted, and
// whether an organizer muted it. ok is false if it is not there.
func (s *Server) MuteState(room, id string) (media, told, byOrganizer, ok bool) {
	lr := s.lookupLive(room)
	if lr == nil {
		return
	}
	se := lr.member(id)
	if se == nil {
		return
	}
	lr.mu.Lock()
	told, byOrganizer = se.info.Muted, se.mutedByOrganizer
	lr.mu.Unlock()
	return se.part.Muted(), told, byOrganizer, true
}

// ApplyDefinition hands def to the live room of its name, as a store
// write's result would be.
func (s *Server) ApplyDefinition(def rooms.Definition) {
	if lr := s.lookupLive(def.Name); lr != nil {
		lr.apply(def, "")
	}
}

// LiveDefinition is the definition a live room holds.
func (s *Server) LiveDefinition(room string) (rooms.Definition, bool) {
	lr := s.lookupLive(room)
	if lr == nil {
		return rooms.Definition{}, false
	}
	return lr.definition(), true
}

// IsLive reports whether the room has a live room on this server.
func (s *Server) IsLive(room string) bool { return s.lookupLive(room) != nil }

// SessionCount is the number of open WebSocket sessions.
func (s *Server) SessionCount() int { return s.sessionCount() }

// AddressesHeld is how many client addresses hold something (a
// connection, a participant, an ad-hoc room).
func (s *Server) AddressesHeld() int { return s.addrs.len() }

// SetPresence changes how the server batches presence (before any join
// the test makes).
func (s *Server) SetPresence(p PresenceSettings) {
	p = p.withDefaults()
	s.presenceCfg.Store(&p)
}
