package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"palabre/internal/pionlog"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"palabre/signaling/proto"
)

// AudioLevelURI is the RFC 6464 audio-level RTP header extension.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// OpusPayloadType is the payload type Palabre uses for Opus.
const OpusPayloadType = 111

// opusCodec is the one codec of the client.
var opusCodec = webrtc.RTPCodecCapability{
	MimeType:     webrtc.MimeTypeOpus,
	ClockRate:    48000,
	Channels:     2,
	SDPFmtpLine:  "minptime=10;useinbandfec=1",
	RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}},
}

// media is the WebRTC half of a Client.
type media struct {
	track *webrtc.TrackLocalStaticRTP // the upstream (microphone) track

	// Offers and candidates from the server, handled in order by mediaLoop.
	inboxMu     sync.Mutex
	inbox       []proto.Message
	inboxSignal chan struct{}

	negotiations atomic.Int64

	pcMu     sync.Mutex
	pc       *webrtc.PeerConnection
	pcClosed bool
	// negMu is held from the PeerConnection's creation to the local
	// answer: closing in the middle of pion's SetLocalDescription can leave
	// an ICE agent running forever, so closeMedia waits for it.
	negMu sync.Mutex

	// Owned by mediaLoop.
	sender      *webrtc.RTPSender
	remoteSet   bool
	remoteCands []webrtc.ICECandidateInit // arrived before the offer

	// sigMu orders the answer before the client's own candidates.
	sigMu      sync.Mutex
	answerSent bool
	localCands []proto.Message

	connected     chan struct{}
	connectedOnce sync.Once
	failed        chan struct{}
	failedOnce    sync.Once
	failErr       error

	audioLevelID atomic.Uint32 // negotiated extension id, 0 if none
	onRTP        atomic.Pointer[func(slot int, p *rtp.Packet)]

	slotsMu sync.Mutex
	slots   []*slotState

	publisher
}

func (c *Client) initMedia() {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: opusCodec.MimeType, ClockRate: opusCodec.ClockRate,
		Channels: opusCodec.Channels, SDPFmtpLine: opusCodec.SDPFmtpLine,
	}, "audio", "palabre-go")
	if err != nil {
		panic(err) // only fails on an empty codec
	}
	c.track = track
	c.inboxSignal = make(chan struct{}, 1)
	c.connected = make(chan struct{})
	c.failed = make(chan struct{})
	c.initPublisher()
}

// Negotiations returns how many offers the server sent. Palabre never
// renegotiates: after the media is up it is 1.
func (c *Client) Negotiations() int { return int(c.negotiations.Load()) }

// OnRTP sets fn to be called for every RTP packet received on an audio slot,
// from that slot's reader goroutine; p is valid only during the call. Set it
// before Join. fn must not block for long, nor call Close.
func (c *Client) OnRTP(fn func(slot int, p *rtp.Packet)) {
	if fn == nil {
		c.onRTP.Store(nil)
		return
	}
	c.onRTP.Store(&fn)
}

// WaitConnected waits until the PeerConnection is connected (ICE and DTLS).
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	default:
	}
	select {
	case <-c.connected:
		return nil
	case <-c.failed:
		select {
		case <-c.connected:
			return nil
		default:
		}
		return c.failErr
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		select {
		case <-c.connected:
			return nil
		default:
		}
		return c.Err()
	}
}

// ConnectionState returns the PeerConnection's state ("new" before the
// offer arrived).
func (c *Client) ConnectionState() webrtc.PeerConnectionState {
	c.pcMu.Lock()
	pc := c.pc
	c.pcMu.Unlock()
	if pc == nil {
		return webrtc.PeerConnectionStateNew
	}
	return pc.ConnectionState()
}

// SelectedCandidatePair is the ICE candidate pair media flows on, once
// connected: it tells whether the client went through TURN or ICE-TCP.
func (c *Client) SelectedCandidatePair() (*webrtc.ICECandidatePair, error) {
	c.pcMu.Lock()
	pc := c.pc
	c.pcMu.Unlock()
	if pc == nil || pc.SCTP() == nil {
		return nil, errors.New("palabre client: no media connection")
	}
	return pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
}

func (c *Client) mediaFailed(err error) {
	c.failedOnce.Do(func() {
		c.failErr = err
		close(c.failed)
	})
}

// toMedia queues an offer or a candidate for mediaLoop; never blocks.
func (c *Client) toMedia(m proto.Message) {
	if m.Type == proto.TypeOffer {
		c.negotiations.Add(1)
	}
	c.inboxMu.Lock()
	if len(c.inbox) >= maxInbox {
		c.inboxMu.Unlock()
		c.log.Warn("too many pending offers and candidates: dropping one", "type", m.Type)
		return
	}
	c.inbox = append(c.inbox, m)
	c.inboxMu.Unlock()
	select {
	case c.inboxSignal <- struct{}{}:
	default:
	}
}

// mediaLoop handles the server's offers and candidates in order.
func (c *Client) mediaLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.inboxSignal:
		}
		for {
			c.inboxMu.Lock()
			if len(c.inbox) == 0 {
				c.inbox = nil
				c.inboxMu.Unlock()
				break
			}
			m := c.inbox[0]
			c.inbox = c.inbox[1:]
			c.inboxMu.Unlock()
			if c.ctx.Err() != nil {
				return
			}
			switch m.Type {
			case proto.TypeOffer:
				if err := c.handleOffer(m.SDP); err != nil {
					if c.ctx.Err() != nil {
						return // closing
					}
					c.log.Error("cannot answer the server's offer", "err", err)
					c.mediaFailed(err)
				}
			case proto.TypeCandidate:
				c.handleRemoteCandidate(m.Candidate)
			}
		}
	}
}

func (c *Client) handleRemoteCandidate(cand *proto.Candidate) {
	if cand == nil || c.opts.OnOffer != nil {
		return
	}
	init := webrtc.ICECandidateInit(*cand) // same fields by design
	if !c.remoteSet {
		c.remoteCands = append(c.remoteCands, init)
		return
	}
	c.addRemoteCandidate(init)
}

func (c *Client) addRemoteCandidate(init webrtc.ICECandidateInit) {
	if err := c.pc.AddICECandidate(init); err != nil {
		c.log.Warn("ignoring a remote ICE candidate", "candidate", init.Candidate, "err", err)
	}
}

// handleOffer answers an offer of the server: the first one creates the
// PeerConnection and attaches the upstream track to the offered
// microphone m-line; a later one (which Palabre never sends) is answered
// on the same connection.
func (c *Client) handleOffer(sdp string) error {
	if c.negotiations.Load() > 1 {
		c.log.Warn("the server renegotiates", "offers", c.negotiations.Load())
	}
	var answer webrtc.SessionDescription
	if c.opts.OnOffer != nil {
		text, err := c.opts.OnOffer(sdp)
		if err != nil {
			return fmt.Errorf("OnOffer: %w", err)
		}
		answer.SDP = text
	} else {
		var err error
		if answer, err = c.negotiate(sdp); err != nil {
			return err
		}
		c.audioLevelID.Store(0)
		for _, ext := range c.sender.GetParameters().HeaderExtensions {
			if ext.URI == AudioLevelURI {
				c.audioLevelID.Store(uint32(ext.ID))
			}
		}
	}

	// The answer goes out before any of our candidates.
	c.sigMu.Lock()
	id, ch, err := c.startRequest(proto.Message{Type: proto.TypeAnswer, SDP: answer.SDP})
	if err == nil {
		c.answerSent = true
		for _, m := range c.localCands {
			if err := c.Send(m); err != nil {
				c.log.Debug("cannot send a candidate", "err", err)
			}
		}
		c.localCands = nil
	}
	c.sigMu.Unlock()
	if err != nil {
		return fmt.Errorf("send answer: %w", err)
	}
	// Wait for the ack without holding up the server's candidates.
	if c.goStart() {
		go func() {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
			defer cancel()
			_, err := c.awaitReply(ctx, id, ch)
			var pe *proto.Error
			switch {
			case errors.As(err, &pe):
				c.log.Error("the server refused the answer", "err", err)
				c.mediaFailed(fmt.Errorf("answer refused: %w", err))
			case err == nil && c.opts.OnOffer != nil:
				// The media is the caller's: accepted is all we know.
				c.connectedOnce.Do(func() { close(c.connected) })
			case err != nil && c.ctx.Err() == nil:
				c.log.Warn("no reply to the answer", "err", err)
			}
		}()
	}
	return nil
}

// negotiate applies the offer and sets the local answer, under negMu.
func (c *Client) negotiate(sdp string) (webrtc.SessionDescription, error) {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	pc, err := c.ensurePeerConnection()
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("set remote description: %w", err)
	}
	c.noteOfferedVideo(sdp)
	if !c.remoteSet {
		c.remoteSet = true
		for _, init := range c.remoteCands {
			c.addRemoteCandidate(init)
		}
		c.remoteCands = nil
	}
	if c.sender == nil {
		// pion reuses the transceiver of the offer's recvonly m-line.
		sender, err := pc.AddTrack(c.track)
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("add the upstream track: %w", err)
		}
		c.sender = sender
		if c.goStart() {
			go c.drainRTCP(sender)
		}
		if hasVideo(sdp) {
			if err := c.attachVideo(pc); err != nil {
				return webrtc.SessionDescription{}, err
			}
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("create answer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("set local description: %w", err)
	}
	c.noteVideoParams(pc)
	return answer, nil
}

func (c *Client) ensurePeerConnection() (*webrtc.PeerConnection, error) {
	c.pcMu.Lock()
	pc := c.pc
	c.pcMu.Unlock()
	if pc != nil {
		return pc, nil
	}

	api, err := c.newAPI()
	if err != nil {
		return nil, err
	}
	cfg := webrtc.Configuration{ICEServers: c.iceServers()}
	if c.opts.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err = api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			c.sendLocalCandidate(cand.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			c.connectedOnce.Do(func() { close(c.connected) })
		case webrtc.PeerConnectionStateFailed:
			c.mediaFailed(errors.New("palabre client: media connection failed (ICE or DTLS)"))
		case webrtc.PeerConnectionStateClosed:
			c.mediaFailed(errors.New("palabre client: media connection closed"))
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if !c.goStart() {
			return
		}
		defer c.wg.Done()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			if k, ok := videoSlotOf(tr); ok {
				c.readVideoSlot(k, tr)
			}
			return
		}
		c.readSlot(slotIndex(pc, tr, recv), tr)
	})

	c.pcMu.Lock()
	if c.pcClosed {
		c.pcMu.Unlock()
		_ = pc.Close()
		return nil, ErrClosed
	}
	c.pc = pc
	c.pcMu.Unlock()
	return pc, nil
}

// newAPI builds the pion API: Opus with the audio-level extension, NACK
// and RTCP reports (the server uses nothing else: no TWCC, and pion's
// stats interceptor costs a lock and map work per packet, which matters
// when the load tester runs a thousand clients), mDNS off, and
// loopback-only ICE when the server is on loopback.
func (c *Client) newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: opusCodec,
		PayloadType:        OpusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := registerVideo(me); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = pionlog.Factory(c.log)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if c.loopback {
		setLoopbackOnly(&se)
	}
	if c.opts.TCPOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(ir)), nil
}

// setLoopbackOnly keeps ICE on loopback: loopback host candidates only, and
// remote candidates outside loopback ignored.
func setLoopbackOnly(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(isLoopbackInterface)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
}

func isLoopbackInterface(name string) bool {
	iface, err := net.InterfaceByName(name)
	return err == nil && iface.Flags&net.FlagLoopback != 0
}

// iceServers are Options.ICEServers plus the joined message's ones. In
// loopback mode none are used (host candidates on loopback suffice), except
// TURN servers on loopback with RelayOnly.
func (c *Client) iceServers() []webrtc.ICEServer {
	servers := append([]webrtc.ICEServer(nil), c.opts.ICEServers...)
	if j := c.Joined(); j != nil {
		for _, s := range j.ICEServers {
			servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
		}
	}
	if t := c.opts.TURNTransport; t != "" {
		servers = keepTransport(servers, t)
	}
	if !c.loopback {
		return servers
	}
	var kept []webrtc.ICEServer
	for _, s := range servers {
		var urls []string
		for _, u := range s.URLs {
			if c.opts.RelayOnly && isLoopbackTURN(u) {
				urls = append(urls, u)
			} else {
				c.log.Debug("loopback mode: ignoring ICE server", "url", u)
			}
		}
		if len(urls) > 0 {
			s.URLs = urls
			kept = append(kept, s)
		}
	}
	return kept
}

// keepTransport keeps the TURN URLs whose transport is t (RFC 7065: no
// transport parameter means UDP).
func keepTransport(servers []webrtc.ICEServer, t string) []webrtc.ICEServer {
	var kept []webrtc.ICEServer
	for _, s := range servers {
		var urls []string
		for _, u := range s.URLs {
			got := "udp"
			if _, q, ok := strings.Cut(u, "?"); ok {
				for _, kv := range strings.Split(q, "&") {
					if v, ok := strings.CutPrefix(kv, "transport="); ok {
						got = strings.ToLower(v)
					}
				}
			}
			if got == t {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			s.URLs = urls
			kept = append(kept, s)
		}
	}
	return kept
}

// isLoopbackTURN reports whether u is a turn: or turns: URL whose host is a
// loopback address or "localhost".
func isLoopbackTURN(u string) bool {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || (!strings.EqualFold(scheme, "turn") && !strings.EqualFold(scheme, "turns")) {
		return false
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest = strings.TrimPrefix(rest, "//")
	host := rest
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return false
		}
		host = rest[1:end]
	} else if i := strings.LastIndex(rest, ":"); i >= 0 {
		host = rest[:i]
	}
	return isLoopbackHost(host)
}

func (c *Client) sendLocalCandidate(init webrtc.ICECandidateInit) {
	pc := proto.Candidate(init)
	m := proto.Message{Type: proto.TypeCandidate, Candidate: &pc}
	c.sigMu.Lock()
	defer c.sigMu.Unlock()
	if !c.answerSent {
		c.localCands = append(c.localCands, m)
		return
	}
	if err := c.Send(m); err != nil {
		c.log.Debug("cannot send a candidate", "err", err)
	}
}

// slotIndex finds the audio slot of a downstream track: from its msid
// track id "slot-N", else from the order of the m-lines (the microphone
// m-line comes first).
func slotIndex(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) int {
	if n, ok := strings.CutPrefix(tr.ID(), "slot-"); ok {
		if k, err := strconv.Atoi(n); err == nil && k >= 0 && k < 1024 {
			return k
		}
	}
	for i, t := range pc.GetTransceivers() {
		if t.Receiver() == recv {
			return max(i-1, 0)
		}
	}
	return 0
}

// readSlot reads one slot track until the PeerConnection closes.
func (c *Client) readSlot(slot int, tr *webrtc.TrackRemote) {
	st := c.slot(slot)
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			c.log.Debug("bad RTP packet", "slot", slot, "err", err)
			continue
		}
		st.record(&p)
		if fn := c.onRTP.Load(); fn != nil {
			(*fn)(slot, &p)
		}
	}
}

// drainRTCP reads the RTCP of the upstream sender, which lets the
// interceptors (NACK responder, reports) see it.
func (c *Client) drainRTCP(sender *webrtc.RTPSender) {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// closeMedia closes the PeerConnection; no new one is created after.
func (c *Client) closeMedia() {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.pcMu.Lock()
	c.pcClosed = true
	pc := c.pc
	c.pcMu.Unlock()
	if pc != nil {
		if err := pc.Close(); err != nil {
			c.log.Debug("peer connection close", "err", err)
		}
	}
}
