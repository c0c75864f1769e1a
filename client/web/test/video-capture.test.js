// Camera and screen failures in words. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureProblem, refusal } from '../static/video-capture.js';

const err = (name) => Object.assign(new Error(name), { name });

test('captureProblem', () => {
  const cases = [
    ['camera', err('NotAllowedError'), 'camera.denied', false],
    ['camera', err('SecurityError'), 'camera.denied', false],
    ['camera', err('NotFoundError'), 'camera.none', false],
    ['camera', err('OverconstrainedError'), 'camera.none', false],
    ['camera', err('NotReadableError'), 'camera.in_use', false],
    ['camera', err('AbortError'), 'camera.in_use', false],
    ['camera', err('TypeError'), 'camera.error', false],
    ['camera', 'nonsense', 'camera.error', false],
    // A DOMException-like object from another realm: only its name counts.
    ['camera', { name: 'NotAllowedError' }, 'camera.denied', false],
    ['screen', err('NotAllowedError'), 'screen.cancelled', true],
    ['screen', err('NotReadableError'), 'screen.unavailable', false],
    ['screen', err('InvalidStateError'), 'screen.error', false],
  ];
  for (const [kind, e, key, info] of cases) assert.deepEqual(captureProblem(kind, e), { key, info }, `${kind} ${e && e.name}`);
});

test('refusal', () => {
  assert.equal(refusal('video_off'), 'video.refused_off');
  assert.equal(refusal('too_many_cameras'), 'video.refused_too_many');
  assert.equal(refusal('closed'), '');
});
