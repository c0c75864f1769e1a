package client

import (
	"context"

	"palabre/signaling/proto"
)

// do sends a request and keeps only its error.
func (c *Client) do(ctx context.Context, m proto.Message) error {
	_, err := c.Request(ctx, m)
	return err
}

// PTTOn takes the floor (push-to-talk pressed).
func (c *Client) PTTOn(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypePTTOn})
}

// PTTOff releases the floor.
func (c *Client) PTTOff(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypePTTOff})
}

// RaiseHand asks for the floor.
func (c *Client) RaiseHand(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeRaiseHand})
}

// LowerHand withdraws the request for the floor.
func (c *Client) LowerHand(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeLowerHand})
}

// Mute mutes target, or this participant when target is "".
func (c *Client) Mute(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeMute, Target: target})
}

// Unmute unmutes target, or this participant when target is "".
func (c *Client) Unmute(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeUnmute, Target: target})
}

// Kick removes target from the room (organizer).
func (c *Client) Kick(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeKick, Target: target})
}

// Lock refuses new participants (organizer).
func (c *Client) Lock(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeLock})
}

// Unlock lets new participants in again (organizer).
func (c *Client) Unlock(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeUnlock})
}

// SetMode changes the room's mode: proto.ModeOpen, ModePTT or ModeModerated
// (organizer).
func (c *Client) SetMode(ctx context.Context, mode string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeSetMode, Mode: mode})
}

// SetPassword changes the room's password; "" removes it (organizer).
func (c *Client) SetPassword(ctx context.Context, password string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeSetPassword, Password: password})
}

// Grant gives target the floor (organizer).
func (c *Client) Grant(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeGrant, Target: target})
}

// Revoke takes the floor from target (organizer).
func (c *Client) Revoke(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeRevoke, Target: target})
}

// Ping sends a ping and waits for the pong.
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypePing})
}

// Leave leaves the room. The server acknowledges and then closes the
// connection (Done); Close is still needed to release the client.
func (c *Client) Leave(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeLeave})
}

// Chat sends text to the whole room.
func (c *Client) Chat(ctx context.Context, text string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeChat, Text: text})
}

// ChatTo sends text privately to one participant (target id).
func (c *Client) ChatTo(ctx context.Context, target, text string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeChat, Target: target, Text: text})
}

// ChatMute takes target's right to chat (organizer); ChatUnmute gives it back.
func (c *Client) ChatMute(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeChatMute, Target: target})
}

// ChatUnmute gives target back its right to chat (organizer).
func (c *Client) ChatUnmute(ctx context.Context, target string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeChatUnmute, Target: target})
}

// SetChat opens the room's chat to everyone, or closes it to all but the
// organizers (organizer).
func (c *Client) SetChat(ctx context.Context, open bool) error {
	typ := proto.TypeChatOff
	if open {
		typ = proto.TypeChatOn
	}
	return c.do(ctx, proto.Message{Type: typ})
}

// SetLobby turns the room's lobby on or off (organizer); off admits
// everyone waiting.
func (c *Client) SetLobby(ctx context.Context, on bool) error {
	typ := proto.TypeLobbyOff
	if on {
		typ = proto.TypeLobbyOn
	}
	return c.do(ctx, proto.Message{Type: typ})
}

// Admit lets in someone waiting in the lobby (organizer): the id of a
// proto.Waiting of a lobby event.
func (c *Client) Admit(ctx context.Context, waitingID string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeAdmit, Target: waitingID})
}

// AdmitAll lets in everyone waiting in the lobby (organizer).
func (c *Client) AdmitAll(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeAdmitAll})
}

// Refuse turns away someone waiting in the lobby (organizer).
func (c *Client) Refuse(ctx context.Context, waitingID string) error {
	return c.do(ctx, proto.Message{Type: proto.TypeRefuse, Target: waitingID})
}

// GrantNext gives the floor to the first raised hand (organizer).
func (c *Client) GrantNext(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeGrantNext})
}

// MuteAll mutes everyone else in the room (organizer).
func (c *Client) MuteAll(ctx context.Context) error {
	return c.do(ctx, proto.Message{Type: proto.TypeMuteAll})
}

// ListRequest asks for one page of the room's participant list.
type ListRequest struct {
	// Cursor continues after the page that gave it ("" from the start):
	// joined.Cursor in a large room, or a page's Cursor.
	Cursor string
	// Query keeps only the names that contain it, ignoring case.
	Query string
	// Limit is the page size, 1 to proto.MaxPageSize; 0 is
	// proto.DefaultPageSize.
	Limit int
}

// List asks for a page of the room's participants, in join order
// (docs/protocol.md, "Large rooms"). The reply's Participants are the
// page, Count the room's size, Cursor what continues it ("" at the end).
// Too many requests fail with proto.CodeRateLimited.
func (c *Client) List(ctx context.Context, req ListRequest) (proto.Message, error) {
	return c.Request(ctx, proto.Message{Type: proto.TypeList, Cursor: req.Cursor, Query: req.Query, Limit: req.Limit})
}
