// Per-voice volumes and the slots that carry them. Run with:
// node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Volumes, DEFAULT_VOLUME } from '../static/volumes.js';

const names = { ana: 'Ana', bo: 'Bo', ana2: 'Ana' };
const name = (id) => names[id] || '';

test('each slot plays at its voice\'s volume; quiet slots at the default', () => {
  const v = new Volumes();
  v.set('ana', 'Ana', 0.3);
  const slots = new Map([[0, 'ana'], [1, 'bo'], [2, '']]);
  assert.deepEqual([...v.slotVolumes(slots, name)], [[0, 0.3], [1, DEFAULT_VOLUME], [2, DEFAULT_VOLUME]]);
});

test('a voice moving to another slot takes its volume along', () => {
  const v = new Volumes();
  v.set('ana', 'Ana', 0.5);
  assert.equal(v.slotVolumes(new Map([[0, 'bo'], [1, 'ana']]), name).get(1), 0.5);
  assert.equal(v.slotVolumes(new Map([[0, 'ana'], [1, '']]), name).get(0), 0.5);
});

test('volumes are clamped to 0 … 1; nonsense is the default', () => {
  const v = new Volumes();
  assert.equal(v.set('ana', 'Ana', 3), 1);
  assert.equal(v.set('ana', 'Ana', -1), 0);
  assert.equal(v.set('ana', 'Ana', NaN), DEFAULT_VOLUME);
});

test('someone back with a new id keeps their volume (by name)', () => {
  const v = new Volumes();
  v.set('ana', 'Ana', 0.2);
  assert.equal(v.get('ana2', 'Ana'), 0.2);
  v.set('ana2', 'Ana', 0.7);
  assert.equal(v.get('ana2', 'Ana'), 0.7);
  v.clear();
  assert.equal(v.get('ana2', 'Ana'), DEFAULT_VOLUME);
});
