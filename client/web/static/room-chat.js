// The room's chat panel: the log (chat.js keeps the messages, in memory
// only), the form, the unread badge on the Chat button, who may write.
// Messages are text: links are never made live nor loaded.

import { t, tn, getLang } from './i18n.js';
import { $, h, show, whileBusy } from './dom.js';
import { ChatLog } from './chat.js';
import { chatTextProblem, chatLength, MAX_CHAT_CHARS, ProtocolError } from './protocol.js';

/** @import { Message } from './protocol.js' */
/** @import { Roster } from './roster.js' */
/** @import { Entry, ChatChange } from './chat.js' */
/** @import { Net, UI } from './room.js' */

const MAX_BADGE = 99;

export class RoomChat {
  /** @param {{net: Net, ui: UI, roster: Roster}} deps */
  constructor({ net, ui, roster }) {
    this.net = net;
    this.ui = ui;
    this.roster = roster;
    this.log = new ChatLog();
    this.open = false;
    this.online = false;
    this.sending = false;
    this.touch = false; // a touch-only screen: Enter makes a new line
  }

  // ---- the room's side ---------------------------------------------------

  // clear forgets the messages (after leaving).
  clear() {
    this.log.clear();
    $('chat-log').replaceChildren();
    $('chat-text', HTMLTextAreaElement).value = '';
    $('chat-to', HTMLSelectElement).value = '';
    this.setError('');
    this.renderCount();
    this.renderBadge();
  }

  /**
   * joined: in the room (again); the messages of before a rejoin stay.
   * @param {string} selfID @param {boolean} wide a wide screen: open the chat
   */
  joined(selfID, wide) {
    this.log.setSelf(selfID);
    if (wide && this.log.entries.length === 0 && !this.open) this.setOpen(true, false);
    this.renderPeople();
    this.renderPermissions();
  }

  /** @param {Message} msg a chat event */
  receive(msg) {
    if (!msg.chat_message) return;
    const c = this.log.receive(msg.chat_message, (id) => this.roster.name(id));
    this.draw(c);
    if (c.announce) this.ui.announce(t(c.announce.key, c.announce.params));
  }

  /** @param {boolean} online */
  setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    this.renderPermissions();
  }

  // render redraws everything (a new language).
  render() {
    $('chat-log').replaceChildren(...this.log.entries.map((e) => this.entry(e)));
    this.renderPeople();
    this.renderPermissions();
    this.renderCount();
    this.renderBadge();
  }

  // renderPeople fills "To:" with the others; a private addressee who
  // left falls back to everyone.
  renderPeople() {
    const sel = $('chat-to', HTMLSelectElement);
    const was = sel.value;
    const self = this.roster.self;
    const others = [...this.roster.participants.values()].filter((p) => !self || p.id !== self.id);
    const everyone = h('option', { value: '' }, t('chat.everyone'));
    sel.replaceChildren(everyone, ...others.map((p) => h('option', { value: p.id }, t('chat.to_private', { name: p.name }))));
    if (was && others.some((p) => p.id === was)) sel.value = was;
    else {
      sel.value = '';
      if (was) this.setError('chat.target_left');
    }
  }

  // renderPermissions: may we write? (the room's setting, our chat mute,
  // the connection)
  renderPermissions() {
    const self = this.roster.self;
    const info = this.roster.info;
    const can = this.roster.canChat;
    let state = '';
    if (self && info) {
      if (!can) state = self.chat_muted ? 'chat.you_muted' : 'chat.room_off';
      else if (self.organizer && info.chat === false) state = 'chat.room_off_org';
    }
    $('chat-state').textContent = state ? t(state) : '';
    show($('chat-state'), !!state);
    $('chat-controls', HTMLFieldSetElement).disabled = !can || !this.online;
    $('chat-send', HTMLButtonElement).disabled = this.sending;
  }

  // ---- drawing -------------------------------------------------------------

  /** @param {ChatChange} c */
  draw(c) {
    const ol = $('chat-log');
    for (let i = 0; i < c.dropped && ol.firstElementChild; i++) ol.firstElementChild.remove();
    if (c.added) {
      // Follow the conversation, unless the user scrolled up to read.
      const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
      ol.append(this.entry(c.added));
      if (atBottom || c.added.mine) ol.scrollTop = ol.scrollHeight;
    }
    show($('chat-empty'), this.log.entries.length === 0);
    this.renderBadge();
  }

  /** @param {Entry} e @returns {HTMLLIElement} */
  entry(e) {
    const when = new Date(e.at);
    let privacy = '';
    if (e.private) privacy = e.mine ? t('chat.private_to', { name: e.toName || t('role.someone') }) : t('chat.private_from');
    return h('li', {
      class: 'chat-msg' + (e.mine ? ' is-mine' : '') + (e.private ? ' is-private' : ''),
      'data-n': e.n, 'data-from': e.from, 'data-private': e.private ? 'true' : null,
    },
    h('p', { class: 'chat-meta' },
      h('span', { class: 'chat-name' }, e.mine ? t('chat.you') : e.name),
      privacy && h('span', { class: 'chat-private' }, privacy),
      h('time', { datetime: when.toISOString() }, new Intl.DateTimeFormat(getLang(), { hour: '2-digit', minute: '2-digit' }).format(when))),
    // Text only: a link stays a string of characters.
    h('p', { class: 'chat-text' }, e.text));
  }

  renderBadge() {
    const n = this.log.unread;
    const badge = $('chat-unread');
    badge.textContent = n > MAX_BADGE ? MAX_BADGE + '+' : String(n);
    show(badge, n > 0);
    const toggle = $('chat-toggle');
    toggle.setAttribute('aria-label', n > 0 ? tn('chat.toggle_unread', n) : t('chat.open'));
    toggle.classList.toggle('has-unread', n > 0);
  }

  renderCount() {
    const text = $('chat-text', HTMLTextAreaElement).value;
    const n = chatLength(text);
    const count = $('chat-count');
    count.textContent = t('chat.count', { n, max: MAX_CHAT_CHARS });
    count.classList.toggle('is-over', n > MAX_CHAT_CHARS);
    const area = $('chat-text');
    if (n > MAX_CHAT_CHARS) area.setAttribute('aria-invalid', 'true');
    else if (area.getAttribute('aria-invalid') && !$('chat-error').textContent) area.removeAttribute('aria-invalid');
  }

  /** @param {string} key '' to clear @param {Record<string, string | number>} [params] */
  setError(key, params) {
    $('chat-error').textContent = key ? t(key, params) : '';
    const area = $('chat-text');
    if (key) area.setAttribute('aria-invalid', 'true');
    else area.removeAttribute('aria-invalid');
  }

  // ---- open, closed, seen ------------------------------------------------------

  /** @param {boolean} open @param {boolean} [focus] */
  setOpen(open, focus = true) {
    this.open = open;
    show($('chat-panel'), open);
    $('chat-toggle').setAttribute('aria-expanded', String(open));
    this.updateSeen();
    if (!open) {
      if (focus) $('chat-toggle').focus();
      return;
    }
    show($('chat-empty'), this.log.entries.length === 0);
    const ol = $('chat-log');
    ol.scrollTop = ol.scrollHeight;
    if (focus) {
      $('chat-panel').scrollIntoView({ block: 'nearest' });
      const area = $('chat-text', HTMLTextAreaElement);
      if (!area.disabled && !$('chat-controls', HTMLFieldSetElement).disabled) area.focus();
      else ol.focus();
    }
  }

  // openAndFocus: the C shortcut.
  openAndFocus() {
    if (!this.open) this.setOpen(true);
    else this.setOpen(true);
  }

  updateSeen() {
    if (this.log.setSeen(this.open && document.visibilityState === 'visible')) this.renderBadge();
  }

  // ---- the page's side -------------------------------------------------------

  bind() {
    $('chat-toggle').addEventListener('click', () => this.setOpen(!this.open));
    $('chat-close').addEventListener('click', () => this.setOpen(false));
    document.addEventListener('visibilitychange', () => this.updateSeen());
    const area = $('chat-text', HTMLTextAreaElement);
    area.addEventListener('input', () => {
      if ($('chat-error').textContent) this.setError('');
      this.renderCount();
    });
    area.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter starts a new line (on touch screens, the
      // keyboard's Enter makes a line: the Send button sends).
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || this.touch) return;
      e.preventDefault();
      this.send();
    });
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    $('chat-to').addEventListener('change', () => this.setError(''));
    // Escape in the chat closes it, back to the Chat button.
    $('chat-panel').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        this.setOpen(false);
      }
    });
  }

  send() {
    if (this.sending) return;
    const area = $('chat-text', HTMLTextAreaElement);
    const text = area.value;
    const problem = chatTextProblem(text);
    if (problem) {
      this.setError(problem, { max: MAX_CHAT_CHARS });
      area.focus();
      return;
    }
    const to = $('chat-to', HTMLSelectElement).value;
    /** @type {Message} */
    const msg = { type: 'chat', text };
    if (to) msg.target = to;
    this.sending = true;
    const btn = $('chat-send', HTMLButtonElement);
    whileBusy(btn, this.net.request(msg)).then(
      () => {
        const self = this.roster.self;
        this.draw(this.log.sent(text, to, self ? self.name : '', to ? this.roster.name(to) : ''));
        // Typed on meanwhile? Keep what is new.
        if (area.value === text) area.value = '';
        this.setError('');
        this.renderCount();
      },
      (err) => {
        // The text stays, to send again.
        const code = err instanceof ProtocolError ? err.code : '';
        if (code === 'rate_limited') this.setError(err.retryAfter > 0 ? 'chat.slow_down_for' : 'chat.slow_down', { seconds: err.retryAfter });
        else if (code === 'chat_off') this.setError(this.roster.self && this.roster.self.chat_muted ? 'chat.you_muted' : 'chat.room_off');
        else if (code === 'not_found') {
          this.setError('chat.target_left');
          $('chat-to', HTMLSelectElement).value = '';
        } else if (code === 'bad_message') this.setError('chat.refused');
        else this.ui.error(err);
      },
    ).finally(() => {
      this.sending = false;
      this.renderPermissions();
    }).catch(() => {});
  }
}
