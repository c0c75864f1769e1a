// Room: the room screen's bindings. It feeds the page's events (talk
// button, keys and shortcuts, mute, hand, organizer controls) and the
// session's messages to the talk machine (talk.js) and the roster
// (roster.js), carries out what they ask (requests, notices,
// announcements), sets the microphone track to exactly what the machine
// allows and each audio slot's volume to its voice's, and has the views
// (room-view.js, room-chat.js, room-video.js, settings.js) redraw. The
// rules live in talk.js, roster.js, chat.js, shortcuts.js, volumes.js,
// video-layout.js and video-wish.js.

import { t } from './i18n.js';
import { $, isTextField, copyText, whileBusy } from './dom.js';
import { ProtocolError } from './protocol.js';
import { TalkMachine, DEFAULT_PTT_KEY } from './talk.js';
import { Roster } from './roster.js';
import { People, SEARCH_DELAY_MS } from './people.js';
import { RoomView } from './room-view.js';
import { RoomChat } from './room-chat.js';
import { RoomVideo } from './room-video.js';
import { MAX_VIDEO_SLOTS } from './protocol.js';
import { Settings } from './settings.js';
import { Volumes } from './volumes.js';
import { shortcut, SHORTCUT_KEYS } from './shortcuts.js';
import { openDialog, dialogOpen, confirm, closeAll } from './dialogs.js';

/** @import { Message, Joined, Mode, VideoKind } from './protocol.js' */
/** @import { TalkEvent, Effect } from './talk.js' */
/** @import { Param } from './i18n.js' */
/** @import { Change } from './roster.js' */
/** @import { Microphone, AudioOut } from './media.js' */
/** @import { Shortcut } from './shortcuts.js' */

/**
 * Net sends a request of the room's session (rejects with a
 * ProtocolError, 'closed' while offline), and sends our camera's or
 * screen's track on the connection (false: no such m-line, or offline).
 * @typedef {{request(msg: Message): Promise<Message>,
 *   setVideoTrack(kind: VideoKind, track: MediaStreamTrack | null): Promise<boolean>}} Net
 * UI is the app's notices: the screen reader's live region, the error
 * and info toasts (a dictionary key or a ProtocolError), leaving, and the
 * microphones (the app owns them: the prejoin screen lists them too).
 * @typedef {{
 *   announce(text: string): void,
 *   error(err: string | {code: string, message?: string}, params?: Record<string, Param>): void,
 *   info(key: string, params?: Record<string, Param>): void,
 *   clearNotices(): void,
 *   leave(): void,
 *   fillMics(sel: HTMLSelectElement): Promise<void>,
 *   chooseMic(id: string): void,
 * }} UI
 */

const PTT_KEY_STORE = 'palabre.pttKey';
// A screen this wide shows the chat open from the start.
const WIDE = '(min-width: 1100px)';

export class Room {
  /** @param {{net: Net, mic: Microphone, out: AudioOut, ui: UI}} deps */
  constructor({ net, mic, out, ui }) {
    this.net = net;
    this.mic = mic;
    this.out = out;
    this.ui = ui;
    this.talk = new TalkMachine({ pttKey: storedKey(), reserved: SHORTCUT_KEYS });
    this.roster = new Roster();
    this.people = new People();
    /** @type {ReturnType<typeof setTimeout> | undefined} a search waiting for typing to pause */
    this.searchTimer = undefined;
    this.view = new RoomView();
    this.chat = new RoomChat({ net, ui, roster: this.roster });
    this.video = new RoomVideo({ net, ui, roster: this.roster });
    this.volumes = new Volumes();
    this.settings = new Settings({
      out, volumes: this.volumes, roster: this.roster,
      fillMics: (sel) => ui.fillMics(sel),
      chooseMic: (id) => ui.chooseMic(id),
      onVolume: () => this.applyVolumes(),
      onCaptureKey: () => this.dispatch({ type: 'capture_key' }),
      onCancelCapture: () => {
        if (this.talk.capturingKey) this.dispatch({ type: 'cancel_capture' });
      },
    });
  }

  /** Our participant record (null outside a room): window.palabre.self. */
  get self() {
    return this.roster.self;
  }

  /** @param {string} id @returns {string} a participant's name ('' if unknown) */
  name(id) {
    return this.roster.name(id);
  }

  /** @param {boolean} touch a touch-only screen */
  setTouch(touch) {
    this.chat.touch = touch;
  }

  // ---- the session's side ----------------------------------------------

  // clear forgets everything about the room (after leaving).
  clear() {
    closeAll();
    this.roster.clear();
    this.people.clear();
    clearTimeout(this.searchTimer);
    this.view.clear();
    this.chat.clear();
    this.video.clear();
    this.volumes.clear();
    this.dispatch({ type: 'left' });
  }

  /** @param {Joined} joined @param {boolean} isRejoin */
  reset(joined, isRejoin) {
    const c = this.roster.reset(joined);
    const self = this.roster.self || joined.self;
    this.dispatch({
      type: 'joined', mode: joined.room_info.mode, organizer: self.organizer, muted: self.muted,
      onFloor: this.roster.onFloor, rejoin: isRejoin, busy: this.roster.floorBusy,
    });
    this.chat.joined(self.id, !isRejoin && matchMedia(WIDE).matches);
    if (!isRejoin) this.settings.restoreOutput();
    this.video.reset();
    this.redraw(c);
    this.applyVolumes();
  }

  // suspend: the connection is lost. Nobody hears us; stop talking.
  suspend() {
    this.redraw(this.roster.suspend());
    this.dispatch({ type: 'disconnected' });
  }

  /** @param {Message} msg a room event */
  handleEvent(msg) {
    const self = this.roster.self;
    if (!self) return;
    if (msg.type === 'chat') {
      this.chat.receive(msg);
      return;
    }
    const c = this.roster.apply(msg);
    if (msg.type === 'muted' && msg.participant && msg.participant.id === self.id) {
      const byOrganizer = !!msg.by && msg.by !== self.id;
      const name = (msg.by && this.roster.name(msg.by)) || { key: 'role.organizer' };
      this.dispatch({ type: 'muted', muted: self.muted, byOrganizer, by: name });
    } else if (msg.type === 'room' && msg.room_info) {
      this.dispatch({ type: 'mode', mode: msg.room_info.mode });
    } else if (msg.type !== 'floor' && c.changed.includes(self)) {
      this.dispatch({ type: 'self', muted: self.muted });
    }
    // Whether the floor is ours, and whether the others fill it.
    if (msg.type === 'floor' || msg.type === 'room' || msg.type === 'presence') {
      this.dispatch({ type: 'floor', onFloor: this.roster.onFloor, busy: this.roster.floorBusy });
    }
    this.redraw(c);
  }

  // updateMic enables the microphone track exactly when the user may be
  // heard, and shows it. The app calls it when the microphone changes.
  updateMic() {
    const track = this.mic.track;
    if (this.talk.hasMic !== !!track) this.talk.handle({ type: 'mic', present: !!track });
    if (track) track.enabled = this.talk.micAllowed;
    this.view.micLive(!!track && track.enabled);
    this.renderTalk();
  }

  // render redraws the whole room (a new language).
  render() {
    this.view.room(this.roster, this.talk.view());
    this.chat.render();
    this.video.render();
    if (this.settings.dialog.open) this.settings.render();
  }

  renderTalk() {
    this.view.talk(this.talk.view(), this.roster);
    this.chat.setOnline(this.talk.connected);
  }

  // applyVolumes plays each slot at its voice's volume.
  applyVolumes() {
    for (const [slot, v] of this.volumes.slotVolumes(this.roster.slots, (id) => this.roster.name(id))) this.out.setVolume(slot, v);
  }

  // ---- the machine -----------------------------------------------------

  /**
   * dispatch hands an event to the talk machine and carries out its
   * effects; domEvent is the page event it came from, if any.
   * @param {TalkEvent} ev @param {Event} [domEvent]
   */
  dispatch(ev, domEvent) {
    if (this.talk.hasMic !== !!this.mic.track) this.talk.handle({ type: 'mic', present: !!this.mic.track });
    const effects = this.talk.handle(ev);
    this.updateMic();
    for (const e of effects) this.run(e, domEvent);
  }

  /** @param {Effect} e @param {Event} [domEvent] */
  run(e, domEvent) {
    switch (e.do) {
      case 'request':
        this.net.request(/** @type {Message} */ (e.msg)).then(
          () => this.dispatch({ type: 'reply', to: e }),
          (err) => this.dispatch({ type: 'reply', to: e, error: asProtocolError(err) }),
        );
        break;
      case 'info':
        this.ui.info(e.key, e.params);
        break;
      case 'error':
        this.ui.error(e.error);
        break;
      case 'busy':
        this.ui.info('ptt.busy_notice', { name: this.roster.floorHolders().join(', ') || { key: 'role.someone' } });
        break;
      case 'clear_notices':
        this.ui.clearNotices();
        break;
      case 'prevent_default':
        if (domEvent) domEvent.preventDefault();
        break;
      case 'save_key':
        try {
          localStorage.setItem(PTT_KEY_STORE, e.code);
        } catch {
          // remembered for this page only
        }
        break;
    }
  }

  /** @param {Change} c what the roster changed */
  redraw(c) {
    if (c.all) {
      this.view.room(this.roster, this.talk.view());
      this.chat.renderPeople();
      this.chat.renderPermissions();
    } else {
      for (const p of c.changed) this.view.participant(this.roster, p);
      for (const id of c.removed) this.view.remove(id);
      if (c.count) this.view.count(this.roster.count);
      if (c.speaking) this.view.speaking(this.roster);
      if (c.hands) {
        this.view.hands(this.roster);
        // The positions in the list's tags follow the queue.
        for (const id of this.roster.hands) {
          const p = this.roster.participants.get(id);
          if (p && !c.changed.includes(p)) this.view.participant(this.roster, p);
        }
      }
      if (c.lobby) this.view.lobby(this.roster);
      if (this.roster.self && c.changed.includes(this.roster.self)) this.renderTalk();
      if (c.count || c.removed.length) this.chat.renderPeople();
      if (c.chat) this.chat.renderPermissions();
    }
    if (c.all || c.count || c.removed.length || c.changed.length) this.view.people(this.roster, this.people);
    this.video.changed(c);
    if (c.speaking || c.all) this.applyVolumes();
    if ((c.count || c.all || c.removed.length) && this.settings.dialog.open) this.settings.renderVolumes();
    for (const a of c.announce) this.ui.announce(t(a.key, a.params));
  }

  // ---- the page's side -------------------------------------------------

  bind() {
    this.bindTalk();
    this.bindKeys();
    this.chat.bind();
    this.video.bind();
    this.settings.bind();
    $('mute').addEventListener('click', () => this.dispatch({ type: 'toggle_mute' }));
    $('hand').addEventListener('click', () => this.toggleHand());
    $('floor-done').addEventListener('click', () => this.dispatch({ type: 'give_back' }));
    $('copy-link').addEventListener('click', () => this.copyLink());
    $('leave').addEventListener('click', () => this.ui.leave());
    $('help-open').addEventListener('click', () => openDialog($('help', HTMLDialogElement)));

    this.bindPeople();
    $('participants').addEventListener('click', (e) => {
      const btn = e.target instanceof Element && e.target.closest('button[data-action]');
      const li = btn && btn.closest('li[data-participant-id]');
      if (!(btn instanceof HTMLButtonElement) || !(li instanceof HTMLElement)) return;
      this.organizerAction(btn, btn.dataset.action || '', li.dataset.participantId || '');
    });
    $('lobby-list').addEventListener('click', (e) => {
      const btn = e.target instanceof Element && e.target.closest('button[data-action]');
      const li = btn && btn.closest('li[data-waiting-id]');
      if (!(btn instanceof HTMLButtonElement) || !(li instanceof HTMLElement)) return;
      const action = btn.dataset.action === 'refuse' ? 'refuse' : 'admit';
      whileBusy(btn, this.net.request({ type: action, target: li.dataset.waitingId || '' }))
        .catch((err) => this.ui.error(err.code === 'not_found' ? 'lobby.gone' : err));
    });
    $('admit-all').addEventListener('click', () => {
      whileBusy($('admit-all', HTMLButtonElement), this.net.request({ type: 'admit_all' })).catch((err) => this.ui.error(err));
    });
    $('grant-next').addEventListener('click', () => {
      whileBusy($('grant-next', HTMLButtonElement), this.net.request({ type: 'grant_next' }))
        .catch((err) => this.ui.error(err.code === 'not_found' ? 'hands.none' : err));
    });
    this.bindOrganizerPanel();
  }

  // bindPeople: the list's search field and its "more" button, which
  // also loads by itself when scrolled into view.
  bindPeople() {
    const input = $('people-search', HTMLInputElement);
    input.addEventListener('input', () => {
      const ask = this.people.setQuery(input.value, this.roster);
      this.view.setFilter(this.roster, this.people.query);
      this.view.people(this.roster, this.people);
      clearTimeout(this.searchTimer);
      if (ask) this.searchTimer = setTimeout(() => this.loadMore(), SEARCH_DELAY_MS);
    });
    const more = $('people-more', HTMLButtonElement);
    more.addEventListener('click', () => this.loadMore());
    if (typeof IntersectionObserver === 'function') {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.loadMore();
      }).observe(more);
    }
  }

  // loadMore asks for the next page of a large room's list (or of the
  // search typed), if there is one and nothing holds it back.
  loadMore() {
    const req = this.people.next(this.roster);
    if (!req) return;
    this.view.people(this.roster, this.people);
    this.net.request(req).then(
      (reply) => {
        this.redraw(this.people.answered(req, reply, this.roster));
        this.view.setFilter(this.roster, this.people.query);
        this.view.people(this.roster, this.people);
      },
      (err) => {
        const wait = this.people.failed(asProtocolError(err));
        this.view.people(this.roster, this.people);
        if (wait) setTimeout(() => this.view.people(this.roster, this.people), wait);
        else if (err instanceof ProtocolError && err.code !== 'closed') this.ui.error(err);
      },
    );
  }

  bindTalk() {
    const ptt = $('ptt', HTMLButtonElement);
    // Press and hold, with mouse, pen or touch. Pointer capture keeps the
    // press ours when the finger slides off the button; every way it can
    // end (up, cancel, lost capture) releases.
    ptt.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      try {
        ptt.setPointerCapture(e.pointerId);
      } catch {
        // not capturable: pointerup still releases
      }
      this.dispatch({ type: 'pointer_down' });
    });
    const up = () => this.dispatch({ type: 'pointer_up' });
    ptt.addEventListener('pointerup', up);
    ptt.addEventListener('pointercancel', up);
    ptt.addEventListener('lostpointercapture', up);
    ptt.addEventListener('contextmenu', (e) => e.preventDefault()); // long press on touch screens
    ptt.addEventListener('blur', () => this.dispatch({ type: 'button_blur' }));
    // A click without a pointer press (assistive technology) toggles, like the latch.
    ptt.addEventListener('click', (e) => {
      if (e.detail === 0 && !(e instanceof PointerEvent && e.pointerType)) this.dispatch({ type: 'talk_click' });
    });
    $('ptt-latch').addEventListener('click', () => this.dispatch({ type: 'latch_toggle' }));
  }

  bindKeys() {
    const ptt = $('ptt', HTMLButtonElement);
    // The push-to-talk key anywhere on the page (never while typing, nor
    // in a dialog), Space or Enter on the focused talk button, and the
    // shortcuts.
    /** @param {KeyboardEvent} e */
    const key = (e) => ({
      code: e.code, key: e.key, repeat: e.repeat, onTalkButton: e.target === ptt,
      inTextField: isTextField(e.target) || dialogOpen(),
      modifier: e.ctrlKey || e.metaKey || e.altKey,
    });
    window.addEventListener('keydown', (e) => {
      const k = key(e);
      if (this.roster.self && !this.talk.capturingKey) {
        const sc = shortcut({ ...k, inTextField: isTextField(e.target), dialogOpen: dialogOpen() }, this.talk.pttKey);
        if (sc) {
          e.preventDefault();
          this.shortcut(sc);
          return;
        }
      }
      this.dispatch({ type: 'key_down', ...k }, e);
    });
    window.addEventListener('keyup', (e) => this.dispatch({ type: 'key_up', ...key(e) }, e));
    // A key released while the page had no focus never sends keyup.
    window.addEventListener('blur', () => this.dispatch({ type: 'focus_lost' }));
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.dispatch({ type: 'focus_lost' });
    });
  }

  /** @param {Shortcut} sc */
  shortcut(sc) {
    const v = this.talk.view();
    if (!v) return;
    switch (sc) {
      case 'mute':
        if (!this.talk.hasMic) {
          this.ui.info('talk.no_mic');
          return;
        }
        this.dispatch({ type: 'toggle_mute' });
        // What the user asked for (an organizer's mute says itself).
        if (!this.talk.orgMuted) this.ui.announce(t(this.talk.wantMuted ? 'announce.mic_muted' : 'announce.mic_unmuted'));
        break;
      case 'hand':
        if (v.showHand) this.toggleHand();
        else this.ui.info(v.mode === 'moderated' ? 'shortcut.hand_organizer' : 'shortcut.hand_moderated');
        break;
      case 'chat':
        this.chat.openAndFocus();
        break;
      case 'help':
        openDialog($('help', HTMLDialogElement));
        break;
    }
  }

  bindOrganizerPanel() {
    /** @param {string} id @param {() => Message | null} msg */
    const toggle = (id, msg) => {
      const btn = $(id, HTMLButtonElement);
      btn.addEventListener('click', () => {
        const m = msg();
        if (m) whileBusy(btn, this.net.request(m)).catch((err) => this.ui.error(err));
      });
    };
    const info = () => this.roster.info;
    toggle('lock', () => info() && { type: info()?.locked ? 'unlock' : 'lock' });
    toggle('lobby-toggle', () => info() && { type: info()?.lobby ? 'lobby_off' : 'lobby_on' });
    toggle('chat-room-toggle', () => info() && { type: info()?.chat === false ? 'chat_on' : 'chat_off' });
    toggle('video-room-toggle', () => info() && { type: info()?.video ? 'video_off' : 'video_on' });

    const cams = $('max-cameras', HTMLSelectElement);
    if (cams.options.length === 1) for (let n = 1; n <= MAX_VIDEO_SLOTS; n++) cams.append(new Option(String(n), String(n)));
    cams.addEventListener('change', () => {
      const n = Number(cams.value);
      if (!this.roster.info || !(n >= 1) || n === this.roster.info.max_cameras) return;
      whileBusy(cams, this.net.request({ type: 'set_cameras', max_cameras: n })).catch((err) => {
        this.ui.error(err);
        if (this.roster.info) cams.value = String(this.roster.info.max_cameras || 0);
      });
    });

    const sel = $('room-mode', HTMLSelectElement);
    sel.addEventListener('change', () => {
      const mode = /** @type {Mode} */ (sel.value);
      if (!this.roster.info || mode === this.roster.info.mode) return;
      whileBusy(sel, this.net.request({ type: 'set_mode', mode })).catch((err) => {
        this.ui.error(err);
        if (this.roster.info) sel.value = this.roster.info.mode;
      });
    });
    $('room-password-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('room-password', HTMLInputElement);
      const password = input.value;
      /** @type {Message} */
      const msg = { type: 'set_password' };
      if (password) msg.password = password;
      whileBusy($('room-password-save', HTMLButtonElement), this.net.request(msg)).then(
        () => {
          input.value = '';
          this.ui.info(password ? 'org.password_set' : 'org.password_removed');
        },
        (err) => this.ui.error(err),
      );
    });
    const muteAll = $('mute-all', HTMLButtonElement);
    muteAll.addEventListener('click', async () => {
      const ok = await confirm({ title: t('org.mute_all_confirm_title'), text: t('org.mute_all_confirm'), ok: t('org.mute_all') });
      if (!ok) return;
      whileBusy(muteAll, this.net.request({ type: 'mute_all' })).then(
        () => this.ui.info('org.muted_all'),
        (err) => this.ui.error(err),
      );
    });
  }

  toggleHand() {
    const self = this.roster.self;
    if (!self) return;
    const up = !self.hand;
    whileBusy($('hand', HTMLButtonElement), this.net.request({ type: up ? 'raise_hand' : 'lower_hand' })).then(
      () => {
        this.redraw(this.roster.setOwnHand(up));
        this.ui.announce(t(up ? 'announce.hand_raised' : 'announce.hand_lowered'));
      },
      (err) => this.ui.error(err),
    );
  }

  /** @param {HTMLButtonElement} btn @param {string} action @param {string} target */
  async organizerAction(btn, action, target) {
    const name = this.roster.name(target);
    if (action === 'kick') {
      // Removing someone is not undone by a click: ask first.
      const ok = await confirm({
        title: t('org.kick_confirm_title', { name }), text: t('org.kick_confirm'), ok: t('action.kick'),
      });
      if (!ok || !this.roster.participants.has(target)) return;
    }
    whileBusy(btn, this.net.request({ type: action, target })).then(
      () => {
        if (action === 'kick' && name) this.ui.info('org.kicked', { name });
      },
      (err) => this.ui.error(err.code === 'not_found' ? 'error.not_found_participant' : err),
    );
  }

  async copyLink() {
    if (!this.roster.info) return;
    const url = `${location.origin}/r/${encodeURIComponent(this.roster.info.name)}`;
    const ok = await copyText(url, null);
    this.ui.info(ok ? 'copy.done_invite' : 'copy.manual', { url });
  }
}

/** @returns {string} the push-to-talk key the user chose, else Space */
function storedKey() {
  try {
    return localStorage.getItem(PTT_KEY_STORE) || DEFAULT_PTT_KEY;
  } catch {
    return DEFAULT_PTT_KEY; // storage refused
  }
}

/**
 * @param {unknown} err a request's failure
 * @returns {{code: string, message?: string}}
 */
function asProtocolError(err) {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError('internal', String(err));
}
