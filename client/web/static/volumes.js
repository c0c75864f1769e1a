// Volumes: how loud each voice plays here (a local choice: the server and
// the others know nothing of it). The audio slots are <audio> elements
// whose current voice the speaking events name (roster.slots); each slot
// plays at its voice's volume. Pure; test/volumes.test.js runs it under
// Node.
//
// A volume is kept per participant id for the room's life, and by name
// too: someone whose connection dropped comes back with a new id, and
// their volume follows them.

export const DEFAULT_VOLUME = 1;

export class Volumes {
  /** @type {Map<string, number>} participant id → 0 … 1 */
  byID = new Map();
  /** @type {Map<string, number>} display name → 0 … 1 */
  byName = new Map();

  clear() {
    this.byID.clear();
    this.byName.clear();
  }

  /**
   * @param {string} id @param {string} name @param {number} volume 0 … 1
   * @returns {number} the volume kept (clamped)
   */
  set(id, name, volume) {
    const v = Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : DEFAULT_VOLUME;
    this.byID.set(id, v);
    if (name) this.byName.set(name, v);
    return v;
  }

  /** @param {string} id @param {string} name @returns {number} */
  get(id, name) {
    const v = this.byID.get(id);
    if (v !== undefined) return v;
    const n = name ? this.byName.get(name) : undefined;
    return n !== undefined ? n : DEFAULT_VOLUME;
  }

  /**
   * slotVolumes: the volume each slot plays at, from who is heard on it.
   * A quiet slot plays at the default (its next voice is not known yet).
   * @param {Map<number, string>} slots slot → participant id ('' quiet)
   * @param {(id: string) => string} name a participant's name
   * @returns {Map<number, number>}
   */
  slotVolumes(slots, name) {
    /** @type {Map<number, number>} */
    const out = new Map();
    for (const [slot, id] of slots) out.set(slot, id ? this.get(id, name(id)) : DEFAULT_VOLUME);
    return out;
  }
}
