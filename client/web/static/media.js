// Media: the microphone, the level meter, the <audio> elements of the
// audio slots, and the RTCPeerConnection (its video m-lines too: our
// camera and screen, the video slots; room-video.js shows them).

import { mapOffer, hasVideo, layerFor } from './video-sdp.js';

/** @import { OfferMap } from './video-sdp.js' */
/** @import { VideoKind } from './protocol.js' */

/** @type {AudioContext | null} */
let ctx = null;

// audioContext is the page's one AudioContext (meters, silent streams).
export function audioContext() {
  if (!ctx) {
    // Older Safari names it webkitAudioContext.
    const AC = window.AudioContext || /** @type {{webkitAudioContext?: typeof AudioContext}} */ (window).webkitAudioContext;
    ctx = new AC();
  }
  return ctx;
}

// resumeAudio resumes the AudioContext; browsers only allow it during a
// user gesture, so the app calls it on every click and key press until
// it runs.
export function resumeAudio() {
  if (ctx && ctx.state !== 'running') ctx.resume().catch(() => {});
}

// Microphone owns the getUserMedia stream. track is the one sent to the
// server; it starts disabled and the room enables it only while the user
// may be heard. meterTrack is a clone for the level meter, always enabled,
// so the meter works before joining and shows "you are talking while
// muted" too.
export class Microphone {
  constructor() {
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {MediaStreamTrack | null} */
    this.track = null;
    /** @type {MediaStreamTrack | null} */
    this.meterTrack = null;
    this.deviceId = '';
    /** @type {(() => void) | null} the device went away (unplugged, revoked) */
    this.onEnded = null;
  }

  /**
   * open opens the microphone deviceId ('' the default one).
   * @param {string} [deviceId]
   * @returns {Promise<MediaStreamTrack>}
   */
  async open(deviceId = '') {
    /** @type {MediaTrackConstraints} */
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audio.deviceId = { exact: deviceId };
    // Release the previous device first: some systems cannot open two.
    this.stop();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio });
    } catch (err) {
      if (deviceId && err instanceof Error && err.name === 'OverconstrainedError') {
        return this.open(''); // the remembered device is gone: take the default
      }
      throw err;
    }
    this.stream = stream;
    const track = stream.getAudioTracks()[0] || null;
    this.track = track;
    if (!track) throw new DOMException('no audio track', 'NotFoundError');
    track.enabled = false; // always start silent: the room decides
    this.meterTrack = track.clone();
    this.meterTrack.enabled = true;
    this.deviceId = (track.getSettings && track.getSettings().deviceId) || deviceId;
    track.addEventListener('ended', () => {
      if (this.track === track && this.onEnded) this.onEnded();
    });
    return track;
  }

  stop() {
    for (const t of [this.track, this.meterTrack]) if (t) t.stop();
    this.stream = null;
    this.track = null;
    this.meterTrack = null;
  }

  // devices lists the audio inputs (labels are empty before permission).
  static async devices() {
    return listDevices('audioinput');
  }
}

/**
 * listDevices lists the devices of a kind (labels are empty before the
 * microphone is allowed).
 * @param {MediaDeviceKind} kind
 * @returns {Promise<MediaDeviceInfo[]>}
 */
export async function listDevices(kind) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  // Some browsers list a device without an id before permission: useless.
  return all.filter((d) => d.kind === kind && d.deviceId);
}

// sinkSupported: the browser can play to another output than the
// default one (HTMLMediaElement.setSinkId: Chromium, Firefox 116+,
// Safari 18.4+; not iOS).
export function sinkSupported() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/** @typedef {HTMLAudioElement & {setSinkId?: (id: string) => Promise<void>}} SinkAudio */

// LevelMeter analyses one track and draws its level into any number of
// meter elements (a .level with a .level-bar child).
export class LevelMeter {
  constructor() {
    /** @type {Set<HTMLElement>} */
    this.elements = new Set();
    /** @type {MediaStreamAudioSourceNode | null} */
    this.source = null;
    /** @type {AnalyserNode | null} */
    this.analyser = null;
    /** @type {GainNode | null} */
    this.sink = null;
    this.buf = new Float32Array(0);
    this.level = 0;
    this.lastAria = 0;
    this.raf = 0;
  }

  /** @param {HTMLElement} el a .level with a .level-bar child */
  addElement(el) {
    this.elements.add(el);
  }

  /** @param {MediaStreamTrack | null} track */
  attach(track) {
    this.detach();
    if (!track) return;
    const ac = audioContext();
    const source = ac.createMediaStreamSource(new MediaStream([track]));
    const analyser = ac.createAnalyser();
    analyser.fftSize = 1024;
    this.buf = new Float32Array(analyser.fftSize);
    // Some engines only process nodes that reach the destination: route
    // the analyser there through a muted gain.
    const sink = ac.createGain();
    sink.gain.value = 0;
    source.connect(analyser);
    analyser.connect(sink);
    sink.connect(ac.destination);
    this.source = source;
    this.analyser = analyser;
    this.sink = sink;
    const tick = () => {
      this.raf = requestAnimationFrame(tick);
      this.update(analyser);
    };
    this.raf = requestAnimationFrame(tick);
  }

  detach() {
    cancelAnimationFrame(this.raf);
    for (const n of [this.source, this.analyser, this.sink]) if (n) n.disconnect();
    this.source = this.analyser = this.sink = null;
    this.level = 0;
    this.draw(0, true);
  }

  /** @param {AnalyserNode} analyser */
  update(analyser) {
    analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (let i = 0; i < this.buf.length; i++) sum += this.buf[i] * this.buf[i];
    const rms = Math.sqrt(sum / this.buf.length);
    // -60 dBFS … 0 dBFS → 0 … 1, fast attack, slow release.
    const db = 20 * Math.log10(rms + 1e-9);
    const v = Math.min(1, Math.max(0, (db + 60) / 60));
    this.level = v > this.level ? v : this.level * 0.9 + v * 0.1;
    this.draw(this.level, false);
  }

  /** @param {number} v level, 0 … 1 @param {boolean} force update aria-valuenow now */
  draw(v, force) {
    const now = performance.now();
    // aria-valuenow at a calm pace: screen readers need no 60 Hz updates.
    const aria = force || now - this.lastAria > 500;
    if (aria) this.lastAria = now;
    for (const el of this.elements) {
      const bar = el.firstElementChild;
      if (bar instanceof HTMLElement) bar.style.transform = `scaleX(${v.toFixed(3)})`;
      if (aria) el.setAttribute('aria-valuenow', String(Math.round(v * 100)));
    }
  }
}

// AudioOut keeps one <audio> element per audio slot. Browsers let media
// play only after a user gesture: prime() must run synchronously inside
// the Join click; it starts each element on a silent stream, which
// unlocks it (Safari included) for the real stream later.
export class AudioOut {
  /** @param {HTMLElement} container where the <audio> elements go */
  constructor(container) {
    this.container = container;
    /** @type {HTMLAudioElement[]} by slot */
    this.els = [];
    /** @type {MediaStream | null} */
    this.silent = null;
    /** @type {(() => void) | null} play() was refused: the app asks for a click */
    this.onBlocked = null;
    this.sinkID = ''; // the output device ('' the default)
    /** @type {number[]} by slot, 0 … 1 */
    this.volumes = [];
  }

  /** @param {number} i slot @returns {HTMLAudioElement} */
  element(i) {
    while (this.els.length <= i) {
      const el = document.createElement('audio');
      el.autoplay = true;
      el.setAttribute('playsinline', '');
      el.dataset.slot = String(this.els.length);
      this.container.appendChild(el);
      this.els.push(el);
      if (this.sinkID) this.applySink(el).catch(() => {});
      const v = this.volumes[this.els.length - 1];
      if (v !== undefined) el.volume = v;
    }
    return this.els[i];
  }

  /**
   * setSink plays every slot on the output device id ('' the default).
   * Rejects when the browser cannot (then nothing changed).
   * @param {string} id
   */
  async setSink(id) {
    const old = this.sinkID;
    this.sinkID = id;
    try {
      for (const el of this.els) await this.applySink(el);
    } catch (err) {
      this.sinkID = old;
      for (const el of this.els) await this.applySink(el).catch(() => {});
      throw err;
    }
  }

  /** @param {HTMLAudioElement} el */
  async applySink(el) {
    const a = /** @type {SinkAudio} */ (el);
    if (typeof a.setSinkId === 'function') await a.setSinkId(this.sinkID);
  }

  /**
   * setVolume sets how loud a slot plays (its current voice's volume).
   * @param {number} slot @param {number} v 0 … 1
   */
  setVolume(slot, v) {
    this.volumes[slot] = v;
    const el = this.els[slot];
    if (el && el.volume !== v) el.volume = v;
  }

  /** @returns {MediaStream} */
  silentStream() {
    if (!this.silent) {
      try {
        this.silent = audioContext().createMediaStreamDestination().stream;
      } catch {
        this.silent = new MediaStream();
      }
    }
    return this.silent;
  }

  /** @param {number} n how many slots */
  prime(n) {
    for (let i = 0; i < n; i++) {
      const el = this.element(i);
      if (!el.srcObject) el.srcObject = this.silentStream();
      el.play().catch(() => {});
    }
  }

  /** @param {number} i slot @param {MediaStream} stream */
  attach(i, stream) {
    const el = this.element(i);
    el.srcObject = stream;
    this.play(el);
  }

  /** @param {HTMLAudioElement} el */
  play(el) {
    const p = el.play();
    if (p) {
      p.catch((err) => {
        if (err && err.name === 'NotAllowedError' && this.onBlocked) this.onBlocked();
      });
    }
  }

  // resume retries every element (from a click on "enable sound").
  resume() {
    for (const el of this.els) if (el.srcObject) this.play(el);
  }

  // reset drops the remote streams (between connections).
  reset() {
    for (const el of this.els) el.srcObject = this.silentStream();
  }
}

/**
 * firstMid is the mid of the offer's first m-line: the microphone's.
 * @param {string} sdp @returns {string | null}
 */
export function firstMid(sdp) {
  let inMedia = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      if (inMedia) break;
      inMedia = true;
    } else if (inMedia && line.startsWith('a=mid:')) {
      return line.slice(6).trim();
    }
  }
  return null;
}

/**
 * videoCapable: this browser can send and receive VP8, the server's one
 * video codec (a join then asks for the video m-lines: want_video).
 */
export function videoCapable() {
  try {
    const caps = typeof RTCRtpReceiver !== 'undefined' && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video');
    return !!caps && caps.codecs.some((c) => c.mimeType.toLowerCase() === 'video/vp8');
  } catch {
    return false;
  }
}

/**
 * VideoSink is where a connection's video goes (room-video.js): each
 * video slot's track as it arrives.
 * @typedef {{onTrack(kind: VideoKind, slot: number, track: MediaStreamTrack): void}} VideoSink
 */

// MediaSession is one RTCPeerConnection, answering the server's single
// offer. The client never creates offers.
export class MediaSession {
  /**
   * onCandidate(init): a local ICE candidate to send.
   * onState(connectionState): the PeerConnection's state changed.
   * videoSlots: the room's camera slots (room_info.video_slots), to read
   * the offer; video: where the video slots' tracks go.
   * @param {{iceServers: RTCIceServer[], micTrack: MediaStreamTrack | null, out: AudioOut,
   *   onCandidate: (c: RTCIceCandidateInit) => void,
   *   onState: (s: RTCPeerConnectionState) => void,
   *   videoSlots?: number, video?: VideoSink | null}} options
   */
  constructor({ iceServers, micTrack, out, onCandidate, onState, videoSlots = 0, video = null }) {
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    this.micTrack = micTrack || null;
    this.out = out;
    this.videoSlots = videoSlots;
    this.video = video;
    /** @type {string | null} */
    this.micMid = null;
    /** @type {RTCRtpTransceiver | null} */
    this.micTransceiver = null;
    /** @type {OfferMap | null} what the offer's m-lines are */
    this.map = null;
    /** @type {RTCRtpTransceiver | null} our camera's m-line */
    this.cameraTransceiver = null;
    /** @type {RTCRtpTransceiver | null} our screen's m-line */
    this.screenTransceiver = null;
    /** @type {RTCIceCandidateInit[]} until the offer is set */
    this.remoteCandidates = [];
    this.remoteSet = false;
    /** @type {Promise<unknown>} the offers, one after the other */
    this.chain = Promise.resolve();
    this.closed = false;

    this.pc.onicecandidate = (e) => {
      // null (and, in some browsers, an empty candidate) ends gathering;
      // the protocol has no end-of-candidates message.
      if (e.candidate && e.candidate.candidate) onCandidate(e.candidate.toJSON());
    };
    this.pc.ontrack = (e) => this.onTrack(e);
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) onState(this.pc.connectionState);
    };
  }

  // onTrack gives each audio slot track its own <audio>, and each video
  // slot's track to the video sink. The slot number is the m-line's rank
  // among the slots of its kind. Each audio track gets its own
  // MediaStream: the slots may share one msid stream, and playing that
  // stream in K elements would play every voice K times.
  /** @param {RTCTrackEvent} e */
  onTrack(e) {
    const t = e.transceiver;
    const map = this.map;
    if (!t || !map || t.mid === null || t.mid === map.mic) return;
    const audio = map.audioSlots.indexOf(t.mid);
    if (audio >= 0) {
      this.out.attach(audio, new MediaStream([e.track]));
      return;
    }
    if (!this.video) return;
    const camera = map.cameraSlots.indexOf(t.mid);
    if (camera >= 0) this.video.onTrack('camera', camera, e.track);
    else if (t.mid === map.screenSlot) this.video.onTrack('screen', 0, e.track);
  }

  /**
   * acceptOffer applies the server's offer and returns the answer's SDP.
   * @param {string} sdp
   * @returns {Promise<string>}
   */
  acceptOffer(sdp) {
    const run = async () => {
      // Read before setRemoteDescription: the tracks arrive during it.
      const map = mapOffer(sdp, this.videoSlots);
      this.map = map;
      this.micMid = map.mic !== null ? map.mic : firstMid(sdp);
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      this.remoteSet = true;
      const trs = this.pc.getTransceivers();
      const mic = trs.find((t) => t.mid === this.micMid) || trs[0];
      this.micTransceiver = mic;
      if (mic) {
        mic.direction = 'sendonly';
        await mic.sender.replaceTrack(this.micTrack);
      }
      // Our camera and screen: sending, with no track until they are
      // turned on (replaceTrack, no new offer).
      this.cameraTransceiver = (map.camera !== null && trs.find((t) => t.mid === map.camera)) || null;
      this.screenTransceiver = (map.screen !== null && trs.find((t) => t.mid === map.screen)) || null;
      for (const t of trs) {
        if (t === mic) continue;
        t.direction = t === this.cameraTransceiver || t === this.screenTransceiver ? 'sendonly' : 'recvonly';
      }
      this.flushCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      const local = this.pc.localDescription;
      if (!local) throw new Error('no local description after setLocalDescription');
      // The layers' sizes can only be set once negotiated.
      if (this.cameraTransceiver) await configureCamera(this.cameraTransceiver.sender, map.cameraRids);
      return local.sdp;
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => {});
    return p;
  }

  // addCandidate adds a remote candidate, queued until the offer is set.
  /** @param {RTCIceCandidateInit} init */
  addCandidate(init) {
    if (!this.remoteSet) {
      this.remoteCandidates.push(init);
      return;
    }
    this.pc.addIceCandidate(init).catch((err) => console.warn('palabre: candidate', err));
  }

  flushCandidates() {
    const q = this.remoteCandidates;
    this.remoteCandidates = [];
    for (const c of q) this.addCandidate(c);
  }

  /**
   * setMicTrack swaps the sent track (another microphone).
   * @param {MediaStreamTrack | null} track
   */
  async setMicTrack(track) {
    this.micTrack = track || null;
    if (this.micTransceiver) await this.micTransceiver.sender.replaceTrack(this.micTrack);
  }

  /** @returns {boolean} the offer has video m-lines */
  get videoOffered() {
    return !!this.map && hasVideo(this.map);
  }

  /**
   * setVideoTrack sends track (null: nothing) on our camera's or our
   * screen's m-line. False when the offer has no such m-line.
   * @param {VideoKind} kind @param {MediaStreamTrack | null} track
   * @returns {Promise<boolean>}
   */
  async setVideoTrack(kind, track) {
    const t = kind === 'camera' ? this.cameraTransceiver : this.screenTransceiver;
    if (!t || this.closed) return false;
    await t.sender.replaceTrack(track);
    return true;
  }

  close() {
    this.closed = true;
    this.pc.ontrack = this.pc.onicecandidate = this.pc.onconnectionstatechange = null;
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}

/**
 * configureCamera sets our camera's simulcast layers: each rid the
 * offer asked for at its resolution (full, half, quarter) and bitrate,
 * with three temporal layers where the browser can (L1T3). Browsers
 * take encodings' parameters only after negotiation (setParameters after
 * the answer). A failure leaves the browser's defaults: logged, not fatal.
 * @param {RTCRtpSender} sender @param {string[]} rids the offer's, in its order
 */
export async function configureCamera(sender, rids) {
  /** @param {boolean} t3 */
  const apply = (t3) => {
    // Fresh parameters each time: a refused setParameters spends them.
    const params = sender.getParameters();
    const encs = params.encodings || [];
    if (encs.length === 0) return Promise.resolve();
    const count = rids.length || encs.length;
    encs.forEach((e, i) => {
      const rank = e.rid !== undefined && rids.includes(e.rid) ? rids.indexOf(e.rid) : i;
      const layer = layerFor(e.rid || '', rank, count);
      e.scaleResolutionDownBy = layer.scale;
      e.maxBitrate = layer.maxBitrate;
      e.active = true;
      if (t3) /** @type {RTCRtpEncodingParameters & {scalabilityMode?: string}} */ (e).scalabilityMode = 'L1T3';
    });
    return sender.setParameters(params);
  };
  try {
    // Temporal layers where the browser takes them, else without.
    await apply(true).catch(() => apply(false));
  } catch (err) {
    console.warn('palabre: camera layers', err);
  }
}
