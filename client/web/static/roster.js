// The roster: who is in the room, who holds the floor, who is heard on
// which audio slot, and what to announce to screen readers about it.
// Pure, like talk.js: no DOM, no words (announcements are dictionary
// keys), the clock passed in; test/roster.test.js runs it under Node.
//
// Each change returns a Change saying what to redraw and announce.

/** @import { Participant, RoomInfo, Speaker, Message, Joined } from './protocol.js' */
/** @import { Param } from './i18n.js' */

export const SPEAK_REANNOUNCE_MS = 5000; // don't announce the same voice again within this
export const ANNOUNCE_JOINS_UP_TO = 20; // joins and departures are announced in small rooms only

/**
 * @typedef {{key: string, params?: Record<string, Param>}} Announcement
 * @typedef {{
 *   changed: Participant[], removed: string[], speaking: boolean,
 *   count: boolean, all: boolean, announce: Announcement[],
 * }} Change
 *   changed: participants to redraw; removed: ids to take off the list;
 *   speaking: the speaking marks changed; count: the head count did;
 *   all: redraw everything (a new room, new settings).
 */

/** @returns {Change} */
function change() {
  return { changed: [], removed: [], speaking: false, count: false, all: false, announce: [] };
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
  /** @type {Map<number, string>} audio slot → participant id ('' when quiet) */
  slots = new Map();
  /** @type {Set<string>} ids heard on a slot now */
  speaking = new Set();
  /** @type {Map<string, number>} participant id → when last announced speaking */
  lastAnnounced = new Map();

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
    this.slots = new Map();
    this.speaking = new Set();
    this.lastAnnounced = new Map();
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
    this.slots = new Map();
    this.speaking = new Set();
    const c = change();
    c.all = true;
    for (const sp of joined.speakers || []) this.speaker(sp, c);
    return c;
  }

  // suspend: the connection is lost; nobody is heard any more.
  suspend() {
    this.slots = new Map();
    const c = change();
    this.updateSpeaking(c);
    return c;
  }

  /**
   * apply takes one room event (participant_joined, participant_left,
   * speaking, floor, muted, hand, room); others change nothing.
   * @param {Message} msg
   * @returns {Change}
   */
  apply(msg) {
    const c = change();
    if (!this.self || !this.info) return c;
    switch (msg.type) {
      case 'participant_joined': {
        if (!msg.participant) break;
        const known = this.participants.has(msg.participant.id);
        const p = this.upsert(msg.participant, c);
        c.count = true;
        if (!known && this.participants.size <= ANNOUNCE_JOINS_UP_TO) {
          c.announce.push({ key: 'announce.joined', params: { name: p.name } });
        }
        break;
      }
      case 'participant_left': {
        if (!msg.participant) break;
        const p = this.participants.get(msg.participant.id) || msg.participant;
        this.participants.delete(p.id);
        for (const [slot, id] of this.slots) if (id === p.id) this.slots.set(slot, '');
        c.removed.push(p.id);
        c.count = true;
        this.updateSpeaking(c);
        if (msg.reason === 'kicked') c.announce.push({ key: 'announce.kicked', params: { name: p.name } });
        else if (this.participants.size < ANNOUNCE_JOINS_UP_TO) c.announce.push({ key: 'announce.left', params: { name: p.name } });
        break;
      }
      case 'speaking':
        if (msg.speaker) this.speaker(msg.speaker, c);
        break;
      case 'floor':
        this.setFloor(msg.floor || [], c);
        break;
      case 'muted':
        if (msg.participant) this.upsert(msg.participant, c);
        break;
      case 'hand': {
        if (!msg.participant) break;
        const p = this.upsert(msg.participant, c);
        if (p !== this.self && p.hand && this.self.organizer) {
          c.announce.push({ key: 'announce.hand', params: { name: p.name } });
        }
        break;
      }
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
        break;
      }
    }
    return c;
  }

  /**
   * setOwnHand records our raised or lowered hand, once the server agreed
   * (a hand raised while holding the floor is moot).
   * @param {boolean} up
   */
  setOwnHand(up) {
    const c = change();
    if (!this.self) return c;
    this.self.hand = up && !this.self.floor;
    c.changed.push(this.self);
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
    if (cur) Object.assign(cur, p);
    else {
      cur = { ...p };
      this.participants.set(p.id, cur);
    }
    // The floor list is the truth for "floor"; events may lag behind it.
    cur.floor = this.floor.includes(cur.id);
    c.changed.push(cur);
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

  /** @param {Change} c */
  updateSpeaking(c) {
    /** @type {Set<string>} */
    const now = new Set();
    for (const id of this.slots.values()) if (id) now.add(id);
    if (now.size !== this.speaking.size || [...now].some((id) => !this.speaking.has(id))) c.speaking = true;
    this.speaking = now;
  }
}
