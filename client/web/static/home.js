// The home screen: create a room (and show its links), or go to one.
// What is typed as a room's name becomes a valid one ("Choir Tuesday" →
// choir-tuesday, protocol.js suggestRoomName), previewed as it is typed.

import { t } from './i18n.js';
import { $, show, copyText } from './dom.js';
import { ProtocolError, suggestRoomName } from './protocol.js';
import { showError, clearError } from './notices.js';

/** @import { RoomInfo } from './protocol.js' */
/** @import { Params } from './notices.js' */

/**
 * @typedef {{room: RoomInfo, link: string, organizer_link: string, organizer_secret: string}} Created
 *   the answer to POST /api/v1/rooms
 */

/** @type {Created | null} */
let created = null;
/** @type {Map<string, ReturnType<typeof setTimeout>>} */
const copiedTimers = new Map();

/** @param {{navigate: (path: string) => void}} deps */
export function bindHome({ navigate }) {
  $('create-mode').addEventListener('change', renderModeHelp);
  for (const id of ['create-name', 'goto-name']) {
    $(id).addEventListener('input', () => {
      $(id).removeAttribute('aria-invalid');
      renderPreviews();
    });
  }
  $('create-form').addEventListener('submit', (e) => {
    e.preventDefault();
    create();
  });
  for (const btn of document.querySelectorAll('button[data-copy]')) {
    btn.addEventListener('click', () => copyLink(/** @type {HTMLElement} */ (btn).dataset.copy || ''));
  }
  $('goto-form').addEventListener('submit', (e) => {
    e.preventDefault();
    clearError();
    const input = $('goto-name', HTMLInputElement);
    const name = suggestRoomName(input.value);
    if (!name) {
      input.setAttribute('aria-invalid', 'true');
      showError(input.value.trim() ? 'create.name_invalid' : 'goto.name_missing', {}, true);
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    navigate('/r/' + name);
  });
}

// renderHome redraws what the code wrote (a new language).
export function renderHome() {
  renderModeHelp();
  renderPreviews();
  renderCreated();
}

function renderModeHelp() {
  $('create-mode-help').textContent = t('mode.' + $('create-mode', HTMLSelectElement).value + '.help');
}

// The name that will be used, under each name field.
function renderPreviews() {
  for (const [input, out, key] of [['create-name', 'create-name-preview', 'create.preview'], ['goto-name', 'goto-name-preview', 'goto.preview']]) {
    const typed = $(input, HTMLInputElement).value;
    const name = suggestRoomName(typed);
    const el = $(out);
    el.textContent = !typed.trim() ? '' : name ? t(key, { name }) : t('create.preview_none');
    el.classList.toggle('preview-bad', !!typed.trim() && !name);
  }
}

async function create() {
  clearError();
  const nameInput = $('create-name', HTMLInputElement);
  const name = suggestRoomName(nameInput.value);
  if (!name) {
    nameInput.setAttribute('aria-invalid', 'true');
    showError(nameInput.value.trim() ? 'create.name_invalid' : 'create.name_missing', {}, true);
    nameInput.focus();
    return;
  }
  /** @type {{name: string, mode: string, password?: string}} */
  const body = { name, mode: $('create-mode', HTMLSelectElement).value };
  const password = $('create-password', HTMLInputElement).value;
  if (password) body.password = password;
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  const token = $('create-token', HTMLInputElement).value.trim();
  if (token) headers.Authorization = 'Bearer ' + token;

  const btn = $('create-submit', HTMLButtonElement);
  btn.disabled = true;
  try {
    const res = await fetch('/api/v1/rooms', { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.ok) {
      showCreated(await res.json());
      return;
    }
    const [err, params] = await apiFailure(res);
    if (err === 'error.exists') nameInput.setAttribute('aria-invalid', 'true');
    showError(err, params, true);
  } catch {
    showError(new ProtocolError('network'), {}, true);
  } finally {
    btn.disabled = false;
  }
}

/**
 * apiFailure reads {"error":{"code","message"}} into showError's arguments.
 * @param {Response} res
 * @returns {Promise<[unknown, Params?]>}
 */
async function apiFailure(res) {
  let code = '';
  let message = '';
  let retry = 0;
  try {
    const body = await res.json();
    code = (body.error && body.error.code) || '';
    message = (body.error && body.error.message) || '';
    retry = Number((body.error && body.error.retry_after) || 0);
  } catch {
    // not JSON: the status says enough
  }
  if (res.status === 409) return ['error.exists'];
  if (res.status === 401 || res.status === 403) return ['error.create_token'];
  if (res.status === 429) {
    // How long to wait: the body's retry_after, else the Retry-After header (seconds).
    const header = Number(res.headers.get('Retry-After') || 0);
    const wait = Math.min(3600, Math.ceil(retry > 0 ? retry : Number.isFinite(header) && header > 0 ? header : 0));
    return [new ProtocolError(code === 'address_limit' ? code : 'rate_limited', message, wait)];
  }
  if (res.status === 400) return ['error.bad_request', { message }];
  return [new ProtocolError(code || 'internal', message)];
}

/** @param {Created} data */
function showCreated(data) {
  created = data;
  // The form keeps what was typed: the card repeats it.
  renderCreated();
  show($('created'), true);
  $('created-title').focus();
}

function renderCreated() {
  if (!created) return;
  const room = created.room;
  $('created-name').textContent = room.name;
  $('created-mode').textContent = t('created.mode', { mode: { key: 'mode.' + room.mode } });
  $('created-password').textContent = t(room.has_password ? 'created.password_yes' : 'created.password_no');
  $('participant-link').textContent = created.link;
  $('organizer-link').textContent = created.organizer_link;
  $('created-enter').setAttribute('href', `/r/${encodeURIComponent(room.name)}#org=${encodeURIComponent(created.organizer_secret)}`);
}

// hideCreated forgets the card (leaving the home screen).
export function hideCreated() {
  created = null;
  show($('created'), false);
}

/** @param {string} id the element whose text to copy */
async function copyLink(id) {
  const target = $(id);
  const ok = await copyText(target.textContent, target);
  // Said next to the button, where the eyes are.
  const out = $(id + '-copied');
  out.textContent = t(ok ? 'copy.done_short' : 'copy.manual_short');
  clearTimeout(copiedTimers.get(id));
  copiedTimers.set(id, setTimeout(() => {
    out.textContent = '';
  }, 5000));
}
