// The roster: who is in the room, who is heard, and what a screen reader
// is told. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster, SPEAK_REANNOUNCE_MS, ANNOUNCE_JOINS_UP_TO, HANDS_LISTED } from '../static/roster.js';

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

// ---- the hand queue, the lobby, the chat's permissions -------------------

const org = { ...me, organizer: true };
const orgJoined = (over = {}) => joinedMsg({ self: org, participants: [ana, bo, org], ...over });

test('joined with hands: the server\'s order, and the hand marks follow it', () => {
  const { r } = roster();
  r.reset(joinedMsg({ room_info: info({ mode: 'moderated' }), hands: ['bo', 'ana'] }));
  assert.deepEqual(r.hands, ['bo', 'ana']);
  assert.equal(r.participants.get('ana')?.hand, true);
  assert.equal(r.handPosition('bo'), 1);
  assert.equal(r.handPosition('ana'), 2);
  assert.equal(r.handPosition('me'), 0);
});

test('joined from an older server without hands: the raised ones, in arrival order', () => {
  const { r } = roster();
  r.reset(joinedMsg({ participants: [person('ana', 'Ana', { hand: true }), bo, person('me', 'Me', { hand: true })] }));
  assert.deepEqual(r.hands, ['ana', 'me']);
});

test('the hands event is the order; a new hand is announced to organizers once', () => {
  const { r } = roster();
  r.reset(orgJoined());
  // The hand event first, then the list: one announcement.
  assert.deepEqual(said(r.apply({ type: 'hand', participant: { ...bo, hand: true } })), ['announce.hand:Bo']);
  const c = r.apply({ type: 'hands', hands: ['ana', 'bo'] });
  assert.deepEqual(said(c), ['announce.hand:Ana']);
  assert.equal(c.hands, true);
  assert.deepEqual(r.hands, ['ana', 'bo']);
  assert.deepEqual(said(r.apply({ type: 'hands', hands: ['ana', 'bo'] })), [], 'the same list again');
  assert.equal(r.apply({ type: 'hands', hands: ['ana', 'bo'] }).hands, false);
  // Lowered: off the list and unmarked.
  r.apply({ type: 'hands', hands: ['bo'] });
  assert.equal(r.participants.get('ana')?.hand, false);
  // Ids we do not know are left out.
  r.apply({ type: 'hands', hands: ['ghost', 'bo'] });
  assert.deepEqual(r.hands, ['bo']);
});

test('hands are not announced to participants', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  assert.deepEqual(said(r.apply({ type: 'hands', hands: ['ana'] })), []);
});

test('the floor answers a hand: off the queue', () => {
  const { r } = roster();
  r.reset(joinedMsg({ hands: ['ana', 'bo'] }));
  const c = r.apply({ type: 'floor', floor: ['ana'] });
  assert.equal(c.hands, true);
  assert.deepEqual(r.hands, ['bo']);
  assert.equal(r.handPosition('bo'), 1);
});

test('a departure leaves the queue', () => {
  const { r } = roster();
  r.reset(joinedMsg({ hands: ['ana', 'bo'] }));
  const c = r.apply({ type: 'participant_left', participant: ana, reason: 'left' });
  assert.equal(c.hands, true);
  assert.deepEqual(r.hands, ['bo']);
});

test('our own hand joins the queue last until the server says where', () => {
  const { r } = roster();
  r.reset(joinedMsg({ hands: ['ana'] }));
  assert.equal(r.setOwnHand(true).hands, true);
  assert.deepEqual(r.hands, ['ana', 'me']);
  r.setOwnHand(false);
  assert.deepEqual(r.hands, ['ana']);
});

test('the lobby: who waits, newcomers announced', () => {
  const { r } = roster();
  r.reset(orgJoined({ waiting: [{ id: 'w1', name: 'Wu' }] }));
  assert.deepEqual(r.waiting, [{ id: 'w1', name: 'Wu' }]);
  let c = r.apply({ type: 'lobby', waiting: [{ id: 'w1', name: 'Wu' }, { id: 'w2', name: 'Xi' }] });
  assert.equal(c.lobby, true);
  assert.deepEqual(said(c), ['announce.waiting:Xi']);
  c = r.apply({ type: 'lobby', waiting: [{ id: 'w3', name: 'Yo' }, { id: 'w4', name: 'Zed' }] });
  assert.deepEqual(c.announce, [{ key: 'announce.waiting_many', params: { n: 2 } }]);
  c = r.apply({ type: 'lobby' }); // nobody waits: the field is left out
  assert.deepEqual(r.waiting, []);
  assert.deepEqual(said(c), []);
});

test('a busy floor: the others hold every place', () => {
  const { r } = roster();
  r.reset(joinedMsg({ floor: ['ana'] }));
  assert.equal(r.floorBusy, true);
  assert.deepEqual(r.floorHolders(), ['Ana']);
  r.apply({ type: 'floor', floor: ['me'] });
  assert.equal(r.floorBusy, false, 'we hold it');
  r.apply({ type: 'floor' });
  assert.equal(r.floorBusy, false, 'nobody holds it');
  const { r: two } = roster();
  two.reset(joinedMsg({ room_info: info({ max_speakers: 2 }), floor: ['ana'] }));
  assert.equal(two.floorBusy, false, 'a place is left');
  two.apply({ type: 'floor', floor: ['ana', 'bo'] });
  assert.equal(two.floorBusy, true);
  assert.deepEqual(two.floorHolders(), ['Ana', 'Bo']);
  const { r: open } = roster();
  open.reset(joinedMsg({ room_info: info({ mode: 'open' }), floor: ['ana'] }));
  assert.equal(open.floorBusy, false, 'no floor in open rooms');
});

test('chat: open to everyone, or to organizers only; a muted chat', () => {
  const { r } = roster();
  r.reset(joinedMsg({ room_info: info({ chat: true }) }));
  assert.equal(r.canChat, true);
  let c = r.apply({ type: 'room', room_info: info({ chat: false }) });
  assert.equal(r.canChat, false);
  assert.equal(c.chat, true);
  assert.deepEqual(said(c), ['announce.chat_off']);
  c = r.apply({ type: 'room', room_info: info({ chat: true }) });
  assert.deepEqual(said(c), ['announce.chat_on']);
  // An organizer mutes our chat: any event with our record says so.
  c = r.apply({ type: 'muted', participant: { ...me, chat_muted: true } });
  assert.equal(r.canChat, false);
  assert.equal(c.chat, true);
  assert.deepEqual(said(c), ['chat.muted_you']);
  c = r.apply({ type: 'chat_muted', participant: { ...me, chat_muted: false } });
  assert.equal(r.canChat, true);
  assert.deepEqual(said(c), ['chat.unmuted_you']);
  // Someone else's chat mute is only redrawn.
  c = r.apply({ type: 'chat_muted', participant: { ...ana, chat_muted: true } });
  assert.deepEqual(c.changed.map((p) => p.id), ['ana']);
  assert.equal(r.participants.get('ana')?.chat_muted, true);
  assert.deepEqual(said(c), []);
});

test('chat off: organizers still chat; an older server\'s room (no chat field) is open', () => {
  const { r } = roster();
  r.reset(orgJoined({ room_info: info({ chat: false }) }));
  assert.equal(r.canChat, true);
  const { r: old } = roster();
  old.reset(joinedMsg());
  assert.equal(old.canChat, true);
});

test('the lobby turned on or off is announced to organizers', () => {
  const { r } = roster();
  r.reset(orgJoined());
  assert.deepEqual(said(r.apply({ type: 'room', room_info: info({ lobby: true }) })), ['announce.lobby_on']);
  const { r: p } = roster();
  p.reset(joinedMsg());
  assert.deepEqual(said(p.apply({ type: 'room', room_info: info({ lobby: true }) })), []);
});

// ---- video -------------------------------------------------------------

const videoSlot = (kind, slot, participant, source = 0) => ({ type: 'video_slot', video: { kind, slot, participant, source } });
const videoInfo = (over = {}) => info({ video: true, max_cameras: 4, video_slots: 4, ...over });

test('video slots: from joined, then the events; an empty participant empties the slot', () => {
  const { r } = roster();
  const c0 = r.reset(joinedMsg({ room_info: videoInfo(), video_slots: [{ kind: 'camera', slot: 1, participant: 'ana', source: 7 }] }));
  assert.equal(c0.video, true);
  assert.deepEqual([...r.videoSlots.keys()], ['camera:1']);
  let c = r.apply(videoSlot('screen', 0, 'bo', 9));
  assert.equal(c.video, true);
  assert.equal(r.videoSlots.get('screen:0')?.participant, 'bo');
  c = r.apply(videoSlot('screen', 0, 'bo', 9));
  assert.equal(c.video, false, 'the same again changes nothing');
  c = r.apply(videoSlot('camera', 1, ''));
  assert.equal(c.video, true);
  assert.deepEqual([...r.videoSlots.keys()], ['screen:0']);
  // Nonsense is ignored.
  for (const bad of [{ kind: 'mouth', slot: 0, participant: 'x' }, { kind: 'camera', slot: -1, participant: 'x' }, { kind: 'camera', slot: 1.5, participant: 'x' }]) {
    assert.equal(r.apply({ type: 'video_slot', video: bad }).video, false);
  }
  assert.equal(r.videoSlots.size, 1);
});

test('video slots: someone leaving leaves their slots; a lost connection empties them all', () => {
  const { r } = roster();
  r.reset(joinedMsg({ room_info: videoInfo() }));
  r.apply(videoSlot('camera', 0, 'ana'));
  r.apply(videoSlot('camera', 1, 'bo'));
  const c = r.apply({ type: 'participant_left', participant: ana });
  assert.equal(c.video, true);
  assert.deepEqual([...r.videoSlots.keys()], ['camera:1']);
  assert.equal(r.suspend().video, true);
  assert.equal(r.videoSlots.size, 0);
});

test('a screen share is announced when it starts and ends, and to whoever arrives during it; ours is not', () => {
  const { r } = roster();
  r.reset(joinedMsg({ room_info: videoInfo() }));
  let c = r.apply({ type: 'camera', participant: { ...ana, screen: true } });
  assert.equal(c.video, true);
  assert.deepEqual(said(c), ['announce.screen_on:Ana']);
  c = r.apply({ type: 'camera', participant: { ...ana, screen: true, camera: true } });
  assert.equal(c.video, true, 'a camera changed');
  assert.deepEqual(said(c), [], 'the camera is not announced');
  c = r.apply({ type: 'camera', participant: { ...ana, screen: false, camera: true } });
  assert.deepEqual(said(c), ['announce.screen_off:Ana']);
  c = r.apply({ type: 'camera', participant: { ...me, screen: true } });
  assert.deepEqual(said(c), [], 'we know we share');

  const { r: late } = roster();
  const arrival = late.reset(joinedMsg({ room_info: videoInfo(), participants: [{ ...ana, screen: true }, bo, me] }));
  assert.deepEqual(said(arrival), ['announce.screen_on:Ana']);
});

test('the room allows video or not: announced where the server carries video', () => {
  const { r } = roster();
  r.reset(joinedMsg({ room_info: videoInfo({ video: false }) }));
  let c = r.apply({ type: 'room', room_info: videoInfo({ video: true }) });
  assert.equal(c.video, true);
  assert.deepEqual(said(c), ['announce.video_on']);
  c = r.apply({ type: 'room', room_info: videoInfo({ video: false }) });
  assert.deepEqual(said(c), ['announce.video_off']);
  c = r.apply({ type: 'room', room_info: videoInfo({ video: false, max_cameras: 2 }) });
  assert.equal(c.video, true, 'the camera cap changed');
  assert.deepEqual(said(c), []);

  // A server without video says nothing of it.
  const { r: old } = roster();
  old.reset(joinedMsg());
  c = old.apply({ type: 'room', room_info: info({ video: true }) });
  assert.deepEqual(said(c), []);
});

test('spokeAt: when each voice was last heard', () => {
  const { r, clock } = roster();
  r.reset(joinedMsg());
  r.apply(speaking(0, 'ana'));
  assert.equal(r.spokeAt.get('ana'), 1000);
  clock.now = 3000;
  r.apply(speaking(1, 'bo'));
  assert.equal(r.spokeAt.get('ana'), 3000, 'still heard');
  clock.now = 4000;
  r.apply(speaking(0, ''));
  assert.equal(r.spokeAt.get('ana'), 4000, 'heard until now');
  clock.now = 9000;
  r.apply(speaking(1, ''));
  assert.equal(r.spokeAt.get('ana'), 4000);
  assert.equal(r.spokeAt.get('bo'), 9000);
});

test('presence: a batch of joins, departures and the count', () => {
  const { r } = roster();
  r.reset(joinedMsg());
  const cy = person('cy', 'Cy');
  const c = r.apply({ type: 'presence', presence: { count: 4, paged: false, full: false, joined: [cy, ana], left: [{ id: 'bo', reason: 'left' }] } });
  assert.deepEqual([...r.participants.keys()], ['ana', 'me', 'cy']);
  assert.deepEqual(said(c), ['announce.joined:Cy', 'announce.left:Bo'], 'Ana was known already');
  assert.deepEqual(c.removed, ['bo']);
  assert.equal(c.count, true);
  assert.equal(r.count, 3, 'a small room counts its list');
  assert.deepEqual(said(r.apply({ type: 'presence', presence: { count: 3, paged: false, full: false, left: [{ id: 'nobody', reason: 'left' }] } })), [], 'unknown departures are ignored');
  assert.deepEqual(said(r.apply({ type: 'presence', presence: { count: 2, paged: false, full: false, left: [{ id: 'cy', reason: 'kicked' }] } })), ['announce.kicked:Cy']);
});

test('presence: a large room counts what the server says, lists the stage, announces no joins', () => {
  const { r } = roster();
  r.reset(joinedMsg({ paged: true, count: 800, cursor: '12' }));
  assert.equal(r.paged, true);
  assert.equal(r.count, 800);
  assert.equal(r.more, true);
  const dee = person('dee', 'Dee', { hand: true });
  const c = r.apply({ type: 'presence', presence: { count: 801, paged: true, full: false, joined: [person('o2', 'Org 2', { organizer: true })], changed: [dee] } });
  assert.equal(r.count, 801);
  assert.deepEqual(said(c), [], 'no join announced in a large room');
  assert.equal(r.participants.get('dee')?.hand, true, 'a raised hand is on the stage');
  assert.deepEqual(r.hands, ['dee']);
  assert.equal(c.hands, true);
  const lowered = r.apply({ type: 'presence', presence: { count: 801, paged: true, full: false, changed: [{ ...dee, hand: false }] } });
  assert.deepEqual(r.hands, []);
  assert.equal(lowered.hands, true);
});

test('presence: small again, the whole list replaces ours; large again, more from the top', () => {
  const { r } = roster();
  r.reset(joinedMsg({ paged: true, count: 300, cursor: '5' }));
  const c = r.apply({ type: 'presence', presence: { count: 3, paged: false, full: true, joined: [ana, person('zed', 'Zed'), me] } });
  assert.equal(c.all, true);
  assert.deepEqual([...r.participants.keys()].sort(), ['ana', 'me', 'zed']);
  assert.equal(r.paged, false);
  assert.equal(r.more, false);
  assert.deepEqual(said(c), [], 'a replaced list is not announced');
  r.apply({ type: 'presence', presence: { count: 250, paged: true, full: false } });
  assert.equal(r.paged, true);
  assert.equal(r.cursor, '', 'the next page starts from the top');
  assert.equal(r.count, 250);
});

test('a large room lists its first hands only: further back, the record says', () => {
  const { r } = roster();
  const first = Array.from({ length: HANDS_LISTED }, (_, i) => 'h' + i);
  const late = person('late', 'Late', { hand: true });
  r.reset(joinedMsg({ paged: true, count: 5000, participants: [late, me, ...first.slice(0, 3).map((id) => person(id, id, { hand: true }))], hands: first }));
  assert.equal(r.participants.get('late')?.hand, true, 'raised, past the first ones');
  assert.equal(r.participants.get('h1')?.hand, true);
  r.apply({ type: 'hands', hands: first.slice(1) }); // h0 got the floor: 99 listed, the cut is gone
  assert.equal(r.participants.get('late')?.hand, false, 'the whole queue is listed now: Late is not in it');
});
