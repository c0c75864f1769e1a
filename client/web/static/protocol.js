// The signaling connection: one WebSocket speaking docs/protocol.md.
//
// Requests carry an id; the server sends exactly one reply with that id
// (welcome, joined, ack, pong, or error). request() returns a promise
// settled by that reply; everything else is an event, handed to onEvent.

/**
 * The protocol's objects, as signaling/proto defines them.
 * @typedef {'open' | 'ptt' | 'moderated'} Mode
 * @typedef {{id: string, name: string, organizer: boolean, muted: boolean,
 *   hand: boolean, floor: boolean, chat_muted?: boolean, source: number,
 *   camera?: boolean, screen?: boolean}} Participant
 *   chat_muted: an organizer muted this participant's chat; camera,
 *   screen: sends its camera, shares its screen
 * @typedef {{name: string, mode: Mode, locked: boolean, has_password: boolean,
 *   max_participants: number, max_speakers: number, slots: number,
 *   chat?: boolean, lobby?: boolean, video?: boolean, max_cameras?: number,
 *   video_slots?: number}} RoomInfo
 *   chat: the chat is open to everyone (else organizers only; absent from
 *   older servers: open); lobby: newcomers wait until an organizer admits them;
 *   video: cameras and screens allowed; max_cameras: on at once, at most;
 *   video_slots: camera slots per participant (0 or absent: the server
 *   carries no video)
 * @typedef {{from: string, name: string, text: string, to?: string, private: boolean}} ChatMessage
 *   never stored by the server; the app keeps it in memory for the room's life
 * @typedef {{id: string, name: string}} Waiting someone in the lobby
 * @typedef {{slot: number, participant: string, source: number}} Speaker
 *   participant '' (and source 0): the slot went quiet
 * @typedef {{urls: string[], username?: string, credential?: string}} ICEServer
 * @typedef {'camera' | 'screen'} VideoKind
 * @typedef {{slot: number, kind: VideoKind, participant: string, source: number}} VideoSlot
 *   whose camera or screen a video slot carries ('' when empty); the
 *   screen slot is kind screen, slot 0
 * @typedef {{slot: number, kind: VideoKind, level: 'off' | 'low' | 'high'}} VideoWish
 * @typedef {{id: string, reason: string}} Departure
 * @typedef {{count: number, paged: boolean, full: boolean, joined?: Participant[],
 *   left?: Departure[], changed?: Participant[]}} Presence
 *   one batch of the room's presence (docs/protocol.md): paged, a large
 *   room (joined and changed name only the stage); full, joined is the
 *   whole list
 */

/**
 * Message is every message, like proto.Message: which fields are set
 * depends on type (docs/protocol.md).
 * @typedef {{
 *   type: string, id?: number, version?: number, software?: string,
 *   room?: string, name?: string, password?: string, secret?: string,
 *   mode?: Mode, target?: string, hops?: number, rejoin?: boolean,
 *   sdp?: string, candidate?: RTCIceCandidateInit,
 *   code?: string, message?: string, retry_after?: number, by?: string, reason?: string,
 *   self?: Participant, room_info?: RoomInfo, participants?: Participant[],
 *   participant?: Participant, floor?: string[], speaker?: Speaker,
 *   speakers?: Speaker[], ice_servers?: ICEServer[], url?: string, nodes?: string[],
 *   text?: string, chat_message?: ChatMessage, hands?: string[], waiting?: Waiting[],
 *   organizer_secret?: string,
 *   video?: VideoSlot, video_slots?: VideoSlot[], wishes?: VideoWish[], max_cameras?: number,
 *   want_video?: boolean, presence?: Presence, count?: number, paged?: boolean,
 *   cursor?: string, query?: string, limit?: number,
 * }} Message
 */

/**
 * Joined is the reply to a join: the room as the newcomer finds it.
 * @typedef {Message & {self: Participant, room_info: RoomInfo}} Joined
 */

export const PROTOCOL_VERSION = 1;
export const SOFTWARE = 'palabre-web/1';

// Reply types: a message of one of these types with a known id settles a
// request. Anything else is an event. A redirect is the reply to a join
// whose room lives on another node; without an id it is an event (the
// room is moving). waiting is the reply to a join into a room whose lobby
// is on; the joined that follows (when an organizer admits us) has no id.
// page is the reply to list (a page of a large room's participants).
const REPLIES = new Set(['welcome', 'joined', 'waiting', 'ack', 'pong', 'error', 'redirect', 'page']);

// ---- limits: copies of the server's rules ------------------------------
// client/web/rules_test.go checks them against the Go code: keep them
// simple exported constants.

// MAX_HOPS is the most redirects a join may follow (MaxHops in
// signaling/proto).
export const MAX_HOPS = 3;
// MAX_NODES is the most cluster nodes remembered from a joined message.
export const MAX_NODES = 16;

// ROOM_NAME is the protocol's room name (rooms.ValidateName): 1–64 of
// a-z, 0-9, '-', starting and ending with a letter or digit.
export const ROOM_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

// suggestRoomName turns what someone typed ("Chorale du Mardi") into the
// room name that will be used ("chorale-du-mardi"): lower case, accents
// removed, spaces and other signs turned into hyphens, no hyphen at either
// end, at most 64 characters. '' when nothing usable is left. The result,
// when not '', always passes ROOM_NAME.
/** @param {string} typed @returns {string} */
export function suggestRoomName(typed) {
  const trimmed = typed.trim();
  if (ROOM_NAME.test(trimmed)) return trimmed; // already a name: keep it as typed
  const s = trimmed
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // the accents NFKD took apart
    .replace(/[ßæœø]/g, (c) => /** @type {Record<string, string>} */ ({ ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o' })[c])
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return ROOM_NAME.test(s) ? s : '';
}

// MAX_NAME_CHARS is the longest display name, in characters (code
// points: proto.MaxNameRunes).
export const MAX_NAME_CHARS = 64;

/**
 * validDisplayName is proto.ValidDisplayName: 1–64 characters, none a
 * control character, U+FFFD or half a surrogate pair (the server reads
 * those as invalid UTF-8), and not only spaces.
 * @param {string} name
 */
export function validDisplayName(name) {
  const n = [...name].length;
  if (n < 1 || n > MAX_NAME_CHARS) return false;
  if (/[\p{Cc}\p{Cs}\uFFFD]/u.test(name)) return false;
  return !/^\p{White_Space}*$/u.test(name);
}

// MAX_VIDEO_SLOTS is the most camera slots a server offers, and so the
// highest camera cap an organizer may set (proto.MaxVideoSlots).
export const MAX_VIDEO_SLOTS = 9;

// MAX_CHAT_CHARS is the longest chat message, in characters (code points:
// proto.MaxChatRunes).
export const MAX_CHAT_CHARS = 1000;

/**
 * chatTextProblem is proto.ValidChatText: '' when the server will take
 * the text, else why not, as a dictionary key: 1–1000 characters, not
 * blank, no control character but newlines and tabs (nor U+FFFD or half
 * a surrogate pair).
 * @param {string} text
 * @returns {'' | 'chat.empty' | 'chat.too_long' | 'chat.bad_char'}
 */
export function chatTextProblem(text) {
  if (/^\p{White_Space}*$/u.test(text)) return 'chat.empty';
  if (chatLength(text) > MAX_CHAT_CHARS) return 'chat.too_long';
  if (/[\p{Cs}\uFFFD]|(?![\n\t])\p{Cc}/u.test(text)) return 'chat.bad_char';
  return '';
}

/** @param {string} text @returns {number} its length as the server counts it (code points) */
export function chatLength(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

// ProtocolError is a failed request: code is a protocol error code
// (bad_password, floor_busy, …) or one of the client's own: closed (the
// connection ended first), timeout, network.
export class ProtocolError extends Error {
  /**
   * @param {string} code @param {string} [message]
   * @param {number} [retryAfter] seconds to wait (rate_limited), 0 unknown
   */
  constructor(code, message = '', retryAfter = 0) {
    super(message || code);
    this.name = 'ProtocolError';
    this.code = code;
    this.retryAfter = retryAfter;
    /** @type {'' | import('./session.js').ReconnectReason} why the server closed, when it said */
    this.reason = '';
  }
}

// nodeURL checks a node's public base URL sent by the server (redirect,
// joined.nodes) and returns it without a trailing slash, or '' when it is
// not an absolute http: or https: URL: nothing else is ever connected to.
/** @param {unknown} s @returns {string} */
export function nodeURL(s) {
  if (typeof s !== 'string' || s.length > 2048) return '';
  let u;
  try {
    u = new URL(s);
  } catch {
    return '';
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) return '';
  return u.origin + u.pathname.replace(/\/+$/, '');
}

// socketURL is the WebSocket endpoint ("/ws") of the node at base, a base
// URL as nodeURL returns it; by default the server that served the page.
/** @param {string} [base] */
export function socketURL(base = location.origin) {
  const u = new URL(base);
  const scheme = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${u.host}${u.pathname.replace(/\/+$/, '')}/ws`;
}

/**
 * @typedef {{code: number, reason: string, byUs: boolean}} CloseInfo
 * @typedef {{resolve: (msg: Message) => void, reject: (err: ProtocolError) => void,
 *   timer: ReturnType<typeof setTimeout>}} Pending
 */

export class Connection {
  /**
   * url: the WebSocket endpoint (socketURL()).
   * onEvent(msg): every message that is not a reply.
   * onClose({code, reason, byUs}): the socket closed; byUs when close() was called.
   * @param {{url?: string, onEvent?: (msg: Message) => void,
   *   onClose?: (info: CloseInfo) => void, requestTimeout?: number}} options
   */
  constructor({ url = socketURL(), onEvent, onClose, requestTimeout = 15000 }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.requestTimeout = requestTimeout;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.nextID = 1;
    /** @type {Map<number, Pending>} by request id */
    this.pending = new Map();
    this.closedByUs = false;
    this.closed = false;
  }

  // open connects; it resolves once the socket is open.
  open(timeout = 10000) {
    return /** @type {Promise<void>} */ (new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        reject(new ProtocolError('network', String(err)));
        return;
      }
      this.ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (!opened) {
          this.close(1000, 'open timeout');
          reject(new ProtocolError('timeout'));
        }
      }, timeout);
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        clearTimeout(timer);
        this.closed = true;
        this.failPending(new ProtocolError('closed', ev.reason));
        if (!opened) {
          reject(new ProtocolError('network', ev.reason));
          return;
        }
        if (this.onClose) this.onClose({ code: ev.code, reason: ev.reason, byUs: this.closedByUs });
      };
      // An error is always followed by close, which does the work.
      ws.onerror = () => {};
    }));
  }

  /** @param {string} data a text frame */
  receive(data) {
    /** @type {Message} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('palabre: unparsable message from the server');
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    const id = msg.id || 0;
    const p = id && REPLIES.has(msg.type) ? this.pending.get(id) : undefined;
    if (p) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (msg.type === 'error') {
        const wait = typeof msg.retry_after === 'number' && msg.retry_after > 0 ? Math.min(msg.retry_after, 3600) : 0;
        p.reject(new ProtocolError(msg.code || 'internal', msg.message, wait));
      }
      else p.resolve(msg);
      return;
    }
    if (this.onEvent) this.onEvent(msg);
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * send sends a message without an id: no reply unless it fails.
   * @param {Message} msg
   */
  send(msg) {
    if (!this.ws || !this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * request sends msg with a fresh id and resolves with the reply; an
   * error reply rejects with a ProtocolError.
   * @param {Message} msg
   * @param {number} [timeout] ms
   * @returns {Promise<Message>}
   */
  request(msg, timeout = this.requestTimeout) {
    const ws = this.ws;
    if (!ws || !this.isOpen) return Promise.reject(new ProtocolError('closed'));
    const id = this.nextID++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new ProtocolError('timeout'));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** @param {ProtocolError} err */
  failPending(err) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  // close ends the connection on purpose: onClose reports byUs.
  close(code = 1000, reason = '') {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState < WebSocket.CLOSING) {
      try {
        this.ws.close(code, reason);
      } catch {
        this.ws.close();
      }
    }
  }
}
