// Small DOM helpers shared by the screens.

export const $ = (id) => document.getElementById(id);

// h builds an element: h('button', {type: 'button', class: 'btn'}, 'text').
// Attributes are set with setAttribute (null/false skip one); children
// are nodes or strings (strings become text, never HTML).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

export function show(el, on) {
  el.hidden = !on;
}

// isTextField: keys typed here belong to the field, not to push-to-talk.
export function isTextField(el) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const nonText = ['button', 'checkbox', 'radio', 'range', 'color', 'file', 'submit', 'reset', 'image'];
  return !nonText.includes((el.type || 'text').toLowerCase());
}

// copyText copies to the clipboard. Without clipboard access (an insecure
// context, a refusal) it selects the element's text so that the user can
// copy it by hand, and resolves false.
export async function copyText(text, el) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (el) {
      const range = document.createRange();
      range.selectNodeContents(el);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    return false;
  }
}

// ROOM_NAME is the protocol's room name: 1–64 of a-z, 0-9, '-', starting
// and ending with a letter or digit.
export const ROOM_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

// validDisplayName: 1–64 characters, no control characters.
export function validDisplayName(name) {
  const n = [...name].length;
  return n >= 1 && n <= 64 && !/\p{Cc}/u.test(name);
}

// sleep resolves after ms; wake() (returned alongside) ends it early.
export function sleep(ms) {
  let wake;
  const p = new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  return { done: p, wake };
}
