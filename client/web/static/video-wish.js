// What we ask the server to send on each video slot (video_wish,
// docs/video.md "Wishes"): off, low (a small tile: the lowest layer is
// enough) or high (a large tile: as much as the link allows). A slot
// whose tile is not shown, scrolled away, or in a hidden page costs
// nothing; "audio only" is every slot off.
// Pure (test/video-wish.test.js): the clock and the timers are passed in.

/**
 * @typedef {'off' | 'low' | 'high'} Level
 * @typedef {{slot: number, kind: 'camera' | 'screen', level: Level}} Wish
 * @typedef {{
 *   occupied: boolean, shown: boolean, visible: boolean,
 *   width: number, dpr: number,
 * }} TileState
 *   occupied: the slot carries someone (an empty slot's wish is what a
 *   newcomer's tile would get: low); shown: the layout shows its tile;
 *   visible: the tile is on screen (IntersectionObserver); width: its
 *   width in CSS pixels; dpr: devicePixelRatio
 */

// A tile this wide in device pixels, or wider, is worth more than the
// quarter layer (320×180 of a 1280×720 camera).
export const HIGH_MIN_WIDTH = 400;
// Wishes go out at most this often (ms): a window being resized changes
// them at every frame.
export const WISH_INTERVAL = 500;

/**
 * level is one slot's wish.
 * @param {TileState} tile @param {{pageHidden: boolean, audioOnly: boolean}} page
 * @returns {Level}
 */
export function level(tile, { pageHidden, audioOnly }) {
  if (audioOnly || pageHidden) return 'off';
  if (!tile.occupied) return 'low';
  if (!tile.shown || !tile.visible || tile.width <= 0) return 'off';
  return tile.width * (tile.dpr || 1) >= HIGH_MIN_WIDTH ? 'high' : 'low';
}

/**
 * sameWishes: the two lists ask the same.
 * @param {Wish[] | null} a @param {Wish[] | null} b
 */
export function sameWishes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((w, i) => w.slot === b[i].slot && w.kind === b[i].kind && w.level === b[i].level);
}

/**
 * WishSender sends the wishes when they change, at most once per
 * interval: the latest wishes win, and the last change always goes out.
 */
export class WishSender {
  /**
   * send: sends one video_wish; a rejection means it may not have
   * arrived (it is sent again at the next change).
   * @param {{send: (w: Wish[]) => (Promise<unknown> | void), interval?: number,
   *   now?: () => number,
   *   setTimer?: (f: () => void, ms: number) => unknown, clearTimer?: (t: unknown) => void}} options
   */
  constructor({ send, interval = WISH_INTERVAL, now = () => performance.now(),
    setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(/** @type {number} */ (t)) }) {
    this.sendFn = send;
    this.interval = interval;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    /** @type {Wish[] | null} what the server was last told */
    this.sent = null;
    /** @type {Wish[] | null} waiting for the interval to pass */
    this.pending = null;
    this.lastAt = -Infinity;
    /** @type {unknown} */
    this.timer = null;
  }

  /** @param {Wish[]} wishes the wishes now */
  set(wishes) {
    if (sameWishes(wishes, this.pending || this.sent)) return;
    this.pending = wishes;
    const wait = this.lastAt + this.interval - this.now();
    if (wait <= 0) {
      this.flush();
    } else if (this.timer === null) {
      this.timer = this.setTimer(() => {
        this.timer = null;
        this.flush();
      }, wait);
    }
  }

  flush() {
    const w = this.pending;
    this.pending = null;
    if (!w || sameWishes(w, this.sent)) return;
    this.sent = w;
    this.lastAt = this.now();
    const p = this.sendFn(w);
    if (p && typeof p.catch === 'function') {
      p.catch(() => {
        if (this.sent === w) this.sent = null;
      });
    }
  }

  // reset forgets what was sent (a new connection knows nothing).
  reset() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.sent = null;
    this.pending = null;
    this.lastAt = -Infinity;
  }
}
