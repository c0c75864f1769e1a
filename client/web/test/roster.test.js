// The roster: who is in the room, who is heard, and what a screen reader
// is told. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster, SPEAK_REANNOUNCE_MS, ANNOUNCE_JOINS_UP_TO } from '../static/roster.js';

const person = (id, name, over = {}) => ({ id, name, organizer: false, muted: false, hand: false, floor: false, source: 0, ...over });
const me = person('me', 'Me');
const ana = person('ana', 'Ana', { source: 1 });
const bo = person('bo', 'Bo', { source: 2 });
const info = (over = {}) => ({ name: 'choir', mode: 'ptt', locked: false, has_password: false, max_participants: 0, max_speakers: 1, slots: 3, ...over });
const joinedMsg = (over = {}) => ({ type: 'joined', self: me, room_info: info(), participants: [ana, bo, me], ...over });
const speaking = (slot, participant, source = 0) => ({ type: 'speaking', speaker: { slot, participant, source } });

// A roster on a clock the test moves.
function roster() {
  const clock = { now: 1000 };
  const r = new Roster({ now: () => clock.now });
  return { r, clock };
}

const said = (c) => c.announce.map((a) => a.key + (a.params && a.params.name ? ':' + a.params.name : ''));

test('joined: participants, ourselves, the floor', () => {
  const { r } = roster();
  const c = r.reset(joinedMsg({ floor: ['ana'] }));
  assert.equal(c.all, true);
  assert.equal(r.self && r.self.id, 'me');
  assert.deepEqual([...r.participants.keys()], ['ana', 'bo', 'me']);
  assert.equal(r.participants.get('ana')?.floor, true);
  assert.equal(r.participants.get('bo')?.floor, false);
  assert.equal(r.onFloor, false);
});

test('joined without ourselves in the list: added', () => {
  const { r } = roster();
  r.reset(joinedMsg({ participants: [ana] }));
  assert.deepEqual([...r.participants.keys()], ['ana', 'me']);
});

// Defect 2: someone arriving while another talks sees who it is at once.
test('joined with speakers: marked and announced at once, as speaking events would', () => {
  const { r } = roster();
  const c = r.reset(joinedMsg({ speakers: [{ slot: 0, participant: 'ana', source: 1 }, { slot: 2, participant: 'bo', source: 2 }] }));
  assert.deepEqual([...r.speaking].sort(), ['ana', 'bo']);
  assert.deepEqual(said(c), ['announce.speaking:Ana', 'announce.speaking:Bo']);

  // The same as the events.
  const { r: byEvents } = roster();
  byEvents.reset(joinedMsg());
  const events = [byEvents.apply(speaking(0, 'ana', 1)), byEvents.apply(speaking(2, 'bo', 2))];
  assert.deepEqual([...byEvents.speaking], [...r.speaking]);
  assert.deepEqual(events.flatMap(said), said(c));
});

test('joined with ourselves among the speakers: marked, not announced', () => {
  const { r } = roster();
  const c = r.reset(joinedMsg({ speakers: [{ slot: 1, participant: 'me', source: 3 }] }));
  assert.deepEqual([...r.speaking], ['me']);
  assert.deepEqual(said(c), []);
});

test('a speaker then the slot going quiet', () => {
  const { r } = roster();
  r.reset(joinedMsg({ speakers: [{ slot: 0, participant: 'ana', source: 1 }] }));
  const c = r.apply(speaking(0, ''));
  assert.equal(c.speaking, true);
  assert.deepEqual([...r.speaking], []);
});

test('the same voice again within a few seconds is not announced again', () => {
  const { r, clock } = roster();
  r.reset(joinedMsg());
  assert.deepEqual(said(r.apply(speaking(0, 'ana'))), ['announce.speaking:Ana']);
  r.apply(speaking(0, ''));
  clock.now += SPEAK_REANNOUNCE_MS - 1;
  assert.deepEqual(said(r.apply(speaking(0, 'ana'))), []);
  r.apply(speaking(0, ''));
  clock.now += 1;
  assert.deepEqual(said(r.apply(speaking(0, 'ana'))), ['announce.speaking:Ana']);
});

test('a voice moving to another slot is not a new voice', () => {
  const { r, clock } = roster();
  r.reset(joinedMsg());
  r.apply(speaking(0, 'ana'));
  clock.now += 2 * SPEAK_REANNOUNCE_MS;
  const c = r.apply(speaking(1, 'ana'));
  assert.deepEqual(said(c), []);
  assert.equal(c.speaking, false);
});

test('a rejoin does not announce again a voice just announced', () => {
  const { r, clock } = roster();
  r.reset(joinedMsg());
  r.apply(speaking(0, 'ana'));
  r.suspend();
  clock.now += 1000;
  const c = r.reset(joinedMsg({ speakers: [{ slot: 0, participant: 'ana', source: 1 }] }));
  assert.deepEqual([...r.speaking], ['ana']);
  assert.deepEqual(said(c), []);
});

test('connection lost: nobody is heard', () => {
  const { r } = roster();
  r.reset(joinedMsg({ speakers: [{ slot: 0, participant: 'ana', source: 1 }] }));
  const c = r.suspend();
  assert.equal(c.speaking, true);
  assert.deepEqual([...r.speaking], []);
});

test('arrivals and departures are announced in small rooms only', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  assert.deepEqual(said(r.apply({ type: 'participant_joined', participant: person('cy', 'Cy') })), ['announce.joined:Cy']);
  assert.deepEqual(said(r.apply({ type: 'participant_joined', participant: person('cy', 'Cy') })), [], 'already known');
  assert.deepEqual(said(r.apply({ type: 'participant_left', participant: person('cy', 'Cy'), reason: 'left' })), ['announce.left:Cy']);
  for (let i = r.participants.size; i < ANNOUNCE_JOINS_UP_TO; i++) r.apply({ type: 'participant_joined', participant: person('p' + i, 'P' + i) });
  assert.deepEqual(said(r.apply({ type: 'participant_joined', participant: person('many', 'Many') })), []);
  assert.deepEqual(said(r.apply({ type: 'participant_left', participant: person('many', 'Many'), reason: 'left' })), []);
  assert.deepEqual(said(r.apply({ type: 'participant_left', participant: ana, reason: 'kicked' })), ['announce.kicked:Ana'], 'removals always');
});

test('a departure frees the slot it was heard on', () => {
  const { r } = roster();
  r.reset(joinedMsg({ speakers: [{ slot: 0, participant: 'ana', source: 1 }] }));
  const c = r.apply({ type: 'participant_left', participant: ana, reason: 'disconnected' });
  assert.deepEqual(c.removed, ['ana']);
  assert.equal(c.speaking, true);
  assert.equal(r.slots.get(0), '');
});

test('getting the floor lowers the hand', () => {
  const { r } = roster();
  r.reset(joinedMsg({ participants: [person('ana', 'Ana', { hand: true }), me] }));
  const c = r.apply({ type: 'floor', floor: ['ana'] });
  assert.deepEqual(c.changed.map((p) => p.id), ['ana']);
  assert.equal(r.participants.get('ana')?.hand, false);
  assert.equal(r.participants.get('ana')?.floor, true);
});

test('the floor list is the truth for "floor", whatever an event says', () => {
  const { r } = roster();
  r.reset(joinedMsg({ floor: ['ana'] }));
  r.apply({ type: 'muted', participant: { ...ana, floor: false, muted: true } });
  assert.equal(r.participants.get('ana')?.floor, true);
  assert.equal(r.participants.get('ana')?.muted, true);
});

test('a raised hand is announced to organizers only', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  assert.deepEqual(said(r.apply({ type: 'hand', participant: { ...ana, hand: true } })), []);
  const { r: org } = roster();
  org.reset(joinedMsg({ self: { ...me, organizer: true }, participants: [ana, { ...me, organizer: true }] }));
  assert.deepEqual(said(org.apply({ type: 'hand', participant: { ...ana, hand: true } })), ['announce.hand:Ana']);
});

test('locking is announced; a mode change is the talk machine\'s to tell', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  assert.deepEqual(said(r.apply({ type: 'room', room_info: info({ locked: true }) })), ['announce.locked']);
  assert.deepEqual(said(r.apply({ type: 'room', room_info: info({ locked: false, mode: 'open' }) })), []);
  assert.equal(r.info?.mode, 'open');
});

test('our own hand, once the server agreed', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  r.setOwnHand(true);
  assert.equal(r.self?.hand, true);
  r.apply({ type: 'floor', floor: ['me'] });
  r.setOwnHand(true);
  assert.equal(r.self?.hand, false, 'moot while holding the floor');
});

test('events before joining, or after leaving, change nothing', () => {
  const { r } = roster();
  assert.deepEqual(r.apply(speaking(0, 'ana')).announce, []);
  r.reset(joinedMsg());
  r.clear();
  assert.equal(r.self, null);
  assert.deepEqual(r.apply({ type: 'participant_joined', participant: ana }).changed, []);
});
