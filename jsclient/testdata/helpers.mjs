// Test doubles for the live.js unit tests: a manual clock, a scripted
// in-memory transport, a fake localStorage.

import { connect } from '../live.js';

/** Manual clock with setTimeout/clearTimeout; nothing runs until advanced. */
export class FakeClock {
  constructor(start = 1_700_000_000_000) {
    this.t = start;
    this.timers = new Map();
    this.ids = 0;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = ++this.ids;
      this.timers.set(id, { at: this.t + ms, ms, fn });
      return id;
    };
    this.clearTimeout = (id) => this.timers.delete(id);
  }

  /** Delays (ms) of the pending timers, in firing order. */
  pending() {
    return [...this.timers.values()].sort((a, b) => a.at - b.at).map((t) => t.ms);
  }

  /** Fires the earliest timer (advancing the clock to it); returns its delay. */
  next() {
    const [id, t] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0] || [];
    if (id === undefined) throw new Error('no pending timer');
    this.timers.delete(id);
    this.t = Math.max(this.t, t.at);
    t.fn();
    return t.ms;
  }

  /** Advances the clock by ms, firing due timers in order. */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** In-memory localStorage. */
export class FakeStorage {
  constructor() {
    this.map = new Map();
    this.failWrites = false;
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

/** One scripted transport instance: records what the client sends. */
export class FakeSocket {
  constructor(endpoints, handlers) {
    this.endpoints = endpoints;
    this.h = handlers;
    this.sent = [];
    this.closed = false;
  }
  send(d) {
    this.sent.push(typeof d === 'string' ? JSON.parse(d) : d);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.h.open();
  }
  /** Delivers a server frame: an object/array (JSON-encoded), a string or bytes. */
  recv(m) {
    this.h.message(typeof m === 'string' || m instanceof Uint8Array ? m : JSON.stringify(m));
  }
  drop(code = 1006, reason = '') {
    this.h.close(code, reason);
  }
  /** Sent JSON messages of a type. */
  of(type) {
    return this.sent.filter((m) => m && m.type === type);
  }
  /** The last sent JSON message of a type (throws if none). */
  last(type) {
    const all = this.of(type);
    if (!all.length) throw new Error(`nothing of type ${type} sent; sent: ${JSON.stringify(this.sent.map((m) => m.type))}`);
    return all[all.length - 1];
  }
  /** open + CONNECTION_ESTABLISHED. */
  establish(connectionId = 'conn1') {
    this.open();
    this.recv({ type: 'CONNECTION_ESTABLISHED', connectionId });
  }
}

/** Transport factory producing FakeSockets, all kept in `sockets`. */
export function fakeNetwork() {
  const net = {
    sockets: [],
    factory: (ep, h) => {
      const s = new FakeSocket(ep, h);
      net.sockets.push(s);
      return s;
    },
    get last() {
      return net.sockets[net.sockets.length - 1];
    },
  };
  return net;
}

/** Lets pending promise callbacks run (no timers involved). */
export const flush = () => new Promise((r) => setImmediate(r));

/** A connection wired to fakes; returns {conn, clock, net, storage}. */
export function setup(opts = {}) {
  const clock = new FakeClock();
  const net = fakeNetwork();
  const storage = opts.storage || new FakeStorage();
  const conn = connect({
    transport: net.factory,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0,
    storage,
    window: null,
    document: null,
    location: null,
    heartbeatInterval: 0,
    ...opts,
  });
  return { conn, clock, net, storage };
}

/** A well-formed signed state for componentId at version. */
export function signed(componentId, version = 1, ts = 1_700_000_000_000) {
  return { data: `{"n":${version}}`, signature: 'ab'.repeat(32), timestamp: ts, version, componentId, nonce: `n${version}`, compressed: false, encrypted: false };
}

/**
 * Completes the mount the client just sent on sock: STATE_UPDATE (buffered,
 * it precedes the reply) then the MESSAGE_RESPONSE.
 */
export function answerMount(sock, id, state, version = 1, seq = 0) {
  const req = sock.last('COMPONENT_MOUNT');
  sock.recv({ type: 'STATE_UPDATE', componentId: id, payload: { state, signedState: signed(id, version) }, seq });
  sock.recv({
    type: 'MESSAGE_RESPONSE', componentId: req.componentId, success: true,
    result: { componentId: id, initialState: state, signedState: signed(id, version) }, requestId: req.requestId,
  });
  return req;
}

/** Mounts name on a ready connection; returns the handle. */
export async function mounted(env, name, id, state, opts) {
  const p = env.conn.mount(name, {}, opts);
  await flush();
  answerMount(env.net.last, id, state);
  return p;
}
