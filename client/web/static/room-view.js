// The room screen's drawing: the header, the participant list, the talk
// controls and the organizer's panel, from the roster (roster.js) and the
// talk machine's view (talk.js). It reads state and writes the DOM; it
// decides nothing and listens to nothing (room.js does).

import { t, tn } from './i18n.js';
import { $, h, show } from './dom.js';

/** @import { Participant } from './protocol.js' */
/** @import { Roster } from './roster.js' */
/** @import { TalkMachine } from './talk.js' */

/** @typedef {NonNullable<ReturnType<TalkMachine['view']>>} TalkView */

export class RoomView {
  constructor() {
    /** @type {Map<string, HTMLLIElement>} participant id → its <li> (rooms may hold hundreds) */
    this.lis = new Map();
  }

  // clear empties the list (after leaving).
  clear() {
    this.lis.clear();
    const ul = $('participants');
    if (ul) ul.replaceChildren();
  }

  /**
   * room draws everything.
   * @param {Roster} roster @param {TalkView | null} talk
   */
  room(roster, talk) {
    const info = roster.info;
    const self = roster.self;
    if (!info || !self) return;
    $('room-name').textContent = info.name;
    $('room-mode-label').textContent = t('mode.' + info.mode);
    $('room-lock-state').textContent = t(info.locked ? 'room.locked' : 'room.unlocked');
    $('room-lock-state').classList.toggle('badge-warn', info.locked);
    document.title = t('title.room', { room: info.name });

    const ul = $('participants');
    for (const p of roster.participants.values()) this.participant(roster, p);
    for (const [id, li] of this.lis) {
      if (!roster.participants.has(id)) this.remove(id);
    }
    // Ourselves first, then in order of arrival.
    const mine = this.lis.get(self.id);
    if (mine && ul.firstElementChild !== mine) ul.prepend(mine);
    this.count(roster.participants.size);
    this.speaking(roster.speaking);
    this.organizer(roster);
    this.talk(talk, self);
  }

  /** @param {number} n */
  count(n) {
    $('participant-count').textContent = tn('room.count', n);
  }

  /** @param {string} id */
  remove(id) {
    const li = this.lis.get(id);
    if (li) li.remove();
    this.lis.delete(id);
  }

  /**
   * participant draws one <li>, creating it if needed. The <li> and its
   * buttons are built once and then updated in place: a button replaced
   * under the pointer (a floor change while the organizer clicks) would
   * lose the click, and the keyboard focus with it.
   * @param {Roster} roster @param {Participant} p
   */
  participant(roster, p) {
    const self = roster.self;
    const info = roster.info;
    if (!self || !info || !roster.participants.has(p.id)) return;
    let li = this.lis.get(p.id);
    if (!li) {
      /** @param {string} role */
      const button = (role) => h('button', { type: 'button', class: 'btn btn-small', 'data-role': role });
      li = h('li', { class: 'participant', 'data-participant-id': p.id },
        h('span', { class: 'speaking-indicator', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
        h('span', { class: 'p-main' }, h('span', { class: 'p-name' }), h('span', { class: 'p-tags' })),
        h('span', { class: 'p-actions' }, button('mute'), button('floor'), button('kick')));
      $('participants').append(li);
      this.lis.set(p.id, li);
    }
    const isSelf = p.id === self.id;
    li.classList.toggle('is-self', isSelf);
    part(li, '.p-name').textContent = p.name;

    const tags = [];
    if (isSelf) tags.push(h('span', { class: 'tag tag-you' }, t('tag.you')));
    if (p.organizer) tags.push(h('span', { class: 'tag tag-org' }, t('tag.organizer')));
    if (p.floor) tags.push(h('span', { class: 'tag tag-floor' }, t('tag.floor')));
    if (p.hand) tags.push(h('span', { class: 'tag tag-hand' }, t('tag.hand')));
    if (p.muted) tags.push(h('span', { class: 'tag tag-muted' }, t('tag.muted')));
    tags.push(h('span', { class: 'tag tag-speaking' }, t('tag.speaking')));
    part(li, '.p-tags').replaceChildren(...tags);

    // The organizer's buttons: mute or unmute, grant or revoke, kick.
    const org = self.organizer && !isSelf;
    /** @param {string} role @param {string | null} action */
    const set = (role, action) => {
      const b = part(li, `button[data-role="${role}"]`);
      show(b, !!action);
      if (!action) {
        b.removeAttribute('data-action');
        return;
      }
      b.dataset.action = action;
      b.textContent = t(`action.${action}`);
      b.setAttribute('aria-label', t(`action.${action}.label`, { name: p.name }));
    };
    set('mute', org ? (p.muted ? 'unmute' : 'mute') : null);
    let floor = null;
    if (org && info.mode === 'moderated') floor = p.floor ? 'revoke' : 'grant';
    else if (org && info.mode === 'ptt' && p.floor) floor = 'revoke';
    set('floor', floor);
    set('kick', org ? 'kick' : null);
    show(part(li, '.p-actions'), org);
    markSpeaking(li, roster.speaking.has(p.id));
  }

  /** @param {Set<string>} ids who is heard now */
  speaking(ids) {
    for (const [id, li] of this.lis) markSpeaking(li, ids.has(id));
  }

  /** @param {Roster} roster */
  organizer(roster) {
    const info = roster.info;
    const org = !!roster.self && roster.self.organizer;
    show($('organizer-panel'), org);
    if (!org || !info) return;
    const lock = $('lock');
    lock.textContent = t(info.locked ? 'org.unlock' : 'org.lock');
    lock.dataset.locked = String(info.locked);
    const sel = $('room-mode', HTMLSelectElement);
    if (!sel.disabled) sel.value = info.mode; // disabled: our own change is on its way
    $('room-mode-help').textContent = t('mode.' + info.mode + '.help');
  }

  /**
   * talk shows the controls that fit the room's mode.
   * @param {TalkView | null} v @param {Participant | null} self
   */
  talk(v, self) {
    if (!v || !self) return;
    show($('ptt-group'), v.showPTT);
    const ptt = $('ptt', HTMLButtonElement);
    ptt.setAttribute('aria-pressed', String(v.pressed));
    ptt.disabled = !v.buttonsEnabled;
    $('ptt-label').textContent = t(v.label);
    const latch = $('ptt-latch', HTMLButtonElement);
    latch.setAttribute('aria-pressed', String(v.latched));
    latch.disabled = !v.buttonsEnabled;
    $('ptt-hint').textContent = v.capturingKey ? t('ptt.key_capture') : t('ptt.hint', { key: keyName(v.pttKey) });
    $('ptt-key').textContent = t('ptt.key_change', { key: keyName(v.pttKey) });

    const mute = $('mute');
    show(mute, v.showMute);
    mute.textContent = t(v.muted ? 'mute.unmute' : 'mute.mute');
    mute.dataset.muted = String(v.muted);
    mute.classList.toggle('btn-warn', v.muted);

    const hand = $('hand');
    show(hand, v.showHand);
    hand.textContent = t(self.hand ? 'hand.lower' : 'hand.raise');
    hand.dataset.raised = String(!!self.hand);

    $('talk-help').textContent = t(v.help);
  }

  /**
   * micLive shows whether the microphone track is enabled: exactly what
   * is sent, not what should be.
   * @param {boolean} live
   */
  micLive(live) {
    const badge = $('mic-live');
    if (!badge) return;
    show(badge, live);
    show($('mic-off'), !live);
    document.body.dataset.micLive = String(live);
  }
}

/**
 * part is the element of li that the selector names (built with it).
 * @param {HTMLElement} li @param {string} selector
 * @returns {HTMLElement}
 */
function part(li, selector) {
  return /** @type {HTMLElement} */ (li.querySelector(selector));
}

/** @param {HTMLElement} li @param {boolean} on */
function markSpeaking(li, on) {
  if (on) li.dataset.speaking = 'true';
  else delete li.dataset.speaking;
}

/**
 * keyName is how a KeyboardEvent.code reads to people.
 * @param {string} code
 */
export function keyName(code) {
  if (code === 'Space') return t('key.space');
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit[0-9]$/.test(code)) return code.slice(5);
  /** @type {Record<string, string>} */
  const known = {
    ControlLeft: 'key.ctrl_left', ControlRight: 'key.ctrl_right',
    ShiftLeft: 'key.shift_left', ShiftRight: 'key.shift_right',
    AltLeft: 'key.alt_left', AltRight: 'key.alt_right',
    Enter: 'key.enter',
  };
  if (Object.hasOwn(known, code)) return t(known[code]);
  if (code === 'Backquote') return '`';
  return code;
}
