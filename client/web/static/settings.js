// The room's audio settings (a dialog): the microphone (changed during
// the call, without rejoining: the sender's track is replaced), the
// output device where the browser can choose one (setSinkId), each
// voice's volume (local), and the push-to-talk key.

import { t } from './i18n.js';
import { $, h, show } from './dom.js';
import { openDialog } from './dialogs.js';
import { listDevices, sinkSupported } from './media.js';

/** @import { AudioOut } from './media.js' */
/** @import { Roster } from './roster.js' */
/** @import { Volumes } from './volumes.js' */

const OUTPUT_STORE = 'palabre.output';

// volumeSupported: iOS plays every element at full volume (volume is
// read-only there).
const volumeSupported = (() => {
  try {
    const a = document.createElement('audio');
    a.volume = 0.5;
    return a.volume === 0.5;
  } catch {
    return false;
  }
})();

/** @typedef {MediaDevices & {selectAudioOutput?: () => Promise<MediaDeviceInfo>}} OutputDevices */

export class Settings {
  /**
   * fillMics(select): lists the microphones in a select (the app's).
   * chooseMic(id): the user picked another microphone.
   * onVolume(): a volume changed: apply them to the slots.
   * onCaptureKey(), onCancelCapture(): the push-to-talk key's capture.
   * @param {{out: AudioOut, volumes: Volumes, roster: Roster,
   *   fillMics: (sel: HTMLSelectElement) => Promise<void>, chooseMic: (id: string) => void,
   *   onVolume: () => void, onCaptureKey: () => void, onCancelCapture: () => void}} deps
   */
  constructor(deps) {
    this.d = deps;
    this.outputError = '';
  }

  get dialog() {
    return $('settings', HTMLDialogElement);
  }

  async open() {
    this.renderVolumes();
    this.renderOutputHelp();
    openDialog(this.dialog);
    await Promise.all([this.d.fillMics($('settings-mic', HTMLSelectElement)), this.fillOutputs()]);
  }

  // render redraws the open dialog (a new language).
  render() {
    this.renderVolumes();
    this.renderOutputHelp();
    if (sinkSupported()) this.fillOutputs();
  }

  // restoreOutput plays on the remembered output (at joining).
  restoreOutput() {
    const id = stored();
    if (!id || !sinkSupported()) return;
    this.d.out.setSink(id).catch(() => {
      // gone, or not allowed: the default output it is
    });
  }

  async fillOutputs() {
    const sel = $('settings-output', HTMLSelectElement);
    const choose = $('settings-output-choose');
    const devs = /** @type {OutputDevices} */ (navigator.mediaDevices);
    if (!sinkSupported()) {
      show(sel, false);
      show(choose, false);
      this.renderOutputHelp();
      return;
    }
    /** @type {MediaDeviceInfo[]} */
    let outputs = [];
    try {
      outputs = await listDevices('audiooutput');
    } catch {
      // none listed
    }
    sel.replaceChildren(h('option', { value: '' }, t('settings.output_default')),
      ...outputs.filter((d) => d.deviceId !== 'default').map((d, i) => h('option', { value: d.deviceId }, d.label || t('settings.output_unnamed', { n: i + 1 }))));
    const cur = this.d.out.sinkID;
    if (cur && ![...sel.options].some((o) => o.value === cur)) sel.append(h('option', { value: cur }, t('settings.output_chosen')));
    sel.value = cur;
    show(sel, true);
    // Firefox lists no outputs: it asks the user to pick one.
    show(choose, outputs.length === 0 && !!devs && typeof devs.selectAudioOutput === 'function');
    this.renderOutputHelp();
  }

  renderOutputHelp() {
    let key = '';
    if (this.outputError) key = this.outputError;
    else if (!sinkSupported()) key = 'settings.output_unsupported';
    else key = 'settings.output_help';
    $('settings-output-help').textContent = t(key);
  }

  /** @param {string} id */
  async setOutput(id) {
    try {
      await this.d.out.setSink(id);
      this.outputError = '';
      try {
        if (id) localStorage.setItem(OUTPUT_STORE, id);
        else localStorage.removeItem(OUTPUT_STORE);
      } catch {
        // not remembered, that's all
      }
    } catch {
      this.outputError = 'settings.output_failed';
      $('settings-output', HTMLSelectElement).value = this.d.out.sinkID;
    }
    this.renderOutputHelp();
  }

  // renderVolumes: one slider per other participant, kept by id (a
  // slider must not be rebuilt under the pointer).
  renderVolumes() {
    const roster = this.d.roster;
    const self = roster.self;
    const list = $('volumes');
    /** @type {Map<string, HTMLElement>} */
    const rows = new Map();
    for (const li of list.querySelectorAll('li[data-participant-id]')) rows.set(/** @type {HTMLElement} */ (li).dataset.participantId || '', /** @type {HTMLElement} */ (li));
    const others = [...roster.participants.values()].filter((p) => !self || p.id !== self.id);
    const want = others.map((p) => {
      let li = rows.get(p.id);
      if (!li) {
        const id = 'volume-' + p.id;
        li = h('li', { 'data-participant-id': p.id },
          h('label', { for: id }),
          h('input', { id, type: 'range', min: 0, max: 100, step: 5, 'data-participant-id': p.id }),
          h('output', { for: id }));
      }
      const v = Math.round(this.d.volumes.get(p.id, p.name) * 100);
      const input = /** @type {HTMLInputElement} */ (li.querySelector('input'));
      /** @type {HTMLElement} */ (li.querySelector('label')).textContent = p.name;
      if (document.activeElement !== input) input.value = String(v);
      input.setAttribute('aria-valuetext', t('settings.volume_value', { n: v }));
      input.disabled = !volumeSupported;
      /** @type {HTMLElement} */ (li.querySelector('output')).textContent = t('settings.volume_value', { n: v });
      return li;
    });
    if (want.length !== list.children.length || want.some((li, i) => list.children[i] !== li)) list.replaceChildren(...want);
    show($('volumes-empty'), others.length === 0);
    if (!volumeSupported) $('volumes-empty').textContent = t('settings.volumes_unsupported');
    show($('volumes-empty'), others.length === 0 || !volumeSupported);
  }

  bind() {
    $('settings-open').addEventListener('click', () => this.open());
    $('settings-mic').addEventListener('change', () => this.d.chooseMic($('settings-mic', HTMLSelectElement).value));
    $('settings-output').addEventListener('change', () => this.setOutput($('settings-output', HTMLSelectElement).value));
    $('settings-output-choose').addEventListener('click', async () => {
      const devs = /** @type {OutputDevices} */ (navigator.mediaDevices);
      if (!devs || typeof devs.selectAudioOutput !== 'function') return;
      try {
        const d = await devs.selectAudioOutput();
        await this.setOutput(d.deviceId);
        await this.fillOutputs();
      } catch {
        // the user said no
      }
    });
    $('volumes').addEventListener('input', (e) => {
      const input = e.target;
      if (!(input instanceof HTMLInputElement) || !input.dataset.participantId) return;
      const id = input.dataset.participantId;
      this.d.volumes.set(id, this.d.roster.name(id), Number(input.value) / 100);
      this.d.onVolume();
      this.renderVolumes();
    });
    $('ptt-key').addEventListener('click', () => this.d.onCaptureKey());
    this.dialog.addEventListener('close', () => this.d.onCancelCapture());
  }
}

/** @returns {string} the output device chosen before ('' the default) */
function stored() {
  try {
    return localStorage.getItem(OUTPUT_STORE) || '';
  } catch {
    return '';
  }
}
