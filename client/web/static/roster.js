// The roster: who is in the room, who holds the floor, whose hand is up
// (in the server's order), who waits in the lobby (organizers), who is
// heard on which audio slot and seen on which video slot, and what to
// announce to screen readers about it.
// Pure, like talk.js: no DOM, no words (announcements are dictionary
// keys), the clock passed in; test/roster.test.js runs it under Node.
//
// Each change returns a Change saying what to redraw and announce.

/** @import { Participant, RoomInfo, Speaker, Message, Joined, Waiting, VideoSlot, VideoKind, Presence } from './protocol.js' */
/** @import { Param } from './i18n.js' */

export const SPEAK_REANNOUNCE_MS = 5000; // don't announce the same voice again within this
export const ANNOUNCE_JOINS_UP_TO = 20; // joins and departures are announced in small rooms only
export const HANDS_LISTED = 100; // a large room's queue of hands lists its first ones only
export const PAGE_SIZE = 50; // participants asked for at a time in a large room (list)

/**
 * @typedef {{key: string, params?: Record<string, Param>}} Announcement
 * @typedef {{
 *   changed: Participant[], removed: string[], speaking: boolean,
 *   count: boolean, all: boolean, hands: boolean, lobby: boolean, chat: boolean,
 *   video: boolean, announce: Announcement[],
 * }} Change
 *   changed: participants to redraw; removed: ids to take off the list;
 *   speaking: the speaking marks changed; count: the head count did;
 *   hands: the queue of raised hands; lobby: who waits; chat: who may
 *   chat (the room's setting, our own chat mute); video: the video slots,
 *   or who sends a camera or a screen; all: redraw everything (a new room,
 *   new settings).
 */

/** @returns {Change} */
function change() {
  return {
    changed: [], removed: [], speaking: false, count: false, all: false,
    hands: false, lobby: false, chat: false, video: false, announce: [],
  };
}

export class Roster {
  /** @type {RoomInfo | null} */
  info = null;
  /** @type {Participant | null} */
  self = null;
  /** @type {Map<string, Participant>} in order of arrival */
  participants = new Map();
  /** @type {string[]} floor holders' ids, in the order they took it */
  floor = [];
  /** @type {string[]} raised hands' ids, first raised first (the server's order) */
  hands = [];
  /** @type {Waiting[]} who waits in the lobby, in arrival order (organizers only) */
  waiting = [];
  /** @type {Map<number, string>} audio slot → participant id ('' when quiet) */
  slots = new Map();
  /** @type {Set<string>} ids heard on a slot now */
  speaking = new Set();
  /** @type {Map<string, number>} participant id → when last announced speaking */
  lastAnnounced = new Map();
  /** @type {Map<string, number>} participant id → when last heard on an audio slot */
  spokeAt = new Map();
  /** @type {Map<string, VideoSlot>} video slot ("camera:0", "screen:0") → who it carries */
  videoSlots = new Map();
  /**
   * A large room (paged): participants holds the stage and the pages
   * loaded so far, not everyone; the server's count says how many.
   */
  paged = false;
  /** @type {number} the room's head count, as the server last said */
  serverCount = 0;
  /** @type {string | null} where the next page starts ('' from the top); null: no more */
  cursor = null;
  /** the server's queue of hands was cut at HANDS_LISTED (a large room) */
  handsCapped = false;

  /** @param {{now?: () => number}} [options] now: a monotonic clock in ms */
  constructor({ now = () => performance.now() } = {}) {
    this.now = now;
  }

  // clear forgets the room (after leaving).
  clear() {
    this.info = null;
    this.self = null;
    this.participants = new Map();
    this.floor = [];
    this.hands = [];
    this.waiting = [];
    this.slots = new Map();
    this.speaking = new Set();
    this.lastAnnounced = new Map();
    this.spokeAt = new Map();
    this.videoSlots = new Map();
    this.paged = false;
    this.serverCount = 0;
    this.cursor = null;
    this.handsCapped = false;
  }

  /** @returns {number} how many are in the room */
  get count() {
    return this.paged ? Math.max(this.serverCount, this.participants.size) : this.participants.size;
  }

  /** @returns {boolean} the room has participants not loaded yet (a large room) */
  get more() {
    return this.paged && this.cursor !== null;
  }

  /**
   * reset takes the room from a joined message. The voices already
   * heard (joined.speakers) count as speaking events arriving at once.
   * @param {Joined} joined
   */
  reset(joined) {
    this.info = joined.room_info;
    this.floor = joined.floor || [];
    this.participants = new Map();
    for (const p of joined.participants || []) this.participants.set(p.id, { ...p });
    if (!this.participants.has(joined.self.id)) this.participants.set(joined.self.id, { ...joined.self });
    for (const p of this.participants.values()) p.floor = this.floor.includes(p.id);
    this.self = this.participants.get(joined.self.id) || null;
    // An older server sends no hands: the raised ones, in arrival order.
    this.hands = Array.isArray(joined.hands)
      ? joined.hands.filter((id) => this.participants.has(id))
      : [...this.participants.values()].filter((p) => p.hand).map((p) => p.id);
    this.handsCapped = !!joined.paged && Array.isArray(joined.hands) && joined.hands.length >= HANDS_LISTED;
    for (const p of this.participants.values()) p.hand = this.hands.includes(p.id) || (this.handsCapped && !!p.hand && !p.floor);
    this.waiting = Array.isArray(joined.waiting) ? joined.waiting.slice() : [];
    this.paged = !!joined.paged;
    this.serverCount = joined.count || this.participants.size;
    this.cursor = this.paged ? (joined.cursor || null) : null;
    this.slots = new Map();
    this.speaking = new Set();
    const c = change();
    c.all = true;
    c.video = true;
    this.videoSlots = new Map();
    for (const v of Array.isArray(joined.video_slots) ? joined.video_slots : []) this.setVideoSlot(v);
    for (const sp of joined.speakers || []) this.speaker(sp, c);
    // Someone who arrives during a presentation is told, as at its start.
    for (const p of this.participants.values()) {
      if (p.screen && p !== this.self) c.announce.push({ key: 'announce.screen_on', params: { name: p.name } });
    }
    return c;
  }

  // suspend: the connection is lost; nobody is heard or seen any more.
  suspend() {
    this.slots = new Map();
    const c = change();
    this.updateSpeaking(c);
    if (this.videoSlots.size) c.video = true;
    this.videoSlots = new Map();
    return c;
  }

  /**
   * apply takes one room event (presence, speaking, floor, muted, hand,
   * room…; participant_joined and participant_left from older servers);
   * others change nothing.
   * @param {Message} msg
   * @returns {Change}
   */
  apply(msg) {
    const c = change();
    if (!this.self || !this.info) return c;
    switch (msg.type) {
      case 'presence':
        if (msg.presence) this.presence(msg.presence, c);
        break;
      case 'participant_joined':
        if (msg.participant) this.arrive(msg.participant, c);
        break;
      case 'participant_left':
        if (msg.participant) this.depart(this.participants.get(msg.participant.id) || msg.participant, msg.reason || '', c);
        break;
      case 'speaking':
        if (msg.speaker) this.speaker(msg.speaker, c);
        break;
      case 'video_slot':
        if (msg.video && this.setVideoSlot(msg.video)) c.video = true;
        break;
      case 'floor':
        this.setFloor(msg.floor || [], c);
        break;
      case 'hand': {
        // The hands event has the order; this one may come alone (an
        // older server): keep the list in step, a new hand last.
        if (!msg.participant) break;
        const id = msg.participant.id;
        const up = msg.participant.hand && !this.floor.includes(id);
        if (up !== this.hands.includes(id)) this.setHands(up ? [...this.hands, id] : this.hands.filter((h) => h !== id), c);
        this.upsert(msg.participant, c);
        break;
      }
      case 'hands':
        this.setHands(Array.isArray(msg.hands) ? msg.hands : [], c);
        break;
      case 'lobby':
        this.setWaiting(Array.isArray(msg.waiting) ? msg.waiting : [], c);
        break;
      case 'room': {
        if (!msg.room_info) break;
        const old = this.info;
        this.info = msg.room_info;
        c.all = true;
        // A mode change is told by the talk machine (it changes what the
        // user may do); a lock alone is announced here.
        if (old.mode === this.info.mode && old.locked !== this.info.locked) {
          c.announce.push({ key: this.info.locked ? 'announce.locked' : 'announce.unlocked' });
        }
        if (chatOpen(old) !== chatOpen(this.info)) {
          c.chat = true;
          c.announce.push({ key: chatOpen(this.info) ? 'announce.chat_on' : 'announce.chat_off' });
        }
        if (!!old.lobby !== !!this.info.lobby && this.self.organizer) {
          c.announce.push({ key: this.info.lobby ? 'announce.lobby_on' : 'announce.lobby_off' });
        }
        if (!!old.video !== !!this.info.video && hasVideoServer(this.info)) {
          c.video = true;
          c.announce.push({ key: this.info.video ? 'announce.video_on' : 'announce.video_off' });
        }
        if (old.max_cameras !== this.info.max_cameras) c.video = true;
        break;
      }
      default:
        // muted, and any event that carries a participant's new record
        // (chat_muted changes, for one).
        if (msg.participant && this.participants.has(msg.participant.id)) this.upsert(msg.participant, c);
    }
    return c;
  }

  /**
   * presence takes a batch: the count, who joined, who left, whose record
   * changed; a full batch replaces the list (the room became small).
   * @param {Presence} pr @param {Change} c
   */
  presence(pr, c) {
    const wasPaged = this.paged;
    this.paged = !!pr.paged;
    if (typeof pr.count === 'number') this.serverCount = pr.count;
    c.count = true;
    if (this.paged && !wasPaged) this.cursor = ''; // the list is now partial: more from the top
    if (!this.paged) this.cursor = null;
    if (pr.full) {
      const list = Array.isArray(pr.joined) ? pr.joined : [];
      const keep = new Set(list.map((p) => p.id));
      for (const id of [...this.participants.keys()]) {
        if (!keep.has(id) && (!this.self || id !== this.self.id)) this.depart(/** @type {Participant} */ (this.participants.get(id)), '', c, true);
      }
      for (const p of list) this.upsert(p, c);
      c.all = true;
      return;
    }
    for (const p of Array.isArray(pr.joined) ? pr.joined : []) this.arrive(p, c);
    for (const d of Array.isArray(pr.left) ? pr.left : []) {
      const p = d && this.participants.get(d.id);
      if (p) this.depart(p, d.reason || '', c);
    }
    for (const p of Array.isArray(pr.changed) ? pr.changed : []) {
      // In a large room only the stage changes reach us: an organizer, a
      // raised hand, the floor, a camera; new or known, it is listed.
      const hand = p.hand && !this.floor.includes(p.id);
      if (hand !== this.hands.includes(p.id) && this.paged) {
        // The hands event follows with the order; until then, last.
        this.hands = hand ? [...this.hands, p.id] : this.hands.filter((h) => h !== p.id);
        c.hands = true;
      }
      this.upsert(p, c);
    }
  }

  /**
   * page merges a page of the list (the reply to list) and says where the
   * next starts.
   * @param {Message} reply @param {boolean} [search] a search's page: the cursor is the search's
   * @returns {Change}
   */
  page(reply, search = false) {
    const c = change();
    if (!this.self) return c;
    for (const p of reply.participants || []) {
      if (!this.participants.has(p.id)) this.upsert(p, c);
    }
    if (typeof reply.count === 'number') {
      this.serverCount = reply.count;
      c.count = true;
    }
    if (!search) this.cursor = reply.cursor || null;
    return c;
  }

  /**
   * arrive takes a newcomer, announced in small rooms.
   * @param {Participant} participant @param {Change} c
   */
  arrive(participant, c) {
    const known = this.participants.has(participant.id);
    const p = this.upsert(participant, c);
    c.count = true;
    if (!known && !this.paged && this.participants.size <= ANNOUNCE_JOINS_UP_TO) {
      c.announce.push({ key: 'announce.joined', params: { name: p.name } });
    }
  }

  /**
   * depart takes someone off the list: its slots, its hand, its tile.
   * @param {Participant} p @param {string} reason left, kicked or disconnected
   * @param {Change} c @param {boolean} [quiet] not announced (a full list replacing ours)
   */
  depart(p, reason, c, quiet = false) {
    this.participants.delete(p.id);
    for (const [slot, id] of this.slots) if (id === p.id) this.slots.set(slot, '');
    for (const [key, v] of this.videoSlots) {
      if (v.participant === p.id) {
        this.videoSlots.delete(key);
        c.video = true;
      }
    }
    if (p.screen) c.video = true;
    if (this.hands.includes(p.id)) {
      this.hands = this.hands.filter((id) => id !== p.id);
      c.hands = true;
    }
    c.removed.push(p.id);
    c.count = true;
    this.updateSpeaking(c);
    if (quiet) return;
    if (reason === 'kicked') c.announce.push({ key: 'announce.kicked', params: { name: p.name } });
    else if (!this.paged && this.participants.size < ANNOUNCE_JOINS_UP_TO) c.announce.push({ key: 'announce.left', params: { name: p.name } });
  }

  /**
   * setHands takes the queue of raised hands; a new one is announced to
   * organizers.
   * @param {string[]} list @param {Change} c
   */
  setHands(list, c) {
    const before = new Set(this.hands);
    const known = list.filter((id) => this.participants.has(id));
    const capped = this.paged && list.length >= HANDS_LISTED;
    if (capped === this.handsCapped && known.length === this.hands.length && known.every((id, i) => id === this.hands[i])) return;
    this.hands = known;
    this.handsCapped = capped;
    c.hands = true;
    for (const p of this.participants.values()) {
      // Past the first HANDS_LISTED of a large room, the record says.
      const up = known.includes(p.id) || (capped && p.hand && !p.floor);
      if (p.hand !== up) {
        p.hand = up;
        if (!c.changed.includes(p)) c.changed.push(p);
      }
    }
    if (!this.self || !this.self.organizer) return;
    for (const id of known) {
      if (!before.has(id) && id !== this.self.id) c.announce.push({ key: 'announce.hand', params: { name: this.name(id) } });
    }
  }

  /**
   * setWaiting takes the lobby's list (organizers); a newcomer is announced.
   * @param {Waiting[]} list @param {Change} c
   */
  setWaiting(list, c) {
    const before = new Set(this.waiting.map((w) => w.id));
    this.waiting = list.filter((w) => w && typeof w.id === 'string').map((w) => ({ id: w.id, name: String(w.name || '') }));
    c.lobby = true;
    const fresh = this.waiting.filter((w) => !before.has(w.id));
    if (fresh.length === 1) c.announce.push({ key: 'announce.waiting', params: { name: fresh[0].name } });
    else if (fresh.length > 1) c.announce.push({ key: 'announce.waiting_many', params: { n: fresh.length } });
  }

  /** @param {string} id @returns {number} 1 for the first raised hand, 0 when not raised */
  handPosition(id) {
    return this.hands.indexOf(id) + 1;
  }

  /**
   * floorBusy: the others hold every place on the floor, so a push to
   * talk would be refused (an organizer's would take it over).
   */
  get floorBusy() {
    if (!this.info || !this.self || this.info.mode === 'open') return false;
    if (this.floor.includes(this.self.id)) return false;
    return this.floor.length >= Math.max(1, this.info.max_speakers || 0);
  }

  /** @returns {string[]} the names of the others holding the floor */
  floorHolders() {
    const selfID = this.self ? this.self.id : '';
    return this.floor.filter((id) => id !== selfID).map((id) => this.name(id)).filter(Boolean);
  }

  /**
   * canChat: may we send chat messages? Organizers always; the others
   * while the room's chat is open and an organizer did not mute theirs.
   */
  get canChat() {
    if (!this.self || !this.info) return false;
    if (this.self.organizer) return true;
    return chatOpen(this.info) && !this.self.chat_muted;
  }

  /**
   * setOwnHand records our raised or lowered hand, once the server agreed
   * (a hand raised while holding the floor is moot).
   * @param {boolean} up
   */
  setOwnHand(up) {
    const c = change();
    if (!this.self) return c;
    const id = this.self.id;
    this.self.hand = up && !this.self.floor;
    c.changed.push(this.self);
    // The hands event will say where; until then, last.
    if (this.self.hand && !this.hands.includes(id)) this.hands = [...this.hands, id];
    else if (!this.self.hand) this.hands = this.hands.filter((h) => h !== id);
    c.hands = true;
    return c;
  }

  /** @param {string} id @returns {string} the participant's name, '' if unknown */
  name(id) {
    const p = this.participants.get(id);
    return p ? p.name : '';
  }

  get onFloor() {
    return !!this.self && this.floor.includes(this.self.id);
  }

  /**
   * upsert merges a participant's new record into ours.
   * @param {Participant} p @param {Change} c
   */
  upsert(p, c) {
    let cur = this.participants.get(p.id);
    if (cur) {
      const chatWas = !!cur.chat_muted;
      const cameraWas = !!cur.camera;
      const screenWas = !!cur.screen;
      Object.assign(cur, p);
      if (cur === this.self && chatWas !== !!cur.chat_muted) {
        c.chat = true;
        c.announce.push({ key: cur.chat_muted ? 'chat.muted_you' : 'chat.unmuted_you' });
      }
      if (cameraWas !== !!cur.camera || screenWas !== !!cur.screen) c.video = true;
      // A presentation starts or ends: said, as the screen is not seen.
      if (screenWas !== !!cur.screen && cur !== this.self) {
        c.announce.push({ key: cur.screen ? 'announce.screen_on' : 'announce.screen_off', params: { name: cur.name } });
      }
    } else {
      cur = { ...p };
      this.participants.set(p.id, cur);
    }
    // The floor list is the truth for "floor", the hands list for "hand";
    // events may lag behind them.
    cur.floor = this.floor.includes(cur.id);
    // A large room lists only the first HANDS_LISTED hands: further back,
    // the record says.
    cur.hand = this.hands.includes(cur.id) || (this.handsCapped && !!p.hand && !cur.floor);
    if (!c.changed.includes(cur)) c.changed.push(cur);
    return cur;
  }

  /** @param {string[]} list @param {Change} c */
  setFloor(list, c) {
    this.floor = list;
    for (const p of this.participants.values()) {
      const f = list.includes(p.id);
      if (f !== p.floor || (f && p.hand)) {
        p.floor = f;
        if (f) p.hand = false; // getting the floor answers a raised hand
        c.changed.push(p);
      }
    }
    const hands = this.hands.filter((id) => !list.includes(id));
    if (hands.length !== this.hands.length) {
      this.hands = hands;
      c.hands = true;
    }
  }

  /**
   * speaker records who is heard on a slot, announcing a new voice unless
   * it is ours or was announced moments ago.
   * @param {Speaker} sp @param {Change} c
   */
  speaker(sp, c) {
    this.slots.set(sp.slot, sp.participant || '');
    const before = this.speaking;
    this.updateSpeaking(c);
    const now = this.now();
    for (const id of this.speaking) {
      if (before.has(id) || (this.self && id === this.self.id)) continue;
      const last = this.lastAnnounced.get(id);
      if (last !== undefined && now - last < SPEAK_REANNOUNCE_MS) continue;
      const name = this.name(id);
      if (!name) continue;
      this.lastAnnounced.set(id, now);
      c.announce.push({ key: 'announce.speaking', params: { name } });
    }
  }

  /**
   * setVideoSlot records who a video slot carries; false when nothing
   * changed.
   * @param {VideoSlot} v
   */
  setVideoSlot(v) {
    if (!v || (v.kind !== 'camera' && v.kind !== 'screen') || !Number.isInteger(v.slot) || v.slot < 0) return false;
    const key = videoKey(v.kind, v.slot);
    const old = this.videoSlots.get(key);
    const participant = typeof v.participant === 'string' ? v.participant : '';
    if (!participant) {
      this.videoSlots.delete(key);
      return !!old;
    }
    if (old && old.participant === participant && old.source === v.source) return false;
    this.videoSlots.set(key, { slot: v.slot, kind: v.kind, participant, source: v.source || 0 });
    return true;
  }

  /** @param {Change} c */
  updateSpeaking(c) {
    /** @type {Set<string>} */
    const now = new Set();
    for (const id of this.slots.values()) if (id) now.add(id);
    // Last heard: while on a slot, and when leaving it.
    const t = this.now();
    for (const id of now) this.spokeAt.set(id, t);
    for (const id of this.speaking) if (!now.has(id)) this.spokeAt.set(id, t);
    if (now.size !== this.speaking.size || [...now].some((id) => !this.speaking.has(id))) c.speaking = true;
    this.speaking = now;
  }
}

/**
 * videoKey names a video slot: "camera:0" … "camera:V-1", "screen:0".
 * @param {VideoKind} kind @param {number} slot
 */
export function videoKey(kind, slot) {
  return `${kind}:${slot}`;
}

/** @param {RoomInfo} info @returns {boolean} the server carries video (video_slots > 0) */
export function hasVideoServer(info) {
  return (info.video_slots || 0) > 0;
}

/** @param {RoomInfo} info @returns {boolean} the chat is open to everyone (absent: open, an older server) */
export function chatOpen(info) {
  return info.chat !== false;
}
