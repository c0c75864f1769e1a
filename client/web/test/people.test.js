// The participant list's paging and search (people.js) over a roster.
// Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster, PAGE_SIZE, ANNOUNCE_JOINS_UP_TO } from '../static/roster.js';
import { People, matches, MAX_QUERY } from '../static/people.js';

const person = (id, name, over = {}) => ({ id, name, organizer: false, muted: false, hand: false, floor: false, source: 0, ...over });
const me = person('me', 'Me');
const org = person('org', 'Organizer', { organizer: true });
const info = { name: 'hall', mode: 'open', locked: false, has_password: false, max_participants: 0, max_speakers: 1, slots: 3 };

// A large room as joined shows it: the stage, a first page, the count.
function large(over = {}) {
  const clock = { now: 1000 };
  const r = new Roster({ now: () => clock.now });
  r.reset({ type: 'joined', self: me, room_info: info, participants: [org, person('a', 'Ana'), person('b', 'Bob')], count: 5000, paged: true, cursor: '3', ...over });
  const p = new People({ now: () => clock.now });
  return { r, p, clock };
}

function small(n) {
  const r = new Roster();
  const list = [me];
  for (let i = 0; i < n; i++) list.push(person('p' + i, 'P' + i));
  r.reset({ type: 'joined', self: me, room_info: info, participants: list });
  return { r, p: new People() };
}

test('matches: the name contains the query, any case; empty shows all', () => {
  assert.equal(matches(person('a', 'Aïcha Benali'), 'BEN'), true);
  assert.equal(matches(person('a', 'Aïcha Benali'), 'aïc'), true);
  assert.equal(matches(person('a', 'Aïcha'), 'bob'), false);
  assert.equal(matches(person('a', 'Aïcha'), '  '), true);
});

test('a small room: search filters locally, never asks the server', () => {
  const { r, p } = small(ANNOUNCE_JOINS_UP_TO + 5);
  assert.equal(p.searchable(r), true);
  assert.equal(p.setQuery('p1', r), false, 'no request in a small room');
  assert.equal(p.hasMore(r), false);
  assert.equal(p.next(r), null);
  assert.equal(p.shown(r), 1 + 10, 'P1 and P10…P19');
  assert.equal(small(3).p.searchable(small(3).r), false, 'a short list has no search');
});

test('a large room: more pages from the joined cursor, then the next ones, until none', () => {
  const { r, p } = large();
  assert.equal(r.count, 5000);
  assert.equal(p.hasMore(r), true);
  const req = p.next(r);
  assert.deepEqual(req, { type: 'list', limit: PAGE_SIZE, cursor: '3' });
  assert.equal(p.next(r), null, 'one request at a time');
  p.answered(req, { type: 'page', participants: [person('c', 'Cy'), person('a', 'Ana')], count: 5001, cursor: '9' }, r);
  assert.deepEqual([...r.participants.keys()], ['org', 'a', 'b', 'me', 'c']);
  assert.equal(r.count, 5001);
  assert.deepEqual(p.next(r), { type: 'list', limit: PAGE_SIZE, cursor: '9' });
  p.answered({ type: 'list', cursor: '9' }, { type: 'page', participants: [person('d', 'Di')], count: 5001 }, r);
  assert.equal(p.hasMore(r), false, 'the last page has no cursor');
  assert.equal(p.next(r), null);
});

test('a large room: a search asks the server, pages with its own cursor, a new query starts over', () => {
  const { r, p } = large();
  assert.equal(p.setQuery('Zo', r), true, 'ask the server');
  const req = p.next(r);
  assert.deepEqual(req, { type: 'list', limit: PAGE_SIZE, query: 'zo' });
  p.answered(req, { type: 'page', participants: [person('z1', 'Zoé'), person('z2', 'Zora')], count: 5000, cursor: '77' }, r);
  assert.equal(r.cursor, '3', 'the list cursor does not move');
  assert.equal(p.shown(r), 2);
  assert.deepEqual(p.next(r), { type: 'list', limit: PAGE_SIZE, query: 'zo', cursor: '77' });
  p.busy = false;
  assert.equal(p.setQuery('zo ', r), false, 'the same query');
  assert.equal(p.setQuery('zor', r), true);
  assert.deepEqual(p.next(r), { type: 'list', limit: PAGE_SIZE, query: 'zor' });
  // The answer to the older search is merged, but does not move this one.
  p.answered({ type: 'list', query: 'zo', cursor: '77' }, { type: 'page', participants: [person('z3', 'Zoltan')], cursor: '90' }, r);
  assert.equal(p.searchCursor, null);
  assert.equal(r.participants.has('z3'), true);
  assert.equal(p.setQuery('x'.repeat(MAX_QUERY + 10), r), true);
  assert.equal(p.query.length, MAX_QUERY, 'the query is cut to what the server takes');
  assert.equal(p.setQuery('', r), false, 'clearing asks nothing');
  assert.equal(p.hasMore(r), true, 'back to the list: more pages');
});

test('rate limited: no request until the server said, then again', () => {
  const { r, p, clock } = large();
  p.next(r);
  assert.equal(p.failed({ code: 'rate_limited', retryAfter: 2 }), 2000);
  assert.equal(p.next(r), null);
  clock.now += 1999;
  assert.equal(p.next(r), null);
  clock.now += 1;
  assert.notEqual(p.next(r), null);
  assert.equal(p.failed({ code: 'rate_limited' }), 1000, 'retry after 1 s when not said');
  assert.equal(p.failed({ code: 'internal' }), 0);
  assert.equal(p.busy, false);
});
