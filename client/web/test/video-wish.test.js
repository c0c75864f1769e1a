// What we ask of each video slot, and how often we say it. Run with:
// node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { level, WishSender, sameWishes, HIGH_MIN_WIDTH, WISH_INTERVAL } from '../static/video-wish.js';

const tile = (over = {}) => ({ occupied: true, shown: true, visible: true, width: 640, dpr: 1, ...over });
const page = (over = {}) => ({ pageHidden: false, audioOnly: false, ...over });

test('level', () => {
  const cases = [
    { name: 'a large tile on screen', tile: {}, page: {}, want: 'high' },
    { name: 'a small tile', tile: { width: 200 }, page: {}, want: 'low' },
    { name: 'just wide enough', tile: { width: HIGH_MIN_WIDTH }, page: {}, want: 'high' },
    { name: 'small, on a dense screen', tile: { width: 200, dpr: 2 }, page: {}, want: 'high' },
    { name: 'not laid out (a phone shows fewer)', tile: { shown: false }, page: {}, want: 'off' },
    { name: 'scrolled away', tile: { visible: false }, page: {}, want: 'off' },
    { name: 'no size (display: none)', tile: { width: 0 }, page: {}, want: 'off' },
    { name: 'the page is hidden', tile: {}, page: { pageHidden: true }, want: 'off' },
    { name: 'audio only', tile: {}, page: { audioOnly: true }, want: 'off' },
    { name: 'an empty slot: ready for a newcomer', tile: { occupied: false, shown: false, visible: false, width: 0 }, page: {}, want: 'low' },
    { name: 'an empty slot, audio only', tile: { occupied: false }, page: { audioOnly: true }, want: 'off' },
    { name: 'an empty slot, page hidden', tile: { occupied: false }, page: { pageHidden: true }, want: 'off' },
  ];
  for (const c of cases) assert.equal(level(tile(c.tile), page(c.page)), c.want, c.name);
});

test('sameWishes', () => {
  const a = [{ slot: 0, kind: 'camera', level: 'low' }];
  assert.ok(sameWishes(a, [{ slot: 0, kind: 'camera', level: 'low' }]));
  assert.ok(!sameWishes(a, [{ slot: 0, kind: 'camera', level: 'high' }]));
  assert.ok(!sameWishes(a, [{ slot: 0, kind: 'screen', level: 'low' }]));
  assert.ok(!sameWishes(a, []));
  assert.ok(!sameWishes(a, null));
  assert.ok(!sameWishes(null, null));
});

// A sender on a clock and timers the test moves.
function sender() {
  const clock = { now: 0 };
  /** @type {{at: number, f: () => void}[]} */
  let timers = [];
  const sent = [];
  /** @type {((w: any) => Promise<unknown> | void)} */
  let send = (w) => {
    sent.push({ at: clock.now, w });
  };
  const s = new WishSender({
    send: (w) => send(w),
    now: () => clock.now,
    setTimer: (f, ms) => {
      const t = { at: clock.now + ms, f };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      timers = timers.filter((x) => x !== t);
    },
  });
  const advance = (ms) => {
    const until = clock.now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      clock.now = due.at;
      due.f();
    }
    clock.now = until;
  };
  return { s, sent, advance, clock, pending: () => timers.length, setSend: (f) => { send = f; } };
}

const w = (...levels) => levels.map((level, slot) => ({ slot, kind: 'camera', level }));

test('WishSender: the first at once, the same never again', () => {
  const { s, sent, advance } = sender();
  s.set(w('high', 'low'));
  assert.equal(sent.length, 1);
  advance(10_000);
  s.set(w('high', 'low'));
  advance(10_000);
  assert.equal(sent.length, 1);
});

test('WishSender: a burst (a window resized) is one message per interval, the last one winning', () => {
  const { s, sent, advance } = sender();
  s.set(w('high'));
  // 60 changes a second for two seconds, back and forth.
  for (let i = 1; i <= 120; i++) {
    advance(1000 / 60);
    s.set(w(i % 2 ? 'low' : 'high', i % 3 ? 'low' : 'off'));
  }
  advance(WISH_INTERVAL);
  assert.ok(sent.length <= 1 + Math.ceil(2000 / WISH_INTERVAL) + 1, `${sent.length} messages`);
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i].at - sent[i - 1].at >= WISH_INTERVAL, 'at most one per interval');
  assert.deepEqual(sent.at(-1).w, w('high', 'off'), 'the last change went out');
});

test('WishSender: back to what was sent before the interval passed: nothing sent', () => {
  const { s, sent, advance } = sender();
  s.set(w('high'));
  advance(100);
  s.set(w('low'));
  advance(100);
  s.set(w('high'));
  advance(WISH_INTERVAL * 2);
  assert.equal(sent.length, 1);
});

test('WishSender: after a quiet interval, a change goes at once', () => {
  const { s, sent, advance } = sender();
  s.set(w('high'));
  advance(WISH_INTERVAL);
  s.set(w('off'));
  assert.equal(sent.length, 2);
  assert.equal(sent[1].at, WISH_INTERVAL);
});

test('WishSender: a failed send is sent again at the next change; reset forgets', () => {
  const { s, sent, advance, setSend, pending } = sender();
  setSend(() => Promise.reject(new Error('closed')));
  s.set(w('high'));
  return Promise.resolve().then(() => {
    assert.equal(s.sent, null, 'not known to be sent');
    setSend((x) => { sent.push({ w: x }); });
    advance(WISH_INTERVAL);
    s.set(w('high'));
    assert.equal(sent.length, 1);
    // A new connection: the same wishes go out again.
    s.set(w('low'));
    assert.equal(pending(), 1);
    s.reset();
    assert.equal(pending(), 0);
    s.set(w('low'));
    assert.equal(sent.length, 2);
  });
});
