// The participant list's paging and search (docs/protocol.md, "Large
// rooms"). A small room's list is whole: search filters it here. A
// large room's is the stage and the pages loaded so far: "more" asks the
// server for the next page, a search asks it for the matching names, a
// page at a time; one request at a time, and after a rate_limited
// refusal none until the server's retry_after has passed.
// Pure, like roster.js: no DOM, the clock passed in; test/people.test.js
// runs it under Node.

/** @import { Message, Participant } from './protocol.js' */
/** @import { Roster } from './roster.js' */

import { PAGE_SIZE, ANNOUNCE_JOINS_UP_TO } from './roster.js';

export const SEARCH_DELAY_MS = 300; // typing pauses this long before a search is sent
export const MAX_QUERY = 64; // characters, as the server allows

/**
 * fold is a name or query as the search compares them: lower case,
 * trimmed (the server compares lower case too).
 * @param {string} s
 */
export function fold(s) {
  return String(s || '').toLowerCase();
}

/**
 * matches says whether p is shown for query ('' shows everyone).
 * @param {Participant} p @param {string} query
 */
export function matches(p, query) {
  const q = fold(query).trim();
  return !q || fold(p.name).includes(q);
}

export class People {
  /** the query typed ('' none) */
  query = '';
  /** @type {string | null} where the search's next page starts; null: no more (or not asked) */
  searchCursor = null;
  /** the query the server's search answered */
  searched = '';
  /** a request is on its way */
  busy = false;
  /** not before this time (ms on the clock): the server said to wait */
  waitUntil = 0;

  /** @param {{now?: () => number}} [options] */
  constructor({ now = () => performance.now() } = {}) {
    this.now = now;
  }

  clear() {
    this.query = '';
    this.searchCursor = null;
    this.searched = '';
    this.busy = false;
    this.waitUntil = 0;
  }

  /**
   * searchable: the list is long enough to offer a search.
   * @param {Roster} roster
   */
  searchable(roster) {
    return roster.paged || roster.participants.size > ANNOUNCE_JOINS_UP_TO;
  }

  /**
   * setQuery takes what was typed; it says whether to ask the server
   * (a large room, a new non-empty query) after SEARCH_DELAY_MS.
   * @param {string} text @param {Roster} roster
   */
  setQuery(text, roster) {
    const q = String(text || '').slice(0, MAX_QUERY);
    const changed = fold(q).trim() !== fold(this.query).trim();
    this.query = q;
    if (changed) {
      this.searchCursor = null;
      this.searched = '';
    }
    return changed && roster.paged && fold(q).trim() !== '';
  }

  /**
   * hasMore: a "more" request would bring someone new.
   * @param {Roster} roster
   */
  hasMore(roster) {
    if (!roster.paged) return false;
    if (fold(this.query).trim()) return this.searched !== fold(this.query).trim() || this.searchCursor !== null;
    return roster.more;
  }

  /**
   * next is the list request to send now for more of the list (or of the
   * search), or null: nothing more, one on its way, or told to wait.
   * @param {Roster} roster
   * @returns {Message | null}
   */
  next(roster) {
    if (this.busy || this.now() < this.waitUntil || !this.hasMore(roster)) return null;
    const q = fold(this.query).trim();
    /** @type {Message} */
    const m = { type: 'list', limit: PAGE_SIZE };
    if (q) {
      m.query = q;
      if (this.searched === q && this.searchCursor) m.cursor = this.searchCursor;
    } else if (roster.cursor) {
      m.cursor = roster.cursor;
    }
    this.busy = true;
    return m;
  }

  /**
   * answered takes the reply to the request next made and merges it
   * into the roster; a reply to an older search is merged but does not
   * move the current search on.
   * @param {Message} req @param {Message} reply @param {Roster} roster
   */
  answered(req, reply, roster) {
    this.busy = false;
    const q = req.query || '';
    const c = roster.page(reply, !!q);
    if (q && q === fold(this.query).trim()) {
      this.searched = q;
      this.searchCursor = reply.cursor || null;
    }
    return c;
  }

  /**
   * failed takes the refusal of the request: after rate_limited, wait
   * as told (1 s when not said). It returns how long to wait, in ms.
   * @param {{code?: string, retryAfter?: number, retry_after?: number}} err
   *   a ProtocolError (retryAfter) or an error message (retry_after)
   */
  failed(err) {
    this.busy = false;
    if (err && err.code === 'rate_limited') {
      const wait = Math.max(1, Number(err.retryAfter || err.retry_after) || 1) * 1000;
      this.waitUntil = this.now() + wait;
      return wait;
    }
    return 0;
  }

  /**
   * shown counts the participants the list shows for the query.
   * @param {Roster} roster
   */
  shown(roster) {
    let n = 0;
    for (const p of roster.participants.values()) if (matches(p, this.query)) n++;
    return n;
  }
}
