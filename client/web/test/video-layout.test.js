// The video grid's layout. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layout, maxCameras, columns, PHONE_MAX, MEDIUM_MAX } from '../static/video-layout.js';

// cams makes camera tiles: [key, spokeAt, speaking?].
const cams = (...list) => list.map(([key, spokeAt, speaking = false]) => ({ key, participant: 'p-' + key, spokeAt, speaking }));
const base = { width: 1280, cameras: [], screen: null, self: null, view: /** @type {const} */ ('grid') };

test('maxCameras: fewer on a phone', () => {
  assert.equal(maxCameras(360), 2);
  assert.equal(maxCameras(PHONE_MAX - 1), 2);
  assert.equal(maxCameras(PHONE_MAX), 4);
  assert.equal(maxCameras(MEDIUM_MAX - 1), 4);
  assert.equal(maxCameras(MEDIUM_MAX), 9);
});

test('layout', () => {
  const four = cams(['c0', 10], ['c1', 40], ['c2', 30], ['c3', 20]);
  const cases = [
    { name: 'nothing', in: {}, want: { main: null, tiles: [], hidden: [], columns: 1, selfSmall: false } },
    { name: 'our camera alone: one tile', in: { self: 'self' }, want: { main: null, tiles: ['self'], hidden: [], columns: 1, selfSmall: false } },
    { name: 'our camera alone on a phone: still a tile', in: { width: 360, self: 'self' }, want: { main: null, tiles: ['self'], hidden: [], columns: 1, selfSmall: false } },
    {
      name: 'grid: slot order, self last, square',
      in: { cameras: four, self: 'self' },
      want: { main: null, tiles: ['c0', 'c1', 'c2', 'c3', 'self'], hidden: [], columns: 3, selfSmall: false },
    },
    {
      name: 'speaker view: the last heard large, the others in slot order',
      in: { cameras: four, self: 'self', view: 'speaker' },
      want: { main: 'c1', tiles: ['c0', 'c2', 'c3', 'self'], hidden: [], columns: 2, selfSmall: false },
    },
    {
      name: 'speaker view: speaking now beats heard last',
      in: { cameras: cams(['c0', 10, true], ['c1', 40]), view: 'speaker' },
      want: { main: 'c0', tiles: ['c1'], hidden: [], columns: 1, selfSmall: false },
    },
    {
      name: 'speaker view with one camera: a tile, nothing large',
      in: { cameras: cams(['c0', 10]), view: 'speaker' },
      want: { main: null, tiles: ['c0'], hidden: [], columns: 1, selfSmall: false },
    },
    {
      name: 'a screen share is large, in either view',
      in: { cameras: four, screen: 'screen', view: 'grid' },
      want: { main: 'screen', tiles: ['c0', 'c1', 'c2', 'c3'], hidden: [], columns: 2, selfSmall: false },
    },
    {
      name: 'phone: the two heard last, self view small',
      in: { width: 360, cameras: four, self: 'self' },
      want: { main: null, tiles: ['c1', 'c2'], hidden: ['c0', 'c3'], columns: 1, selfSmall: true },
    },
    {
      name: 'phone with a screen share: the screen and one camera',
      in: { width: 360, cameras: four, screen: 'screen', self: 'self' },
      want: { main: 'screen', tiles: ['c1'], hidden: ['c0', 'c2', 'c3'], columns: 1, selfSmall: true },
    },
    {
      name: 'medium: four cameras at most',
      in: { width: 800, cameras: [...four, ...cams(['c4', 50])] },
      want: { main: null, tiles: ['c1', 'c2', 'c3', 'c4'], hidden: ['c0'], columns: 2, selfSmall: false },
    },
    {
      name: 'never heard: kept in slot order',
      in: { width: 360, cameras: cams(['c0', 0], ['c1', 0], ['c2', 0]) },
      want: { main: null, tiles: ['c0', 'c1'], hidden: ['c2'], columns: 1, selfSmall: false },
    },
  ];
  for (const c of cases) assert.deepEqual(layout({ ...base, ...c.in }), c.want, c.name);
});

test('layout: every camera is either shown or hidden, once', () => {
  for (const width of [320, 360, 599, 600, 999, 1000, 1920]) {
    for (let n = 0; n <= 9; n++) {
      const cameras = cams(...Array.from({ length: n }, (_, i) => /** @type {[string, number]} */ ([`c${i}`, (i * 7) % 5])));
      for (const screen of [null, 'screen']) {
        for (const view of /** @type {const} */ (['grid', 'speaker'])) {
          const l = layout({ width, cameras, screen, self: 'self', view });
          const seen = [l.main, ...l.tiles, ...l.hidden].filter((k) => k && k.startsWith('c'));
          assert.deepEqual(seen.slice().sort(), cameras.map((c) => c.key).sort(), `${width} ${n} ${screen} ${view}`);
          const shownCams = seen.length - l.hidden.length;
          const room = maxCameras(width) - (screen && width < PHONE_MAX ? 1 : 0);
          assert.ok(shownCams <= room, 'no more cameras than the width allows');
          assert.ok(l.columns >= 1 && l.columns * 160 <= Math.max(width, 160), 'columns fit');
          assert.equal(l.tiles.includes('self'), !l.selfSmall);
        }
      }
    }
  }
});

test('columns', () => {
  assert.equal(columns(0, 1280, false), 1);
  assert.equal(columns(1, 1280, false), 1);
  assert.equal(columns(2, 1280, false), 2);
  assert.equal(columns(4, 1280, false), 2);
  assert.equal(columns(5, 1280, false), 3);
  assert.equal(columns(10, 1280, false), 4);
  assert.equal(columns(9, 360, false), 2, 'a phone fits two');
  assert.equal(columns(2, 360, false), 1, 'a phone stacks two');
  assert.equal(columns(3, 360, false), 2);
  assert.equal(columns(3, 1280, true), 1, 'beside the large tile');
  assert.equal(columns(6, 1280, true), 2);
  assert.equal(columns(3, 800, true), 3, 'under it: a row');
});
