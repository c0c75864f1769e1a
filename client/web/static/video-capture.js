// Why a camera or a screen could not be had, or was refused, in words a
// person can act on (dictionary keys). Pure (test/video-capture.test.js).

/** @import { VideoKind } from './protocol.js' */

/**
 * captureProblem reads getUserMedia's or getDisplayMedia's failure.
 * info: not an error (the user cancelled the screen picker).
 * @param {VideoKind} kind @param {unknown} err
 * @returns {{key: string, info: boolean}}
 */
export function captureProblem(kind, err) {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  if (kind === 'screen') {
    // Chromium and Firefox say NotAllowedError for a cancelled picker too.
    if (name === 'NotAllowedError' || name === 'AbortError') return { key: 'screen.cancelled', info: true };
    if (name === 'NotFoundError' || name === 'NotReadableError') return { key: 'screen.unavailable', info: false };
    return { key: 'screen.error', info: false };
  }
  if (name === 'NotAllowedError' || name === 'SecurityError') return { key: 'camera.denied', info: false };
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return { key: 'camera.none', info: false };
  // Another application holds it (Windows, some Linux drivers), or it failed to start.
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return { key: 'camera.in_use', info: false };
  return { key: 'camera.error', info: false };
}

/**
 * refusal is what to say when the server refuses camera_on or screen_on
 * ('' for a code that is not about video: said as any error).
 * @param {string} code
 */
export function refusal(code) {
  if (code === 'video_off') return 'video.refused_off';
  if (code === 'too_many_cameras') return 'video.refused_too_many';
  return '';
}
