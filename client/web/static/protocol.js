// The signaling connection: one WebSocket speaking docs/protocol.md.
//
// Requests carry an id; the server sends exactly one reply with that id
// (welcome, joined, ack, pong, or error). request() returns a promise
// settled by that reply; everything else is an event, handed to onEvent.

export const PROTOCOL_VERSION = 1;
export const SOFTWARE = 'palabre-web/1';

// Reply types: a message of one of these types with a known id settles a
// request. Anything else is an event. A redirect is the reply to a join
// whose room lives on another node; without an id it is an event (the
// room is moving).
const REPLIES = new Set(['welcome', 'joined', 'ack', 'pong', 'error', 'redirect']);

// The most redirects a join may follow (MaxHops in signaling/proto) and
// the most cluster nodes remembered from a joined message.
export const MAX_HOPS = 3;
export const MAX_NODES = 16;

// ProtocolError is a failed request: code is a protocol error code
// (bad_password, floor_busy, …) or one of the client's own: closed (the
// connection ended first), timeout, network.
export class ProtocolError extends Error {
  constructor(code, message = '') {
    super(message || code);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

// nodeURL checks a node's public base URL sent by the server (redirect,
// joined.nodes) and returns it without a trailing slash, or '' when it is
// not an absolute http: or https: URL: nothing else is ever connected to.
export function nodeURL(s) {
  if (typeof s !== 'string' || s.length > 2048) return '';
  let u;
  try {
    u = new URL(s);
  } catch {
    return '';
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) return '';
  return u.origin + u.pathname.replace(/\/+$/, '');
}

// socketURL is the WebSocket endpoint ("/ws") of the node at base, a base
// URL as nodeURL returns it; by default the server that served the page.
export function socketURL(base = location.origin) {
  const u = new URL(base);
  const scheme = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${u.host}${u.pathname.replace(/\/+$/, '')}/ws`;
}

export class Connection {
  // url: the WebSocket endpoint (socketURL()).
  // onEvent(msg): every message that is not a reply.
  // onClose({code, reason, byUs}): the socket closed; byUs when close() was called.
  constructor({ url = socketURL(), onEvent, onClose, requestTimeout = 15000 }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.requestTimeout = requestTimeout;
    this.ws = null;
    this.nextID = 1;
    this.pending = new Map(); // id → {resolve, reject, timer}
    this.closedByUs = false;
    this.closed = false;
  }

  // open connects; it resolves once the socket is open.
  open(timeout = 10000) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        reject(new ProtocolError('network', String(err)));
        return;
      }
      this.ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (!opened) {
          this.close(1000, 'open timeout');
          reject(new ProtocolError('timeout'));
        }
      }, timeout);
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        clearTimeout(timer);
        this.closed = true;
        this.failPending(new ProtocolError('closed', ev.reason));
        if (!opened) {
          reject(new ProtocolError('network', ev.reason));
          return;
        }
        if (this.onClose) this.onClose({ code: ev.code, reason: ev.reason, byUs: this.closedByUs });
      };
      // An error is always followed by close, which does the work.
      ws.onerror = () => {};
    });
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('palabre: unparsable message from the server');
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.id && REPLIES.has(msg.type) && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'error') p.reject(new ProtocolError(msg.code || 'internal', msg.message));
      else p.resolve(msg);
      return;
    }
    if (this.onEvent) this.onEvent(msg);
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  // send sends a message without an id: no reply unless it fails.
  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // request sends msg with a fresh id and resolves with the reply; an
  // error reply rejects with a ProtocolError.
  request(msg, timeout = this.requestTimeout) {
    if (!this.isOpen) return Promise.reject(new ProtocolError('closed'));
    const id = this.nextID++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new ProtocolError('timeout'));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  failPending(err) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  // close ends the connection on purpose: onClose reports byUs.
  close(code = 1000, reason = '') {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState < WebSocket.CLOSING) {
      try {
        this.ws.close(code, reason);
      } catch {
        this.ws.close();
      }
    }
  }
}
