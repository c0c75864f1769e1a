// Keyboard shortcuts of the room: M mute, R hand, C chat, ? this help;
// the push-to-talk key is the talk machine's (talk.js). Pure: which key
// press means what, never while typing in a field, with Ctrl, Alt or
// Meta, or while a dialog is open; test/shortcuts.test.js runs it under
// Node.
//
// Letters go by the character the key types (KeyboardEvent.key), not by
// its place (code): M is M on AZERTY keyboards too.

/** @typedef {'mute' | 'hand' | 'chat' | 'help'} Shortcut */

/** @type {Record<string, Shortcut>} by the character typed, lower case */
const BY_KEY = { m: 'mute', r: 'hand', c: 'chat', '?': 'help' };

// SHORTCUT_KEYS: the characters the shortcuts take, which the
// push-to-talk key cannot be.
export const SHORTCUT_KEYS = new Set(Object.keys(BY_KEY));

/**
 * @typedef {{code: string, key: string, repeat?: boolean, inTextField?: boolean,
 *   modifier?: boolean, dialogOpen?: boolean}} ShortcutKey
 *   modifier: Ctrl, Alt or Meta (Shift types '?', so it is allowed)
 */

/**
 * shortcut is what a key press asks for, or null (not a shortcut: the
 * key goes on to the page and the talk machine).
 * @param {ShortcutKey} k @param {string} pttKey the push-to-talk key's code
 * @returns {Shortcut | null}
 */
export function shortcut(k, pttKey) {
  if (k.repeat || k.inTextField || k.modifier || k.dialogOpen) return null;
  if (k.code === pttKey) return null; // talking wins
  const key = (k.key || '').toLowerCase();
  return Object.hasOwn(BY_KEY, key) ? BY_KEY[key] : null;
}
