// Palabre's browser app: routing, the home, prejoin and ended screens,
// the language, notices, and the test hooks (window.palabre). The room
// itself is room.js; staying connected is session.js.

import { t, tn, has, getLang, setLang, applyTranslations } from './i18n.js';
import { $, show, copyText } from './dom.js';
import { ProtocolError, ROOM_NAME, validDisplayName } from './protocol.js';
import { Microphone, LevelMeter, AudioOut, audioContext, resumeAudio } from './media.js';
import { Session } from './session.js';
import { Room } from './room.js';

const NAME_STORE = 'palabre.name';
const MIC_STORE = 'palabre.mic';
// The organizer secret, per room, for this tab only: a reload must not
// demote the organizer (the link is shown once). It never leaves the
// browser except in the join message.
const ORG_STORE = 'palabre.org.';
const SCREENS = ['home', 'prejoin', 'room', 'ended'];

/** @import { Message, RoomInfo, Joined } from './protocol.js' */
/** @import { Param } from './i18n.js' */

/**
 * @typedef {'home' | 'prejoin' | 'joining' | 'room' | 'ended' | 'reconnecting'} AppState
 * @typedef {{kind: 'loading' | 'adhoc' | 'unknown' | 'invalid'}
 *   | {kind: 'ok', room: RoomInfo, participants: number}} RoomStatus
 *   what GET /api/v1/rooms/{name} said of the room
 * @typedef {'idle' | 'asking' | 'ok' | 'denied' | 'none' | 'error' | 'unsupported'} MicState
 * @typedef {Record<string, Param>} Params
 */

const app = {
  /** @type {AppState} */
  state: 'home',
  /** @type {Session | null} */
  session: null,
  roomName: '',
  secret: '',
  /** @type {RoomStatus} */
  roomStatus: { kind: 'loading' },
  /** @type {MicState} */
  micState: 'idle',
  /** @type {Promise<void> | null} */
  micPromise: null,
  /** @type {string} */
  mediaState: 'new',
  /** @type {{kind: 'left' | 'kicked', by: string, closed: boolean} | null} */
  ended: null,
  /** @type {{err: unknown, params?: Params, sticky: boolean} | null} a ProtocolError or a key */
  error: null,
  /** @type {{key: string, params?: Params} | null} */
  info: null,
  /** @type {unknown} */
  retryError: null,
  forcePassword: '', // a room that asked for a password its status did not announce
  /** @type {[string, Params]} */
  title: ['title.home', {}],
};

const mic = new Microphone();
const meter = new LevelMeter();
const out = new AudioOut($('audio-outputs'));

const room = new Room({
  net: {
    request: (msg) => (app.session ? app.session.request(msg) : Promise.reject(new ProtocolError('closed'))),
  },
  mic,
  ui: {
    announce,
    error: (err, params) => showError(err, params),
    clearNotices: () => {
      clearError();
      clearInfo();
    },
    info: (key, params) => showInfo(key, params),
    leave: () => endRoom('left'),
  },
});

// ---- test hooks: window.palabre, always current ------------------------

Object.defineProperty(window, 'palabre', { value: Object.defineProperties({}, {
  pc: { enumerable: true, get: () => (app.session ? app.session.pc : null) },
  ws: { enumerable: true, get: () => (app.session ? app.session.ws : null) },
  self: { enumerable: true, get: () => room.self },
  state: { enumerable: true, get: () => app.state },
  lang: { enumerable: true, get: () => getLang() },
  micEnabled: { enumerable: true, get: () => !!mic.track && mic.track.enabled },
  // socketURL(): the URL of the current WebSocket ('' without one), which
  // says which node of a cluster the page is talking to.
  socketURL: { enumerable: true, value: () => (app.session && app.session.ws ? app.session.ws.url : '') },
}) });

/** @param {AppState} s */
function setState(s) {
  app.state = s;
  document.body.dataset.state = s;
  show($('reconnecting'), s === 'reconnecting');
}

/** @param {string} name @param {boolean} [focus] */
function showScreen(name, focus) {
  for (const s of SCREENS) show($(s), s === name);
  if (focus) {
    const heading = $(name).querySelector('h1');
    if (heading) heading.focus();
  }
}

/** @param {string} key @param {Params} [params] */
function setTitle(key, params = {}) {
  app.title = [key, params];
  document.title = t(key, params);
}

// ---- notices -------------------------------------------------------------

/** @param {string} text */
function announce(text) {
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
function errorText(err, params) {
  if (typeof err === 'string') return t(err, params);
  if (err instanceof ProtocolError) {
    if (err.code === 'rate_limited' && err.retryAfter > 0) return t('error.rate_limited_for', { seconds: err.retryAfter });
    const key = 'error.' + err.code;
    return has(key) ? t(key) : t('error.unknown', { message: err.message || err.code });
  }
  return t('error.unknown', { message: String((err instanceof Error && err.message) || err) });
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let errorTimer;
/** @param {unknown} err a ProtocolError or a dictionary key @param {Params} [params] */
function showError(err, params) {
  // In the room, errors pass; before it, they stay until the next attempt.
  const sticky = !['room', 'reconnecting'].includes(app.state);
  app.error = { err, params, sticky };
  renderError();
  clearTimeout(errorTimer);
  if (!sticky) errorTimer = setTimeout(clearError, 8000);
}

function renderError() {
  const el = $('error');
  if (!app.error) {
    el.textContent = '';
    show(el, false);
    return;
  }
  el.textContent = errorText(app.error.err, app.error.params);
  show(el, true);
}

function clearError() {
  clearTimeout(errorTimer);
  app.error = null;
  renderError();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let infoTimer;
/** @param {string} key @param {Params} [params] */
function showInfo(key, params) {
  app.info = { key, params };
  renderInfo();
  clearTimeout(infoTimer);
  infoTimer = setTimeout(() => {
    app.info = null;
    renderInfo();
  }, 7000);
}

function clearInfo() {
  clearTimeout(infoTimer);
  app.info = null;
  renderInfo();
}

function renderInfo() {
  const el = $('info');
  el.textContent = app.info ? t(app.info.key, app.info.params) : '';
  show(el, !!app.info);
}

// ---- routing ---------------------------------------------------------------

/** @param {string} path */
function navigate(path) {
  history.pushState(null, '', path);
  route(true);
}

function route(focus = false) {
  dropSession();
  const m = location.pathname.match(/^\/r\/([^/]+)\/?$/);
  if (m) {
    let name = m[1];
    try {
      name = decodeURIComponent(name);
    } catch {
      // keep it as it is: it will be reported as invalid
    }
    openPrejoin(name, focus);
  } else {
    openHome(focus);
  }
}

// dropSession leaves the room without ceremony (history navigation).
function dropSession() {
  if (!app.session) return;
  const s = app.session;
  app.session = null;
  s.leave();
  room.clear();
}

// Same-origin links navigate inside the app.
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href^="/"]') : null;
  const href = a && a.getAttribute('href');
  if (!href || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (href.startsWith('//')) return;
  e.preventDefault();
  navigate(href);
});
window.addEventListener('popstate', () => route(true));

// ---- home ------------------------------------------------------------------

/** @param {boolean} [focus] */
function openHome(focus) {
  clearError();
  clearInfo();
  setState('home');
  showScreen('home', focus);
  setTitle('title.home');
  renderCreateModeHelp();
}

function renderCreateModeHelp() {
  $('create-mode-help').textContent = t('mode.' + $('create-mode', HTMLSelectElement).value + '.help');
}

$('create-mode').addEventListener('change', renderCreateModeHelp);
$('create-name').addEventListener('input', () => $('create-name').removeAttribute('aria-invalid'));

$('create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearError();
  const nameInput = $('create-name', HTMLInputElement);
  const name = nameInput.value.trim();
  if (!ROOM_NAME.test(name)) {
    nameInput.setAttribute('aria-invalid', 'true');
    showError(name && name.toLowerCase() !== name ? 'create.name_uppercase' : 'create.name_invalid');
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
    showError(...(await apiFailure(res)));
  } catch {
    showError(new ProtocolError('network'));
  } finally {
    btn.disabled = false;
  }
});

/**
 * apiFailure reads {"error":{"code","message"}} into showError's arguments.
 * @param {Response} res
 * @returns {Promise<[unknown, Params?]>}
 */
async function apiFailure(res) {
  let code = '';
  let message = '';
  try {
    const body = await res.json();
    code = (body.error && body.error.code) || '';
    message = (body.error && body.error.message) || '';
  } catch {
    // not JSON: the status says enough
  }
  if (res.status === 409) return ['error.exists'];
  if (res.status === 401 || res.status === 403) return ['error.create_token'];
  if (res.status === 429) return [new ProtocolError('rate_limited')];
  if (res.status === 400) return ['error.bad_request', { message }];
  return [new ProtocolError(code || 'internal', message)];
}

/**
 * @param {{room: RoomInfo, link: string, organizer_link: string, organizer_secret: string}} data
 *   the answer to POST /api/v1/rooms
 */
function showCreated(data) {
  const name = data.room.name;
  $('participant-link').textContent = data.link;
  $('organizer-link').textContent = data.organizer_link;
  $('created-enter').setAttribute('href', `/r/${encodeURIComponent(name)}#org=${encodeURIComponent(data.organizer_secret)}`);
  $('create-form', HTMLFormElement).reset();
  renderCreateModeHelp();
  show($('created'), true);
  $('created-title').focus();
}

for (const btn of document.querySelectorAll('button[data-copy]')) {
  btn.addEventListener('click', async () => {
    const target = $(/** @type {HTMLElement} */ (btn).dataset.copy || '');
    const ok = await copyText(target.textContent, target);
    showInfo(ok ? 'copy.done' : 'copy.manual_selected');
  });
}

$('goto-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearError();
  const input = $('goto-name', HTMLInputElement);
  const name = input.value.trim().toLowerCase();
  if (!ROOM_NAME.test(name)) {
    input.setAttribute('aria-invalid', 'true');
    showError('create.name_invalid');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  navigate('/r/' + name);
});

// ---- prejoin ---------------------------------------------------------------

/** @param {string} raw the room's name from the address @param {boolean} [focus] */
function openPrejoin(raw, focus) {
  const name = raw.toLowerCase();
  // The organizer secret travels in the fragment, which browsers never
  // send. Read it, then take it out of the address bar (screen sharing,
  // copied links, history).
  const frag = new URLSearchParams(location.hash.slice(1));
  const org = frag.get('org');
  if (org || name !== raw) history.replaceState(null, '', '/r/' + encodeURIComponent(name));
  app.roomName = name;
  if (org) {
    app.secret = org;
    try {
      sessionStorage.setItem(ORG_STORE + name, org);
    } catch {
      // storage refused: the secret lives as long as the page
    }
  } else {
    app.secret = safeGet(sessionStorage, ORG_STORE + name) || '';
  }

  clearError();
  clearInfo();
  setState('prejoin');
  showScreen('prejoin', focus);
  setTitle('title.room', { room: name });
  $('prejoin-room').textContent = name;
  const nameInput = $('name', HTMLInputElement);
  nameInput.value = nameInput.value || safeGet(localStorage, NAME_STORE) || '';
  $('password', HTMLInputElement).value = '';
  renderJoinButton();
  app.roomStatus = { kind: 'loading' };
  renderPrejoin();
  if (!ROOM_NAME.test(name)) {
    app.roomStatus = { kind: 'invalid' };
    renderPrejoin();
    showError('room.invalid_name');
    return;
  }
  fetchRoom(name);
  if (!webrtcMissing()) startMic(); // no call possible: no microphone prompt either
}

/** @param {Storage} storage @param {string} key */
function safeGet(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {string} name */
async function fetchRoom(name) {
  /** @type {RoomStatus} */
  let status;
  try {
    const res = await fetch(`/api/v1/rooms/${encodeURIComponent(name)}`, { headers: { Accept: 'application/json' } });
    if (res.ok) {
      const body = await res.json();
      status = { kind: 'ok', room: body.room, participants: body.participants || 0 };
    } else if (res.status === 404) {
      status = { kind: 'adhoc' };
    } else {
      status = { kind: 'unknown' };
    }
  } catch {
    status = { kind: 'unknown' };
  }
  if (app.roomName !== name || !['prejoin', 'joining'].includes(app.state)) return;
  app.roomStatus = status;
  renderPrejoin();
}

/**
 * webrtcMissing reports whether this browser cannot make calls at all:
 * WebKitGTK builds without WebRTC, Firefox with
 * media.peerconnection.enabled=false. Checked before anything is sent, so
 * the room never sees a join that cannot work.
 */
function webrtcMissing() {
  return typeof window.RTCPeerConnection !== 'function';
}

function renderPrejoin() {
  const st = app.roomStatus;
  let mode = '';
  const status = [];
  if (st.kind === 'loading') mode = t('prejoin.loading');
  else if (st.kind === 'adhoc') mode = t('prejoin.adhoc');
  else if (st.kind === 'ok') {
    mode = t('mode.' + st.room.mode + '.help'); // names the mode and says what it means
    status.push(tn('prejoin.count', st.participants));
    if (st.room.locked && !app.secret) status.push(t('prejoin.locked'));
  }
  if (app.secret) status.push(t('prejoin.as_organizer'));
  $('prejoin-mode').textContent = mode;
  $('prejoin-status').textContent = status.join(' ');
  const needPassword = st.kind === 'ok' && st.room.has_password && !app.secret;
  show($('password-field'), needPassword || (!!app.forcePassword && app.forcePassword === app.roomName));
  $('join', HTMLButtonElement).disabled = st.kind === 'invalid' || app.state === 'joining' || webrtcMissing();
  const noWebRTC = $('prejoin-no-webrtc');
  show(noWebRTC, webrtcMissing());
  noWebRTC.textContent = webrtcMissing() ? t('prejoin.no_webrtc') : '';
}

function renderJoinButton() {
  const joining = app.state === 'joining';
  $('join').textContent = t(joining ? 'prejoin.joining' : 'prejoin.join');
  $('join', HTMLButtonElement).disabled = joining || app.roomStatus.kind === 'invalid' || webrtcMissing();
}

// ---- microphone ------------------------------------------------------------

/**
 * startMic asks for the microphone (once at a time) and fills the list.
 * @param {string} [deviceId] '' the default one; absent: the remembered one
 * @returns {Promise<void>}
 */
function startMic(deviceId) {
  if (app.micPromise) return app.micPromise;
  if (deviceId === undefined && mic.track && mic.track.readyState === 'live') {
    renderMic();
    return fillMics();
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    app.micState = 'unsupported'; // not a secure context (http on another host than localhost)
    renderMic();
    return Promise.resolve();
  }
  app.micState = 'asking';
  renderMic();
  const wanted = deviceId !== undefined ? deviceId : safeGet(localStorage, MIC_STORE) || '';
  app.micPromise = (async () => {
    try {
      await mic.open(wanted);
      app.micState = 'ok';
      meter.attach(mic.meterTrack);
      if (app.session) await app.session.setMicTrack(mic.track);
      await fillMics();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'NotAllowedError' || name === 'SecurityError') app.micState = 'denied';
      else if (name === 'NotFoundError' || name === 'OverconstrainedError') app.micState = 'none';
      else app.micState = 'error';
      meter.detach();
      if (app.session) await app.session.setMicTrack(null);
    } finally {
      app.micPromise = null;
      renderMic();
      room.updateMic();
    }
  })();
  return app.micPromise;
}

async function fillMics() {
  const sel = $('mic', HTMLSelectElement);
  /** @type {MediaDeviceInfo[]} */
  let devices = [];
  try {
    devices = await Microphone.devices();
  } catch {
    // leave the list empty
  }
  sel.replaceChildren();
  devices.forEach((d, i) => {
    const opt = document.createElement('option');
    opt.value = d.deviceId;
    opt.textContent = d.label || t('prejoin.mic_unnamed', { n: i + 1 });
    sel.append(opt);
  });
  if (mic.deviceId && devices.some((d) => d.deviceId === mic.deviceId)) sel.value = mic.deviceId;
  renderMic();
}

function renderMic() {
  const ok = app.micState === 'ok';
  const sel = $('mic', HTMLSelectElement);
  sel.disabled = !ok || sel.options.length === 0;
  const key = {
    idle: '', asking: 'mic.asking', ok: 'mic.ok', denied: 'mic.denied', none: 'mic.none',
    error: 'mic.error', unsupported: 'mic.unsupported',
  }[app.micState];
  $('mic-status').textContent = key ? t(key) : '';
  show($('mic-retry'), ['denied', 'none', 'error'].includes(app.micState));
}

$('mic').addEventListener('change', () => {
  const id = $('mic', HTMLSelectElement).value;
  try {
    localStorage.setItem(MIC_STORE, id);
  } catch {
    // not remembered, that's all
  }
  startMic(id);
});
$('mic-retry').addEventListener('click', () => startMic(''));
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener('devicechange', () => {
    if (app.micState === 'ok') fillMics();
  });
}
mic.onEnded = () => {
  // The device went away: say so and fall back to the default one.
  if (app.state === 'room' || app.state === 'reconnecting') showError('mic.lost');
  startMic('');
};

// ---- joining ---------------------------------------------------------------

$('prejoin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (app.state !== 'prejoin') return;
  if (webrtcMissing()) return; // the page says why, and nothing is sent
  // Still inside the click: unlock sound now. Safari wants play() called
  // in the gesture itself, before any await.
  audioContext().resume().catch(() => {});
  const slots = (app.roomStatus.kind === 'ok' && app.roomStatus.room.slots) || 3;
  out.prime(Math.max(slots, 3));

  clearError();
  const name = $('name', HTMLInputElement).value.trim();
  if (!validDisplayName(name)) {
    showError('prejoin.name_invalid');
    $('name').focus();
    return;
  }
  const pwShown = !$('password-field').hidden;
  const password = pwShown ? $('password', HTMLInputElement).value : '';
  if (pwShown && !password) {
    showError('prejoin.password_required');
    $('password').focus();
    return;
  }
  try {
    localStorage.setItem(NAME_STORE, name);
  } catch {
    // not remembered, that's all
  }

  setState('joining');
  renderJoinButton();
  if (!mic.track) await startMic();
  if (/** @type {AppState} */ (app.state) !== 'joining') return; // navigated away meanwhile

  const session = new Session({
    room: app.roomName, name, password, secret: app.secret, mic, out, handlers: sessionHandlers(),
  });
  app.session = session;
  try {
    await session.start();
  } catch (err) {
    if (app.session !== session) return;
    app.session = null;
    setState('prejoin');
    renderJoinButton();
    const code = err instanceof ProtocolError ? err.code : '';
    if (code === 'bad_secret') forgetSecret();
    if (code === 'bad_password') app.forcePassword = app.roomName;
    renderPrejoin();
    showError(err);
    if (code === 'bad_password') $('password').focus();
  }
});

function forgetSecret() {
  app.secret = '';
  try {
    sessionStorage.removeItem(ORG_STORE + app.roomName);
  } catch {
    // nothing stored
  }
}

/** @returns {import('./session.js').SessionHandlers} */
function sessionHandlers() {
  return {
    onJoined(joined, isRejoin) {
      clearError();
      app.mediaState = 'new';
      app.retryError = null;
      setState('room');
      room.reset(joined, isRejoin);
      if (!mic.track) showInfo('mic.listen_only');
      if (isRejoin) {
        showInfo('reconnect.back');
      } else {
        showScreen('room', true);
      }
      renderMediaStatus();
    },
    onEvent(msg) {
      if (msg.type === 'error') {
        // An error without a request id: a message we sent without one
        // (a candidate) was refused, or we are being disconnected.
        if (msg.code === 'flood' || msg.code === 'internal') showError(new ProtocolError(msg.code, msg.message));
        else console.warn('palabre: server error', msg.code, msg.message);
        return;
      }
      room.handleEvent(msg);
    },
    onMediaState(state) {
      app.mediaState = state;
      renderMediaStatus();
    },
    onReconnecting(reason) {
      room.suspend();
      app.retryError = null;
      app.mediaState = 'new';
      // A room moving to another node is not a lost connection: say so.
      const key = reason === 'moved' ? 'reconnect.moving' : 'reconnect.banner';
      const banner = /** @type {HTMLElement} */ ($('reconnecting').querySelector('[data-i18n]'));
      banner.dataset.i18n = key;
      banner.textContent = t(key);
      setState('reconnecting');
      renderReconnect();
      renderMediaStatus();
      announce(t(key));
    },
    onRetryFailed(err) {
      app.retryError = err;
      renderReconnect();
    },
    onFatal(err) {
      // Rejoining cannot work without the user (new password, locked…).
      app.session = null;
      room.clear();
      if (err.code === 'bad_secret') forgetSecret();
      if (err.code === 'bad_password') app.forcePassword = app.roomName;
      openPrejoin(app.roomName, true);
      showError(err);
    },
    onKicked(msg) {
      endRoom('kicked', msg);
    },
  };
}

function renderReconnect() {
  $('reconnecting-detail').textContent = app.retryError
    ? t('reconnect.detail', { reason: errorText(app.retryError) })
    : '';
}

function renderMediaStatus() {
  let key = '';
  if (app.state === 'room') {
    if (app.mediaState === 'disconnected') key = 'media.unstable';
    else if (app.mediaState !== 'connected') key = 'media.connecting';
  }
  $('media-status').textContent = key ? t(key) : '';
}

out.onBlocked = () => show($('sound-blocked'), true);
$('enable-sound').addEventListener('click', () => {
  resumeAudio();
  out.resume();
  show($('sound-blocked'), false);
});

// ---- ending ----------------------------------------------------------------

/** @param {'left' | 'kicked'} kind @param {Message} [msg] the kicked message */
async function endRoom(kind, msg) {
  const s = app.session;
  app.session = null;
  let by = '';
  if (kind === 'kicked' && msg && msg.by) by = room.name(msg.by) || t('role.organizer');
  const closed = kind === 'kicked' && !(msg && msg.by); // the room was deleted
  room.clear();
  setState('ended');
  app.ended = { kind, by, closed };
  // Nothing to listen to any more: release the microphone (the browser's
  // recording indicator goes off).
  meter.detach();
  mic.stop();
  app.micState = 'idle';
  show($('sound-blocked'), false);
  clearError();
  clearInfo();
  showScreen('ended', true);
  renderEnded();
  if (s && kind === 'left') await s.leave();
}

function renderEnded() {
  const e = app.ended;
  if (!e) return;
  let title;
  let message;
  if (e.kind === 'left') {
    title = 'ended.left_title';
    message = 'ended.left';
  } else if (e.closed) {
    title = 'ended.closed_title';
    message = 'ended.closed';
  } else {
    title = 'ended.kicked_title';
    message = 'ended.kicked';
  }
  $('ended-title').textContent = t(title);
  $('ended-message').textContent = t(message, { name: e.by });
  const rejoin = $('rejoin');
  show(rejoin, e.kind === 'left');
  rejoin.setAttribute('href', '/r/' + encodeURIComponent(app.roomName));
  setTitle('title.ended', { room: app.roomName });
}

window.addEventListener('pagehide', () => {
  if (app.session) app.session.leaveNow();
});
// Back from the back-forward cache: the connection is gone, say so.
window.addEventListener('pageshow', (e) => {
  if (e.persisted && app.session) endRoom('left');
});

// ---- language ----------------------------------------------------------------

function renderLanguage() {
  applyTranslations(document);
  $('lang', HTMLSelectElement).value = getLang();
  document.title = t(app.title[0], app.title[1]);
  renderCreateModeHelp();
  renderPrejoin();
  renderJoinButton();
  renderMic();
  if (room.self) room.render();
  room.renderTalk();
  renderEnded();
  renderError();
  renderInfo();
  renderReconnect();
  renderMediaStatus();
}

$('lang').addEventListener('change', () => {
  setLang($('lang', HTMLSelectElement).value);
  renderLanguage();
});

// Audio may only start after a user gesture: resume on each until it runs.
document.addEventListener('pointerdown', resumeAudio, true);
document.addEventListener('keydown', resumeAudio, true);

// ---- start -----------------------------------------------------------------

meter.addElement($('mic-level'));
meter.addElement($('room-level'));
room.bind();
applyTranslations(document);
$('lang', HTMLSelectElement).value = getLang();
route(false);
renderLanguage();
