// The room's video (docs/video.md): our camera and screen share, the
// grid of the others' cameras and the screen share, the self view, the
// audio-only switch, and the wishes that tell the server what to send on
// each video slot. Shown only where the server offers video (the join
// asks with want_video; the offer then has video m-lines) and the room
// allows it: an audio-only room or server looks as before.
//
// Turning the camera on changes no SDP: the camera m-line is in the
// offer from the start; camera_on, then replaceTrack. The layout and the
// wishes are pure (video-layout.js, video-wish.js); this file measures,
// draws and carries out.

import { t } from './i18n.js';
import { $, h, show, setStack } from './dom.js';
import { videoKey, hasVideoServer } from './roster.js';
import { hasVideo } from './video-sdp.js';
import { layout, PHONE_MAX, MEDIUM_MAX } from './video-layout.js';
import { level, WishSender } from './video-wish.js';
import { captureProblem, refusal } from './video-capture.js';

/** @import { Message, VideoKind } from './protocol.js' */
/** @import { Roster, Change } from './roster.js' */
/** @import { OfferMap } from './video-sdp.js' */
/** @import { MediaSession } from './media.js' */
/** @import { Layout, View, Camera } from './video-layout.js' */
/** @import { Wish } from './video-wish.js' */
/** @import { Param } from './i18n.js' */

/**
 * What the room's video needs of the rest of the app: requests, our
 * camera's or screen's track on the connection, notices.
 * @typedef {{
 *   request(msg: Message): Promise<Message>,
 *   setVideoTrack(kind: VideoKind, track: MediaStreamTrack | null): Promise<boolean>,
 * }} VideoNet
 * @typedef {{
 *   announce(text: string): void,
 *   error(err: string | {code: string, message?: string}, params?: Record<string, Param>): void,
 *   info(key: string, params?: Record<string, Param>): void,
 * }} VideoUI
 */

const AUDIO_ONLY_STORE = 'palabre.audioOnly';
const VIEW_STORE = 'palabre.videoView';
const SELF = 'self';
const SELF_SCREEN = 'self-screen';

// The camera we ask for: what the server's three layers are cut from.
const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 }, facingMode: 'user' };
const SCREEN = { frameRate: { ideal: 15, max: 30 } };

export class RoomVideo {
  /** @param {{net: VideoNet, ui: VideoUI, roster: Roster}} deps */
  constructor({ net, ui, roster }) {
    this.net = net;
    this.ui = ui;
    this.roster = roster;
    /** @type {OfferMap | null} the current connection's offer, once answered */
    this.map = null;
    /** @type {Map<string, HTMLElement>} remote tiles by video slot key ("camera:0", "screen:0") */
    this.tiles = new Map();
    /** @type {Map<string, boolean>} tile key → on screen (IntersectionObserver) */
    this.visible = new Map();
    /** @type {MediaStreamTrack | null} our camera, once the server agreed */
    this.camera = null;
    /** @type {MediaStreamTrack | null} our screen, once the server agreed */
    this.screen = null;
    this.busy = { camera: false, screen: false };
    this.audioOnly = stored(AUDIO_ONLY_STORE) === '1';
    /** @type {View} */
    this.view = stored(VIEW_STORE) === 'speaker' ? 'speaker' : 'grid';
    // Our camera and screen as the server last told (its camera events):
    // a true turning false (an organizer made the room audio only) stops ours.
    this.seen = { camera: false, screen: false };
    /** @type {Layout | null} */
    this.layout = null;
    /** @type {Wish[] | null} the last wishes computed (sent or about to be) */
    this.wished = null;
    this.wishes = new WishSender({
      send: (wishes) => this.net.request({ type: 'video_wish', wishes }).catch((err) => {
        if (err && err.code !== 'closed') console.warn('palabre: video_wish', err);
        throw err;
      }),
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pending = undefined;
    /** @type {IntersectionObserver | null} */
    this.io = null;
  }

  // ---- the connection's side (session.js VideoIO) ------------------------

  /**
   * onTrack: a video slot's track arrived (during the offer).
   * @param {VideoKind} kind @param {number} slot @param {MediaStreamTrack} track
   */
  onTrack(kind, slot, track) {
    const v = /** @type {HTMLVideoElement} */ (this.tile(videoKey(kind, slot)).querySelector('video'));
    v.srcObject = new MediaStream([track]);
    v.play().catch(() => {}); // muted: allowed; a refusal is retried by autoplay
    this.schedule();
  }

  /**
   * onAnswered: the server has our answer. Its offer says whether there
   * is video; a camera or screen that was on before a reconnection goes
   * up again.
   * @param {MediaSession} media
   */
  onAnswered(media) {
    this.map = media.map;
    this.wishes.reset();
    if (this.map) {
      this.map.cameraSlots.forEach((_, i) => this.tile(videoKey('camera', i)));
      if (this.map.screenSlot !== null) this.tile(videoKey('screen', 0));
    }
    for (const kind of /** @type {const} */ (['camera', 'screen'])) {
      const track = this[kind];
      if (!track) continue;
      this[kind] = null;
      this.publish(kind, track);
    }
    this.update();
  }

  // onClosed: the connection is gone, and its tracks with it.
  onClosed() {
    this.map = null;
    this.wishes.reset();
    for (const el of this.tiles.values()) {
      const v = el.querySelector('video');
      if (v) v.srcObject = null;
    }
    this.update();
  }

  /** @returns {boolean} this connection's offer has video */
  get offered() {
    return !!this.map && hasVideo(this.map);
  }

  /** @returns {boolean} the room allows cameras (and the server offered video) */
  get allowed() {
    const info = this.roster.info;
    return this.offered && !!info && !!info.video;
  }

  // ---- the room's side -----------------------------------------------------

  /** joined: the server's record of us starts afresh. */
  reset() {
    const self = this.roster.self;
    this.seen = { camera: !!(self && self.camera), screen: !!(self && self.screen) };
    this.update();
  }

  /**
   * changed: the roster changed (room.js redraw). Our camera or screen
   * turned off by the server (the room made audio only) is stopped here.
   * @param {Change} c
   */
  changed(c) {
    const self = this.roster.self;
    if (self) {
      for (const kind of /** @type {const} */ (['camera', 'screen'])) {
        const now = !!self[kind];
        if (this.seen[kind] && !now && this[kind] && !this.busy[kind]) {
          this.stop(kind, false);
          this.ui.info(this.roster.info && !this.roster.info.video ? 'video.room_audio_only' : `video.${kind}_stopped`);
        }
        this.seen[kind] = now;
      }
    }
    if (c.video || c.speaking || c.all || c.removed.length || c.changed.length) this.schedule();
  }

  // clear: we left. Cameras off, everything forgotten.
  clear() {
    for (const kind of /** @type {const} */ (['camera', 'screen'])) if (this[kind]) this.stop(kind, false);
    this.onClosed();
    for (const el of this.tiles.values()) el.remove();
    this.tiles.clear();
    this.visible.clear();
    if (this.io) this.io.disconnect();
  }

  // ---- our camera and screen ---------------------------------------------

  /** @param {VideoKind} kind */
  async toggle(kind) {
    if (this.busy[kind]) return;
    if (this[kind]) {
      this.stop(kind, true);
      this.update();
      return;
    }
    if (!this.allowed) {
      this.ui.error('video.refused_off');
      return;
    }
    this.busy[kind] = true;
    this.render();
    /** @type {MediaStreamTrack | undefined} */
    let track;
    try {
      const stream = kind === 'camera'
        ? await navigator.mediaDevices.getUserMedia({ video: CAMERA, audio: false })
        : await navigator.mediaDevices.getDisplayMedia({ video: SCREEN, audio: false });
      track = stream.getVideoTracks()[0];
      if (!track) throw new DOMException('no video track', 'NotFoundError');
    } catch (err) {
      this.busy[kind] = false;
      this.render();
      const why = captureProblem(kind, err);
      if (why.info) this.ui.info(why.key);
      else this.ui.error(why.key);
      return;
    }
    if (kind === 'screen' && 'contentHint' in track) track.contentHint = 'detail'; // legible text over smooth motion
    await this.publish(kind, track);
  }

  /**
   * publish asks the server to forward our camera or screen, then sends
   * it on its m-line. Refused, the track is stopped and the refusal said.
   * @param {VideoKind} kind @param {MediaStreamTrack} track
   */
  async publish(kind, track) {
    this.busy[kind] = true;
    this.render();
    try {
      await this.net.request({ type: kind === 'camera' ? 'camera_on' : 'screen_on' });
    } catch (err) {
      track.stop();
      this.busy[kind] = false;
      this.update();
      const e = /** @type {{code: string, message?: string}} */ (err);
      const key = refusal(e.code);
      if (key) this.ui.error(key, { n: (this.roster.info && this.roster.info.max_cameras) || '?' });
      else this.ui.error(e);
      return;
    }
    this.busy[kind] = false;
    if (!this.roster.self) {
      track.stop(); // left meanwhile
      return;
    }
    this[kind] = track;
    track.addEventListener('ended', () => {
      // Unplugged, or the browser's own "Stop sharing".
      if (this[kind] === track) {
        this.stop(kind, true);
        this.update();
      }
    });
    try {
      await this.net.setVideoTrack(kind, track);
    } catch (err) {
      console.warn('palabre: replaceTrack', err);
    }
    if (kind === 'screen') this.ui.announce(t('announce.screen_mine'));
    this.update();
  }

  /**
   * stop turns our camera or screen off; tell: say so to the server.
   * @param {VideoKind} kind @param {boolean} tell
   */
  stop(kind, tell) {
    const track = this[kind];
    this[kind] = null;
    if (track) track.stop();
    this.net.setVideoTrack(kind, null).catch(() => {});
    if (tell) this.net.request({ type: kind === 'camera' ? 'camera_off' : 'screen_off' }).catch(() => {});
  }

  toggleAudioOnly() {
    this.audioOnly = !this.audioOnly;
    store(AUDIO_ONLY_STORE, this.audioOnly ? '1' : '');
    this.ui.announce(t(this.audioOnly ? 'announce.audio_only_on' : 'announce.audio_only_off'));
    this.update();
  }

  toggleView() {
    this.view = this.view === 'grid' ? 'speaker' : 'grid';
    store(VIEW_STORE, this.view);
    this.update();
  }

  // ---- drawing -----------------------------------------------------------

  bind() {
    $('camera-toggle').addEventListener('click', () => this.toggle('camera'));
    $('screen-toggle').addEventListener('click', () => this.toggle('screen'));
    $('audio-only').addEventListener('click', () => this.toggleAudioOnly());
    $('video-view').addEventListener('click', () => this.toggleView());
    document.addEventListener('visibilitychange', () => this.update());
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.schedule()).observe($('video-stage'));
    else window.addEventListener('resize', () => this.schedule());
    if (typeof IntersectionObserver === 'function') {
      this.io = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const key = /** @type {HTMLElement} */ (e.target).dataset.key || '';
          this.visible.set(key, e.isIntersecting);
        }
        this.schedule();
      });
    }
    const self = $('self-view');
    self.dataset.key = SELF;
    $('self-screen').dataset.key = SELF_SCREEN;
  }

  /**
   * tile is a remote video slot's tile, made on first use.
   * @param {string} key @returns {HTMLElement}
   */
  tile(key) {
    let el = this.tiles.get(key);
    if (el) return el;
    const [kind, slot] = key.split(':');
    el = h('figure', { class: 'video-tile', 'data-key': key, 'data-kind': kind, 'data-slot': slot, hidden: true },
      h('video', { autoplay: true, playsinline: true, 'aria-hidden': 'true' }),
      h('figcaption', { class: 'video-name' },
        h('span', { class: 'speaking-indicator', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
        h('span', { class: 'video-name-text' })));
    /** @type {HTMLVideoElement} */ (el.querySelector('video')).muted = true; // video only: the voices are the audio slots'
    $('video-tiles').append(el);
    this.tiles.set(key, el);
    if (this.io) this.io.observe(el);
    return el;
  }

  // schedule redraws soon, once for a burst of changes (and also in a
  // hidden page, where animation frames stop).
  schedule() {
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.update();
    }, 0);
  }

  // update lays out the stage, draws it, and sends the wishes.
  update() {
    clearTimeout(this.pending);
    this.pending = undefined;
    const self = this.roster.self;
    const stage = $('video-stage');
    const shown = this.allowed && !!self;
    show(stage, shown);
    const selfID = self ? self.id : '';

    // The others' cameras on our slots, and the screen share.
    /** @type {Camera[]} */
    const cameras = [];
    let screen = null;
    for (const [key, v] of this.roster.videoSlots) {
      if (!this.tiles.has(key) || !v.participant || v.participant === selfID) continue;
      if (v.kind === 'screen') screen = key;
      else cameras.push({ key, participant: v.participant, spokeAt: this.roster.spokeAt.get(v.participant) || 0, speaking: this.roster.speaking.has(v.participant) });
    }
    cameras.sort((a, b) => slotOf(a.key) - slotOf(b.key));
    const remote = !this.audioOnly;
    const width = stage.clientWidth || window.innerWidth;
    const l = layout({
      width,
      cameras: remote ? cameras : [],
      screen: (remote && screen) || (this.screen ? SELF_SCREEN : null),
      self: this.camera ? SELF : null,
      view: this.view,
    });
    this.layout = l;
    if (shown) this.draw(l, width, cameras.length > 0 || !!screen);
    this.render();
    this.sendWishes(l, shown);
  }

  /**
   * draw places the tiles as the layout says.
   * @param {Layout} l @param {number} width @param {boolean} others someone else's video is on our slots
   */
  draw(l, width, others) {
    const grid = $('video-grid');
    grid.dataset.size = width < PHONE_MAX ? 'phone' : width < MEDIUM_MAX ? 'medium' : 'wide';
    grid.classList.toggle('has-main', !!l.main);
    const main = $('video-main');
    const tiles = $('video-tiles');
    tiles.style.setProperty('--cols', String(l.columns));
    tiles.style.setProperty('--rows', String(Math.max(1, Math.ceil(l.tiles.length / l.columns))));
    const selfView = $('self-view');
    const screenEl = $('self-screen');
    /** @param {string} key */
    const el = (key) => (key === SELF ? selfView : key === SELF_SCREEN ? screenEl : this.tiles.get(key));
    const mainEl = (l.main && el(l.main)) || null;
    const want = /** @type {HTMLElement[]} */ (l.tiles.map(el).filter(Boolean));
    // Elements are moved, never rebuilt: a <video> keeps playing.
    if (mainEl && main.firstElementChild !== mainEl) main.replaceChildren(mainEl);
    if (!mainEl && main.firstElementChild) main.replaceChildren();
    // The tiles not shown wait in the tiles' box, hidden, after the others;
    // a small self view sits over the grid.
    const parked = [selfView, screenEl, ...this.tiles.values()]
      .filter((x) => x !== mainEl && !want.includes(x) && !(l.selfSmall && x === selfView));
    const order = [...want, ...parked];
    if (tiles.children.length !== order.length || order.some((x, i) => tiles.children[i] !== x)) tiles.replaceChildren(...order);
    if (l.selfSmall && selfView.parentElement !== grid) grid.append(selfView);
    show(tiles, want.length > 0);
    selfView.classList.toggle('is-small', l.selfSmall);

    const showing = new Set([l.main, ...l.tiles, ...(l.selfSmall ? [SELF] : [])].filter(Boolean));
    for (const [key, tile] of this.tiles) {
      // A tile coming into the layout is taken as on screen until the
      // IntersectionObserver says (it said "not" while hidden): else its
      // first wish would be off, then on, a keyframe for nothing.
      if (tile.hidden && showing.has(key)) this.visible.delete(key);
      show(tile, showing.has(key));
      tile.classList.toggle('is-main', key === l.main);
      this.label(tile, key);
    }
    show(selfView, !!this.camera);
    show(screenEl, showing.has(SELF_SCREEN));
    screenEl.classList.toggle('is-main', l.main === SELF_SCREEN);
    attach(selfView, this.camera);
    attach(screenEl, this.screen);
    show($('video-empty'), !others && !this.camera && !this.screen && !this.audioOnly);
    show($('video-audio-only-note'), this.audioOnly);
  }

  /**
   * label writes a remote tile's name and speaking mark.
   * @param {HTMLElement} tile @param {string} key
   */
  label(tile, key) {
    const v = this.roster.videoSlots.get(key);
    const id = v ? v.participant : '';
    const name = id ? this.roster.name(id) : '';
    const text = key.startsWith('screen') ? t('video.screen_of', { name }) : name;
    const span = /** @type {HTMLElement} */ (tile.querySelector('.video-name-text'));
    if (span.textContent !== text) span.textContent = text;
    if (id) tile.dataset.participantId = id;
    else delete tile.dataset.participantId;
    if (id && this.roster.speaking.has(id) && !key.startsWith('screen')) tile.dataset.speaking = 'true';
    else delete tile.dataset.speaking;
  }

  // render: the buttons and labels, in the language of the moment.
  render() {
    const self = this.roster.self;
    const info = this.roster.info;
    const cam = $('camera-toggle', HTMLButtonElement);
    setStack(cam, this.camera ? 1 : 0);
    cam.setAttribute('aria-pressed', String(!!this.camera));
    cam.disabled = this.busy.camera;
    const scr = $('screen-toggle', HTMLButtonElement);
    // Phones' browsers cannot share a screen: no button that cannot work.
    show(scr, !!(navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function'));
    setStack(scr, this.screen ? 1 : 0);
    scr.setAttribute('aria-pressed', String(!!this.screen));
    scr.disabled = this.busy.screen;
    $('audio-only').setAttribute('aria-checked', String(this.audioOnly));
    const view = $('video-view', HTMLButtonElement);
    view.setAttribute('aria-pressed', String(this.view === 'speaker'));
    $('self-view-name').textContent = t('video.you');
    $('self-screen-name').textContent = t('video.your_screen');
    for (const [key, tile] of this.tiles) this.label(tile, key);
    $('video-status').textContent = this.screen ? t('video.sharing') : '';

    // The organizer's settings, where the server carries video.
    const org = !!self && self.organizer && !!info && hasVideoServer(info);
    show($('org-video'), org);
    if (org && info) {
      $('video-room-toggle').setAttribute('aria-checked', String(!!info.video));
      const sel = $('max-cameras', HTMLSelectElement);
      if (!sel.disabled) sel.value = String(info.max_cameras || 0);
    }
  }

  /**
   * sendWishes tells the server what we want of each slot.
   * @param {Layout} l @param {boolean} shown the stage is shown
   */
  sendWishes(l, shown) {
    const map = this.map;
    if (!map || !this.offered) return;
    const page = { pageHidden: document.hidden, audioOnly: this.audioOnly };
    const laidOut = new Set([l.main, ...l.tiles]);
    const selfID = this.roster.self ? this.roster.self.id : '';
    const dpr = window.devicePixelRatio || 1;
    /** @type {Wish[]} */
    const wishes = [];
    /** @param {VideoKind} kind @param {number} slot */
    const wish = (kind, slot) => {
      const key = videoKey(kind, slot);
      const v = this.roster.videoSlots.get(key);
      const tile = this.tiles.get(key);
      const width = tile && !tile.hidden ? tile.getBoundingClientRect().width : 0;
      wishes.push({
        slot, kind,
        level: level({
          occupied: !!v && !!v.participant,
          // Our own (should the server send it): we have the self view.
          shown: shown && laidOut.has(key) && !!v && v.participant !== selfID,
          visible: this.visible.get(key) !== false,
          width, dpr,
        }, page),
      });
    };
    map.cameraSlots.forEach((_, i) => wish('camera', i));
    if (map.screenSlot !== null) wish('screen', 0);
    this.wished = wishes;
    this.wishes.set(wishes);
  }

  /** The test hook: window.palabre.video. */
  hook() {
    const l = this.layout;
    return {
      offered: this.offered,
      allowed: this.allowed,
      camera: !!this.camera,
      screen: !!this.screen,
      audioOnly: this.audioOnly,
      view: this.view,
      slots: [...this.roster.videoSlots.values()].map((v) => ({ ...v })),
      wishes: this.wished ? this.wished.map((w) => ({ ...w })) : [],
      sent: this.wishes.sent ? this.wishes.sent.map((w) => ({ ...w })) : [],
      layout: l ? { main: l.main, tiles: l.tiles.slice(), hidden: l.hidden.slice(), columns: l.columns, selfSmall: l.selfSmall } : null,
      mids: this.map ? { camera: this.map.camera, screen: this.map.screen, cameraSlots: this.map.cameraSlots.slice(), screenSlot: this.map.screenSlot } : null,
    };
  }
}

/** @param {string} key "camera:3" @returns {number} 3 */
function slotOf(key) {
  return Number(key.split(':')[1]) || 0;
}

/**
 * attach shows a local track in a tile's <video> (once).
 * @param {HTMLElement} tile @param {MediaStreamTrack | null} track
 */
function attach(tile, track) {
  const v = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
  const cur = v.srcObject instanceof MediaStream ? v.srcObject.getVideoTracks()[0] : null;
  if (cur === track) return;
  v.srcObject = track ? new MediaStream([track]) : null;
  if (track) v.play().catch(() => {});
}

/** @param {string} key @returns {string} */
function stored(key) {
  try {
    return localStorage.getItem(key) || '';
  } catch {
    return '';
  }
}

/** @param {string} key @param {string} value */
function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // remembered for this page only
  }
}
