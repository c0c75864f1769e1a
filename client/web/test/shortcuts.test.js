// The room's keyboard shortcuts. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortcut, SHORTCUT_KEYS } from '../static/shortcuts.js';

const rows = [
  // [what, key event, push-to-talk key, expected]
  ['M mutes', { code: 'KeyM', key: 'm' }, 'Space', 'mute'],
  ['Shift+M too (caps lock)', { code: 'KeyM', key: 'M' }, 'Space', 'mute'],
  ['R raises or lowers the hand', { code: 'KeyR', key: 'r' }, 'Space', 'hand'],
  ['C opens the chat', { code: 'KeyC', key: 'c' }, 'Space', 'chat'],
  ['? shows the help', { code: 'Slash', key: '?' }, 'Space', 'help'],
  ['? on an AZERTY keyboard (Shift+,)', { code: 'KeyM', key: '?' }, 'Space', 'help'],
  ['M on an AZERTY keyboard (where QWERTY has ;)', { code: 'Semicolon', key: 'm' }, 'Space', 'mute'],
  ['not while typing', { code: 'KeyM', key: 'm', inTextField: true }, 'Space', null],
  ['not with Ctrl, Alt or Meta (the browser\'s)', { code: 'KeyC', key: 'c', modifier: true }, 'Space', null],
  ['not while a dialog is open', { code: 'KeyM', key: 'm', dialogOpen: true }, 'Space', null],
  ['not on auto-repeat', { code: 'KeyM', key: 'm', repeat: true }, 'Space', null],
  ['the push-to-talk key wins', { code: 'KeyM', key: 'm' }, 'KeyM', null],
  ['other keys: nothing', { code: 'KeyX', key: 'x' }, 'Space', null],
  ['Space: nothing (the talk machine\'s)', { code: 'Space', key: ' ' }, 'Space', null],
  ['no key at all (some IMEs): nothing', { code: '', key: '' }, 'Space', null],
];

for (const [name, k, ptt, want] of rows) {
  test(name, () => assert.equal(shortcut(k, ptt), want));
}

test('the shortcut characters are reserved', () => {
  assert.deepEqual([...SHORTCUT_KEYS].sort(), ['?', 'c', 'm', 'r']);
});
