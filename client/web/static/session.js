// Session: being in a room over time. It joins (WebSocket, hello, join,
// PeerConnection), watches the connection, and when it breaks rejoins from
// scratch with backoff, keeping the microphone. The room's own logic
// (participants, push-to-talk) lives in room.js; Session only hands it
// the events.
//
// In a cluster, the WebSocket may go to another node than the page's
// server: a join answered by a redirect is sent again where the room
// lives; a room that moves sends an unsolicited redirect, followed by a
// rejoin there; and when the node dies, the rejoin tries the cluster's
// other nodes (joined.nodes) and the page's own server in turn.
//
// A room whose lobby is on answers the join with "waiting": the session
// then waits (keeping the connection alive) for the joined an organizer's
// admission sends, or the refusal. Once waiting, the user is past the
// prejoin screen: a lost connection rejoins (and waits again) like one
// lost in the room.

import { Connection, ProtocolError, PROTOCOL_VERSION, SOFTWARE, MAX_HOPS, MAX_NODES, nodeURL, socketURL } from './protocol.js';
import { MediaSession, videoCapable } from './media.js';
import { sleep } from './dom.js';

/** @import { Message, Joined, RoomInfo } from './protocol.js' */
/** @import { Microphone, AudioOut, VideoSink } from './media.js' */
/** @import { VideoKind } from './protocol.js' */

/**
 * Why the connection is being made again: moved (the room moves to
 * another node), media (the audio connection failed), network, shutdown
 * (the server went away: restart, maintenance), flood (the server cut us
 * off for sending too much).
 * @typedef {'moved' | 'media' | 'network' | 'shutdown' | 'flood'} ReconnectReason
 *
 * What the app hears from a session.
 * @typedef {{
 *   onJoined(joined: Joined, isRejoin: boolean): void,
 *   onWaiting(info: RoomInfo | null, isRejoin: boolean): void,
 *   onEvent(msg: Message): void,
 *   onMediaState(state: RTCPeerConnectionState): void,
 *   onReconnecting(reason: ReconnectReason): void,
 *   onRetryScheduled(ms: number): void,
 *   onRetryFailed(err: unknown): void,
 *   onFatal(err: ProtocolError): void,
 *   onRefused(message: string): void,
 *   onKicked(msg: Message): void,
 * }} SessionHandlers
 *   onWaiting: the lobby holds us. onRetryScheduled: the next attempt
 *   starts in ms (0: now). onRefused: an organizer turned us away.
 *
 * Where a connection's video goes (room-video.js): the slots' tracks,
 * the offer answered (the server has our answer: the camera may go up),
 * the connection gone.
 * @typedef {VideoSink & {onAnswered(media: MediaSession): void, onClosed(): void}} VideoIO
 */

// Join errors after which trying again cannot help: the user must act
// (type the new password, ask an organizer…). Others (rate_limited,
// room_full while our old self is still counted, internal, network) are
// retried.
const FATAL = new Set([
  'bad_password', 'bad_secret', 'room_locked', 'not_found',
  'unsupported_version', 'bad_message', 'bad_state',
]);

const BACKOFF_FIRST = 1000;
const BACKOFF_MAX = 15000;
const BACKOFF_NEXT_NODE = 250; // between two nodes of one round
const DISCONNECTED_GRACE = 5000; // a 'disconnected' PeerConnection often recovers by itself
const CONNECT_WATCHDOG = 20000; // joined, but no media this long: start over
const KEEPALIVE_EVERY = 20000; // a dead network can keep a WebSocket "open" for minutes
const KEEPALIVE_TIMEOUT = 10000;

export class Session {
  /**
   * @param {{room: string, name: string, password?: string, secret?: string,
   *   mic: Microphone, out: AudioOut, handlers: SessionHandlers, video?: VideoIO | null}} options
   */
  constructor({ room, name, password, secret, mic, out, handlers, video = null }) {
    this.video = video;
    this.room = room;
    this.name = name;
    this.password = password || '';
    this.secret = secret || '';
    this.mic = mic;
    this.out = out;
    this.h = handlers;
    /** @type {Connection | null} */
    this.conn = null;
    /** @type {MediaSession | null} */
    this.media = null;
    this.joined = false;
    this.waiting = false; // in the lobby
    this.waited = false; // the lobby held us at least once
    this.ended = false;
    this.reconnecting = false;
    /** @type {{resolve: (msg: Message) => void, reject: (err: ProtocolError) => void} | null} until admitted */
    this.admission = null;
    /** @type {(() => void) | null} start() resolves: joined or waiting */
    this.started = null;
    /** @type {{watchdog?: ReturnType<typeof setTimeout>, disconnected?: ReturnType<typeof setTimeout>, keepalive?: ReturnType<typeof setInterval>}} */
    this.timers = {};
    /** @type {(() => void) | null} ends the wait before the next attempt */
    this.wake = null;
    this.base = ''; // base URL of the node we joined
    /** @type {string[]} the cluster's nodes (base URLs) as the last joined listed them */
    this.nodes = [];
    this.movedTo = ''; // the room moved there: the next rejoin goes there first
  }

  get pc() {
    return this.media ? this.media.pc : null;
  }

  get ws() {
    return this.conn ? this.conn.ws : null;
  }

  // start joins for the first time. It resolves once in the room or in
  // its lobby; a failure before that rejects (the app stays on the
  // prejoin screen) and nothing is retried. Past the lobby's door,
  // failures are the handlers' (refused, fatal) or rejoin.
  start() {
    return /** @type {Promise<void>} */ (new Promise((resolve, reject) => {
      this.started = resolve;
      this.connect(false, location.origin).then(() => resolve(), (err) => {
        if (!this.waited || this.ended) {
          this.teardown();
          this.ended = true;
          reject(err);
          return;
        }
        this.failedAfterWaiting(err);
      });
    }));
  }

  /**
   * failedAfterWaiting: the first join failed after the lobby held us.
   * @param {unknown} err
   */
  failedAfterWaiting(err) {
    this.teardown();
    if (err instanceof ProtocolError && err.code === 'refused') {
      this.ended = true;
      this.h.onRefused(err.message === 'refused' ? '' : err.message);
    } else if (err instanceof ProtocolError && FATAL.has(err.code)) {
      this.ended = true;
      this.h.onFatal(err);
    } else {
      this.startReconnect(err instanceof ProtocolError && err.reason ? err.reason : 'network');
    }
  }

  /**
   * connect joins through the node at base (a base URL), following the
   * redirects of the join; hops is how many were followed to get there.
   * @param {boolean} isRejoin @param {string} base @param {number} [hops]
   * @returns {Promise<void>}
   */
  async connect(isRejoin, base, hops = 0) {
    this.joined = false;
    // Events that arrive before the joined reply is handled wait here.
    /** @type {Message[]} */
    const early = [];
    let ready = false;
    const conn = new Connection({
      url: socketURL(base),
      onEvent: (msg) => {
        if (conn !== this.conn) return;
        if (this.admission && (msg.type === 'joined' || msg.type === 'refused')) {
          // The lobby's answer: let in, or turned away (the server closes next).
          const a = this.admission;
          this.admission = null;
          if (msg.type === 'joined') a.resolve(msg);
          else a.reject(new ProtocolError('refused', msg.message || ''));
          return;
        }
        if (!ready) early.push(msg);
        else this.onEvent(msg);
      },
      onClose: (info) => {
        if (conn !== this.conn || info.byUs) return;
        const reason = closeReason(info.code);
        if (this.admission) {
          const a = this.admission;
          this.admission = null;
          a.reject(Object.assign(new ProtocolError('closed', info.reason), { reason }));
          return;
        }
        this.onClose(reason);
      },
    });
    this.conn = conn;
    await conn.open();
    const welcome = await conn.request({ type: 'hello', version: PROTOCOL_VERSION, software: SOFTWARE });
    if (welcome.version !== PROTOCOL_VERSION) throw new ProtocolError('unsupported_version');
    /** @type {Message} */
    const join = { type: 'join', room: this.room, name: this.name };
    if (this.password) join.password = this.password;
    if (this.secret) join.secret = this.secret;
    if (hops) join.hops = hops;
    if (isRejoin) join.rejoin = true;
    // The video m-lines, where the browser can show them.
    if (this.video && videoCapable()) join.want_video = true;
    let joined = await conn.request(join);
    if (conn !== this.conn || this.ended) throw new ProtocolError('closed');
    if (joined.type === 'redirect') {
      // The room lives on another node: join there instead. The server
      // accepts a join with MAX_HOPS wherever it lands, so one more
      // redirect means a broken cluster.
      const url = nodeURL(joined.url);
      if (!url || hops >= MAX_HOPS) throw new ProtocolError('redirect');
      conn.close(1000, 'redirect');
      return this.connect(isRejoin, url, hops + 1);
    }
    if (joined.type === 'waiting') {
      joined = await this.waitInLobby(conn, joined, isRejoin);
      early.length = 0; // nothing of the room reaches the lobby
    }
    if (!joined.self || !joined.room_info) throw new ProtocolError('bad_message', 'joined without self or room_info');
    this.base = base;
    this.nodes = (Array.isArray(joined.nodes) ? joined.nodes : []).slice(0, MAX_NODES).map(nodeURL).filter(Boolean);
    // We opened this ad-hoc room: its organizer secret makes us its
    // organizer again when we rejoin.
    if (typeof joined.organizer_secret === 'string' && joined.organizer_secret) this.secret = joined.organizer_secret;

    this.media = new MediaSession({
      iceServers: joined.ice_servers || [],
      micTrack: this.mic.track,
      out: this.out,
      onCandidate: (c) => this.conn && this.conn.send({ type: 'candidate', candidate: c }),
      onState: (s) => this.onMediaState(s),
      videoSlots: joined.room_info.video_slots || 0,
      video: this.video,
    });
    this.joined = true;
    this.reconnecting = false;
    ready = true;
    this.h.onJoined(/** @type {Joined} */ (joined), isRejoin);
    if (this.started) this.started();
    this.started = null;
    for (const m of early) this.onEvent(m);
    this.startWatchdogs();
  }

  /**
   * waitInLobby: the join was answered "waiting". Tell the app, keep the
   * connection alive, and resolve with the joined that admits us (or
   * reject: refused, closed).
   * @param {Connection} conn @param {Message} waiting @param {boolean} isRejoin
   * @returns {Promise<Message>}
   */
  async waitInLobby(conn, waiting, isRejoin) {
    this.waiting = this.waited = true;
    this.reconnecting = false;
    /** @type {Promise<Message>} */
    const admitted = new Promise((resolve, reject) => {
      this.admission = { resolve, reject };
    });
    this.startKeepalive(conn);
    this.h.onWaiting(waiting.room_info || null, isRejoin);
    if (this.started) this.started();
    this.started = null;
    try {
      const joined = await admitted;
      if (conn !== this.conn || this.ended) throw new ProtocolError('closed');
      return joined;
    } finally {
      this.waiting = false;
      this.admission = null;
      this.clearTimers();
    }
  }

  /** @param {Message} msg */
  onEvent(msg) {
    switch (msg.type) {
      case 'offer':
        this.answer(msg.sdp || '');
        break;
      case 'candidate':
        if (this.media && msg.candidate) this.media.addCandidate(msg.candidate);
        break;
      case 'kicked':
        this.ended = true;
        this.teardown();
        this.h.onKicked(msg);
        break;
      case 'redirect': {
        // The room is moving to another node; the server closes this
        // connection next. Rejoin over there, as after a lost connection.
        const url = nodeURL(msg.url);
        if (!url) break; // the coming close starts an ordinary reconnect
        this.movedTo = url;
        this.startReconnect('moved');
        break;
      }
      default:
        this.h.onEvent(msg);
    }
  }

  /** @param {string} sdp the server's offer */
  async answer(sdp) {
    const media = this.media;
    const conn = this.conn;
    if (!media || !conn) return;
    try {
      const answer = await media.acceptOffer(sdp);
      if (media !== this.media) return;
      await conn.request({ type: 'answer', sdp: answer });
      if (media === this.media && this.video) this.video.onAnswered(media);
    } catch (err) {
      if (media !== this.media) return;
      console.warn('palabre: answering the offer failed', err);
      this.startReconnect('media');
    }
  }

  /** @param {RTCPeerConnectionState} state */
  onMediaState(state) {
    clearTimeout(this.timers.disconnected);
    if (state === 'connected') {
      clearTimeout(this.timers.watchdog);
    } else if (state === 'disconnected') {
      this.timers.disconnected = setTimeout(() => this.startReconnect('media'), DISCONNECTED_GRACE);
    } else if (state === 'failed') {
      this.startReconnect('media');
      return;
    }
    this.h.onMediaState(state);
  }

  /** @param {ReconnectReason} reason */
  onClose(reason) {
    if (this.ended || !this.joined) return;
    this.startReconnect(reason);
  }

  startWatchdogs() {
    this.clearTimers();
    this.timers.watchdog = setTimeout(() => {
      if (this.pc && this.pc.connectionState !== 'connected') this.startReconnect('media');
    }, CONNECT_WATCHDOG);
    if (this.conn) this.startKeepalive(this.conn);
  }

  // startKeepalive pings: a dead network can keep a WebSocket "open" for
  // minutes. Any answer (even an error) is life; no answer is not.
  /** @param {Connection} conn */
  startKeepalive(conn) {
    clearInterval(this.timers.keepalive);
    this.timers.keepalive = setInterval(() => {
      if (conn !== this.conn || !(this.joined || this.waiting)) return;
      conn.request({ type: 'ping' }, KEEPALIVE_TIMEOUT).catch((err) => {
        if (conn !== this.conn || err.code !== 'timeout') return;
        if (this.admission) {
          // Waiting in the lobby: give up this connection, join again.
          const a = this.admission;
          this.admission = null;
          a.reject(Object.assign(new ProtocolError('timeout'), { reason: 'network' }));
        } else {
          this.startReconnect('network');
        }
      });
    }, KEEPALIVE_EVERY);
  }

  clearTimers() {
    clearTimeout(this.timers.watchdog);
    clearTimeout(this.timers.disconnected);
    clearInterval(this.timers.keepalive);
    this.timers = {};
  }

  /**
   * startReconnect drops the connection and rejoins from scratch.
   * @param {ReconnectReason} reason
   */
  startReconnect(reason) {
    if (this.ended || this.reconnecting) return;
    this.reconnecting = true;
    this.teardown();
    this.h.onReconnecting(reason);
    this.reconnectLoop();
  }

  async reconnectLoop() {
    // A move is planned (drain, conflict): go at once. A loss may be a
    // blip: give the network a second.
    let delay = this.movedTo ? 0 : BACKOFF_FIRST; // before the next attempt
    let roundDelay = BACKOFF_FIRST; // before the next round of every node
    // Where to rejoin, one per attempt in turn: the node we were on, the
    // cluster's other nodes, the page's own server (without a cluster,
    // the page's server only). Whichever answers may redirect the join.
    const bases = [...new Set([this.base, ...this.nodes, location.origin].filter(Boolean))];
    let next = 0;
    const online = () => this.wake && this.wake();
    window.addEventListener('online', online);
    try {
      while (!this.ended) {
        this.h.onRetryScheduled(delay);
        const s = sleep(delay);
        this.wake = s.wake;
        await s.done;
        this.wake = null;
        if (this.ended) return;
        this.h.onRetryScheduled(0);
        let base;
        let hops = 0;
        if (this.movedTo) {
          // Sent there by a redirect: that counts as one hop.
          base = this.movedTo;
          hops = 1;
          this.movedTo = '';
        } else {
          base = bases[next++ % bases.length];
        }
        try {
          await this.connect(true, base, hops);
          return;
        } catch (err) {
          if (this.ended) return;
          this.teardown();
          if (err instanceof ProtocolError && err.code === 'refused') {
            this.ended = true;
            this.reconnecting = false;
            this.h.onRefused(err.message === 'refused' ? '' : err.message);
            return;
          }
          if (err instanceof ProtocolError && FATAL.has(err.code)) {
            this.ended = true;
            this.reconnecting = false;
            this.h.onFatal(err);
            return;
          }
          if (!this.reconnecting) {
            // Turned out of the lobby's wait (a lost connection): say so again.
            this.reconnecting = true;
            this.h.onReconnecting(err instanceof ProtocolError && err.reason ? err.reason : 'network');
          }
          this.h.onRetryFailed(err);
          // Within one round of the nodes, try the next one soon: in a
          // cluster, the node we were on may be dead while another
          // answers. Back off only once every node has failed.
          if (next % bases.length !== 0) {
            delay = BACKOFF_NEXT_NODE;
          } else {
            roundDelay = Math.min(roundDelay * 2, BACKOFF_MAX);
            delay = roundDelay;
          }
        }
      }
    } finally {
      window.removeEventListener('online', online);
    }
  }

  // retryNow ends the wait before the next attempt ("Retry now").
  retryNow() {
    if (this.wake) this.wake();
  }

  /**
   * request sends a room request; it fails with 'closed' while offline.
   * @param {Message} msg
   */
  request(msg) {
    if (!this.joined || !this.conn) return Promise.reject(new ProtocolError('closed'));
    return this.conn.request(msg);
  }

  /** @param {MediaStreamTrack | null} track */
  async setMicTrack(track) {
    if (this.media) await this.media.setMicTrack(track);
  }

  /**
   * setVideoTrack sends our camera's or screen's track (null: nothing);
   * false without a connection whose offer has that m-line.
   * @param {VideoKind} kind @param {MediaStreamTrack | null} track
   */
  async setVideoTrack(kind, track) {
    return this.media ? this.media.setVideoTrack(kind, track) : false;
  }

  // leave says goodbye and closes; no reconnect after it.
  async leave() {
    if (this.ended) return;
    this.ended = true;
    if (this.wake) this.wake();
    const conn = this.conn;
    if (this.admission) {
      this.admission.reject(new ProtocolError('closed'));
      this.admission = null;
    }
    if ((this.joined || this.waiting) && conn) {
      try {
        await conn.request({ type: 'leave' }, 1500);
      } catch {
        // closing anyway
      }
    }
    this.teardown();
  }

  // leaveNow is for pagehide: no time to wait for an answer.
  leaveNow() {
    if (this.conn) this.conn.send({ type: 'leave' });
    this.ended = true;
  }

  teardown() {
    this.clearTimers();
    this.joined = false;
    if (this.conn) {
      this.conn.close(1000, 'bye');
      this.conn = null;
    }
    if (this.media) {
      this.media.close();
      this.media = null;
      if (this.video) this.video.onClosed();
    }
    this.out.reset();
  }
}

/**
 * closeReason: what the server's close code says of why it closed.
 * @param {number} code
 * @returns {ReconnectReason}
 */
function closeReason(code) {
  switch (code) {
    case 1001: // going away: the server shuts down
      return 'shutdown';
    case 1012: // service restart: the room moved
      return 'moved';
    case 1008: // policy violation: too many messages
      return 'flood';
    default:
      return 'network';
  }
}
