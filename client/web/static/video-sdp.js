// The server's offer, read: which of its m-lines is what (docs/video.md,
// "The offer, negotiated once"). The server offers once per connection:
// audio first (one recvonly m-line for our microphone, then the audio
// slots it sends), then, on a server with video, our camera (recvonly,
// simulcast recv with rids), our screen share (recvonly), the camera
// slots it sends and the screen slot. The roles are told by the order
// and the directions; mids are the names they get in the answer.
// Pure: no DOM, no WebRTC (test/video-sdp.test.js runs it under Node).

/**
 * @typedef {'sendonly' | 'recvonly' | 'sendrecv' | 'inactive'} Direction
 * @typedef {{index: number, kind: string, mid: string, direction: Direction, rids: string[]}} Section
 *   one m-line: kind audio or video, its direction as the server sees it
 *   (recvonly: it receives from us), the rids it receives (simulcast)
 * @typedef {{
 *   mic: string | null, audioSlots: string[],
 *   camera: string | null, cameraRids: string[], screen: string | null,
 *   cameraSlots: string[], screenSlot: string | null,
 * }} OfferMap
 *   mids: mic and camera and screen are ours to send, audioSlots,
 *   cameraSlots and screenSlot the server's, in slot order; cameraRids are
 *   the camera's simulcast layers in the offer's order. No video: camera,
 *   screen and screenSlot null, cameraSlots empty.
 */

/**
 * sections lists the offer's m-lines.
 * @param {string} sdp
 * @returns {Section[]}
 */
export function sections(sdp) {
  /** @type {Section[]} */
  const out = [];
  /** @type {Section | null} */
  let cur = null;
  /** @type {string[]} rids of a=rid lines, in case there is no a=simulcast */
  let ridLines = [];
  const close = () => {
    if (cur && cur.rids.length === 0) cur.rids = ridLines;
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      close();
      cur = { index: out.length, kind: line.slice(2).split(' ')[0], mid: '', direction: 'sendrecv', rids: [] };
      ridLines = [];
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('a=mid:')) {
      cur.mid = line.slice(6).trim();
    } else if (line === 'a=sendonly' || line === 'a=recvonly' || line === 'a=sendrecv' || line === 'a=inactive') {
      cur.direction = /** @type {Direction} */ (line.slice(2));
    } else if (line.startsWith('a=simulcast:')) {
      // a=simulcast:recv f;h;q (alternatives with ',', paused with '~').
      const m = line.slice(12).trim().match(/(?:^|\s)recv\s+(\S+)/);
      if (m) cur.rids = m[1].split(';').map((alt) => alt.split(',')[0].replace(/^~/, '')).filter(Boolean);
    } else if (line.startsWith('a=rid:')) {
      const [rid, dir] = line.slice(6).split(/\s+/);
      if (rid && dir === 'recv') ridLines.push(rid);
    }
  }
  close();
  return out;
}

/**
 * mapOffer tells each m-line's role. videoSlots is the room's camera slot
 * count (room_info.video_slots), when known: the video m-lines the server
 * sends are its camera slots, then its screen slot; with videoSlots known,
 * as many sendonly video lines as camera slots means no screen slot.
 * @param {string} sdp @param {number} [videoSlots]
 * @returns {OfferMap}
 */
export function mapOffer(sdp, videoSlots) {
  const all = sections(sdp);
  const audio = all.filter((s) => s.kind === 'audio');
  const video = all.filter((s) => s.kind === 'video');
  // Ours to send: the server receives them.
  const up = video.filter((s) => s.direction === 'recvonly');
  const down = video.filter((s) => s.direction === 'sendonly');
  // The camera is the one with simulcast layers; else the first.
  const camera = up.find((s) => s.rids.length > 0) || up[0] || null;
  const screen = up.find((s) => s !== camera) || null;
  const screenSlotToo = !(videoSlots && down.length === videoSlots);
  const screenSlot = screenSlotToo && down.length > 0 ? down[down.length - 1] : null;
  return {
    mic: audio[0] ? audio[0].mid : null,
    audioSlots: audio.slice(1).map((s) => s.mid),
    camera: camera ? camera.mid : null,
    cameraRids: camera ? camera.rids : [],
    screen: screen ? screen.mid : null,
    cameraSlots: down.filter((s) => s !== screenSlot).map((s) => s.mid),
    screenSlot: screenSlot ? screenSlot.mid : null,
  };
}

/** @param {OfferMap} m @returns {boolean} the server offers video (some camera slot or our camera) */
export function hasVideo(m) {
  return m.cameraSlots.length > 0 || m.screenSlot !== null || m.camera !== null;
}

// The camera's layers, by the rid names of docs/video.md: full, half and
// quarter resolution, with the bitrate each is capped at (a 1280×720
// camera: 1280×720, 640×360, 320×180).
const LAYERS = /** @type {Record<string, {scale: number, maxBitrate: number}>} */ ({
  f: { scale: 1, maxBitrate: 1_200_000 },
  h: { scale: 2, maxBitrate: 450_000 },
  q: { scale: 4, maxBitrate: 150_000 },
});

/**
 * layerFor is how the camera's encoding of a rid is sent: its
 * scaleResolutionDownBy and maxBitrate. A rid the names do not say is
 * placed by its rank in the offer: the first full, then half, quarter…
 * @param {string} rid @param {number} rank its place in the offer's rids
 * @param {number} count how many rids
 * @returns {{scale: number, maxBitrate: number}}
 */
export function layerFor(rid, rank, count) {
  if (Object.hasOwn(LAYERS, rid)) return LAYERS[rid];
  const known = [LAYERS.f, LAYERS.h, LAYERS.q];
  // With fewer layers than three, the last is still the smallest.
  const i = count <= 1 ? 0 : Math.min(2, Math.round((rank * 2) / (count - 1)));
  return known[i];
}
