// The video grid's layout: which tiles show, which one is large, in how
// many columns. Pure (test/video-layout.test.js): the room's video code
// (room-video.js) measures the stage and draws what this decides.
//
// - A screen share, when there is one, is large, the cameras beside it.
// - Otherwise the cameras are tiles of one size ("grid"), or the one who
//   spoke last is large ("speaker").
// - Phones show fewer tiles: how many depends on the stage's width. The
//   cameras that do not fit are the ones heard least recently (a hidden
//   tile's slot is wished off, so it costs no bandwidth).
// - Our own camera (self view) is a tile of the grid, last; on a phone
//   it is a small picture over the stage instead, to leave the room to
//   the others.

/**
 * @typedef {'grid' | 'speaker'} View
 * @typedef {{key: string, participant: string, spokeAt: number, speaking: boolean}} Camera
 *   a camera slot that carries someone: key names its tile, spokeAt when
 *   that person was last heard (0: never), speaking: heard now
 * @typedef {{
 *   width: number, cameras: Camera[], screen: string | null, self: string | null,
 *   view: View,
 * }} LayoutInput
 *   width: the stage's width in CSS pixels; screen: the key of the screen
 *   share's tile (ours or another's) or null; self: our camera's tile key
 *   or null (camera off)
 * @typedef {{
 *   main: string | null, tiles: string[], hidden: string[], columns: number,
 *   selfSmall: boolean,
 * }} Layout
 *   main: the large tile, if any; tiles: the others shown, in order (with
 *   the self view among them unless selfSmall); hidden: the cameras not
 *   shown; columns: of the tiles' grid (beside or under main)
 */

// Widths (CSS pixels) at which the stage has room for more cameras.
export const PHONE_MAX = 600; // below: a phone
export const MEDIUM_MAX = 1000; // below: a small window or a tablet
// The narrowest tile worth showing, in CSS pixels.
export const MIN_TILE = 160;

/**
 * maxCameras is how many other people's cameras a stage this wide shows
 * at most.
 * @param {number} width
 */
export function maxCameras(width) {
  if (width < PHONE_MAX) return 2;
  if (width < MEDIUM_MAX) return 4;
  return 9;
}

/**
 * layout decides the stage's tiles.
 * @param {LayoutInput} input
 * @returns {Layout}
 */
export function layout({ width, cameras, screen, self, view }) {
  const phone = width < PHONE_MAX;
  // A large screen share takes a camera's place on a phone.
  let room = maxCameras(width);
  if (screen && phone) room -= 1;
  // Keep the cameras heard most recently; show them in slot order (the
  // order they came in), so that tiles do not jump at each new voice.
  const byRecency = cameras.slice().sort((a, b) => recency(b) - recency(a));
  const kept = new Set(byRecency.slice(0, room).map((c) => c.key));
  const shown = cameras.filter((c) => kept.has(c.key));
  const hidden = cameras.filter((c) => !kept.has(c.key)).map((c) => c.key);

  let main = screen;
  if (!main && view === 'speaker' && shown.length > 1) {
    main = byRecency.find((c) => kept.has(c.key))?.key || null;
  }
  const tiles = shown.map((c) => c.key).filter((k) => k !== main);
  // Alone with our camera, or on a phone with others to show: no tile
  // of its own for the self view.
  const selfSmall = !!self && phone && (tiles.length > 0 || !!main);
  if (self && !selfSmall) tiles.push(self);
  return { main, tiles, hidden, columns: columns(tiles.length, width, !!main), selfSmall };
}

/** @param {Camera} c @returns {number} higher is more recent; speaking now is the most */
function recency(c) {
  return c.speaking ? Infinity : c.spokeAt;
}

/**
 * columns of the tiles' grid: about square, as the width allows. Beside a
 * large tile on a wide stage the tiles are one column (two beyond three
 * tiles); under it (phones, medium stages) one row. A phone stacks two.
 * @param {number} n tiles @param {number} width @param {boolean} withMain
 */
export function columns(n, width, withMain) {
  if (n === 0) return 1;
  const fit = Math.max(1, Math.floor(width / MIN_TILE));
  if (withMain) return width >= MEDIUM_MAX ? (n <= 3 ? 1 : 2) : Math.min(n, fit);
  // A phone's two cameras one above the other: side by side they would
  // be stamps.
  if (width < PHONE_MAX && n <= 2) return 1;
  return Math.min(Math.ceil(Math.sqrt(n)), fit, n);
}
