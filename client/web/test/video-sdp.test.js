// The server's offer read: which m-line is what. Run with: node --test client/web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sections, mapOffer, hasVideo, layerFor } from '../static/video-sdp.js';

// offer builds an SDP like the server's: m-lines of [kind, mid, direction, extra lines].
function offer(lines) {
  const out = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE ' + lines.map((l) => l[1]).join(' ')];
  for (const [kind, mid, dir, extra = []] of lines) {
    out.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF ${kind === 'audio' ? 111 : 96}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, `a=${dir}`, ...extra);
  }
  return out.join('\r\n') + '\r\n';
}

const simulcast = ['a=rid:f recv', 'a=rid:h recv', 'a=rid:q recv', 'a=simulcast:recv f;h;q'];

// The audio of today's server: microphone, three slots.
const audioOnly = [['audio', '0', 'recvonly'], ['audio', '1', 'sendonly'], ['audio', '2', 'sendonly'], ['audio', '3', 'sendonly']];
// With video: camera (simulcast), screen, V = 4 camera slots, the screen slot.
const withVideo = [
  ...audioOnly,
  ['video', '4', 'recvonly', simulcast], ['video', '5', 'recvonly'],
  ['video', '6', 'sendonly'], ['video', '7', 'sendonly'], ['video', '8', 'sendonly'], ['video', '9', 'sendonly'],
  ['video', '10', 'sendonly'],
];

test('sections: kind, mid, direction, simulcast rids', () => {
  const s = sections(offer(withVideo));
  assert.equal(s.length, 11);
  assert.deepEqual(s[0], { index: 0, kind: 'audio', mid: '0', direction: 'recvonly', rids: [] });
  assert.deepEqual(s[4], { index: 4, kind: 'video', mid: '4', direction: 'recvonly', rids: ['f', 'h', 'q'] });
  assert.equal(s[10].direction, 'sendonly');
});

test('sections: paused and alternative rids, rid lines without a=simulcast, LF line ends', () => {
  const sdp = offer([['video', 'a', 'recvonly', ['a=simulcast:recv ~f;h,h2;q']]]).replace(/\r\n/g, '\n');
  assert.deepEqual(sections(sdp)[0].rids, ['f', 'h', 'q']);
  const ridsOnly = offer([['video', 'a', 'recvonly', ['a=rid:x recv', 'a=rid:y recv', 'a=rid:z send']]]);
  assert.deepEqual(sections(ridsOnly)[0].rids, ['x', 'y']);
  const noDirection = offer([['audio', 'a', 'recvonly']]).replace('a=recvonly\r\n', '');
  assert.equal(sections(noDirection)[0].direction, 'sendrecv');
});

test('mapOffer: each m-line its role', () => {
  const cases = [
    {
      name: 'audio only: as today, no video at all',
      lines: audioOnly,
      want: { mic: '0', audioSlots: ['1', '2', '3'], camera: null, cameraRids: [], screen: null, cameraSlots: [], screenSlot: null },
      video: false,
    },
    {
      name: 'video: camera, screen, four camera slots, the screen slot',
      lines: withVideo,
      want: { mic: '0', audioSlots: ['1', '2', '3'], camera: '4', cameraRids: ['f', 'h', 'q'], screen: '5', cameraSlots: ['6', '7', '8', '9'], screenSlot: '10' },
      video: true,
    },
    {
      name: 'video_slots known and no screen slot: all camera slots',
      lines: withVideo.slice(0, -1), slots: 4,
      want: { mic: '0', audioSlots: ['1', '2', '3'], camera: '4', cameraRids: ['f', 'h', 'q'], screen: '5', cameraSlots: ['6', '7', '8', '9'], screenSlot: null },
      video: true,
    },
    {
      name: 'the camera is the simulcast one, whatever the order',
      lines: [['audio', 'm', 'recvonly'], ['video', 's', 'recvonly'], ['video', 'c', 'recvonly', simulcast], ['video', 'v0', 'sendonly'], ['video', 'sc', 'sendonly']],
      want: { mic: 'm', audioSlots: [], camera: 'c', cameraRids: ['f', 'h', 'q'], screen: 's', cameraSlots: ['v0'], screenSlot: 'sc' },
      video: true,
    },
    {
      name: 'no simulcast: the first is the camera',
      lines: [['audio', '0', 'recvonly'], ['video', '1', 'recvonly'], ['video', '2', 'recvonly'], ['video', '3', 'sendonly'], ['video', '4', 'sendonly']],
      want: { mic: '0', audioSlots: [], camera: '1', cameraRids: [], screen: '2', cameraSlots: ['3'], screenSlot: '4' },
      video: true,
    },
    {
      name: 'named mids',
      lines: [['audio', 'mic', 'recvonly'], ['audio', 'a0', 'sendonly'], ['video', 'cam', 'recvonly', simulcast], ['video', 'scr', 'recvonly'], ['video', 'v0', 'sendonly'], ['video', 'v1', 'sendonly'], ['video', 'vs', 'sendonly']],
      slots: 2,
      want: { mic: 'mic', audioSlots: ['a0'], camera: 'cam', cameraRids: ['f', 'h', 'q'], screen: 'scr', cameraSlots: ['v0', 'v1'], screenSlot: 'vs' },
      video: true,
    },
  ];
  for (const c of cases) {
    const m = mapOffer(offer(c.lines), c.slots);
    assert.deepEqual(m, c.want, c.name);
    assert.equal(hasVideo(m), c.video, c.name);
  }
});

test('layerFor: full, half, quarter by name, else by rank', () => {
  assert.deepEqual(['f', 'h', 'q'].map((r, i) => layerFor(r, i, 3).scale), [1, 2, 4]);
  // The server's names win over their order.
  assert.deepEqual(['q', 'h', 'f'].map((r, i) => layerFor(r, i, 3).scale), [4, 2, 1]);
  assert.deepEqual(['a', 'b', 'c'].map((r, i) => layerFor(r, i, 3).scale), [1, 2, 4]);
  assert.deepEqual(['a', 'b'].map((r, i) => layerFor(r, i, 2).scale), [1, 4]);
  assert.equal(layerFor('x', 0, 1).scale, 1);
  // Each smaller layer gets less bitrate.
  assert.ok(layerFor('f', 0, 3).maxBitrate > layerFor('h', 1, 3).maxBitrate);
  assert.ok(layerFor('h', 1, 3).maxBitrate > layerFor('q', 2, 3).maxBitrate);
});
