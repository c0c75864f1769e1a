package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"palabre/client"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// A browser without WebRTC (WebKitGTK's build, Firefox with
// media.peerconnection.enabled=false) is told on the prejoin page that it
// cannot make calls, in its language, and sends no join: the people in the
// room see nobody come and go.
func TestBrowserWithoutWebRTC(t *testing.T) {
	s := startServer(t)
	room := s.CreateRoom(t, signaling.CreateRoomRequest{Name: "no-webrtc"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := client.Dial(ctx, s.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	if _, err := member.Join(ctx, client.JoinRequest{Room: "no-webrtc", Name: "Member"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ lang, want string }{
		{"en", "cannot make calls"},
		{"fr", "ne peut pas passer d’appel"},
	} {
		p := newPage(t, newBrowser(t), "P-"+tc.lang)
		p.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
				Source: `delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;` +
					`localStorage.setItem('palabre.lang', '` + tc.lang + `');`,
			})
			return chromedp.Void{}, err
		})
		p.do(chromedp.Navigate(room.Link), chromedp.WaitVisible(chromedp.ID("prejoin-no-webrtc")))
		msg := eval[string](p, `document.getElementById('prejoin-no-webrtc').textContent`)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q, want it to say %q", tc.lang, msg, tc.want)
		}
		if !eval[bool](p, `document.getElementById('join').disabled`) {
			t.Errorf("%s: the join button is enabled", tc.lang)
		}
		// Even a forced submit sends nothing.
		p.do(chromedp.SendKeys(chromedp.ID("name"), "Nobody"))
		eval[bool](p, `document.getElementById('prejoin-form').requestSubmit(), true`)
		if st := eval[string](p, `window.palabre.state`); st != "prejoin" {
			t.Errorf("%s: state %q after submitting, want prejoin", tc.lang, st)
		}
		p.screenshot("prejoin-no-webrtc-" + tc.lang + ".png")
	}
	quiet, cancelQuiet := context.WithTimeout(ctx, time.Second)
	defer cancelQuiet()
	if ev, err := member.WaitEvent(quiet, func(m proto.Message) bool { return m.Type == proto.TypeParticipantJoined }); err == nil {
		t.Errorf("the room saw a join from a browser without WebRTC: %+v", ev.Participant)
	}
	if _, p := s.Signaling.LiveRooms(); p != 1 {
		t.Errorf("%d participants in rooms, want the member alone", p)
	}
}
