package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"palabre/internal/testkit"
	"palabre/sfu/rtc"

	"github.com/pion/rtp"
)

// The media plane of our own (package sfu/rtc, issue 16) with real
// browsers: a minimal page (no Palabre app) gets an offer from an
// rtc.Engine (as Palabre's: the microphone recvonly, one audio slot
// sendonly, the camera recvonly with simulcast, one video slot sendonly),
// answers, and connects; the engine sends the page's own microphone back
// to it on the audio slot. The test checks the engine got the page's
// audio and video and the page received audio with energy in it.
//
// With PALABRE_RTC_VECTORS=DIR, the offer and the browser's answer are
// written to DIR/ENGINE-offer.sdp and DIR/ENGINE-answer.sdp: the test
// vectors of sfu/rtc (testdata).
func ownTransport(t *testing.T, b *bench) {
	e, err := rtc.NewEngine(rtc.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := newRTCPageServer(t, e)
	defer srv.Close()

	p := b.person("rtc")
	p.navigate(srv.URL)
	p.click("#start")
	p.waitFor("the page's connection is up", `window.palabre.pc && window.palabre.pc.connectionState === 'connected'`)
	p.waitAudio("the page hears its microphone back, through the engine", true)
	testkit.Eventually(t, 10*time.Second, "50 packets of the page's microphone at the engine", func() bool { return srv.echoed.Load() >= 50 })
	testkit.Eventually(t, 10*time.Second, "the page's camera at the engine", func() bool { return srv.video.Load() >= 10 })
	st := e.Stats()
	t.Logf("engine: %d handshakes, %d packets in, %d out, %d checks", st.Handshakes, st.PacketsIn, st.PacketsOut, st.Checks)
	if st.Handshakes != 1 || st.HandshakeFailures != 0 {
		t.Fatalf("engine stats %+v", st)
	}
	checkOnlyServer(t, srv.URL, p)

	if dir := os.Getenv("PALABRE_RTC_VECTORS"); dir != "" {
		srv.mu.Lock()
		offer, answer := srv.offer, srv.answer
		srv.mu.Unlock()
		for name, text := range map[string]string{"offer": offer, "answer": answer} {
			file := filepath.Join(dir, fmt.Sprintf("%s-%s.sdp", b.e.name, name))
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const rtcSlotSSRC = 0x51075107

// rtcPageServer serves the page and its two requests: POST /offer (a new
// connection's offer) and POST /answer.
type rtcPageServer struct {
	*httptest.Server
	e      *rtc.Engine
	echoed atomic.Int64 // audio packets (sent back)
	video  atomic.Int64 // video packets
	mu     sync.Mutex
	conns  map[string]*rtcConn
	offer  string
	answer string
}

type rtcConn struct {
	c     *rtc.Conn
	offer *rtc.Description
	srv   *rtcPageServer
}

func (c *rtcConn) HandleRTP(conn *rtc.Conn, p *rtp.Packet, _ []byte) {
	if p.PayloadType != 111 {
		c.srv.video.Add(1)
		return
	}
	c.srv.echoed.Add(1)
	h := p.Header
	h.SSRC = rtcSlotSSRC
	_ = conn.WriteRTP(&h, p.Payload)
}
func (c *rtcConn) HandleRTCP(*rtc.Conn, []byte)      {}
func (c *rtcConn) StateChanged(*rtc.Conn, rtc.State) {}

func newRTCPageServer(t *testing.T, e *rtc.Engine) *rtcPageServer {
	s := &rtcPageServer{e: e, conns: map[string]*rtcConn{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, rtcPage)
	})
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		rc := &rtcConn{srv: s}
		c, err := e.NewConn(rc)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		rc.c = c
		opus := rtc.Codec{PayloadType: 111, Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1", Feedback: []string{"nack"}}
		ext := []rtc.Extension{{ID: 1, URI: rtc.ExtAudioLevel}}
		vp8 := rtc.Codec{PayloadType: 96, Name: "VP8", ClockRate: 90000, Feedback: []string{"nack", "nack pli", "ccm fir", "goog-remb"}}
		vext := []rtc.Extension{{ID: 2, URI: rtc.ExtAbsSendTime}, {ID: 3, URI: rtc.ExtMID}, {ID: 4, URI: rtc.ExtRID}, {ID: 5, URI: rtc.ExtRepairedRID}}
		rc.offer = c.Offer([]rtc.Media{
			{Kind: "audio", MID: "0", Direction: rtc.RecvOnly, Codecs: []rtc.Codec{opus}, Extensions: ext, RTCPMux: true},
			{Kind: "audio", MID: "1", Direction: rtc.SendOnly, Codecs: []rtc.Codec{opus}, Extensions: ext, RTCPMux: true,
				SSRCs: []uint32{rtcSlotSSRC}, CNAME: "palabre", StreamID: "palabre", TrackID: "slot-0"},
			{Kind: "video", MID: "2", Direction: rtc.RecvOnly, Codecs: []rtc.Codec{vp8}, Extensions: vext, RTCPMux: true, RTCPRsize: true,
				RIDs: []rtc.RID{{ID: "f", Direction: "recv"}, {ID: "h", Direction: "recv"}, {ID: "q", Direction: "recv"}}, Simulcast: "recv f;h;q"},
			{Kind: "video", MID: "3", Direction: rtc.SendOnly, Codecs: []rtc.Codec{vp8}, Extensions: vext, RTCPMux: true, RTCPRsize: true,
				SSRCs: []uint32{rtcSlotSSRC + 1}, CNAME: "palabre", StreamID: "palabre", TrackID: "camera-0"},
		})
		text, err := rc.offer.Marshal()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		id, _ := c.Credentials()
		s.mu.Lock()
		s.conns[id] = rc
		s.offer = text
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "sdp": text})
	})
	mux.HandleFunc("POST /answer", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID, SDP string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, rtc.MaxSDPSize)).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.mu.Lock()
		rc := s.conns[req.ID]
		s.answer = req.SDP
		s.mu.Unlock()
		if rc == nil {
			http.Error(w, "unknown id", 404)
			return
		}
		d, err := rtc.ParseDescription(req.SDP)
		if err == nil {
			err = rtc.CheckAnswer(rc.offer, d)
		}
		if err == nil {
			err = rc.c.SetRemote(rtc.RemoteFrom(d))
		}
		if err != nil {
			t.Errorf("answer: %v\n%s", err, req.SDP)
			http.Error(w, err.Error(), 400)
		}
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// rtcPage answers the engine's offer with the microphone on the first
// m-line and the camera (simulcast, as the offer asks) on the third, and
// plays what comes on the audio slot. The start button gives the
// page the user gesture its audio element needs to play.
const rtcPage = `<!doctype html>
<meta charset="utf-8">
<title>rtc</title>
<button id="start">Start</button>
<audio id="out" autoplay></audio>
<script>
window.palabre = {};
document.getElementById('start').onclick = async () => {
	const out = document.getElementById('out');
	out.play().catch(() => {});
	const r = await (await fetch('/offer', {method: 'POST'})).json();
	const pc = new RTCPeerConnection();
	window.palabre.pc = pc;
	pc.ontrack = e => { out.srcObject = e.streams[0] || new MediaStream([e.track]); out.play().catch(() => {}); };
	await pc.setRemoteDescription({type: 'offer', sdp: r.sdp});
	const media = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
	const [, , camera] = pc.getTransceivers();
	pc.addTrack(media.getAudioTracks()[0], media); // takes the first (audio) transceiver
	camera.direction = 'sendonly';
	await camera.sender.replaceTrack(media.getVideoTracks()[0]);
	await pc.setLocalDescription(await pc.createAnswer());
	await fetch('/answer', {method: 'POST', body: JSON.stringify({id: r.id, sdp: pc.localDescription.sdp})});
};
</script>`
