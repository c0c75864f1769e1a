// Dialogs: the settings, the shortcuts' help and "are you sure?" are
// modal <dialog>s (the browser keeps the focus inside and closes them on
// Escape). Buttons marked data-close-dialog close theirs; the focus goes
// back to what opened it.

import { $ } from './dom.js';

/** @type {WeakMap<HTMLDialogElement, HTMLElement | null>} who opened each dialog */
const openers = new WeakMap();

/**
 * openDialog shows a dialog, modal.
 * @param {HTMLDialogElement} dialog
 */
export function openDialog(dialog) {
  if (dialog.open) return;
  const active = document.activeElement;
  openers.set(dialog, active instanceof HTMLElement ? active : null);
  dialog.showModal();
}

/** @param {HTMLDialogElement} dialog */
export function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}

/** @returns {boolean} a modal dialog is open */
export function dialogOpen() {
  return !!document.querySelector('dialog[open]');
}

// closeAll closes every dialog (leaving the room).
export function closeAll() {
  for (const d of document.querySelectorAll('dialog[open]')) /** @type {HTMLDialogElement} */ (d).close();
}

for (const d of document.querySelectorAll('dialog')) {
  const dialog = /** @type {HTMLDialogElement} */ (d);
  dialog.addEventListener('click', (e) => {
    const btn = e.target instanceof Element && e.target.closest('[data-close-dialog]');
    if (btn) dialog.close();
    // A click on the backdrop (outside the box) closes too.
    else if (e.target === dialog) {
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) dialog.close();
    }
  });
  dialog.addEventListener('close', () => {
    const opener = openers.get(dialog);
    openers.delete(dialog);
    if (opener && opener.isConnected && !opener.hidden) opener.focus();
  });
}

/** @type {((ok: boolean) => void) | null} */
let answer = null;

/**
 * confirm asks "are you sure?" in #confirm; resolves true for OK.
 * @param {{title: string, text: string, ok: string}} words
 * @returns {Promise<boolean>}
 */
export function confirm({ title, text, ok }) {
  const dialog = $('confirm', HTMLDialogElement);
  if (answer) answer(false);
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  openDialog(dialog);
  // The safe answer has the focus: Enter does not remove anyone.
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    answer = resolve;
  });
}

$('confirm-ok').addEventListener('click', () => {
  const a = answer;
  answer = null;
  $('confirm', HTMLDialogElement).close();
  if (a) a(true);
});
$('confirm', HTMLDialogElement).addEventListener('close', () => {
  const a = answer;
  answer = null;
  if (a) a(false);
});
