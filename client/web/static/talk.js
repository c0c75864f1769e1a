// The talk machine: may the user be heard right now? It holds push-to-talk,
// mute and floor as the user and the server left them, and nothing else:
// no DOM, no WebSocket, no clock, no words (only dictionary keys), so that
// test/talk.test.js runs it under Node.
//
// Inputs are events (TalkEvent): a key, the talk button, the latch, a
// server reply or refusal, a floor, mute or mode change, the connection
// going up or down. handle(event) updates the state and returns what the
// caller must do (Effect): send a request (and hand its reply back as a
// 'reply' event), show a notice, swallow the key press, remember the key.
// micAllowed and view() are the outputs the page draws.
//
// The rules are those of client/web/README.md, "Decisions": the microphone
// is live only when the user may be heard; the push-to-talk key never
// fires while typing; a room switched to open mic mutes us; a refused
// floor or a lost connection turns the microphone off; a busy floor shows
// on the button (who holds it), and a press then asks the server (whose
// floor may be free already: ours is a moment old) with the microphone
// off until it agrees; the holder of a moderated room's floor can give
// it back.

/** @import { Mode } from './protocol.js' */

/** What holds push-to-talk down: the key, a pointer on the talk button,
 * Space or Enter on the focused button, or the latch.
 * @typedef {'key' | 'pointer' | 'button' | 'latch'} Holder */

/** @import { Param } from './i18n.js' */

/**
 * @typedef {{do: 'request', msg: {type: string}, seq: number, quiet: boolean}} Request
 *   send msg; hand the outcome back as {type: 'reply', to: this, error?}.
 *   seq orders push-to-talk requests; quiet: a failure needs no notice.
 * @typedef {Request
 *   | {do: 'info', key: string, params?: Record<string, Param>}
 *   | {do: 'error', error: string | {code: string, message?: string}}
 *   | {do: 'clear_notices'}
 *   | {do: 'prevent_default'}
 *   | {do: 'busy'}
 *   | {do: 'save_key', code: string}} Effect
 *   error: a dictionary key or the server's refusal. prevent_default: the
 *   key press was ours. busy: a press while others held the floor was
 *   refused (say who has it). save_key: remember the new push-to-talk key.
 */

/**
 * A key as the machine sees it. onTalkButton: the talk button has the
 * focus; inTextField: a text field has it; modifier: Ctrl, Alt or Meta.
 * @typedef {{code: string, key?: string, repeat?: boolean, onTalkButton?: boolean,
 *   inTextField?: boolean, modifier?: boolean}} Key
 *   key: the character it types (KeyboardEvent.key), code: its place
 *   inTextField is also true while a dialog (settings, help) is open.
 */

/**
 * @typedef {{type: 'joined', mode: Mode, organizer: boolean, muted: boolean, onFloor: boolean, rejoin: boolean, busy?: boolean}
 *   | {type: 'disconnected'} | {type: 'left'}
 *   | {type: 'mic', present: boolean}
 *   | {type: 'mode', mode: Mode}
 *   | {type: 'floor', onFloor: boolean, busy?: boolean}
 *   | {type: 'muted', muted: boolean, byOrganizer: boolean, by?: Param}
 *   | {type: 'self', muted: boolean}
 *   | ({type: 'key_down'} & Key) | ({type: 'key_up'} & Key)
 *   | {type: 'pointer_down'} | {type: 'pointer_up'} | {type: 'button_blur'} | {type: 'focus_lost'}
 *   | {type: 'talk_click'} | {type: 'latch_toggle'} | {type: 'capture_key'} | {type: 'cancel_capture'}
 *   | {type: 'toggle_mute'} | {type: 'give_back'}
 *   | {type: 'reply', to: Request, error?: {code: string, message?: string}}} TalkEvent
 *
 * joined: we are in the room (again, when rejoin). disconnected: the
 * connection is lost. left: we left the room; forget it. mic: whether
 * there is a microphone. mode: the room's mode changed. floor: whether
 * we are in the floor list; busy: the others hold every place on it (a
 * press would be refused). muted: our own 'muted' event (by an organizer
 * or not; by names them). self: our participant record changed (any
 * event). talk_click: a click on the talk button without a pointer
 * (assistive technology). focus_lost: the page lost the keyboard (a key
 * released meanwhile never sends keyup). give_back: "I'm done", the
 * holder of a moderated room's floor gives it back.
 */

/** Keys that press the focused talk button. */
const BUTTON_KEYS = new Set(['Space', 'Enter', 'NumpadEnter']);

export const DEFAULT_PTT_KEY = 'Space';

export class TalkMachine {
  // Kept while the page lives.
  capturingKey = false; // the next key press becomes pttKey
  hasMic = false;
  pttSeq = 0; // numbers push-to-talk requests: a stale reply is ignored

  // Kept while in a room (see forget).
  /** @type {Mode | null} null: not in a room */
  mode = null;
  organizer = false;
  connected = false;
  serverMuted = false; // our participant record says muted
  wantMuted = false; // the user's own mute, kept across reconnects
  orgMuted = false; // an organizer muted us: we cannot unmute ourselves
  /** @type {Set<Holder>} */
  held = new Set();
  talking = false; // ptt_on sent and no ptt_off since
  pttPending = false; // ptt_on sent, no reply yet
  pttOffPending = false; // ptt_off sent, no reply yet
  onFloor = false;
  floorBusy = false; // the others hold every place on the floor
  triedBusy = false; // pressed while busy: say when the floor frees
  pressedBusy = false; // the pending ptt_on was asked while busy

  /**
   * @param {{pttKey?: string, reserved?: Set<string>}} [options]
   *   reserved: characters (lower case) whose keys cannot become the
   *   push-to-talk key: the shortcuts'
   */
  constructor({ pttKey = DEFAULT_PTT_KEY, reserved = new Set() } = {}) {
    this.pttKey = pttKey;
    this.reserved = reserved;
  }

  // forget returns to "not in a room" (after leaving).
  forget() {
    this.mode = null;
    this.organizer = this.connected = false;
    this.serverMuted = this.wantMuted = this.orgMuted = false;
    this.held.clear();
    this.talking = this.pttPending = this.pttOffPending = false;
    this.onFloor = this.floorBusy = this.triedBusy = this.pressedBusy = false;
  }

  /**
   * handle applies one event and returns what to do, in order.
   * @param {TalkEvent} ev
   * @returns {Effect[]}
   */
  handle(ev) {
    /** @type {Effect[]} */
    const fx = [];
    switch (ev.type) {
      case 'joined':
        this.mode = ev.mode;
        this.organizer = ev.organizer;
        this.serverMuted = ev.muted;
        this.connected = true;
        this.held.clear();
        this.talking = this.pttPending = this.pttOffPending = false;
        this.onFloor = ev.onFloor;
        this.floorBusy = !!ev.busy;
        this.triedBusy = this.pressedBusy = false;
        // The server forgot our mute: tell it again, so others see it.
        if (ev.rejoin && (this.wantMuted || this.orgMuted)) fx.push(request('mute', 0, true));
        break;
      case 'disconnected':
        // Nobody hears us; stop talking.
        this.connected = false;
        this.held.clear();
        this.talking = this.pttPending = this.pttOffPending = false;
        this.onFloor = this.floorBusy = this.triedBusy = this.pressedBusy = false;
        break;
      case 'left':
        this.forget();
        break;
      case 'mic':
        this.hasMic = ev.present;
        break;
      case 'mode':
        this.changeMode(ev.mode, fx);
        break;
      case 'floor':
        this.floorChanged(ev.onFloor, fx);
        this.busyChanged(!!ev.busy, fx);
        break;
      case 'muted':
        this.mutedEvent(ev.muted, ev.byOrganizer, ev.by || { key: 'role.organizer' }, fx);
        break;
      case 'self':
        this.serverMuted = ev.muted;
        break;
      case 'key_down':
        this.keyDown(ev, fx);
        break;
      case 'key_up':
        this.keyUp(ev, fx);
        break;
      case 'pointer_down':
        this.press('pointer', fx);
        break;
      case 'pointer_up':
        this.release('pointer', fx);
        break;
      case 'button_blur':
        this.release('button', fx);
        break;
      case 'focus_lost':
        this.release('key', fx);
        break;
      case 'talk_click':
        if (!this.held.has('button')) this.toggleLatch(fx);
        break;
      case 'latch_toggle':
        this.toggleLatch(fx);
        break;
      case 'capture_key':
        this.capturingKey = true;
        break;
      case 'cancel_capture':
        this.capturingKey = false;
        break;
      case 'toggle_mute':
        this.toggleMute(fx);
        break;
      case 'give_back':
        this.giveBack(fx);
        break;
      case 'reply':
        this.reply(ev.to, ev.error, fx);
        break;
    }
    return fx;
  }

  // ---- outputs ----------------------------------------------------------

  isMuted() {
    return this.wantMuted || this.orgMuted || this.serverMuted;
  }

  // canPTT: the room gives this user a talk button.
  canPTT() {
    return this.mode === 'ptt' || (this.mode === 'moderated' && this.organizer);
  }

  // micAllowed: may the user be heard right now? The microphone track is
  // enabled exactly when this is true.
  get micAllowed() {
    if (!this.connected || !this.hasMic || this.isMuted()) return false;
    switch (this.mode) {
      case 'open':
        return true;
      case 'ptt':
        // Enabled at the press already: the server keeps a pre-roll. Not
        // while others hold the floor: only once the server agrees.
        return this.held.size > 0 && (this.onFloor || (this.pttPending && !this.pressedBusy));
      case 'moderated':
        return this.onFloor || (this.held.size > 0 && this.pttPending);
      default:
        return false;
    }
  }

  /**
   * view is what the talk controls show (texts as dictionary keys), or
   * null when not in a room.
   */
  view() {
    if (!this.mode) return null;
    const muted = this.isMuted();
    let help;
    if (!this.connected) help = 'talk.offline';
    else if (!this.hasMic) help = 'talk.no_mic';
    else if (this.orgMuted) help = 'mute.by_organizer';
    else if (this.mode === 'open') help = muted ? 'talk.open_muted' : 'talk.open';
    else if (this.mode === 'ptt') help = 'talk.ptt';
    else if (this.onFloor) help = 'talk.moderated_floor';
    else help = this.organizer ? 'talk.moderated_organizer' : 'talk.moderated';
    const pressed = this.held.size > 0;
    // Others hold the floor: the button says who, and looks unavailable
    // (an organizer's press takes the floor over).
    const busy = this.connected && this.floorBusy && !pressed && !this.onFloor && this.canPTT();
    let label = 'ptt.label';
    if (pressed) label = 'ptt.talking';
    else if (busy) label = this.organizer ? 'ptt.busy_take' : 'ptt.busy';
    return {
      mode: this.mode,
      online: this.connected,
      showPTT: this.canPTT(),
      pressed,
      latched: this.held.has('latch'),
      label,
      busy,
      unavailable: busy && !this.organizer,
      latchLabel: this.held.has('latch') ? 'ptt.latch_stop' : 'ptt.latch',
      buttonsEnabled: this.hasMic && this.connected,
      capturingKey: this.capturingKey,
      pttKey: this.pttKey,
      // The mute button: open rooms, whenever we are muted (to get out),
      // and for the holder of a moderated room's floor.
      showMute: this.hasMic && (this.mode === 'open' || muted || (this.mode === 'moderated' && this.onFloor)),
      muted,
      // Organizers talk with the button; the others raise a hand, and
      // give the floor back when done.
      showHand: this.mode === 'moderated' && !this.organizer && !this.onFloor,
      showDone: this.connected && this.mode === 'moderated' && !this.organizer && this.onFloor,
      help,
    };
  }

  // ---- push-to-talk -------------------------------------------------------

  /** @param {Key} k @param {Effect[]} fx */
  keyDown(k, fx) {
    if (this.capturingKey) {
      if (k.code === 'Tab') return; // keyboard users can still move on
      fx.push({ do: 'prevent_default' });
      if (this.reserved.has((k.key || '').toLowerCase())) {
        // A shortcut's key: ask for another one.
        fx.push({ do: 'info', key: 'ptt.key_reserved' });
        return;
      }
      this.capturingKey = false;
      if (k.code !== 'Escape' && k.code) {
        this.pttKey = k.code;
        fx.push({ do: 'save_key', code: k.code });
      }
      return;
    }
    if (k.onTalkButton && BUTTON_KEYS.has(k.code)) {
      // Space or Enter held on the focused talk button: press and hold.
      fx.push({ do: 'prevent_default' });
      if (!k.repeat) this.press('button', fx);
      return;
    }
    // Only where push-to-talk exists: elsewhere Space must keep activating
    // the focused button (mute, raise hand) for keyboard users. Never while
    // typing, nor with a modifier (a shortcut).
    if (k.code !== this.pttKey || !this.connected || !this.canPTT()) return;
    if (k.inTextField || k.modifier) return;
    // Space would also scroll the page or click the focused button.
    fx.push({ do: 'prevent_default' });
    if (!k.repeat) this.press('key', fx);
  }

  /** @param {Key} k @param {Effect[]} fx */
  keyUp(k, fx) {
    let ours = false;
    if (k.onTalkButton && BUTTON_KEYS.has(k.code)) {
      ours = true;
      this.release('button', fx);
    }
    if (k.code === this.pttKey && this.held.has('key')) {
      ours = true;
      this.release('key', fx);
    }
    if (ours) fx.unshift({ do: 'prevent_default' });
  }

  /** @param {Effect[]} fx */
  toggleLatch(fx) {
    if (this.held.has('latch')) this.release('latch', fx);
    else this.press('latch', fx);
  }

  /** @param {Holder} source @param {Effect[]} fx */
  press(source, fx) {
    if (!this.connected || !this.mode) return;
    if (!this.canPTT()) {
      if (this.mode === 'moderated') fx.push({ do: 'info', key: 'ptt.moderated' });
      return;
    }
    if (!this.hasMic) {
      fx.push({ do: 'error', error: 'ptt.no_mic' });
      return;
    }
    if (this.isMuted()) {
      fx.push({ do: 'error', error: this.orgMuted ? 'mute.by_organizer' : 'ptt.muted' });
      return;
    }
    const already = this.held.size > 0;
    this.held.add(source);
    if (already) return;
    // Others hold the floor, as far as we know: ask anyway (it may have
    // just freed), the microphone off until the server agrees.
    this.pressedBusy = this.floorBusy && !this.onFloor && !this.organizer;
    if (this.pressedBusy) this.triedBusy = true;
    fx.push({ do: 'clear_notices' }); // an old "floor busy" or "floor lost" is over
    this.talking = true;
    this.pttPending = true;
    this.pttOffPending = false;
    fx.push(request('ptt_on', ++this.pttSeq));
  }

  /** @param {Holder} source @param {Effect[]} fx */
  release(source, fx) {
    if (!this.held.delete(source)) return;
    if (this.held.size === 0) this.stopTalking(fx);
  }

  /**
   * stopTalking releases push-to-talk entirely and tells the server.
   * @param {Effect[]} fx
   */
  stopTalking(fx) {
    const wasTalking = this.talking;
    this.talking = false;
    this.held.clear();
    const seq = ++this.pttSeq;
    this.pttPending = false;
    if (this.mode !== 'open' && wasTalking) this.onFloor = false;
    if (wasTalking && this.connected) {
      this.pttOffPending = true;
      fx.push(request('ptt_off', seq));
    }
  }

  /**
   * giveBack: "I'm done". The holder of a moderated room's floor gives it
   * back; the microphone goes off at once.
   * @param {Effect[]} fx
   */
  giveBack(fx) {
    if (!this.connected || this.mode !== 'moderated' || this.organizer || !this.onFloor) return;
    this.onFloor = false;
    this.pttOffPending = true;
    fx.push(request('ptt_off', ++this.pttSeq));
    fx.push({ do: 'info', key: 'floor.given_back' });
  }

  // ---- server events -------------------------------------------------------

  /** @param {boolean} busy @param {Effect[]} fx */
  busyChanged(busy, fx) {
    this.floorBusy = busy;
    if (busy || !this.triedBusy) return;
    this.triedBusy = false;
    if (this.connected && this.canPTT() && this.held.size === 0) fx.push({ do: 'info', key: 'ptt.free' });
  }

  /** @param {boolean} inList @param {Effect[]} fx */
  floorChanged(inList, fx) {
    if (!this.mode) return;
    const was = this.onFloor;
    // A floor list sent before our ptt_off was handled still names us:
    // don't take it as a new grant.
    if (!(inList && this.pttOffPending && this.held.size === 0)) this.onFloor = inList;
    if (was && !this.onFloor) {
      if (this.held.size > 0 && !this.pttPending) {
        // An organizer took the floor from us while we were talking.
        this.held.clear();
        this.talking = false;
        fx.push({ do: 'info', key: 'ptt.lost' });
      } else if (this.held.size === 0 && this.mode === 'moderated') {
        fx.push({ do: 'info', key: 'floor.revoked' });
      }
    } else if (!was && this.onFloor && this.held.size === 0 && this.mode === 'moderated') {
      fx.push({ do: 'info', key: this.isMuted() ? 'floor.granted_muted' : 'floor.granted' });
    }
  }

  /**
   * @param {boolean} muted @param {boolean} byOrganizer
   * @param {Param} by the organizer's name @param {Effect[]} fx
   */
  mutedEvent(muted, byOrganizer, by, fx) {
    if (!this.mode) return;
    this.serverMuted = muted;
    if (!byOrganizer) {
      if (!muted) this.orgMuted = false;
      return;
    }
    this.orgMuted = muted;
    if (muted) {
      // Keep our own mute too: when the organizer lifts theirs, the user
      // turns the microphone back on themselves (in open rooms).
      this.wantMuted = true;
      // A muted holder keeps the floor on the server: give it back.
      this.stopTalking(fx);
      fx.push({ do: 'info', key: 'mute.muted_by', params: { name: by } });
    } else {
      if (this.mode !== 'open') this.wantMuted = false;
      fx.push({ do: 'clear_notices' }); // "an organizer muted you" is over
      fx.push({ do: 'info', key: this.mode === 'open' ? 'mute.unmuted_by_open' : 'mute.unmuted_by', params: { name: by } });
    }
  }

  /** @param {Mode} mode @param {Effect[]} fx */
  changeMode(mode, fx) {
    const old = this.mode;
    this.mode = mode;
    if (!old || old === mode) return;
    this.stopTalking(fx);
    if (mode === 'open' && !this.isMuted()) {
      // Open mic would make everyone audible without asking: mute
      // ourselves and let the user decide.
      this.wantMuted = true;
      fx.push(request('mute', 0, true));
      fx.push({ do: 'info', key: 'mode.now_open_muted' });
    } else {
      fx.push({ do: 'info', key: 'mode.changed', params: { mode: { key: 'mode.' + mode } } });
    }
  }

  // ---- mute ----------------------------------------------------------------

  /** @param {Effect[]} fx */
  toggleMute(fx) {
    if (!this.mode) return;
    if (!this.isMuted()) {
      this.wantMuted = true;
      this.stopTalking(fx);
      fx.push(request('mute', 0, false));
      return;
    }
    if (this.orgMuted) {
      fx.push({ do: 'error', error: 'mute.by_organizer' });
      return;
    }
    this.wantMuted = false;
    if (this.serverMuted) fx.push(request('unmute', 0, false));
  }

  // ---- replies ---------------------------------------------------------------

  /**
   * @param {Request} to
   * @param {{code: string, message?: string} | undefined} error
   * @param {Effect[]} fx
   */
  reply(to, error, fx) {
    switch (to.msg.type) {
      case 'ptt_on':
        if (to.seq !== this.pttSeq) return; // released (or pressed again) since
        this.pttPending = false;
        this.pressedBusy = false;
        if (error) {
          // Refused (floor busy, not allowed, connection lost): let go.
          this.talking = false;
          this.held.clear();
          if (error.code === 'floor_busy') {
            // The button says who has it already: say it, no alarm.
            this.triedBusy = true;
            fx.push({ do: 'busy' });
          } else {
            fx.push({ do: 'error', error });
          }
        } else if (this.held.size > 0) {
          this.onFloor = true;
        }
        break;
      case 'ptt_off':
        if (to.seq === this.pttSeq) this.pttOffPending = false;
        break;
      case 'unmute':
        if (!error) return;
        if (error.code === 'not_allowed') {
          this.orgMuted = true;
          fx.push({ do: 'error', error: 'mute.by_organizer' });
        } else {
          this.wantMuted = true;
          fx.push({ do: 'error', error });
        }
        break;
      case 'mute':
        if (error && !to.quiet) fx.push({ do: 'error', error });
        break;
    }
  }
}

/**
 * @param {string} type @param {number} seq @param {boolean} [quiet]
 * @returns {Request}
 */
function request(type, seq, quiet = false) {
  return { do: 'request', msg: { type }, seq, quiet };
}
