// Palabre's browser app: routing, the prejoin, waiting (lobby), invalid
// and ended screens, the reconnecting banner, the language, and the test
// hooks (window.palabre). The home screen is home.js, notices notices.js,
// the room itself room.js; staying connected is session.js.

import { t, tn, getLang, setLang, applyTranslations } from './i18n.js';
import { $, show } from './dom.js';
import { ProtocolError, ROOM_NAME, validDisplayName, suggestRoomName } from './protocol.js';
import { Microphone, LevelMeter, AudioOut, audioContext, resumeAudio, sinkSupported } from './media.js';
import { Session } from './session.js';
import { Room } from './room.js';
import { announce, announced, errorText, showError, clearError, showInfo, clearNotices, renderNotices } from './notices.js';
import { bindHome, renderHome } from './home.js';

const NAME_STORE = 'palabre.name';
const MIC_STORE = 'palabre.mic';
// The organizer secret, per room, for this tab only: a reload must not
// demote the organizer (the link is shown once). It never leaves the
// browser except in the join message. ADHOC_STORE marks one the server
// gave us for opening an ad-hoc room (not from an #org= link).
const ORG_STORE = 'palabre.org.';
const ADHOC_STORE = 'palabre.adhoc.';
const SCREENS = ['home', 'prejoin', 'waiting', 'room', 'invalid', 'ended'];
// Touch-only screens: no keyboard hints (no "Key: Space" on a phone).
const TOUCH_ONLY = '(hover: none) and (pointer: coarse)';

/** @import { Message, RoomInfo } from './protocol.js' */
/** @import { Params } from './notices.js' */
/** @import { ReconnectReason } from './session.js' */

/**
 * @typedef {'home' | 'prejoin' | 'joining' | 'waiting' | 'room' | 'ended' | 'reconnecting' | 'invalid'} AppState
 * @typedef {{kind: 'loading' | 'adhoc' | 'unknown' | 'invalid'}
 *   | {kind: 'ok', room: RoomInfo, participants: number}} RoomStatus
 *   what GET /api/v1/rooms/{name} said of the room
 * @typedef {'idle' | 'asking' | 'ok' | 'denied' | 'none' | 'error' | 'unsupported'} MicState
 * @typedef {'left' | 'kicked' | 'refused'} EndKind
 */

const app = {
  /** @type {AppState} */
  state: 'home',
  /** @type {Session | null} */
  session: null,
  roomName: '',
  secret: '',
  secretAdhoc: false, // the secret is the one the server gave us for opening the room
  /** @type {RoomStatus} */
  roomStatus: { kind: 'loading' },
  /** @type {MicState} */
  micState: 'idle',
  /** @type {Promise<void> | null} */
  micPromise: null,
  /** @type {string} */
  mediaState: 'new',
  /** @type {{kind: EndKind, by: string, closed: boolean} | null} */
  ended: null,
  /** @type {unknown} */
  retryError: null,
  /** @type {ReconnectReason} */
  reconnectReason: 'network',
  retryAt: 0, // performance.now() of the next attempt; 0: trying now
  /** @type {ReturnType<typeof setInterval> | undefined} */
  retryTicker: undefined,
  inLobby: false, // the lobby holds us (state waiting, or reconnecting from it)
  invalidTyped: '', // the address's room name that is not one
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
    setVideoTrack: (kind, track) => (app.session ? app.session.setVideoTrack(kind, track) : Promise.resolve(false)),
  },
  mic,
  out,
  ui: {
    announce,
    error: (err, params) => showError(err, params, !['room', 'reconnecting'].includes(app.state)),
    clearNotices,
    info: (key, params) => showInfo(key, params),
    leave: () => endRoom('left'),
    fillMics: (sel) => fillMics(sel),
    chooseMic: (id) => chooseMic(id),
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
  // The room's life: the chat as shown, raised hands (in order), the
  // lobby (organizers), whether the floor is busy, the next attempt.
  chat: { enumerable: true, get: () => room.chat.log.entries.map((e) => ({ ...e })) },
  unread: { enumerable: true, get: () => room.chat.log.unread },
  hands: { enumerable: true, get: () => room.roster.hands.slice() },
  lobby: { enumerable: true, get: () => room.roster.waiting.map((w) => ({ ...w })) },
  floorBusy: { enumerable: true, get: () => room.roster.floorBusy },
  pttKey: { enumerable: true, get: () => room.talk.pttKey },
  volumes: { enumerable: true, get: () => Object.fromEntries(room.volumes.byID) },
  slotVolumes: { enumerable: true, get: () => out.els.map((el) => el.volume) },
  sinkSupported: { enumerable: true, get: () => sinkSupported() },
  sinkId: { enumerable: true, get: () => out.sinkID },
  // Video: offered and allowed, our camera and screen, the slots and
  // whom they carry, the wishes computed and last sent, the layout, the
  // offer's mids (video_slot events and getStats() tell the rest).
  video: { enumerable: true, get: () => room.video.hook() },
  // What the screen reader was told, the last 20 (a later one replaces
  // the live region's text: this keeps them all).
  announced: { enumerable: true, get: () => announced.slice() },
  retryIn: { enumerable: true, get: () => (app.state === 'reconnecting' && app.retryAt ? Math.max(0, Math.ceil((app.retryAt - performance.now()) / 1000)) : 0) },
}) });

/** @param {AppState} s */
function setState(s) {
  app.state = s;
  document.body.dataset.state = s;
  show($('reconnecting'), s === 'reconnecting');
  if (s !== 'reconnecting') stopRetryTicker();
}

/** @param {string} name @param {boolean} [focus] */
function showScreen(name, focus) {
  for (const s of SCREENS) show($(s), s === name);
  document.body.dataset.screen = name;
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
  clearNotices();
  setState('home');
  showScreen('home', focus);
  setTitle('title.home');
  renderHome();
}

// ---- prejoin ---------------------------------------------------------------

/** @param {string} raw the room's name from the address @param {boolean} [focus] */
function openPrejoin(raw, focus) {
  const name = raw.toLowerCase();
  clearNotices();
  if (!ROOM_NAME.test(name)) {
    openInvalid(raw, focus);
    return;
  }
  // The organizer secret travels in the fragment, which browsers never
  // send. Read it, then take it out of the address bar (screen sharing,
  // copied links, history).
  const frag = new URLSearchParams(location.hash.slice(1));
  const org = frag.get('org');
  if (org || name !== raw) history.replaceState(null, '', '/r/' + encodeURIComponent(name));
  app.roomName = name;
  if (org) {
    rememberSecret(org, false);
  } else {
    app.secret = safeGet(sessionStorage, ORG_STORE + name) || '';
    app.secretAdhoc = !!app.secret && safeGet(sessionStorage, ADHOC_STORE + name) === '1';
  }

  setState('prejoin');
  showScreen('prejoin', focus);
  setTitle('title.room', { room: name });
  $('prejoin-room').textContent = name;
  const nameInput = $('name', HTMLInputElement);
  nameInput.value = nameInput.value || safeGet(localStorage, NAME_STORE) || '';
  $('password', HTMLInputElement).value = '';
  markPassword(false);
  renderJoinButton();
  app.roomStatus = { kind: 'loading' };
  renderPrejoin();
  fetchRoom(name);
  if (!webrtcMissing()) startMic(); // no call possible: no microphone prompt either
}

// openInvalid: the address names no room. Say why, offer the name it
// probably meant, and the way home; no dead form.
/** @param {string} raw @param {boolean} [focus] */
function openInvalid(raw, focus) {
  app.roomName = '';
  app.invalidTyped = raw;
  setState('invalid');
  showScreen('invalid', focus);
  setTitle('title.invalid');
  renderInvalid();
}

function renderInvalid() {
  if (app.state !== 'invalid') return;
  $('invalid-text').textContent = t('invalid.text', { name: app.invalidTyped });
  const suggestion = suggestRoomName(app.invalidTyped);
  show($('invalid-suggest'), !!suggestion);
  const link = $('invalid-suggest-link');
  link.textContent = suggestion;
  link.setAttribute('href', '/r/' + encodeURIComponent(suggestion));
}

/** @param {string} secret @param {boolean} adhoc */
function rememberSecret(secret, adhoc) {
  app.secret = secret;
  app.secretAdhoc = adhoc;
  try {
    sessionStorage.setItem(ORG_STORE + app.roomName, secret);
    if (adhoc) sessionStorage.setItem(ADHOC_STORE + app.roomName, '1');
    else sessionStorage.removeItem(ADHOC_STORE + app.roomName);
  } catch {
    // storage refused: the secret lives as long as the page
  }
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
    if (st.room.lobby && !app.secret) status.push(t('prejoin.lobby'));
  }
  if (app.secret) status.push(t('prejoin.as_organizer'));
  $('prejoin-mode').textContent = mode;
  $('prejoin-status').textContent = status.join(' ');
  const needPassword = st.kind === 'ok' && st.room.has_password && !app.secret;
  show($('password-field'), needPassword || (!!app.forcePassword && app.forcePassword === app.roomName));
  $('join', HTMLButtonElement).disabled = app.state === 'joining' || webrtcMissing();
  const noWebRTC = $('prejoin-no-webrtc');
  show(noWebRTC, webrtcMissing());
  noWebRTC.textContent = webrtcMissing() ? t('prejoin.no_webrtc') : '';
  renderPasswordError();
}

function renderJoinButton() {
  const joining = app.state === 'joining';
  $('join').textContent = t(joining ? 'prejoin.joining' : 'prejoin.join');
  $('join', HTMLButtonElement).disabled = joining || webrtcMissing();
}

// markPassword marks the password field wrong (aria-invalid, and the
// reason under it) or clears it.
/** @param {boolean} wrong */
function markPassword(wrong) {
  const input = $('password');
  if (wrong) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  renderPasswordError();
}

function renderPasswordError() {
  const wrong = $('password').getAttribute('aria-invalid') === 'true';
  $('password-error').textContent = wrong ? t('error.bad_password') : '';
}

$('password').addEventListener('input', () => markPassword(false));

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
      // In the room: the sender's track is replaced, no rejoin.
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

/** @param {string} id a microphone picked (prejoin, or the room's settings) */
function chooseMic(id) {
  try {
    localStorage.setItem(MIC_STORE, id);
  } catch {
    // not remembered, that's all
  }
  startMic(id);
}

/**
 * fillMics lists the microphones in the prejoin's select and the room
 * settings' (or only sel).
 * @param {HTMLSelectElement} [only]
 */
async function fillMics(only) {
  /** @type {MediaDeviceInfo[]} */
  let devices = [];
  try {
    devices = await Microphone.devices();
  } catch {
    // leave the list empty
  }
  const sels = only ? [only] : [$('mic', HTMLSelectElement), $('settings-mic', HTMLSelectElement)];
  for (const sel of sels) {
    sel.replaceChildren();
    devices.forEach((d, i) => {
      const opt = document.createElement('option');
      opt.value = d.deviceId;
      opt.textContent = d.label || t('prejoin.mic_unnamed', { n: i + 1 });
      sel.append(opt);
    });
    if (mic.deviceId && devices.some((d) => d.deviceId === mic.deviceId)) sel.value = mic.deviceId;
  }
  renderMic();
}

function renderMic() {
  const ok = app.micState === 'ok';
  const key = {
    idle: '', asking: 'mic.asking', ok: 'mic.ok', denied: 'mic.denied', none: 'mic.none',
    error: 'mic.error', unsupported: 'mic.unsupported',
  }[app.micState];
  for (const [selID, statusID] of [['mic', 'mic-status'], ['settings-mic', 'settings-mic-status']]) {
    const sel = $(selID, HTMLSelectElement);
    sel.disabled = !ok || sel.options.length === 0;
    $(statusID).textContent = key ? t(key) : '';
  }
  show($('mic-retry'), ['denied', 'none', 'error'].includes(app.micState));
}

$('mic').addEventListener('change', () => chooseMic($('mic', HTMLSelectElement).value));
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
    $('name').setAttribute('aria-invalid', 'true');
    showError('prejoin.name_invalid', {}, true);
    $('name').focus();
    return;
  }
  $('name').removeAttribute('aria-invalid');
  const pwShown = !$('password-field').hidden;
  const password = pwShown ? $('password', HTMLInputElement).value : '';
  if (pwShown && !password) {
    showError('prejoin.password_required', {}, true);
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
  join(name, password);
});

/** @param {string} name @param {string} password */
async function join(name, password) {
  const session = new Session({
    room: app.roomName, name, password, secret: app.secret, mic, out, handlers: sessionHandlers(), video: room.video,
  });
  app.session = session;
  try {
    await session.start();
  } catch (err) {
    if (app.session !== session) return;
    app.session = null;
    const code = err instanceof ProtocolError ? err.code : '';
    if (code === 'bad_secret' && app.secretAdhoc) {
      // The ad-hoc room we opened is gone (everyone left): a new one
      // starts, without our old secret. Nothing for the user to do.
      forgetSecret();
      join(name, password);
      return;
    }
    setState('prejoin');
    renderJoinButton();
    if (code === 'bad_secret') forgetSecret();
    if (code === 'bad_password') app.forcePassword = app.roomName;
    renderPrejoin();
    showError(err, {}, true);
    if (code === 'bad_password') {
      markPassword(true);
      $('password').focus();
    }
  }
}

function forgetSecret() {
  app.secret = '';
  app.secretAdhoc = false;
  try {
    sessionStorage.removeItem(ORG_STORE + app.roomName);
    sessionStorage.removeItem(ADHOC_STORE + app.roomName);
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
      const fromLobby = app.inLobby;
      app.inLobby = false;
      if (joined.organizer_secret) rememberSecret(joined.organizer_secret, true);
      setState('room');
      room.reset(joined, isRejoin);
      if (!mic.track) showInfo('mic.listen_only');
      if (fromLobby) showInfo('waiting.admitted');
      else if (isRejoin) showInfo('reconnect.back');
      if (!isRejoin || fromLobby) showScreen('room', true);
      if (fromLobby) announce(t('waiting.admitted'));
      renderMediaStatus();
    },
    onWaiting(info) {
      // The lobby holds us until an organizer lets us in.
      // (After a lost connection the room's state stays: the joined that
      // admits us replaces it, and the chat of before is kept.)
      app.inLobby = true;
      setState('waiting');
      showScreen('waiting', true);
      $('waiting-room').textContent = (info && info.name) || app.roomName;
      announce(t('waiting.title'));
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
      app.reconnectReason = reason;
      app.retryAt = 0;
      setState('reconnecting');
      renderReconnect();
      renderMediaStatus();
      announce(reconnectTitle() + ' ' + reconnectReasonText());
    },
    onRetryScheduled(ms) {
      app.retryAt = ms > 0 ? performance.now() + ms : 0;
      startRetryTicker();
      renderReconnect();
    },
    onRetryFailed(err) {
      app.retryError = err;
      renderReconnect();
    },
    onFatal(err) {
      // Rejoining cannot work without the user (new password, locked…).
      app.session = null;
      app.inLobby = false;
      room.clear();
      if (err.code === 'bad_secret') forgetSecret();
      if (err.code === 'bad_password') app.forcePassword = app.roomName;
      openPrejoin(app.roomName, true);
      showError(err, {}, true);
      if (err.code === 'bad_password') markPassword(true);
    },
    onRefused() {
      endRoom('refused');
    },
    onKicked(msg) {
      endRoom('kicked', msg);
    },
  };
}

// ---- reconnecting ------------------------------------------------------------

function reconnectTitle() {
  return t(app.reconnectReason === 'moved' ? 'reconnect.moving' : 'reconnect.banner');
}

// The server's reason, when it said one.
function reconnectReasonText() {
  /** @type {Record<string, string>} */
  const keys = { shutdown: 'reconnect.reason.shutdown', flood: 'reconnect.reason.flood', media: 'reconnect.reason.media' };
  return Object.hasOwn(keys, app.reconnectReason) ? t(keys[app.reconnectReason]) : '';
}

function renderReconnect() {
  $('reconnecting-title').textContent = reconnectTitle();
  $('reconnecting-reason').textContent = reconnectReasonText();
  const left = app.retryAt ? Math.max(0, Math.ceil((app.retryAt - performance.now()) / 1000)) : 0;
  $('reconnecting-countdown').textContent = left > 0 ? tn('reconnect.in', left) : t('reconnect.trying');
  $('reconnecting-detail').textContent = app.retryError
    ? t('reconnect.detail', { reason: errorText(app.retryError) })
    : '';
  $('reconnect-now', HTMLButtonElement).disabled = left === 0;
}

function startRetryTicker() {
  if (app.retryTicker) return;
  app.retryTicker = setInterval(renderReconnect, 1000);
}

function stopRetryTicker() {
  clearInterval(app.retryTicker);
  app.retryTicker = undefined;
}

$('reconnect-now').addEventListener('click', () => {
  if (app.session) app.session.retryNow();
});

function renderMediaStatus() {
  let key = '';
  if (app.state === 'room') {
    if (app.mediaState === 'disconnected') key = 'media.unstable';
    else if (app.mediaState !== 'connected') key = 'media.connecting';
  } else if (app.state === 'reconnecting') {
    key = 'media.offline';
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

$('waiting-leave').addEventListener('click', () => endRoom('left'));

/** @param {EndKind} kind @param {Message} [msg] the kicked message */
async function endRoom(kind, msg) {
  const s = app.session;
  app.session = null;
  app.inLobby = false;
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
  clearNotices();
  showScreen('ended', true);
  renderEnded();
  if (s && kind === 'left') await s.leave();
}

function renderEnded() {
  const e = app.ended;
  if (!e) return;
  /** @type {Record<string, [string, string]>} */
  const words = {
    left: ['ended.left_title', 'ended.left'],
    refused: ['ended.refused_title', 'ended.refused'],
    closed: ['ended.closed_title', 'ended.closed'],
    kicked: ['ended.kicked_title', 'ended.kicked'],
  };
  const [title, message] = words[e.closed ? 'closed' : e.kind];
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
  renderHome();
  renderPrejoin();
  renderJoinButton();
  renderMic();
  if (room.self) room.render();
  room.renderTalk();
  renderInvalid();
  renderEnded();
  renderNotices();
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

// ---- touch-only screens --------------------------------------------------------

const touchQuery = matchMedia(TOUCH_ONLY);
function renderTouch() {
  document.documentElement.dataset.touch = String(touchQuery.matches);
  room.setTouch(touchQuery.matches);
  // The key hint is not said either where there is no keyboard.
  $('ptt').setAttribute('aria-describedby', touchQuery.matches ? 'talk-help' : 'ptt-hint talk-help');
}
touchQuery.addEventListener('change', renderTouch);

// ---- start -----------------------------------------------------------------

renderTouch();
meter.addElement($('mic-level'));
meter.addElement($('room-level'));
meter.addElement($('settings-level'));
room.bind();
bindHome({ navigate });
applyTranslations(document);
$('lang', HTMLSelectElement).value = getLang();
route(false);
renderLanguage();
