// Room: what the joined participant sees and does. The participant list,
// the talk controls (push-to-talk, mute, hand), the organizer's controls,
// and the one rule that matters most: the microphone track is enabled
// only while the user may be heard (see micAllowed).

import { t, tn } from './i18n.js';
import { $, h, show, isTextField, copyText } from './dom.js';

const PTT_KEY_STORE = 'palabre.pttKey';
const SPEAK_REANNOUNCE_MS = 5000; // don't announce the same voice again within this
const ANNOUNCE_JOINS_UP_TO = 20; // joins and departures are announced in small rooms only

export class Room {
  // net: {request(msg) → Promise}, mic: Microphone,
  // ui: {announce(text), error(errOrKey, params), info(key, params), clearNotices(), leave()}
  constructor({ net, mic, ui }) {
    this.net = net;
    this.mic = mic;
    this.ui = ui;
    this.pttKey = 'Space';
    try {
      this.pttKey = localStorage.getItem(PTT_KEY_STORE) || 'Space';
    } catch {
      // storage refused: Space it is
    }
    this.capturingKey = false;
    this.clear();
  }

  // clear forgets everything about the room (after leaving).
  clear() {
    this.info = null;
    this.self = null;
    this.participants = new Map();
    this.floor = [];
    this.slots = new Map(); // slot → participant id ('' when quiet)
    this.speaking = new Set();
    this.lastAnnounced = new Map();
    this.lis = new Map(); // participant id → <li>
    const ul = $('participants');
    if (ul) ul.replaceChildren();
    this.active = false;
    this.wantMuted = false; // the user's own mute, kept across reconnects
    this.orgMuted = false; // an organizer muted us: we cannot unmute ourselves
    this.held = new Set(); // what holds push-to-talk: 'key', 'pointer', 'button', 'latch'
    this.talking = false; // ptt_on sent and no ptt_off since
    this.pttPending = false; // ptt_on sent, no reply yet
    this.pttOffPending = false;
    this.pttSeq = 0;
    this.onFloor = false;
    this.updateMic();
  }

  // ---- lifecycle -------------------------------------------------------

  reset(joined, isRejoin) {
    this.info = joined.room_info;
    this.participants = new Map();
    this.floor = joined.floor || [];
    for (const p of joined.participants || []) this.participants.set(p.id, { ...p });
    if (!this.participants.has(joined.self.id)) this.participants.set(joined.self.id, { ...joined.self });
    for (const p of this.participants.values()) p.floor = this.floor.includes(p.id);
    this.self = this.participants.get(joined.self.id);
    this.slots = new Map();
    this.speaking = new Set();
    this.held.clear();
    this.talking = false;
    this.pttPending = this.pttOffPending = false;
    this.onFloor = this.floor.includes(this.self.id);
    this.active = true;
    if (isRejoin && (this.wantMuted || this.orgMuted)) {
      // The server forgot: tell it again, so others see us muted.
      this.net.request({ type: 'mute' }).catch(() => {});
    }
    this.render();
    this.updateMic();
  }

  // suspend: the connection is lost. Nobody hears us; stop talking.
  suspend() {
    this.active = false;
    this.held.clear();
    this.talking = false;
    this.pttPending = this.pttOffPending = false;
    this.onFloor = false;
    this.slots = new Map();
    this.speaking = new Set();
    this.renderSpeaking();
    this.updateMic();
  }

  // ---- the privacy rule ------------------------------------------------

  isMuted() {
    return this.wantMuted || this.orgMuted || (!!this.self && this.self.muted);
  }

  // micAllowed: may the user be heard right now?
  micAllowed() {
    if (!this.active || !this.self || !this.info || this.isMuted()) return false;
    switch (this.info.mode) {
      case 'open':
        return true;
      case 'ptt':
        // Enabled at the press already: the server keeps a pre-roll.
        return this.held.size > 0 && (this.pttPending || this.onFloor);
      case 'moderated':
        return this.onFloor || (this.held.size > 0 && this.pttPending);
      default:
        return false;
    }
  }

  updateMic() {
    const track = this.mic.track;
    const on = !!track && this.micAllowed();
    if (track) track.enabled = on;
    const live = !!track && track.enabled;
    const micLive = $('mic-live');
    if (micLive) {
      show(micLive, live);
      show($('mic-off'), !live);
      document.body.dataset.micLive = String(live);
    }
    this.renderTalk();
  }

  // ---- push-to-talk ----------------------------------------------------

  canPTT() {
    if (!this.info || !this.self) return false;
    return this.info.mode === 'ptt' || (this.info.mode === 'moderated' && this.self.organizer);
  }

  press(source) {
    if (!this.active || !this.info) return;
    if (!this.canPTT()) {
      if (this.info.mode === 'moderated') this.ui.info('ptt.moderated');
      return;
    }
    if (!this.mic.track) {
      this.ui.error('ptt.no_mic');
      return;
    }
    if (this.isMuted()) {
      this.ui.error(this.orgMuted ? 'mute.by_organizer' : 'ptt.muted');
      return;
    }
    const already = this.held.size > 0;
    this.held.add(source);
    if (already) {
      this.renderTalk();
      return;
    }
    this.ui.clearNotices(); // an old "floor busy" or "floor lost" is over
    const seq = ++this.pttSeq;
    this.talking = true;
    this.pttPending = true;
    this.pttOffPending = false;
    this.updateMic();
    this.net.request({ type: 'ptt_on' }).then(
      () => {
        if (seq !== this.pttSeq) return;
        this.pttPending = false;
        if (this.held.size > 0) this.onFloor = true;
        this.updateMic();
      },
      (err) => {
        if (seq !== this.pttSeq) return;
        this.pttPending = false;
        this.talking = false;
        this.held.clear();
        this.updateMic();
        this.ui.error(err);
      },
    );
  }

  release(source) {
    if (!this.held.delete(source)) return;
    if (this.held.size > 0) {
      this.renderTalk();
      return;
    }
    this.stopTalking(true);
  }

  // stopTalking releases push-to-talk entirely; send says whether to tell
  // the server (not when it took the floor from us itself).
  stopTalking(send) {
    const wasTalking = this.talking;
    this.talking = false;
    this.held.clear();
    const seq = ++this.pttSeq;
    this.pttPending = false;
    if (this.info && this.info.mode !== 'open' && wasTalking) this.onFloor = false;
    this.updateMic();
    if (send && wasTalking && this.active) {
      this.pttOffPending = true;
      const done = () => {
        if (seq === this.pttSeq) this.pttOffPending = false;
      };
      this.net.request({ type: 'ptt_off' }).then(done, done);
    }
  }

  toggleLatch() {
    if (this.held.has('latch')) this.release('latch');
    else this.press('latch');
  }

  // ---- mute and hand ---------------------------------------------------

  toggleMute() {
    if (!this.self) return;
    if (this.isMuted()) {
      if (this.orgMuted) {
        this.ui.error('mute.by_organizer');
        return;
      }
      this.wantMuted = false;
      if (this.self.muted) {
        this.net.request({ type: 'unmute' }).catch((err) => {
          if (err.code === 'not_allowed') {
            this.orgMuted = true;
            this.ui.error('mute.by_organizer');
          } else {
            this.wantMuted = true;
            this.ui.error(err);
          }
          this.updateMic();
        });
      }
    } else {
      this.wantMuted = true;
      this.stopTalking(true);
      this.net.request({ type: 'mute' }).catch((err) => this.ui.error(err));
    }
    this.updateMic();
  }

  toggleHand() {
    if (!this.self) return;
    const up = !this.self.hand;
    const btn = $('hand');
    btn.disabled = true;
    this.net
      .request({ type: up ? 'raise_hand' : 'lower_hand' })
      .then(() => {
        if (this.self) this.self.hand = up && !this.self.floor;
        this.renderParticipant(this.self);
        this.renderTalk();
      })
      .catch((err) => this.ui.error(err))
      .finally(() => {
        btn.disabled = false;
      });
  }

  // ---- events ----------------------------------------------------------

  handleEvent(msg) {
    if (!this.self) return;
    switch (msg.type) {
      case 'participant_joined': {
        const known = this.participants.has(msg.participant.id);
        const p = this.upsert(msg.participant);
        this.renderCount();
        if (!known && this.participants.size <= ANNOUNCE_JOINS_UP_TO) {
          this.ui.announce(t('announce.joined', { name: p.name }));
        }
        break;
      }
      case 'participant_left': {
        const p = this.participants.get(msg.participant.id) || msg.participant;
        this.participants.delete(p.id);
        for (const [slot, id] of this.slots) if (id === p.id) this.slots.set(slot, '');
        const li = this.li(p.id);
        if (li) li.remove();
        this.lis.delete(p.id);
        this.renderCount();
        this.renderSpeaking();
        if (msg.reason === 'kicked') this.ui.announce(t('announce.kicked', { name: p.name }));
        else if (this.participants.size < ANNOUNCE_JOINS_UP_TO) this.ui.announce(t('announce.left', { name: p.name }));
        break;
      }
      case 'speaking':
        this.onSpeaking(msg.speaker);
        break;
      case 'floor':
        this.onFloorEvent(msg.floor || []);
        break;
      case 'muted':
        this.onMuted(msg);
        break;
      case 'hand': {
        const p = this.upsert(msg.participant);
        if (p !== this.self && p.hand && this.self.organizer) this.ui.announce(t('announce.hand', { name: p.name }));
        if (p === this.self) this.renderTalk();
        break;
      }
      case 'room':
        this.onRoom(msg.room_info);
        break;
    }
  }

  upsert(p) {
    let cur = this.participants.get(p.id);
    if (cur) Object.assign(cur, p);
    else {
      cur = { ...p };
      this.participants.set(p.id, cur);
    }
    // The floor list is the truth for "floor"; events may lag behind it.
    cur.floor = this.floor.includes(cur.id);
    this.renderParticipant(cur);
    return cur;
  }

  name(id) {
    const p = this.participants.get(id);
    return p ? p.name : '';
  }

  onSpeaking(sp) {
    if (!sp) return;
    this.slots.set(sp.slot, sp.participant || '');
    const before = this.speaking;
    this.renderSpeaking();
    const now = performance.now();
    for (const id of this.speaking) {
      if (before.has(id) || id === this.self.id) continue;
      const last = this.lastAnnounced.get(id) || -Infinity;
      if (now - last < SPEAK_REANNOUNCE_MS) continue;
      this.lastAnnounced.set(id, now);
      const name = this.name(id);
      if (name) this.ui.announce(t('announce.speaking', { name }));
    }
  }

  onFloorEvent(list) {
    this.floor = list;
    for (const p of this.participants.values()) {
      const f = list.includes(p.id);
      if (f !== p.floor || (f && p.hand)) {
        p.floor = f;
        if (f) p.hand = false; // getting the floor answers a raised hand
        this.renderParticipant(p);
      }
    }
    const inList = list.includes(this.self.id);
    const was = this.onFloor;
    // A floor list sent before our ptt_off was handled still names us:
    // don't take it as a new grant.
    if (!(inList && this.pttOffPending && this.held.size === 0)) this.onFloor = inList;
    if (was && !this.onFloor) {
      if (this.held.size > 0 && !this.pttPending) {
        // An organizer took the floor from us while we were talking.
        this.held.clear();
        this.talking = false;
        this.ui.info('ptt.lost');
      } else if (this.held.size === 0 && this.info.mode === 'moderated') {
        this.ui.info('floor.revoked');
      }
    } else if (!was && this.onFloor && this.held.size === 0 && this.info.mode === 'moderated') {
      this.ui.info(this.isMuted() ? 'floor.granted_muted' : 'floor.granted');
    }
    this.updateMic();
  }

  onMuted(msg) {
    const p = this.upsert(msg.participant);
    if (p !== this.self) return;
    const byOrganizer = !!msg.by && msg.by !== this.self.id;
    if (byOrganizer) {
      this.orgMuted = p.muted;
      if (p.muted) {
        // Keep our own mute too: when the organizer lifts theirs, the user
        // turns the microphone back on themselves (in open rooms).
        this.wantMuted = true;
        // A muted holder keeps the floor on the server: give it back.
        this.stopTalking(true);
        this.ui.info('mute.muted_by', { name: this.name(msg.by) || t('role.organizer') });
      } else {
        if (this.info.mode !== 'open') this.wantMuted = false;
        this.ui.clearNotices(); // "an organizer muted you" is over
        this.ui.info(this.info.mode === 'open' ? 'mute.unmuted_by_open' : 'mute.unmuted_by', {
          name: this.name(msg.by) || t('role.organizer'),
        });
      }
    } else if (!p.muted) {
      this.orgMuted = false;
    }
    this.updateMic();
  }

  onRoom(info) {
    const old = this.info;
    this.info = info;
    if (old && old.mode !== info.mode) {
      this.stopTalking(true);
      // Open mic would make everyone audible without asking: mute
      // ourselves and let the user decide.
      if (info.mode === 'open' && !this.isMuted()) {
        this.wantMuted = true;
        this.net.request({ type: 'mute' }).catch(() => {});
        this.ui.info('mode.now_open_muted');
      } else {
        this.ui.info('mode.changed', { mode: t('mode.' + info.mode) });
      }
    } else if (old && old.locked !== info.locked) {
      this.ui.announce(t(info.locked ? 'announce.locked' : 'announce.unlocked'));
    }
    this.render();
    this.updateMic();
  }

  // ---- rendering -------------------------------------------------------

  // li is the participant's list item (a map: rooms may hold hundreds).
  li(id) {
    return this.lis.get(id) || null;
  }

  render() {
    if (!this.info || !this.self) return;
    $('room-name').textContent = this.info.name;
    $('room-mode-label').textContent = t('mode.' + this.info.mode);
    $('room-lock-state').textContent = t(this.info.locked ? 'room.locked' : 'room.unlocked');
    $('room-lock-state').classList.toggle('badge-warn', this.info.locked);
    document.title = t('title.room', { room: this.info.name });

    const ul = $('participants');
    const seen = new Set();
    for (const p of this.participants.values()) {
      this.renderParticipant(p);
      seen.add(p.id);
    }
    for (const [id, li] of this.lis) {
      if (!seen.has(id)) {
        li.remove();
        this.lis.delete(id);
      }
    }
    // Ourselves first, then in order of arrival.
    const mine = this.li(this.self.id);
    if (mine && ul.firstElementChild !== mine) ul.prepend(mine);
    this.renderCount();
    this.renderSpeaking();
    this.renderOrganizer();
    this.renderTalk();
  }

  renderCount() {
    $('participant-count').textContent = tn('room.count', this.participants.size);
  }

  // renderParticipant draws one <li>, creating it if needed. The <li> and
  // its buttons are built once and then updated in place: a button
  // replaced under the pointer (a floor change while the organizer
  // clicks) would lose the click, and the keyboard focus with it.
  renderParticipant(p) {
    if (!p || !this.self) return;
    let li = this.li(p.id);
    if (!li) {
      const button = (role) => h('button', { type: 'button', class: 'btn btn-small', 'data-role': role });
      li = h('li', { class: 'participant', 'data-participant-id': p.id },
        h('span', { class: 'speaking-indicator', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
        h('span', { class: 'p-main' }, h('span', { class: 'p-name' }), h('span', { class: 'p-tags' })),
        h('span', { class: 'p-actions' }, button('mute'), button('floor'), button('kick')));
      $('participants').append(li);
      this.lis.set(p.id, li);
    }
    const isSelf = p.id === this.self.id;
    li.classList.toggle('is-self', isSelf);
    li.querySelector('.p-name').textContent = p.name;

    const tags = [];
    if (isSelf) tags.push(h('span', { class: 'tag tag-you' }, t('tag.you')));
    if (p.organizer) tags.push(h('span', { class: 'tag tag-org' }, t('tag.organizer')));
    if (p.floor) tags.push(h('span', { class: 'tag tag-floor' }, t('tag.floor')));
    if (p.hand) tags.push(h('span', { class: 'tag tag-hand' }, t('tag.hand')));
    if (p.muted) tags.push(h('span', { class: 'tag tag-muted' }, t('tag.muted')));
    tags.push(h('span', { class: 'tag tag-speaking' }, t('tag.speaking')));
    li.querySelector('.p-tags').replaceChildren(...tags);

    // The organizer's buttons: mute or unmute, grant or revoke, kick.
    const org = this.self.organizer && !isSelf;
    const mode = this.info.mode;
    const set = (role, action) => {
      const b = li.querySelector(`button[data-role="${role}"]`);
      show(b, !!action);
      if (!action) {
        b.removeAttribute('data-action');
        return;
      }
      b.dataset.action = action;
      b.textContent = t(`action.${action}`);
      b.setAttribute('aria-label', t(`action.${action}.label`, { name: p.name }));
    };
    set('mute', org && (p.muted ? 'unmute' : 'mute'));
    let floor = null;
    if (org && mode === 'moderated') floor = p.floor ? 'revoke' : 'grant';
    else if (org && mode === 'ptt' && p.floor) floor = 'revoke';
    set('floor', floor);
    set('kick', org && 'kick');
    show(li.querySelector('.p-actions'), org);
    this.renderSpeakingOf(li, this.speaking.has(p.id));
  }

  renderSpeaking() {
    const now = new Set();
    for (const id of this.slots.values()) if (id) now.add(id);
    this.speaking = now;
    for (const li of $('participants').children) {
      this.renderSpeakingOf(li, now.has(li.dataset.participantId));
    }
  }

  renderSpeakingOf(li, on) {
    if (on) li.dataset.speaking = 'true';
    else delete li.dataset.speaking;
  }

  renderOrganizer() {
    const org = !!this.self && this.self.organizer;
    show($('organizer-panel'), org);
    if (!org) return;
    const lock = $('lock');
    lock.textContent = t(this.info.locked ? 'org.unlock' : 'org.lock');
    lock.dataset.locked = String(this.info.locked);
    const sel = $('room-mode');
    if (!sel.disabled) sel.value = this.info.mode; // disabled: our own change is on its way
    $('room-mode-help').textContent = t('mode.' + this.info.mode + '.help');
  }

  // renderTalk shows the controls that fit the room's mode.
  renderTalk() {
    if (!this.info || !this.self) return;
    const mode = this.info.mode;
    const ptt = this.canPTT();
    show($('ptt-group'), ptt);
    const held = this.held.size > 0;
    const pttBtn = $('ptt');
    pttBtn.setAttribute('aria-pressed', String(held));
    pttBtn.disabled = !this.mic.track;
    $('ptt-label').textContent = t(held ? 'ptt.talking' : 'ptt.label');
    $('ptt-latch').setAttribute('aria-pressed', String(this.held.has('latch')));
    $('ptt-latch').disabled = !this.mic.track;
    $('ptt-hint').textContent = this.capturingKey
      ? t('ptt.key_capture')
      : t('ptt.hint', { key: keyName(this.pttKey) });
    $('ptt-key').textContent = t('ptt.key_change', { key: keyName(this.pttKey) });

    // The mute button: open rooms, or whenever we are muted (to get out).
    const muted = this.isMuted();
    const muteBtn = $('mute');
    show(muteBtn, !!this.mic.track && (mode === 'open' || muted));
    muteBtn.textContent = t(muted ? 'mute.unmute' : 'mute.mute');
    muteBtn.dataset.muted = String(muted);
    muteBtn.classList.toggle('btn-warn', muted);

    const hand = $('hand');
    show(hand, mode === 'moderated' && !this.self.organizer); // organizers talk with the button
    hand.textContent = t(this.self.hand ? 'hand.lower' : 'hand.raise');
    hand.dataset.raised = String(!!this.self.hand);

    let help;
    if (!this.active) help = t('talk.offline');
    else if (!this.mic.track) help = t('talk.no_mic');
    else if (this.orgMuted) help = t('mute.by_organizer');
    else if (mode === 'open') help = t(muted ? 'talk.open_muted' : 'talk.open');
    else if (mode === 'ptt') help = t('talk.ptt');
    else if (this.onFloor) help = t('talk.moderated_floor');
    else help = t(this.self.organizer ? 'talk.moderated_organizer' : 'talk.moderated');
    $('talk-help').textContent = help;
  }

  // ---- controls --------------------------------------------------------

  bind() {
    const ptt = $('ptt');
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
      this.press('pointer');
    });
    const up = () => this.release('pointer');
    ptt.addEventListener('pointerup', up);
    ptt.addEventListener('pointercancel', up);
    ptt.addEventListener('lostpointercapture', up);
    ptt.addEventListener('contextmenu', (e) => e.preventDefault()); // long press on touch screens
    // Held from the keyboard while focused (Space or Enter): press and hold too.
    ptt.addEventListener('keydown', (e) => {
      if ((e.code === 'Space' || e.code === 'Enter' || e.code === 'NumpadEnter') && !e.repeat) {
        e.preventDefault();
        this.press('button');
      } else if (e.code === 'Space' || e.code === 'Enter') {
        e.preventDefault();
      }
    });
    ptt.addEventListener('keyup', (e) => {
      if (e.code === 'Space' || e.code === 'Enter' || e.code === 'NumpadEnter') {
        e.preventDefault();
        this.release('button');
      }
    });
    ptt.addEventListener('blur', () => this.release('button'));
    // A click without a pointer press (assistive technology) toggles, like the latch.
    ptt.addEventListener('click', (e) => {
      if (e.detail === 0 && !e.pointerType && !this.held.has('button')) this.toggleLatch();
    });

    $('ptt-latch').addEventListener('click', () => this.toggleLatch());
    $('ptt-key').addEventListener('click', () => {
      this.capturingKey = true;
      this.renderTalk();
    });

    window.addEventListener('keydown', (e) => this.onKeyDown(e));
    window.addEventListener('keyup', (e) => this.onKeyUp(e));
    // A key released while the page had no focus never sends keyup.
    window.addEventListener('blur', () => this.release('key'));
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.release('key');
    });

    $('mute').addEventListener('click', () => this.toggleMute());
    $('hand').addEventListener('click', () => this.toggleHand());
    $('copy-link').addEventListener('click', () => this.copyLink());
    $('leave').addEventListener('click', () => this.ui.leave());

    $('participants').addEventListener('click', (e) => {
      const btn = e.target.closest('button[data-action]');
      if (!btn) return;
      const li = btn.closest('li[data-participant-id]');
      this.organizerAction(btn, btn.dataset.action, li.dataset.participantId);
    });

    $('lock').addEventListener('click', () => {
      const btn = $('lock');
      btn.disabled = true;
      this.net
        .request({ type: this.info.locked ? 'unlock' : 'lock' })
        .catch((err) => this.ui.error(err))
        .finally(() => {
          btn.disabled = false;
        });
    });
    $('room-mode').addEventListener('change', () => {
      const sel = $('room-mode');
      const mode = sel.value;
      if (mode === this.info.mode) return;
      sel.disabled = true;
      this.net
        .request({ type: 'set_mode', mode })
        .catch((err) => {
          this.ui.error(err);
          sel.value = this.info.mode;
        })
        .finally(() => {
          sel.disabled = false;
        });
    });
    const savePassword = () => {
      const input = $('room-password');
      const password = input.value;
      const msg = { type: 'set_password' };
      if (password) msg.password = password;
      $('room-password-save').disabled = true;
      this.net
        .request(msg)
        .then(() => {
          input.value = '';
          this.ui.info(password ? 'org.password_set' : 'org.password_removed');
        })
        .catch((err) => this.ui.error(err))
        .finally(() => {
          $('room-password-save').disabled = false;
        });
    };
    $('room-password-form').addEventListener('submit', (e) => {
      e.preventDefault();
      savePassword();
    });
  }

  onKeyDown(e) {
    if (this.capturingKey) {
      if (e.code === 'Tab') return;
      e.preventDefault();
      this.capturingKey = false;
      if (e.code !== 'Escape' && e.code) {
        this.pttKey = e.code;
        try {
          localStorage.setItem(PTT_KEY_STORE, e.code);
        } catch {
          // remembered for this page only
        }
      }
      this.renderTalk();
      return;
    }
    // Only where push-to-talk exists: elsewhere Space must keep activating
    // the focused button (mute, raise hand) for keyboard users.
    if (e.code !== this.pttKey || !this.active || !this.canPTT()) return;
    if (isTextField(e.target)) return;
    // The focused talk button handles Space and Enter itself.
    if (e.target === $('ptt') && ['Space', 'Enter', 'NumpadEnter'].includes(e.code)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // Space would also scroll the page or click the focused button.
    e.preventDefault();
    if (e.repeat) return;
    this.press('key');
  }

  onKeyUp(e) {
    if (e.code !== this.pttKey) return;
    if (this.held.has('key')) {
      e.preventDefault();
      this.release('key');
    }
  }

  organizerAction(btn, action, target) {
    const p = this.participants.get(target);
    btn.disabled = true;
    this.net
      .request({ type: action, target })
      .then(() => {
        if (action === 'kick' && p) this.ui.info('org.kicked', { name: p.name });
      })
      .catch((err) => {
        this.ui.error(err.code === 'not_found' ? 'error.not_found_participant' : err);
      })
      .finally(() => {
        btn.disabled = false;
      });
  }

  async copyLink() {
    const url = `${location.origin}/r/${encodeURIComponent(this.info.name)}`;
    const ok = await copyText(url, null);
    this.ui.info(ok ? 'copy.done_invite' : 'copy.manual', { url });
  }
}

// keyName is how a KeyboardEvent.code reads to people.
export function keyName(code) {
  if (code === 'Space') return t('key.space');
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit[0-9]$/.test(code)) return code.slice(5);
  const known = {
    ControlLeft: 'key.ctrl_left', ControlRight: 'key.ctrl_right',
    ShiftLeft: 'key.shift_left', ShiftRight: 'key.shift_right',
    AltLeft: 'key.alt_left', AltRight: 'key.alt_right',
    Enter: 'key.enter', Backquote: '`',
  };
  if (known[code]) return known[code].startsWith('key.') ? t(known[code]) : known[code];
  return code;
}
