package signaling_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"palabre/client"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// rawSession is a WebSocket client that speaks the protocol by hand and
// never sets up media: it joins, and does not answer the offer.
type rawSession struct {
	t    *testing.T
	conn *websocket.Conn
}

func (ts *testServer) raw(t *testing.T) *rawSession {
	ctx := testCtx(t, 10*time.Second)
	conn, _, err := websocket.Dial(ctx, strings.Replace(ts.URL, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &rawSession{t: t, conn: conn}
}

// request sends m and returns the reply carrying its id.
func (r *rawSession) request(m proto.Message) proto.Message {
	r.t.Helper()
	ctx := testCtx(r.t, 10*time.Second)
	data, _ := json.Marshal(m)
	if err := r.conn.Write(ctx, websocket.MessageText, data); err != nil {
		r.t.Fatal(err)
	}
	for {
		_, data, err := r.conn.Read(ctx)
		if err != nil {
			r.t.Fatalf("waiting for the reply to %s: %v", m.Type, err)
		}
		var reply proto.Message
		if err := json.Unmarshal(data, &reply); err != nil {
			r.t.Fatal(err)
		}
		if reply.ID == m.ID {
			return reply
		}
	}
}

// A participant whose media never connected cannot take the floor and hold
// it silently, nor be given it: the room stays free for the others.
func TestFloorNeedsConnectedMedia(t *testing.T) {
	ts := startServer(t)
	secret := ts.createRoom(signaling.CreateRoomRequest{Name: "air", Mode: "ptt"}).OrganizerSecret
	silent := ts.raw(t)
	silent.request(proto.Message{Type: proto.TypeHello, ID: 1, Version: proto.Version})
	joined := silent.request(proto.Message{Type: proto.TypeJoin, ID: 2, Room: "air", Name: "silent"})
	if joined.Type != proto.TypeJoined {
		t.Fatalf("join: %+v", joined)
	}
	if r := silent.request(proto.Message{Type: proto.TypePTTOn, ID: 3}); r.Code != proto.CodeNoMedia {
		t.Errorf("ptt_on without media: %+v, want %s", r, proto.CodeNoMedia)
	}
	org := ts.joinAs(client.JoinRequest{Room: "air", Name: "org", Secret: secret})
	if err := org.Grant(context.Background(), joined.Self.ID); errCode(err) != proto.CodeNoMedia {
		t.Errorf("grant to a participant without media: %v, want %s", err, proto.CodeNoMedia)
	}
	// Someone connected takes the free floor.
	talker := ts.join("air", "talker", "")
	if err := talker.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Errorf("a connected participant's ptt_on: %v", err)
	}
}
