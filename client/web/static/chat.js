// The chat log: the room's messages as this page received them, kept in
// memory only, for the room's life (the server stores none), with the
// unread count and what to announce. Pure, like talk.js and roster.js: no
// DOM, no words (dictionary keys), the clock passed in;
// test/chat.test.js runs it under Node.
//
// Our own messages: the server relays a room message to everyone and
// echoes a private one to its sender, but a reply and an echo may come in
// either order (or, from a server that does not echo, only the reply).
// Whichever comes first shows the message; the other is matched to it
// and dropped, so a message never shows twice nor goes missing.

/** @import { ChatMessage } from './protocol.js' */
/** @import { Announcement } from './roster.js' */

export const CHAT_KEEP = 500; // the oldest messages beyond this are dropped
export const ANNOUNCE_CHARS = 200; // a screen reader hears at most this much of a message
const MAX_UNMATCHED = 50;

/**
 * Entry is one message as shown. mine: we sent it. to/toName: the
 * addressee of a private message ('' for the room). at: when it arrived
 * (ms since the epoch).
 * @typedef {{n: number, from: string, name: string, text: string, private: boolean,
 *   to: string, toName: string, mine: boolean, at: number}} Entry
 * @typedef {{added: Entry | null, dropped: number, announce: Announcement | null}} ChatChange
 *   added: the entry to draw; dropped: how many old ones to remove first.
 */

export class ChatLog {
  /** @type {Entry[]} oldest first */
  entries = [];
  unread = 0;
  seen = false; // the user can see the log (open, page visible)
  selfID = '';
  nextN = 1;
  /** @type {string[]} our messages shown from the reply, whose echo is still to come */
  awaitingEcho = [];
  /** @type {string[]} our messages shown from the echo, whose reply is still to come */
  awaitingReply = [];

  /** @param {{now?: () => number}} [options] now: the time in ms since the epoch */
  constructor({ now = () => Date.now() } = {}) {
    this.now = now;
  }

  // clear forgets the room's messages (after leaving).
  clear() {
    this.entries = [];
    this.unread = 0;
    this.selfID = '';
    this.awaitingEcho = [];
    this.awaitingReply = [];
  }

  /**
   * setSelf: our participant id in this connection (a rejoin changes it;
   * the messages stay).
   * @param {string} id
   */
  setSelf(id) {
    this.selfID = id;
    this.awaitingEcho = [];
    this.awaitingReply = [];
  }

  /**
   * setSeen: whether the user sees the log; seeing it reads everything.
   * @param {boolean} seen
   * @returns {boolean} whether the unread count changed
   */
  setSeen(seen) {
    this.seen = seen;
    if (!seen || this.unread === 0) return false;
    this.unread = 0;
    return true;
  }

  /**
   * receive takes a chat event's message; name(id) is a participant's
   * name ('' if unknown).
   * @param {ChatMessage} cm @param {(id: string) => string} name
   * @returns {ChatChange}
   */
  receive(cm, name) {
    /** @type {ChatChange} */
    const c = { added: null, dropped: 0, announce: null };
    if (!cm || typeof cm.text !== 'string' || typeof cm.from !== 'string') return c;
    const to = cm.private ? String(cm.to || '') : '';
    const mine = !!this.selfID && cm.from === this.selfID;
    if (mine) {
      const key = matchKey(cm.text, to);
      if (take(this.awaitingEcho, key)) return c; // shown from the reply already
      remember(this.awaitingReply, key);
    }
    const e = this.add({
      from: cm.from, name: String(cm.name || name(cm.from) || ''), text: cm.text, private: !!cm.private,
      to, toName: to ? (to === this.selfID ? '' : name(to)) : '', mine,
    }, c);
    if (!mine) {
      if (!this.seen) this.unread++;
      const text = [...e.text].length > ANNOUNCE_CHARS ? [...e.text].slice(0, ANNOUNCE_CHARS).join('') + '…' : e.text;
      c.announce = { key: e.private ? 'announce.chat_private' : 'announce.chat', params: { name: e.name, text } };
    }
    return c;
  }

  /**
   * sent: the server took our message (the reply to a chat request).
   * @param {string} text @param {string} to the addressee's id ('' for the room)
   * @param {string} selfName @param {string} toName
   * @returns {ChatChange}
   */
  sent(text, to, selfName, toName) {
    /** @type {ChatChange} */
    const c = { added: null, dropped: 0, announce: null };
    const key = matchKey(text, to);
    if (take(this.awaitingReply, key)) return c; // shown from the echo already
    remember(this.awaitingEcho, key);
    this.add({ from: this.selfID, name: selfName, text, private: !!to, to, toName, mine: true }, c);
    return c;
  }

  /**
   * @param {Omit<Entry, 'n' | 'at'>} fields @param {ChatChange} c
   * @returns {Entry}
   */
  add(fields, c) {
    const e = { ...fields, n: this.nextN++, at: this.now() };
    this.entries.push(e);
    if (this.entries.length > CHAT_KEEP) {
      c.dropped = this.entries.length - CHAT_KEEP;
      this.entries.splice(0, c.dropped);
    }
    c.added = e;
    return e;
  }
}

/** @param {string} text @param {string} to */
function matchKey(text, to) {
  return to + '\n' + text;
}

/** @param {string[]} list @param {string} key @returns {boolean} found, and taken off */
function take(list, key) {
  const i = list.indexOf(key);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

/** @param {string[]} list @param {string} key */
function remember(list, key) {
  list.push(key);
  if (list.length > MAX_UNMATCHED) list.shift();
}
