// The room screen's drawing: the header, who speaks now, the talk
// controls, the queue of raised hands, the lobby, the participant list
// and the organizer's panel, from the roster (roster.js) and the talk
// machine's view (talk.js). It reads state and writes the DOM; it decides
// nothing and listens to nothing (room.js does).
//
// Nothing moves under the user's finger: labels that change live in
// stacks (dom.js setStack) and a control that comes and goes in a row
// keeps its place (visibility, not display).

import { t, tn } from './i18n.js';
import { $, h, show, setStack, stack } from './dom.js';
import { chatOpen } from './roster.js';
import { matches } from './people.js';

/** @import { Participant, Waiting } from './protocol.js' */
/** @import { Roster } from './roster.js' */
/** @import { People } from './people.js' */
/** @import { TalkMachine } from './talk.js' */

/** @typedef {NonNullable<ReturnType<TalkMachine['view']>>} TalkView */

// Each organizer button of a participant's row: its actions, in the
// order of its stacked labels.
const ROW_BUTTONS = /** @type {const} */ ([
  ['mute', ['mute', 'unmute']],
  ['floor', ['grant', 'revoke']],
  ['chat', ['chat_mute', 'chat_unmute']],
  ['kick', ['kick']],
]);

export class RoomView {
  constructor() {
    /** @type {Map<string, HTMLLIElement>} participant id → its <li> (rooms may hold hundreds) */
    this.lis = new Map();
    this.online = true;
    /** the participant search typed: the list shows the names that match */
    this.filter = '';
  }

  // clear empties the lists (after leaving).
  clear() {
    this.lis.clear();
    $('participants').replaceChildren();
    this.filter = '';
    $('people-search', HTMLInputElement).value = '';
    $('hands').replaceChildren();
    $('lobby-list').replaceChildren();
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
    setStack($('room-lock-state'), info.locked ? 1 : 0);
    $('room-lock-state').classList.toggle('badge-warn', info.locked);
    document.title = t('title.room', { room: info.name });

    const ul = $('participants');
    for (const p of roster.participants.values()) this.participant(roster, p);
    for (const id of [...this.lis.keys()]) {
      if (!roster.participants.has(id)) this.remove(id);
    }
    // Ourselves first, then in order of arrival.
    const mine = this.lis.get(self.id);
    if (mine && ul.firstElementChild !== mine) ul.prepend(mine);
    this.count(roster.count);
    this.speaking(roster);
    this.organizer(roster);
    this.hands(roster);
    this.lobby(roster);
    this.talk(talk, roster);
  }

  /** @param {number} n */
  count(n) {
    $('participant-count').textContent = tn('room.count', n);
  }

  /**
   * people draws what goes with a long list: the search field, how many
   * are shown of how many, the button for more (a large room).
   * @param {Roster} roster @param {People} people
   */
  people(roster, people) {
    show($('people-search-field'), people.searchable(roster) || !!people.query);
    const shown = people.shown(roster);
    const partial = roster.paged || !!people.query.trim();
    const el = $('people-shown');
    show(el, partial);
    if (partial) {
      el.textContent = shown === 0 && people.query.trim() ? t('people.none') : tn('people.shown', shown, { total: roster.count });
    }
    const more = $('people-more', HTMLButtonElement);
    show(more, people.hasMore(roster));
    more.disabled = people.busy;
    more.title = people.now() < people.waitUntil ? t('people.wait') : '';
  }

  /**
   * setFilter shows only the participants whose name contains query.
   * @param {Roster} roster @param {string} query
   */
  setFilter(roster, query) {
    this.filter = query;
    for (const [id, li] of this.lis) {
      const p = roster.participants.get(id);
      li.hidden = !!p && !matches(p, query);
    }
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
      li = h('li', { class: 'participant', 'data-participant-id': p.id },
        h('span', { class: 'speaking-indicator', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
        h('span', { class: 'p-main' }, h('span', { class: 'p-name' }), h('span', { class: 'p-tags' })),
        h('span', { class: 'p-actions' },
          ...ROW_BUTTONS.map(([role, actions]) => stack('button', { type: 'button', class: 'btn btn-small', 'data-role': role },
            actions.map(() => '')))));
      $('participants').append(li);
      this.lis.set(p.id, li);
    }
    // The labels, in the language of the moment.
    for (const [role, actions] of ROW_BUTTONS) {
      const b = part(li, `button[data-role="${role}"]`);
      actions.forEach((a, i) => {
        const label = b.children[i];
        const text = t(`action.${a}`);
        if (label && label.textContent !== text) label.textContent = text;
      });
    }
    const isSelf = p.id === self.id;
    li.classList.toggle('is-self', isSelf);
    li.hidden = !matches(p, this.filter);
    part(li, '.p-name').textContent = p.name;

    const tags = [];
    if (isSelf) tags.push(h('span', { class: 'tag tag-you' }, t('tag.you')));
    if (p.organizer) tags.push(h('span', { class: 'tag tag-org' }, t('tag.organizer')));
    if (p.floor) tags.push(h('span', { class: 'tag tag-floor' }, t('tag.floor')));
    if (p.hand) {
      const n = roster.handPosition(p.id);
      tags.push(h('span', { class: 'tag tag-hand' }, n ? t('tag.hand_n', { n }) : t('tag.hand')));
    }
    if (p.muted) tags.push(h('span', { class: 'tag tag-muted' }, t('tag.muted')));
    if (p.chat_muted) tags.push(h('span', { class: 'tag tag-muted' }, t('tag.chat_muted')));
    tags.push(h('span', { class: 'tag tag-speaking' }, t('tag.speaking')));
    part(li, '.p-tags').replaceChildren(...tags);

    // The organizer's buttons: mute or unmute, grant or revoke, chat, kick.
    const org = self.organizer && !isSelf;
    /**
     * @param {string} role @param {string | null} action null: not offered
     * @param {boolean} [keepPlace] not offered now, but keep its place
     */
    const set = (role, action, keepPlace = false) => {
      const b = part(li, `button[data-role="${role}"]`);
      const row = ROW_BUTTONS.find(([r]) => r === role);
      const actions = /** @type {readonly string[]} */ (row ? row[1] : []);
      b.classList.toggle('is-absent', !action && keepPlace);
      show(b, !!action || keepPlace);
      if (!action) {
        b.removeAttribute('data-action');
        b.removeAttribute('aria-label');
        return;
      }
      b.dataset.action = action;
      setStack(b, Math.max(0, actions.indexOf(action)));
      b.setAttribute('aria-label', t(`action.${action}.label`, { name: p.name }));
    };
    set('mute', org ? (p.muted ? 'unmute' : 'mute') : null);
    let floor = null;
    if (org && info.mode === 'moderated') floor = p.floor ? 'revoke' : 'grant';
    else if (org && info.mode === 'ptt' && p.floor) floor = 'revoke';
    set('floor', floor, org && info.mode === 'ptt');
    set('chat', org && !p.organizer ? (p.chat_muted ? 'chat_unmute' : 'chat_mute') : null, org);
    set('kick', org ? 'kick' : null);
    show(part(li, '.p-actions'), org);
    markSpeaking(li, roster.speaking.has(p.id));
  }

  /** @param {Roster} roster who is heard now */
  speaking(roster) {
    const ids = roster.speaking;
    for (const [id, li] of this.lis) markSpeaking(li, ids.has(id));
    // Next to the talk button, on every screen size: who speaks now.
    const selfID = roster.self ? roster.self.id : '';
    const names = [...ids].map((id) => (id === selfID ? t('room.speaking_you') : roster.name(id))).filter(Boolean);
    const el = $('now-speaking-names');
    el.textContent = names.length ? names.join(', ') : t('room.speaking_nobody');
    $('now-speaking').classList.toggle('is-speaking', names.length > 0);
    $('now-speaking').title = el.textContent;
  }

  /** @param {Roster} roster */
  organizer(roster) {
    const info = roster.info;
    const org = !!roster.self && roster.self.organizer;
    show($('organizer-panel'), org);
    if (!org || !info) return;
    $('lock').setAttribute('aria-checked', String(info.locked));
    $('lobby-toggle').setAttribute('aria-checked', String(!!info.lobby));
    $('chat-room-toggle').setAttribute('aria-checked', String(chatOpen(info)));
    const sel = $('room-mode', HTMLSelectElement);
    if (!sel.disabled) sel.value = info.mode; // disabled: our own change is on its way
    $('room-mode-help').textContent = t('mode.' + info.mode + '.help');
  }

  /**
   * hands draws the queue of raised hands (moderated rooms).
   * @param {Roster} roster
   */
  hands(roster) {
    const info = roster.info;
    const self = roster.self;
    if (!info || !self) return;
    const moderated = info.mode === 'moderated';
    show($('hands-panel'), moderated && (self.organizer || roster.hands.length > 0));
    $('hands-count').textContent = tn('room.count', roster.hands.length);
    $('hands').replaceChildren(...roster.hands.map((id) => h('li', { 'data-participant-id': id, class: id === self.id ? 'is-self' : null },
      id === self.id ? t('hands.you', { name: roster.name(id) }) : roster.name(id))));
    show($('hands-empty'), roster.hands.length === 0);
    const next = $('grant-next', HTMLButtonElement);
    show(next, self.organizer && moderated);
    next.disabled = roster.hands.length === 0;
    next.textContent = roster.hands.length ? t('hands.grant_next_to', { name: roster.name(roster.hands[0]) }) : t('hands.grant_next');
    const pos = roster.handPosition(self.id);
    show($('hand-position'), moderated && pos > 0);
    $('hand-position').textContent = pos > 0 ? t('hands.position', { n: pos, total: roster.hands.length }) : '';
  }

  /**
   * lobby draws who waits to come in (organizers).
   * @param {Roster} roster
   */
  lobby(roster) {
    const info = roster.info;
    const self = roster.self;
    if (!info || !self) return;
    const waiting = roster.waiting;
    show($('lobby-panel'), self.organizer && (!!info.lobby || waiting.length > 0));
    $('lobby-count').textContent = tn('room.count', waiting.length);
    // Rows are kept by id: a click on "Admit" must not land on a row
    // rebuilt under the pointer.
    const list = $('lobby-list');
    /** @type {Map<string, HTMLElement>} */
    const rows = new Map();
    for (const li of list.querySelectorAll('li[data-waiting-id]')) rows.set(/** @type {HTMLElement} */ (li).dataset.waitingId || '', /** @type {HTMLElement} */ (li));
    const want = waiting.map((w) => {
      const li = rows.get(w.id) || lobbyRow(w);
      labelLobbyRow(li, w);
      return li;
    });
    if (want.length !== list.children.length || want.some((li, i) => list.children[i] !== li)) list.replaceChildren(...want);
    show($('lobby-empty'), waiting.length === 0);
    show($('admit-all'), waiting.length > 1);
  }

  /**
   * talk shows the controls that fit the room's mode.
   * @param {TalkView | null} v @param {Roster} roster
   */
  talk(v, roster) {
    const self = roster.self;
    if (!v || !self) return;
    this.setOnline(v.online);
    show($('ptt-group'), v.showPTT);
    const ptt = $('ptt', HTMLButtonElement);
    ptt.setAttribute('aria-pressed', String(v.pressed));
    ptt.disabled = !v.buttonsEnabled;
    // A busy floor: the button says who holds it and looks unavailable
    // (still focusable, so that it can say why).
    ptt.classList.toggle('is-busy', v.unavailable);
    if (v.unavailable) ptt.setAttribute('aria-disabled', 'true');
    else ptt.removeAttribute('aria-disabled');
    $('ptt-label').textContent = t(v.label, { name: roster.floorHolders().join(', ') || t('role.someone') });
    const latch = $('ptt-latch', HTMLButtonElement);
    setStack(latch, v.latched ? 1 : 0);
    latch.dataset.latched = String(v.latched);
    latch.disabled = !v.buttonsEnabled || (v.unavailable && !v.latched);
    $('ptt-hint').textContent = t('ptt.hint', { key: keyName(v.pttKey) });
    $('ptt-key').textContent = v.capturingKey ? t('ptt.key_capture') : keyName(v.pttKey);
    $('ptt-key-help').textContent = t('settings.ptt_key_help');
    $('help-ptt-key').textContent = keyName(v.pttKey);

    const mute = $('mute');
    show(mute, v.showMute);
    setStack(mute, v.muted ? 1 : 0);
    mute.dataset.muted = String(v.muted);
    mute.classList.toggle('btn-warn', v.muted);

    const hand = $('hand');
    show(hand, v.showHand);
    setStack(hand, self.hand ? 1 : 0);
    hand.dataset.raised = String(!!self.hand);
    show($('floor-done'), v.showDone);

    // A raised hand waits: no "raise your hand" any more.
    $('talk-help').textContent = t(v.help === 'talk.moderated' && self.hand ? 'talk.moderated_waiting' : v.help);
  }

  /**
   * setOnline disables what cannot work while the connection is lost:
   * the talk, chat and organizer controls (the talk button is the talk
   * machine's).
   * @param {boolean} online
   */
  setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    for (const id of ['talk-controls', 'hands-controls', 'lobby-controls', 'organizer-controls', 'people-controls', 'video-controls']) {
      $(id, HTMLFieldSetElement).disabled = !online;
    }
    $('room').classList.toggle('is-offline', !online);
  }

  /**
   * micLive shows whether the microphone track is enabled: exactly what
   * is sent, not what should be.
   * @param {boolean} live
   */
  micLive(live) {
    const badge = $('mic-live');
    show(badge, live);
    show($('mic-off'), !live);
    document.body.dataset.micLive = String(live);
  }
}

/** @param {Waiting} w @returns {HTMLLIElement} */
function lobbyRow(w) {
  return h('li', { class: 'lobby-row', 'data-waiting-id': w.id },
    h('span', { class: 'p-name' }),
    h('span', { class: 'p-actions' },
      h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'admit' }),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-action': 'refuse' })));
}

/** @param {HTMLElement} li @param {Waiting} w */
function labelLobbyRow(li, w) {
  part(li, '.p-name').textContent = w.name;
  for (const action of ['admit', 'refuse']) {
    const b = part(li, `button[data-action="${action}"]`);
    b.textContent = t(`lobby.${action}`);
    b.setAttribute('aria-label', t(`lobby.${action}.label`, { name: w.name }));
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
