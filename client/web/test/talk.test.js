// The talk machine's rules (client/web/README.md, "Decisions"), one table
// row each: a sequence of events, then whether the microphone may be
// live, which requests went out, what the last event asked for, and what
// the talk controls show. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TalkMachine } from '../static/talk.js';

// ---- events ----------------------------------------------------------------

/** @param {object} [over] */
const joined = (mode, over = {}) => ({ type: 'joined', mode, organizer: false, muted: false, onFloor: false, rejoin: false, ...over });
const mic = { type: 'mic', present: true };
const noMic = { type: 'mic', present: false };
const down = (code = 'Space', over = {}) => ({ type: 'key_down', code, ...over });
const up = (code = 'Space', over = {}) => ({ type: 'key_up', code, ...over });
const floor = (onFloor, busy = false) => ({ type: 'floor', onFloor, busy });
const busy = floor(false, true); // the others hold every place on the floor
const free = floor(false, false);
const mode = (m) => ({ type: 'mode', mode: m });
const mutedBy = (muted, by = 'Chair') => ({ type: 'muted', muted, byOrganizer: true, by });
const selfMuted = (muted) => ({ type: 'muted', muted, byOrganizer: false });
const disconnected = { type: 'disconnected' };
const pointerDown = { type: 'pointer_down' };
const pointerUp = { type: 'pointer_up' };
const latch = { type: 'latch_toggle' };
const toggleMute = { type: 'toggle_mute' };
const giveBack = { type: 'give_back' };
// A reply to the latest request of that type (error: a protocol code).
const ack = (type) => ({ reply: type });
const refuse = (type, code) => ({ reply: type, error: code });
// A reply to the request of that type sent n requests of its type ago
// (0: the latest), for late replies.
const ackOld = (type, n) => ({ reply: type, ago: n });

// ---- running ----------------------------------------------------------------

// effectName makes an effect short to compare: 'request:ptt_on',
// 'info:ptt.lost', 'error:floor_busy', 'prevent', 'clear', 'save_key:KeyT'.
function effectName(e) {
  switch (e.do) {
    case 'request':
      return 'request:' + e.msg.type + (e.quiet ? '(quiet)' : '');
    case 'info':
      return 'info:' + e.key;
    case 'error':
      return 'error:' + (typeof e.error === 'string' ? e.error : e.error.code);
    case 'prevent_default':
      return 'prevent';
    case 'clear_notices':
      return 'clear';
    case 'save_key':
      return 'save_key:' + e.code;
    case 'busy':
      return 'busy';
    default:
      return e.do;
  }
}

// play runs steps on a fresh machine. It returns the machine, every
// request sent, and the effects of the last step.
function play(steps, options) {
  const m = new TalkMachine(options);
  const requests = [];
  let last = [];
  for (const step of steps) {
    let ev = step;
    if ('reply' in step) {
      const mine = requests.filter((r) => r.msg.type === step.reply);
      const to = mine[mine.length - 1 - (step.ago || 0)];
      assert.ok(to, `no ${step.reply} request to reply to`);
      ev = { type: 'reply', to, ...(step.error ? { error: { code: step.error } } : {}) };
    }
    last = m.handle(ev);
    for (const e of last) if (e.do === 'request') requests.push(e);
  }
  return { m, sent: requests.map((r) => r.msg.type), last: last.map(effectName) };
}

// Each row: steps; mic: micAllowed at the end; sent: the requests, in
// order (omitted: not checked); last: the last step's effects (omitted:
// not checked); view: fields of view() (null: not in a room).
const rules = [
  // -- the microphone is live only when the user may be heard --
  { name: 'open room: heard', steps: [mic, joined('open')], mic: true, view: { help: 'talk.open', showMute: true, showPTT: false } },
  { name: 'open room, muted by the user: not heard', steps: [mic, joined('open'), toggleMute], mic: false, sent: ['mute'], view: { muted: true, help: 'talk.open_muted' } },
  { name: 'open room, unmute asked: not heard until the server agrees', steps: [mic, joined('open'), toggleMute, selfMuted(true), toggleMute], mic: false, sent: ['mute', 'unmute'] },
  { name: 'open room, unmuted again: heard', steps: [mic, joined('open'), toggleMute, selfMuted(true), toggleMute, ack('unmute'), selfMuted(false)], mic: true, sent: ['mute', 'unmute'] },
  { name: 'open room without a microphone: nothing to enable', steps: [joined('open')], mic: false, view: { help: 'talk.no_mic', showMute: false } },
  { name: 'ptt room, idle: not heard', steps: [mic, joined('ptt')], mic: false, sent: [], view: { showPTT: true, label: 'ptt.label', help: 'talk.ptt' } },
  { name: 'moderated room, no floor: not heard', steps: [mic, joined('moderated')], mic: false, view: { showPTT: false, showHand: true, help: 'talk.moderated' } },
  { name: 'moderated room, joined holding the floor: heard', steps: [mic, joined('moderated', { onFloor: true })], mic: true, view: { help: 'talk.moderated_floor' } },
  { name: 'not joined yet: not heard, no controls', steps: [mic], mic: false, view: null },

  // -- push-to-talk --
  { name: 'key down: heard at once (the server keeps a pre-roll)', steps: [mic, joined('ptt'), down()], mic: true, sent: ['ptt_on'], last: ['prevent', 'clear', 'request:ptt_on'], view: { pressed: true, label: 'ptt.talking' } },
  { name: 'key down, floor granted: heard', steps: [mic, joined('ptt'), down(), ack('ptt_on')], mic: true },
  { name: 'key up: not heard, floor given back', steps: [mic, joined('ptt'), down(), ack('ptt_on'), up()], mic: false, sent: ['ptt_on', 'ptt_off'], last: ['prevent', 'request:ptt_off'], view: { pressed: false, label: 'ptt.label' } },
  { name: 'key held (auto-repeat): one request', steps: [mic, joined('ptt'), down(), down('Space', { repeat: true })], mic: true, sent: ['ptt_on'], last: ['prevent'] },
  { name: 'floor refused: not heard, the user is told who has it, the button is up', steps: [mic, joined('ptt'), down(), refuse('ptt_on', 'floor_busy')], mic: false, last: ['busy'], view: { pressed: false } },
  { name: 'refused otherwise: an error', steps: [mic, joined('ptt'), down(), refuse('ptt_on', 'no_media')], mic: false, last: ['error:no_media'] },
  { name: 'floor refused, then the key released: nothing more to send', steps: [mic, joined('ptt'), down(), refuse('ptt_on', 'floor_busy'), up()], mic: false, sent: ['ptt_on'], last: [] },
  { name: 'a late grant after the release is ignored', steps: [mic, joined('ptt'), down(), up(), ack('ptt_on')], mic: false, sent: ['ptt_on', 'ptt_off'] },
  { name: 'a late refusal of an earlier press does not stop this one', steps: [mic, joined('ptt'), down(), up(), down(), ackOld('ptt_on', 1)], mic: true, sent: ['ptt_on', 'ptt_off', 'ptt_on'], last: [] },
  { name: 'the talk button, held with a pointer', steps: [mic, joined('ptt'), pointerDown], mic: true, sent: ['ptt_on'] },
  { name: 'the talk button, released', steps: [mic, joined('ptt'), pointerDown, ack('ptt_on'), pointerUp], mic: false, sent: ['ptt_on', 'ptt_off'] },
  { name: 'key and pointer together: talking until both let go', steps: [mic, joined('ptt'), down(), pointerDown, ack('ptt_on'), up()], mic: true, sent: ['ptt_on'] },
  { name: 'latch: talking without holding', steps: [mic, joined('ptt'), latch, ack('ptt_on')], mic: true, view: { latched: true, pressed: true } },
  { name: 'latch toggled off: not heard', steps: [mic, joined('ptt'), latch, ack('ptt_on'), latch], mic: false, sent: ['ptt_on', 'ptt_off'], view: { latched: false } },
  { name: 'latched, the key comes and goes: still talking', steps: [mic, joined('ptt'), latch, ack('ptt_on'), down(), up()], mic: true, sent: ['ptt_on'] },
  { name: 'a click without a pointer (assistive technology) latches', steps: [mic, joined('ptt'), { type: 'talk_click' }], mic: true, view: { latched: true } },
  { name: 'Space on the focused talk button holds it', steps: [mic, joined('ptt'), down('Space', { onTalkButton: true })], mic: true, last: ['prevent', 'clear', 'request:ptt_on'] },
  { name: 'Enter on the focused talk button holds it too', steps: [mic, joined('ptt'), down('Enter', { onTalkButton: true }), ack('ptt_on'), up('Enter', { onTalkButton: true })], mic: false, sent: ['ptt_on', 'ptt_off'] },
  { name: 'the talk button losing the focus releases it', steps: [mic, joined('ptt'), down('Space', { onTalkButton: true }), { type: 'button_blur' }], mic: false, sent: ['ptt_on', 'ptt_off'] },
  { name: 'the page losing the keyboard releases the key', steps: [mic, joined('ptt'), down(), { type: 'focus_lost' }], mic: false, sent: ['ptt_on', 'ptt_off'] },

  // -- the push-to-talk key never while typing, and only where it talks --
  { name: 'key in a text field: typing, not talking', steps: [mic, joined('ptt'), down('Space', { inTextField: true })], mic: false, sent: [], last: [] },
  { name: 'key with a modifier: a shortcut, not talking', steps: [mic, joined('ptt'), down('Space', { modifier: true })], mic: false, sent: [], last: [] },
  { name: 'key in an open room: Space keeps clicking buttons', steps: [mic, joined('open'), down()], mic: true, sent: [], last: [] },
  { name: 'key in a moderated room without being organizer: ignored', steps: [mic, joined('moderated'), down()], mic: false, sent: [], last: [] },
  { name: 'latch in a moderated room without being organizer: raise a hand', steps: [mic, joined('moderated'), latch], mic: false, sent: [], last: ['info:ptt.moderated'] },
  { name: 'another key: not push-to-talk', steps: [mic, joined('ptt'), down('KeyT')], mic: false, sent: [], last: [] },
  { name: 'an organizer in a moderated room has the talk button', steps: [mic, joined('moderated', { organizer: true })], mic: false, view: { showPTT: true, showHand: false, help: 'talk.moderated_organizer' } },
  { name: 'an organizer in a moderated room talks with the key', steps: [mic, joined('moderated', { organizer: true }), down(), ack('ptt_on')], mic: true, sent: ['ptt_on'], view: { help: 'talk.moderated_floor' } },

  // -- the key can be changed --
  { name: 'key capture: the next key becomes the push-to-talk key', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('KeyT')], mic: false, sent: [], last: ['prevent', 'save_key:KeyT'], view: { pttKey: 'KeyT', capturingKey: false } },
  { name: 'the new key talks, Space no longer does', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('KeyT'), up('KeyT'), down()], mic: false, sent: [] },
  { name: 'the new key talks', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('KeyT'), up('KeyT'), down('KeyT')], mic: true, sent: ['ptt_on'] },
  { name: 'key capture: Escape cancels', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('Escape')], last: ['prevent'], view: { pttKey: 'Space', capturingKey: false } },
  { name: 'key capture: Tab still moves the focus', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('Tab')], last: [], view: { capturingKey: true } },
  { name: 'a remembered key', steps: [mic, joined('ptt'), down('KeyT')], options: { pttKey: 'KeyT' }, mic: true, sent: ['ptt_on'] },

  // -- no microphone, muted --
  { name: 'no microphone: pressing says so', steps: [noMic, joined('ptt'), down()], mic: false, sent: [], last: ['prevent', 'error:ptt.no_mic'], view: { buttonsEnabled: false, help: 'talk.no_mic' } },
  { name: 'muted in a ptt room: pressing says so', steps: [mic, joined('ptt', { muted: true }), down()], mic: false, sent: [], last: ['prevent', 'error:ptt.muted'], view: { showMute: true } },

  // -- reconnecting disables the microphone --
  { name: 'connection lost while talking: not heard', steps: [mic, joined('ptt'), down(), ack('ptt_on'), disconnected], mic: false, view: { pressed: false, help: 'talk.offline' } },
  { name: 'connection lost while talking: no ptt_off to a dead socket on release', steps: [mic, joined('ptt'), down(), ack('ptt_on'), disconnected, up()], sent: ['ptt_on'], last: [] },
  { name: 'connection lost in an open room: not heard', steps: [mic, joined('open'), disconnected], mic: false },
  { name: 'reconnecting: the key does nothing', steps: [mic, joined('ptt'), disconnected, down()], mic: false, sent: [], last: [] },
  { name: 'back after a loss: heard again in an open room', steps: [mic, joined('open'), disconnected, joined('open', { rejoin: true })], mic: true, sent: [] },
  { name: 'back after a loss, muted: the mute is sent again', steps: [mic, joined('open'), toggleMute, selfMuted(true), disconnected, joined('open', { rejoin: true })], mic: false, sent: ['mute', 'mute'], last: ['request:mute(quiet)'] },

  // -- a room switched to open mic mutes us --
  { name: 'switched to open mic: muted, told why', steps: [mic, joined('ptt'), mode('open')], mic: false, sent: ['mute'], last: ['request:mute(quiet)', 'info:mode.now_open_muted'], view: { muted: true, showMute: true, showPTT: false } },
  { name: 'switched to open mic while talking: floor given back, muted', steps: [mic, joined('ptt'), down(), ack('ptt_on'), mode('open')], mic: false, sent: ['ptt_on', 'ptt_off', 'mute'] },
  { name: 'switched to open mic, already muted: just told', steps: [mic, joined('ptt', { muted: true }), mode('open')], mic: false, sent: [], last: ['info:mode.changed'] },
  { name: 'switched from open to push-to-talk: told, not heard', steps: [mic, joined('open'), mode('ptt')], mic: false, sent: [], last: ['info:mode.changed'] },
  { name: 'switched to moderated while talking: floor given back', steps: [mic, joined('ptt'), down(), ack('ptt_on'), mode('moderated')], mic: false, sent: ['ptt_on', 'ptt_off'] },
  { name: 'the same mode again: nothing', steps: [mic, joined('ptt'), mode('ptt')], sent: [], last: [] },

  // -- the floor --
  { name: 'moderated: granted the floor, heard and told', steps: [mic, joined('moderated'), floor(true)], mic: true, last: ['info:floor.granted'] },
  { name: 'moderated: granted while muted, told so, not heard', steps: [mic, joined('moderated', { muted: true }), floor(true)], mic: false, last: ['info:floor.granted_muted'] },
  { name: 'moderated: floor revoked, not heard, told', steps: [mic, joined('moderated'), floor(true), floor(false)], mic: false, last: ['info:floor.revoked'] },
  { name: 'ptt: an organizer took the floor while we talked', steps: [mic, joined('ptt'), down(), ack('ptt_on'), floor(true), floor(false)], mic: false, last: ['info:ptt.lost'], view: { pressed: false } },
  { name: 'ptt: the key released after losing the floor sends nothing', steps: [mic, joined('ptt'), down(), ack('ptt_on'), floor(true), floor(false), up()], sent: ['ptt_on'], last: [] },
  { name: 'a floor list still naming us after our ptt_off is not a grant', steps: [mic, joined('moderated', { organizer: true }), down(), ack('ptt_on'), up(), floor(true)], mic: false, last: [] },
  { name: 'once ptt_off is answered, a floor list naming us is a grant', steps: [mic, joined('moderated', { organizer: true }), down(), ack('ptt_on'), up(), ack('ptt_off'), floor(true)], mic: true },

  // -- an organizer's mute --
  { name: 'muted by an organizer while talking: floor given back, told', steps: [mic, joined('ptt'), down(), ack('ptt_on'), mutedBy(true)], mic: false, sent: ['ptt_on', 'ptt_off'], last: ['request:ptt_off', 'info:mute.muted_by'], view: { help: 'mute.by_organizer', showMute: true } },
  { name: 'muted by an organizer: the user cannot unmute', steps: [mic, joined('open'), mutedBy(true), toggleMute], mic: false, sent: [], last: ['error:mute.by_organizer'] },
  { name: 'muted by an organizer: pressing says why', steps: [mic, joined('ptt'), mutedBy(true), down()], mic: false, sent: [], last: ['prevent', 'error:mute.by_organizer'] },
  { name: 'unmuted by an organizer in an open room: the user turns the mic on', steps: [mic, joined('open'), mutedBy(true), mutedBy(false)], mic: false, last: ['clear', 'info:mute.unmuted_by_open'], view: { muted: true } },
  { name: 'unmuted by an organizer in an open room, then by the user: heard', steps: [mic, joined('open'), mutedBy(true), mutedBy(false), toggleMute], mic: true, sent: [] },
  { name: 'unmuted by an organizer in a ptt room: can talk again', steps: [mic, joined('ptt'), mutedBy(true), mutedBy(false), down()], mic: true, sent: ['ptt_on'] },
  { name: 'unmute refused as not allowed: it was an organizer', steps: [mic, joined('open', { muted: true }), toggleMute, refuse('unmute', 'not_allowed')], mic: false, last: ['error:mute.by_organizer'], view: { help: 'mute.by_organizer' } },
  { name: 'unmute failed otherwise: still muted, told', steps: [mic, joined('open', { muted: true }), toggleMute, refuse('unmute', 'closed')], mic: false, last: ['error:closed'] },
  { name: 'mute failed: told', steps: [mic, joined('open'), toggleMute, refuse('mute', 'closed')], last: ['error:closed'] },

  // -- a busy floor is shown, not asked for --
  { name: 'floor busy: the button says so and looks unavailable', steps: [mic, joined('ptt'), busy], mic: false, view: { busy: true, unavailable: true, label: 'ptt.busy' } },
  { name: 'floor busy on arrival', steps: [mic, joined('ptt', { busy: true })], view: { busy: true, label: 'ptt.busy' } },
  { name: 'floor busy: a press asks the server (ours is a moment old), the microphone off', steps: [mic, joined('ptt'), busy, down()], mic: false, sent: ['ptt_on'], last: ['prevent', 'clear', 'request:ptt_on'] },
  { name: 'floor busy, the server refuses: told who has it', steps: [mic, joined('ptt'), busy, pointerDown, refuse('ptt_on', 'floor_busy')], mic: false, last: ['busy'], view: { pressed: false, busy: true } },
  { name: 'floor busy as far as we knew, the server grants: heard', steps: [mic, joined('ptt'), busy, down(), ack('ptt_on')], mic: true, view: { pressed: true, label: 'ptt.talking' } },
  { name: 'floor busy, then free: told, and a press talks', steps: [mic, joined('ptt'), busy, down(), refuse('ptt_on', 'floor_busy'), up(), free], last: ['info:ptt.free'], view: { busy: false, label: 'ptt.label' } },
  { name: 'floor free again without a try: nothing said', steps: [mic, joined('ptt'), busy, free], last: [] },
  { name: 'floor free again: pressing talks', steps: [mic, joined('ptt'), busy, free, down()], mic: true, sent: ['ptt_on'] },
  { name: 'floor busy: an organizer takes it over (heard at once)', steps: [mic, joined('ptt', { organizer: true }), busy, down()], mic: true, sent: ['ptt_on'] },
  { name: 'floor busy: an organizer sees who, and may press', steps: [mic, joined('ptt', { organizer: true }), busy], view: { busy: true, unavailable: false, label: 'ptt.busy_take' } },
  { name: 'floor full with ourselves on it: not busy for us', steps: [mic, joined('ptt'), down(), ack('ptt_on'), floor(true, true)], mic: true, view: { busy: false, label: 'ptt.talking' } },
  { name: 'connection lost: the busy mark goes', steps: [mic, joined('ptt'), busy, disconnected], view: { busy: false } },

  // -- the latch says what it does --
  { name: 'latched: the latch says "Stop talking"', steps: [mic, joined('ptt'), latch], view: { latchLabel: 'ptt.latch_stop' } },
  { name: 'not latched: "Talk without holding"', steps: [mic, joined('ptt'), latch, latch], view: { latchLabel: 'ptt.latch' } },

  // -- offline, nothing can work --
  { name: 'offline: the talk controls are disabled', steps: [mic, joined('ptt'), disconnected], view: { online: false, buttonsEnabled: false } },
  { name: 'back online: enabled again', steps: [mic, joined('ptt'), disconnected, joined('ptt', { rejoin: true })], view: { online: true, buttonsEnabled: true } },

  // -- "I'm done": the floor holder gives it back --
  { name: 'moderated, on the floor: "I\'m done" and mute are offered, no hand', steps: [mic, joined('moderated'), floor(true)], view: { showDone: true, showMute: true, showHand: false } },
  { name: 'moderated, on the floor, done: not heard at once, the floor given back', steps: [mic, joined('moderated'), floor(true), giveBack], mic: false, sent: ['ptt_off'], last: ['request:ptt_off', 'info:floor.given_back'], view: { showDone: false, showHand: true } },
  { name: 'done: the floor list without us says nothing more', steps: [mic, joined('moderated'), floor(true), giveBack, floor(false)], mic: false, last: [] },
  { name: 'done: a floor list sent before our ptt_off is not a new grant', steps: [mic, joined('moderated'), floor(true), giveBack, floor(true)], mic: false, last: [] },
  { name: 'done, then granted again: heard', steps: [mic, joined('moderated'), floor(true), giveBack, ack('ptt_off'), floor(false), floor(true)], mic: true, last: ['info:floor.granted'] },
  { name: 'moderated, on the floor, muting ourselves: not heard, the floor kept', steps: [mic, joined('moderated'), floor(true), toggleMute], mic: false, sent: ['mute'], view: { showDone: true, showMute: true, muted: true } },
  { name: 'done without the floor: nothing', steps: [mic, joined('moderated'), giveBack], sent: [], last: [] },
  { name: 'done while offline: nothing to send', steps: [mic, joined('moderated'), floor(true), disconnected, giveBack], sent: [], last: [] },
  { name: 'an organizer has no "I\'m done" (the talk button releases)', steps: [mic, joined('moderated', { organizer: true }), floor(true)], view: { showDone: false } },

  // -- the key cannot be a shortcut's --
  { name: 'key capture: a shortcut\'s key is refused, the capture goes on', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('KeyM', { key: 'M' })], options: { reserved: new Set(['m']) }, last: ['prevent', 'info:ptt.key_reserved'], view: { pttKey: 'Space', capturingKey: true } },
  { name: 'key capture: then another key is taken', steps: [mic, joined('ptt'), { type: 'capture_key' }, down('KeyM', { key: 'm' }), down('KeyT', { key: 't' })], options: { reserved: new Set(['m']) }, last: ['prevent', 'save_key:KeyT'], view: { pttKey: 'KeyT', capturingKey: false } },
  { name: 'key capture cancelled (the settings closed)', steps: [mic, joined('ptt'), { type: 'capture_key' }, { type: 'cancel_capture' }, down()], mic: true, view: { capturingKey: false, pttKey: 'Space' } },

  // -- leaving --
  { name: 'left the room: nothing live, no controls', steps: [mic, joined('open'), { type: 'left' }], mic: false, view: null },
  { name: 'left while muted: the next room starts unmuted', steps: [mic, joined('open'), toggleMute, { type: 'left' }, joined('open')], mic: true },
];

for (const row of rules) {
  test(row.name, () => {
    const { m, sent, last } = play(row.steps, row.options);
    if ('mic' in row) assert.equal(m.micAllowed, row.mic, 'micAllowed');
    if ('sent' in row) assert.deepEqual(sent, row.sent, 'requests sent');
    if ('last' in row) assert.deepEqual(last, row.last, 'effects of the last step');
    if ('view' in row) {
      const v = m.view();
      if (row.view === null) assert.equal(v, null, 'view');
      else {
        assert.ok(v, 'view');
        for (const [k, want] of Object.entries(row.view)) assert.deepEqual(v[k], want, `view().${k}`);
      }
    }
  });
}

test('mode changes are told with the mode as a key to translate', () => {
  const m = new TalkMachine();
  m.handle(mic);
  m.handle(joined('open'));
  const fx = m.handle(mode('moderated'));
  assert.deepEqual(fx, [{ do: 'info', key: 'mode.changed', params: { mode: { key: 'mode.moderated' } } }]);
});

test('an organizer mute names the organizer, or says "an organizer"', () => {
  const m = new TalkMachine();
  m.handle(mic);
  m.handle(joined('open'));
  const named = m.handle(mutedBy(true, 'Chair')).find((e) => e.do === 'info');
  assert.deepEqual(named && named.params, { name: 'Chair' });
  const anonymous = m.handle({ type: 'muted', muted: false, byOrganizer: true }).find((e) => e.do === 'info');
  assert.deepEqual(anonymous && anonymous.params, { name: { key: 'role.organizer' } });
});

test('every request of the machine is a protocol message type', () => {
  const known = new Set(['ptt_on', 'ptt_off', 'mute', 'unmute']);
  for (const row of rules) {
    for (const type of play(row.steps, row.options).sent) assert.ok(known.has(type), `${row.name}: ${type}`);
  }
});
