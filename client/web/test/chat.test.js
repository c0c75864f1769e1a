// The chat log: what is shown, counted unread and announced. Run with:
// node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatLog, CHAT_KEEP, ANNOUNCE_CHARS } from '../static/chat.js';
import { chatTextProblem, chatLength, MAX_CHAT_CHARS } from '../static/protocol.js';

const names = { me: 'Me', ana: 'Ana', bo: 'Bo' };
const name = (id) => names[id] || '';
const msg = (from, text, over = {}) => ({ from, name: names[from] || from, text, private: false, ...over });

function log() {
  const l = new ChatLog({ now: () => 1700000000000 });
  l.setSelf('me');
  return l;
}

// Each row: steps on a fresh log (receive a message, our message
// acknowledged, the log seen or not); then the texts shown, the unread
// count, and what the last step announced.
const rows = [
  { name: 'a message from someone: shown, unread, announced', steps: [['receive', msg('ana', 'Hello')]], shown: ['Ana: Hello'], unread: 1, announce: 'announce.chat:Ana:Hello' },
  { name: 'read while the log is seen', steps: [['seen', true], ['receive', msg('ana', 'Hello')]], unread: 0, announce: 'announce.chat:Ana:Hello' },
  { name: 'seeing the log reads everything', steps: [['receive', msg('ana', 'a')], ['receive', msg('bo', 'b')], ['seen', true]], unread: 0 },
  { name: 'hidden again: new ones count', steps: [['seen', true], ['seen', false], ['receive', msg('ana', 'a')]], unread: 1 },
  { name: 'a private message to us', steps: [['receive', msg('ana', 'psst', { private: true, to: 'me' })]], shown: ['Ana → (private): psst'], announce: 'announce.chat_private:Ana:psst' },
  { name: 'our message, the echo first then the reply: once', steps: [['receive', msg('me', 'Hi all')], ['sent', 'Hi all', '']], shown: ['Me: Hi all'], unread: 0, announce: null },
  { name: 'our message, the reply first then the echo: once', steps: [['sent', 'Hi all', ''], ['receive', msg('me', 'Hi all')]], shown: ['Me: Hi all'], unread: 0, announce: null },
  { name: 'our message, a reply and no echo (a server that does not echo): shown', steps: [['sent', 'Hi all', '']], shown: ['Me: Hi all'] },
  { name: 'our private message: to whom', steps: [['sent', 'psst', 'bo'], ['receive', msg('me', 'psst', { private: true, to: 'bo' })]], shown: ['Me → Bo (private): psst'] },
  { name: 'the same text twice: twice', steps: [['sent', 'ok', ''], ['receive', msg('me', 'ok')], ['sent', 'ok', ''], ['receive', msg('me', 'ok')]], shown: ['Me: ok', 'Me: ok'] },
  { name: 'the same text to the room and privately: both', steps: [['sent', 'ok', ''], ['sent', 'ok', 'bo'], ['receive', msg('me', 'ok', { private: true, to: 'bo' })], ['receive', msg('me', 'ok')]], shown: ['Me: ok', 'Me → Bo (private): ok'] },
  { name: 'our own messages are not unread nor announced', steps: [['receive', msg('me', 'mine')]], unread: 0, announce: null },
  { name: 'links stay text', steps: [['receive', msg('ana', 'see https://example.org/<b>x</b>')]], shown: ['Ana: see https://example.org/<b>x</b>'] },
  { name: 'a long message is announced in part', steps: [['receive', msg('ana', 'x'.repeat(ANNOUNCE_CHARS + 50))]], announce: 'announce.chat:Ana:' + 'x'.repeat(ANNOUNCE_CHARS) + '…' },
  { name: 'a message without a name: the roster\'s', steps: [['receive', { from: 'bo', name: '', text: 'yo', private: false }]], shown: ['Bo: yo'] },
  { name: 'a malformed message: ignored', steps: [['receive', { from: 'bo' }]], shown: [], unread: 0 },
];

/** @param {import('../static/chat.js').Entry} e */
const shown = (e) => `${e.name}${e.private ? ` → ${e.toName} (private)`.replace('→  ', '→ ') : ''}: ${e.text}`;
const announced = (a) => (a ? `${a.key}:${a.params.name}:${a.params.text}` : null);

for (const row of rows) {
  test(row.name, () => {
    const l = log();
    let last = null;
    for (const [what, a, b] of row.steps) {
      if (what === 'receive') last = l.receive(a, name);
      else if (what === 'sent') last = l.sent(a, b, 'Me', name(b));
      else if (what === 'seen') l.setSeen(a);
    }
    if ('shown' in row) assert.deepEqual(l.entries.map(shown), row.shown, 'shown');
    if ('unread' in row) assert.equal(l.unread, row.unread, 'unread');
    if ('announce' in row) assert.equal(announced(last && last.announce), row.announce, 'announced');
  });
}

test('the log keeps the latest messages only, and says how many to drop', () => {
  const l = log();
  let c;
  for (let i = 0; i < CHAT_KEEP + 3; i++) c = l.receive(msg('ana', 'm' + i), name);
  assert.equal(l.entries.length, CHAT_KEEP);
  assert.equal(l.entries[0].text, 'm3');
  assert.equal(c && c.dropped, 1);
});

test('a rejoin (new id) keeps the messages, and ours are still ours', () => {
  const l = log();
  l.receive(msg('ana', 'before'), name);
  l.setSelf('me2');
  l.receive({ from: 'me2', name: 'Me', text: 'after', private: false }, name);
  assert.deepEqual(l.entries.map((e) => [e.text, e.mine]), [['before', false], ['after', true]]);
  l.clear();
  assert.deepEqual(l.entries, []);
});

// The text rule (a copy of proto.ValidChatText; rules_test.go checks it
// against the Go code).
const texts = [
  ['hello', ''],
  ['', 'chat.empty'],
  ['   \n\t', 'chat.empty'],
  ['two\nlines', ''],
  ['a\u0007', 'chat.bad_char'],
  ['a'.repeat(MAX_CHAT_CHARS), ''],
  ['a'.repeat(MAX_CHAT_CHARS + 1), 'chat.too_long'],
  ['😀'.repeat(MAX_CHAT_CHARS), ''], // 2,000 UTF-16 units, 1,000 characters
];
for (const [text, want] of texts) {
  test(`chat text ${JSON.stringify(text.slice(0, 12))}… (${chatLength(text)} characters): ${want || 'ok'}`, () => {
    assert.equal(chatTextProblem(text), want);
  });
}
