package signaling

import (
	"log/slog"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"palabre/signaling/proto"
)

// Chat. Messages are relayed and forgotten: the server keeps no history,
// stores nothing on disk and logs no text, so a room's chat lives only in
// the pages of the people there while it is live. Rights are the server's:
// a room whose chat is off hears only its organizers, and an organizer can
// mute one person's chat.

// Chat rates per participant: a message a second, bursts of five. Past
// them a message is refused (rate_limited); chatFloodRefusals refusals in
// a row close the connection as a flood.
const (
	chatPerSecond     = 1
	chatBurst         = 5
	chatFloodRefusals = 20
)

func newChatLimiter() *rate.Limiter { return rate.NewLimiter(chatPerSecond, chatBurst) }

// chat relays m's text to the room, or privately to m.Target (and back to
// the sender, so that its page shows what it sent).
func (se *session) chat(m proto.Message) {
	lr := se.room
	if se.chatLimit == nil {
		se.chatLimit = newChatLimiter() // at the first message: idle sessions pay nothing
	}
	if !se.chatLimit.Allow() {
		se.chatRefused++
		if se.chatRefused >= chatFloodRefusals {
			se.s.disconnected("flood")
			se.s.events.event("chat-flood", slog.LevelWarn, "chat flood: closing connection")
			se.send(proto.ErrorReply(m.ID, proto.CodeFlood, "too many chat messages; connection closed"))
			se.closeWith(websocket.StatusPolicyViolation, "flood")
			return
		}
		se.fail(m, proto.CodeRateLimited, "one chat message a second at most")
		return
	}
	se.chatRefused = 0
	code, why := lr.relayChat(se, m)
	if code != "" {
		se.fail(m, code, why)
		return
	}
	se.s.metrics.chats.Inc()
	se.ack(m)
}

// relayChat checks se's right to chat and sends the message, in one
// critical section (so a chat_off or a chat mute cannot cross it).
func (lr *liveRoom) relayChat(se *session, m proto.Message) (code, why string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !se.info.Organizer && (lr.def.NoChat || se.info.ChatMuted) {
		return proto.CodeChatOff, "the chat is closed to you in this room"
	}
	msg := proto.ChatMessage{From: se.info.ID, Name: se.info.Name, Text: m.Text}
	if m.Target == "" || m.Target == se.info.ID {
		lr.broadcastLocked(proto.Message{Type: proto.TypeChat, Chat: &msg}, nil)
		return "", ""
	}
	to := lr.members[m.Target]
	if to == nil {
		return proto.CodeNotFound, "no such participant"
	}
	msg.To, msg.Private = to.info.ID, true
	lr.broadcastToLocked(proto.Message{Type: proto.TypeChat, Chat: &msg},
		func(x *session) bool { return x == to || x == se })
	return "", ""
}

// chatMute mutes or unmutes target's chat (organizers).
func (lr *liveRoom) chatMute(target *session, muted bool, by string) {
	lr.update(target, proto.TypeMuted, by, func(p *proto.Participant) { p.ChatMuted = muted })
}
