// Package proto holds the Palabre signaling protocol: the JSON messages that
// travel over the /ws WebSocket between a client and the server.
//
// Both the server (package signaling) and the Go client (package client)
// import this package, so the two cannot drift apart. docs/protocol.md shows
// an example of every message.
//
// Every message is one JSON object with a "type". A request may carry a
// non-zero "id"; the server then sends exactly one reply carrying the same id:
// "welcome" for hello, "joined" for join, "error" on failure, "ack" otherwise.
// Boolean and numeric fields at the top level are omitted when false or zero.
package proto

// Version is the protocol version this package speaks.
const Version = 1

// Size and field limits. The server rejects anything larger.
const (
	MaxMessageBytes  = 64 << 10 // one WebSocket message
	MaxSDPBytes      = 48 << 10
	MaxCandidateLen  = 1024
	MaxNameRunes     = 64 // display name
	MaxPasswordBytes = 256
	MaxSecretBytes   = 128
	MaxIDLen         = 64 // participant ids
	MaxChatRunes     = 1000
	MaxChatBytes     = 4 * MaxChatRunes
	// MaxWaiting bounds a room's lobby: newcomers beyond it are refused
	// with room_full.
	MaxWaiting = 100
	// MaxVideoSlots bounds the camera slots a server may offer.
	MaxVideoSlots = 9
	// MaxPageSize bounds list's limit (participants in one page);
	// DefaultPageSize is the page size of a list without limit.
	MaxPageSize     = 100
	DefaultPageSize = 50
	// MaxQueryRunes bounds list's query; MaxCursorLen its cursor.
	MaxQueryRunes = 64
	MaxCursorLen  = 32
	// MaxHandsListed bounds the queue of raised hands a large room sends
	// (joined, hands): its first ones.
	MaxHandsListed = 100
)

// Client → server request types.
const (
	TypeHello       = "hello"        // first message: {version}
	TypeJoin        = "join"         // {room, name, password?, secret?}
	TypeAnswer      = "answer"       // {sdp}: answer to the server's offer
	TypeCandidate   = "candidate"    // {candidate}: trickle ICE, both directions
	TypePTTOn       = "ptt_on"       // take the floor (push-to-talk pressed)
	TypePTTOff      = "ptt_off"      // release the floor
	TypeRaiseHand   = "raise_hand"   // ask for the floor (moderated rooms)
	TypeLowerHand   = "lower_hand"   // withdraw the request
	TypeMute        = "mute"         // {target?}: mute self (no target) or, organizer, someone
	TypeUnmute      = "unmute"       // {target?}
	TypeKick        = "kick"         // organizer: {target}
	TypeLock        = "lock"         // organizer: refuse new participants
	TypeUnlock      = "unlock"       // organizer
	TypeSetMode     = "set_mode"     // organizer: {mode}
	TypeSetPassword = "set_password" // organizer: {password} ("" removes it)
	TypeGrant       = "grant"        // organizer: {target} gets the floor
	TypeRevoke      = "revoke"       // organizer: {target} loses the floor
	TypeLeave       = "leave"        // leave the room; the server closes the connection
	TypePing        = "ping"         // keep-alive; answered by pong

	// Room life.
	TypeChat       = "chat"        // {text, target?}: to the room, or privately to target
	TypeChatMute   = "chat_mute"   // organizer: {target} may no longer chat
	TypeChatUnmute = "chat_unmute" // organizer: {target}
	TypeChatOn     = "chat_on"     // organizer: the room's chat is open (default)
	TypeChatOff    = "chat_off"    // organizer: nobody but organizers chats
	TypeLobbyOn    = "lobby_on"    // organizer: newcomers wait until admitted
	TypeLobbyOff   = "lobby_off"   // organizer: and the waiting are admitted
	TypeAdmit      = "admit"       // organizer: {target} waiting in the lobby comes in
	TypeAdmitAll   = "admit_all"   // organizer: everyone waiting comes in
	TypeRefuse     = "refuse"      // organizer: {target} waiting is turned away
	TypeGrantNext  = "grant_next"  // organizer: the floor to the first raised hand
	TypeMuteAll    = "mute_all"    // organizer: everyone else is muted

	// Video (docs/video.md).
	TypeCameraOn   = "camera_on"   // this participant sends its camera on the offer's camera m-line
	TypeCameraOff  = "camera_off"  //
	TypeScreenOn   = "screen_on"   // this participant shares its screen on the offer's screen m-line
	TypeScreenOff  = "screen_off"  //
	TypeVideoWish  = "video_wish"  // {wishes}: per video slot, off | low | high
	TypeVideoOn    = "video_on"    // organizer: the room allows cameras and screens
	TypeVideoOff   = "video_off"   // organizer: the room is audio only
	TypeSetCameras = "set_cameras" // organizer: {max_cameras}

	// TypeList asks for a page of the room's participant list, in join
	// order after cursor, optionally only the names containing query
	// (docs/protocol.md, "Large rooms"). The reply is a page.
	TypeList = "list" // {cursor?, query?, limit?}
)

// Server → client types (replies and events).
const (
	TypeWelcome  = "welcome"  // reply to hello: {version, software}
	TypeJoined   = "joined"   // reply to join: {self, room, participants, floor, speakers, ice_servers}
	TypeOffer    = "offer"    // {sdp}: the server's offer, once per connection
	TypeAck      = "ack"      // {id}: request done
	TypeError    = "error"    // {id?, code, message}
	TypePong     = "pong"     // reply to ping
	TypeSpeaking = "speaking" // {speaker}: who is heard on which audio slot
	TypeMuted    = "muted"    // {participant, by?}: participant.muted changed
	TypeHand     = "hand"     // {participant}: participant.hand changed
	TypeFloor    = "floor"    // {floor, by?}: who holds the floor now
	TypeRoom     = "room"     // {room, by?}: room settings changed
	TypeKicked   = "kicked"   // {by, message}: you were removed; the server closes
	// TypeWaiting is the reply to a join into a room with its lobby on:
	// wait; "joined" (without id) follows when an organizer admits you,
	// "refused" (then the server closes) when one turns you away.
	TypeWaiting = "waiting" // {room_info}
	TypeRefused = "refused" // {message}
	TypeLobby   = "lobby"   // to organizers: {waiting}: who waits, in arrival order
	TypeHands   = "hands"   // {hands}: raised hands, in the order they were raised
	// TypeVideoSlot says whose camera or screen a video slot carries now
	// (like speaking for the audio slots).
	TypeVideoSlot = "video_slot" // {video}
	TypeCamera    = "camera"     // {participant}: participant.camera or .screen changed
	// TypeRedirect sends the client to another node of the cluster: as the
	// reply to a join whose room lives elsewhere (reason "elsewhere"), or
	// unsolicited when the room moves (reason "moved": a drain, or two
	// nodes found holding the same room). The client connects to url and
	// joins again with hops + 1; after an unsolicited redirect the server
	// closes the connection (status 1012).
	TypeRedirect = "redirect" // {url, reason}
	// TypePresence is the room's batched presence: who joined, who left,
	// whose record changed, and the head count, gathered over a short
	// interval and sent as one message to every member.
	TypePresence = "presence" // {presence}
	// TypePage is the reply to list.
	TypePage = "page" // {participants, count, cursor?}
)

// Redirect reasons.
const (
	RedirectElsewhere = "elsewhere" // the room lives on another node
	RedirectMoved     = "moved"     // the room is moving to another node
)

// MaxHops bounds Message.Hops: a join that followed this many redirects is
// accepted where it lands, so two nodes with different views of the
// cluster can never bounce a client forever.
const MaxHops = 3

// Room modes.
const (
	ModeOpen      = "open"      // everyone is heard; the loudest fill the audio slots
	ModePTT       = "ptt"       // heard only while holding the floor (push-to-talk)
	ModeModerated = "moderated" // heard only when an organizer grants the floor
)

// Error codes. They are stable: clients may switch on them.
const (
	CodeBadMessage         = "bad_message"         // malformed, oversized, unknown type or bad field
	CodeUnsupportedVersion = "unsupported_version" // hello with a version the server does not speak
	CodeBadState           = "bad_state"           // request not valid now (e.g. join twice, answer before offer)
	CodeBadPassword        = "bad_password"        // wrong or missing room password
	CodeBadSecret          = "bad_secret"          // wrong organizer secret
	CodeNotFound           = "not_found"           // no such room (ad-hoc rooms off) or participant
	CodeRoomFull           = "room_full"
	CodeRoomLocked         = "room_locked"
	CodeRateLimited        = "rate_limited"     // too many joins or password attempts; retry later
	CodeFloorBusy          = "floor_busy"       // the room's speakers are all taken
	CodeNoMedia            = "no_media"         // the floor needs a media connection that is up
	CodeChatOff            = "chat_off"         // the room's chat is off, or an organizer muted your chat
	CodeVideoOff           = "video_off"        // the room is audio only (or the server carries no video)
	CodeTooManyCameras     = "too_many_cameras" // the room's cameras are all on
	CodeNotAllowed         = "not_allowed"      // organizer-only action, or talking not allowed in this mode
	CodeFlood              = "flood"            // too many messages: the server closes the connection
	CodeTooManyRooms       = "too_many_rooms"   // the server's cap on ad-hoc rooms is reached; try an existing room or later
	CodeAddressLimit       = "address_limit"    // your address holds as many connections, participants or ad-hoc rooms as the server allows
	CodeInternal           = "internal"
)

// Message is every message of the protocol. Which fields are meaningful
// depends on Type; Validate checks a client request.
type Message struct {
	Type string `json:"type"`
	ID   uint32 `json:"id,omitempty"`

	Version  int    `json:"version,omitempty"`  // hello, welcome
	Software string `json:"software,omitempty"` // hello, welcome: free text such as "palabre/1.0"

	Room     string `json:"room,omitempty"`     // join: room name
	Name     string `json:"name,omitempty"`     // join: display name
	Password string `json:"password,omitempty"` // join, set_password
	Secret   string `json:"secret,omitempty"`   // join: organizer secret
	Mode     string `json:"mode,omitempty"`     // set_mode
	Target   string `json:"target,omitempty"`   // mute, unmute, kick, grant, revoke: participant id
	Hops     int    `json:"hops,omitempty"`     // join: redirects followed to get here (0..MaxHops)
	// Rejoin says a join comes from a client that was in the room moments
	// ago and lost its connection or its node (join; counted, no rights).
	Rejoin bool `json:"rejoin,omitempty"`
	// WantVideo asks for an offer with video m-lines (join): the camera,
	// the screen, room_info.video_slots camera slots and the screen slot.
	// Without it the offer is audio only, as for clients that predate video.
	WantVideo bool   `json:"want_video,omitempty"`
	Text      string `json:"text,omitempty"` // chat

	SDP       string     `json:"sdp,omitempty"`       // offer, answer
	Candidate *Candidate `json:"candidate,omitempty"` // candidate

	Code string `json:"code,omitempty"` // error
	// RetryAfter is how many seconds to wait before trying again (error
	// rate_limited), when the server knows.
	RetryAfter int    `json:"retry_after,omitempty"`
	Message    string `json:"message,omitempty"` // error, kicked: human-readable
	By         string `json:"by,omitempty"`      // events: the participant id that caused it
	Reason     string `json:"reason,omitempty"`  // redirect: "elsewhere", "moved"

	Self         *Participant  `json:"self,omitempty"`         // joined
	RoomInfo     *RoomInfo     `json:"room_info,omitempty"`    // joined, room
	Participants []Participant `json:"participants,omitempty"` // joined, page
	// Count is the number of participants in the room (joined, page).
	Count int `json:"count,omitempty"`
	// Paged says the room is large: joined.participants is its first
	// page, not the whole list (joined).
	Paged bool `json:"paged,omitempty"`
	// Cursor continues a listing: the next page starts after it (list,
	// page, and joined when paged). Opaque; absent in a page: no more.
	Cursor string `json:"cursor,omitempty"`
	// Query keeps only the participants whose name contains it, ignoring
	// case (list). Limit is the page size, 1..MaxPageSize (list; 0:
	// DefaultPageSize).
	Query string `json:"query,omitempty"`
	Limit int    `json:"limit,omitempty"`
	// Presence is a presence batch (presence event).
	Presence    *Presence    `json:"presence,omitempty"`
	Participant *Participant `json:"participant,omitempty"` // muted, hand, camera
	Floor       []string     `json:"floor,omitempty"`       // joined, floor: holders' ids
	Speaker     *Speaker     `json:"speaker,omitempty"`     // speaking
	// Speakers are the audio slots that carry a voice right now (joined),
	// so that someone who arrives while another talks sees who it is.
	Speakers []Speaker `json:"speakers,omitempty"`
	// Hands are the participants with a raised hand, first raised first
	// (joined, hands).
	Hands []string `json:"hands,omitempty"`
	// Chat is a chat message (chat event).
	Chat *ChatMessage `json:"chat_message,omitempty"`
	// Waiting are the people in the lobby (lobby event, to organizers).
	Waiting []Waiting `json:"waiting,omitempty"`
	// Video is a video slot's occupant (video_slot event); VideoSlots
	// are the occupied ones (joined).
	Video      *VideoSlot  `json:"video,omitempty"`
	VideoSlots []VideoSlot `json:"video_slots,omitempty"`
	// Wishes are a receiver's wishes per video slot (video_wish).
	Wishes []VideoWish `json:"wishes,omitempty"`
	// MaxCameras is set_cameras' value.
	MaxCameras int `json:"max_cameras,omitempty"`
	// OrganizerSecret is handed to whoever opened an ad-hoc room (joined):
	// it makes them its organizer again if they come back.
	OrganizerSecret string      `json:"organizer_secret,omitempty"`
	ICEServers      []ICEServer `json:"ice_servers,omitempty"` // joined
	// URL is a node's public base URL ("https://b.example.org"): redirect.
	URL string `json:"url,omitempty"`
	// Nodes are the public base URLs of the cluster's nodes, this one
	// first (joined): where to reconnect when this node fails.
	Nodes []string `json:"nodes,omitempty"`
}

// Candidate is a trickled ICE candidate, shaped like the browser's
// RTCIceCandidateInit so a web client can pass it through unchanged. Its
// fields are exactly those of pion's webrtc.ICECandidateInit, so Go code
// converts between the two with a plain type conversion.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Participant describes one member of a room.
type Participant struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Organizer bool   `json:"organizer"`
	Muted     bool   `json:"muted"`      // muted by an organizer or by itself: not heard
	Hand      bool   `json:"hand"`       // hand raised
	Floor     bool   `json:"floor"`      // holds the floor
	ChatMuted bool   `json:"chat_muted"` // an organizer muted this participant's chat
	Camera    bool   `json:"camera"`     // sends its camera
	Screen    bool   `json:"screen"`     // shares its screen
	// Source is the value the server puts in the CSRC field of the RTP
	// packets that carry this participant's voice on an audio slot.
	Source uint32 `json:"source"`
}

// Presence is one batch of the room's presence changes, sent to every
// member at most once per interval (docs/protocol.md, "Presence").
type Presence struct {
	// Count is how many are in the room now.
	Count int `json:"count"`
	// Paged: the room is large. Joined lists only the newcomers everyone
	// should see (organizers), Changed only the records of the people on
	// the stage (organizers, floor holders, raised hands, cameras and
	// screens); the rest of the list is paged with list.
	Paged bool `json:"paged"`
	// Full: Joined is the whole list (the room became small again):
	// replace yours with it.
	Full bool `json:"full"`
	// Joined are the newcomers, in join order; Left the departures;
	// Changed the new records of participants whose state changed (large
	// rooms; small rooms have the muted, hand and camera events). Empty
	// lists are omitted.
	Joined  []Participant `json:"joined,omitempty"`
	Left    []Departure   `json:"left,omitempty"`
	Changed []Participant `json:"changed,omitempty"`
}

// Departure is one participant leaving: its id and why ("left",
// "kicked", "disconnected").
type Departure struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// RoomInfo is what a participant may know of the room's settings.
type RoomInfo struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	Locked          bool   `json:"locked"`
	HasPassword     bool   `json:"has_password"`
	MaxParticipants int    `json:"max_participants"` // 0: no limit
	MaxSpeakers     int    `json:"max_speakers"`     // floor size in ptt and moderated rooms
	Chat            bool   `json:"chat"`             // the chat is open to everyone (else organizers only)
	Lobby           bool   `json:"lobby"`            // newcomers wait in the lobby until admitted
	Video           bool   `json:"video"`            // cameras and screens allowed (else audio only)
	MaxCameras      int    `json:"max_cameras"`      // cameras on at once, at most
	VideoSlots      int    `json:"video_slots"`      // camera slots (downstream video tracks) per participant; 0: no video on this server
	Slots           int    `json:"slots"`            // audio slots (downstream tracks) per participant
}

// ChatMessage is one chat message as the server relays it. It lives only
// in the clients: the server keeps, stores and logs none.
type ChatMessage struct {
	From    string `json:"from"` // participant id
	Name    string `json:"name"` // the sender's display name
	Text    string `json:"text"`
	To      string `json:"to,omitempty"` // set on private messages: the addressee
	Private bool   `json:"private"`
}

// Video slot kinds and receiver wishes.
const (
	VideoCamera = "camera"
	VideoScreen = "screen"

	WishOff  = "off"  // send nothing on this slot (hidden tile, audio only)
	WishLow  = "low"  // a small tile: the lowest layer is enough
	WishHigh = "high" // a large tile: as high as the link allows
)

// VideoSlot says which participant's camera or screen a downstream video
// slot carries (Participant "" when empty). Slot counts the camera slots
// 0..video_slots-1; the screen slot is Kind "screen", Slot 0.
type VideoSlot struct {
	Slot        int    `json:"slot"`
	Kind        string `json:"kind"`
	Participant string `json:"participant"`
	Source      uint32 `json:"source"`
}

// VideoWish is what a receiver asks of one video slot.
type VideoWish struct {
	Slot  int    `json:"slot"`
	Kind  string `json:"kind"`  // camera or screen
	Level string `json:"level"` // off, low or high
}

// Waiting is someone in a room's lobby.
type Waiting struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Speaker says which participant is heard on an audio slot. An empty
// Participant means the slot went quiet.
type Speaker struct {
	Slot        int    `json:"slot"`
	Participant string `json:"participant"`
	Source      uint32 `json:"source"`
}

// ICEServer is a STUN or TURN server the client may use.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Error is a protocol error: a stable code and a human message. It
// implements error so the client can return it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorReply builds the error reply to a request with the given id.
func ErrorReply(id uint32, code, message string) Message {
	return Message{Type: TypeError, ID: id, Code: code, Message: message}
}

// Arrival returns the newcomer of that id in the batch, or nil.
func (p *Presence) Arrival(id string) *Participant {
	return p.find(p.Joined, func(q *Participant) bool { return q.ID == id })
}

// ArrivalNamed returns the first newcomer of that name in the batch, or nil.
func (p *Presence) ArrivalNamed(name string) *Participant {
	return p.find(p.Joined, func(q *Participant) bool { return q.Name == name })
}

// Departure returns the departure of that id in the batch, if any.
func (p *Presence) Departure(id string) (Departure, bool) {
	if p != nil {
		for _, d := range p.Left {
			if d.ID == id {
				return d, true
			}
		}
	}
	return Departure{}, false
}

func (p *Presence) find(list []Participant, match func(*Participant) bool) *Participant {
	if p == nil {
		return nil
	}
	for i := range list {
		if match(&list[i]) {
			return &list[i]
		}
	}
	return nil
}
