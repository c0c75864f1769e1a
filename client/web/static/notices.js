// Notices: the error and info toasts, the screen reader's announcements.
// The toasts float in a fixed region over the page (#toasts), so that
// showing one never moves anything (the talk button stays under the
// finger). Errors before the room stay until the next attempt; in the
// room they pass, like infos. Each can be closed.

import { t, has } from './i18n.js';
import { $, show } from './dom.js';
import { ProtocolError } from './protocol.js';

/** @import { Param } from './i18n.js' */
/** @typedef {Record<string, Param>} Params */

const ERROR_MS = 8000;
const INFO_MS = 7000;

/** @type {{err: unknown, params?: Params, sticky: boolean} | null} a ProtocolError or a key */
let error = null;
/** @type {{key: string, params?: Params} | null} */
let info = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let errorTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let infoTimer;

/** The last announcements, oldest first (the test hook window.palabre.announced). */
export const announced = /** @type {string[]} */ ([]);
const ANNOUNCED_KEPT = 20;

/** @param {string} text */
export function announce(text) {
  announced.push(text);
  if (announced.length > ANNOUNCED_KEPT) announced.shift();
  const el = $('announcer');
  // The same text twice would not be read again: clear, then write.
  if (el.textContent === text) {
    el.textContent = '';
    setTimeout(() => {
      el.textContent = text;
    }, 100);
  } else {
    el.textContent = text;
  }
}

/**
 * errorText turns a ProtocolError (any protocol code, or the client's own
 * closed/timeout/network) or a dictionary key into words.
 * @param {unknown} err @param {Params} [params]
 */
export function errorText(err, params) {
  if (typeof err === 'string') return t(err, params);
  if (err instanceof ProtocolError) {
    if (err.code === 'rate_limited' && err.retryAfter > 0) return t('error.rate_limited_for', { seconds: err.retryAfter });
    const key = 'error.' + err.code;
    return has(key) ? t(key) : t('error.unknown', { message: err.message || err.code });
  }
  return t('error.unknown', { message: String((err instanceof Error && err.message) || err) });
}

/**
 * showError shows an error toast.
 * @param {unknown} err a ProtocolError or a dictionary key @param {Params} [params]
 * @param {boolean} [sticky] stays until cleared (before the room)
 */
export function showError(err, params, sticky = false) {
  error = { err, params, sticky };
  renderError();
  clearTimeout(errorTimer);
  if (!sticky) errorTimer = setTimeout(clearError, ERROR_MS);
}

export function clearError() {
  clearTimeout(errorTimer);
  error = null;
  renderError();
}

/** @param {string} key @param {Params} [params] */
export function showInfo(key, params) {
  info = { key, params };
  renderInfo();
  clearTimeout(infoTimer);
  infoTimer = setTimeout(clearInfo, INFO_MS);
}

export function clearInfo() {
  clearTimeout(infoTimer);
  info = null;
  renderInfo();
}

export function clearNotices() {
  clearError();
  clearInfo();
}

function renderError() {
  $('error-text').textContent = error ? errorText(error.err, error.params) : '';
  show($('error'), !!error);
}

function renderInfo() {
  $('info-text').textContent = info ? t(info.key, info.params) : '';
  show($('info'), !!info);
}

// renderNotices redraws them (a new language).
export function renderNotices() {
  renderError();
  renderInfo();
}

for (const btn of document.querySelectorAll('#toasts button[data-close]')) {
  btn.addEventListener('click', () => {
    if (/** @type {HTMLElement} */ (btn).dataset.close === 'error') clearError();
    else clearInfo();
  });
}
