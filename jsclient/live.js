// live.js — dependency-free browser client for live-go (and any server speaking
// the @fluxstack/live 0.11 protocol). One ES2020 module; protocol constants
// come from ./protocol_gen.js, generated from the Go server's definitions.
//
// Layout: pure helpers (delta merge, backoff, persistence, msgpack, binary
// frames, SSE parsing, unrouted buffer, router) first, then transports, then
// LiveConnection, ComponentHandle and RoomHandle. Every environment object
// (WebSocket, fetch, localStorage, timers, clock, window/document) can be
// injected through connect() options, so the whole client runs under Node.

import { TYPES as T, EVENTS, CLOSE, PATHS, LIMITS, CLIENT } from './protocol_gen.js';

export { TYPES, EVENTS, CLOSE, PATHS, LIMITS, CLIENT } from './protocol_gen.js';

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Error type of every rejection produced by this client. */
export class LiveError extends Error {
  /**
   * @param {string} message
   * @param {{code?: number, reply?: object, lost?: boolean, timeout?: boolean}} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'LiveError';
    this.code = info.code;
    this.reply = info.reply;
    this.lost = !!info.lost;
    this.timeout = !!info.timeout;
  }
}

// ---------------------------------------------------------------- helpers

const isPlainObject = (v) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * Returns a new state with delta applied by the protocol's rules (spec §2.7):
 * undefined values are skipped; null at depth 0 is stored as null; null deeper
 * deletes the key; two plain objects merge recursively; anything else
 * (arrays, primitives) replaces. Unchanged branches are shared, inputs are
 * never mutated, prototype keys are ignored.
 * @param {object} state
 * @param {object} delta
 * @returns {object}
 */
export function applyDelta(state, delta) {
  return merge(isPlainObject(state) ? state : {}, delta, 0);
}

function merge(target, delta, depth) {
  if (!isPlainObject(delta)) return target;
  let out = null;
  for (const key of Object.keys(delta)) {
    if (UNSAFE_KEYS.has(key)) continue;
    const value = delta[key];
    if (value === undefined) continue;
    out = out || { ...target };
    if (value === null) {
      if (depth === 0) out[key] = null;
      else delete out[key];
    } else if (isPlainObject(value) && isPlainObject(target[key])) {
      out[key] = merge(target[key], value, depth + 1);
    } else {
      out[key] = value;
    }
  }
  return out || target;
}

/**
 * Reconnect delay for the given attempt (1-based): base × 2^(attempt−1),
 * capped, plus up to jitter × delay of random extra.
 * @param {number} attempt
 * @param {{base?: number, cap?: number, jitter?: number, random?: () => number}} [opts]
 */
export function backoffDelay(attempt, opts = {}) {
  const { base = CLIENT.RECONNECT_BASE_MS, cap = CLIENT.RECONNECT_CAP_MS, jitter = 0.2, random = Math.random } = opts;
  const n = Math.max(1, Math.floor(attempt) || 1);
  const delay = Math.min(base * 2 ** Math.min(n - 1, 30), cap);
  return delay + Math.floor(random() * jitter * delay);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Random id from the protocol's 64-character alphabet (8 chars by default). */
export function generateId(length = 8) {
  const bytes = new Uint8Array(length);
  const c = globalThis.crypto;
  if (c && c.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let s = '';
  for (const b of bytes) s += ID_ALPHABET[b & 63];
  return s;
}

/** Standard base64 of bytes. */
export function bytesToBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of a standard base64 string; throws on invalid input. */
export function base64ToBytes(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// ------------------------------------------------------------ persistence

/** localStorage key of a component's persisted signed state (spec §3.9). */
export const storageKey = (name) => CLIENT.STORAGE_PREFIX + name;

/** Reports whether s has the minimal signedState shape (spec §1.5). */
export function isSignedState(s) {
  return isPlainObject(s) && typeof s.data === 'string' && typeof s.signature === 'string' &&
    typeof s.timestamp === 'number' && typeof s.version === 'number' && typeof s.componentId === 'string' &&
    (s.nonce === undefined || typeof s.nonce === 'string') &&
    (s.compressed === undefined || typeof s.compressed === 'boolean') &&
    (s.encrypted === undefined || typeof s.encrypted === 'boolean');
}

/**
 * Stores {componentName, signedState, room?, userId?, lastUpdate} under the
 * component's key. Storage errors (quota, privacy mode) are swallowed.
 * @returns {boolean} whether the entry was written
 */
export function savePersisted(storage, name, entry, now = Date.now()) {
  if (!storage || !isSignedState(entry.signedState)) return false;
  const value = { componentName: name, signedState: entry.signedState, lastUpdate: now };
  if (entry.room) value.room = entry.room;
  if (entry.userId) value.userId = entry.userId;
  try {
    storage.setItem(storageKey(name), JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

/** Removes the component's persisted entry. */
export function clearPersisted(storage, name) {
  try {
    if (storage) storage.removeItem(storageKey(name));
  } catch { /* storage unavailable */ }
}

/**
 * Returns the component's persisted entry, or null. Entries that are
 * malformed, for another name, or older than maxAge (24 h) are deleted.
 */
export function loadPersisted(storage, name, now = Date.now(), maxAge = CLIENT.STORAGE_TTL_MS) {
  let raw = null;
  try {
    raw = storage ? storage.getItem(storageKey(name)) : null;
  } catch {
    return null;
  }
  if (raw == null) return null;
  let e;
  try {
    e = JSON.parse(raw);
  } catch {
    e = null;
  }
  const age = e && now - e.lastUpdate;
  if (!isPlainObject(e) || e.componentName !== name || typeof e.lastUpdate !== 'number' || !(age <= maxAge) || age < -60000) {
    clearPersisted(storage, name);
    return null;
  }
  return e;
}

/**
 * Returns the persisted entry if it can still be used to rehydrate (≤ 1 h old
 * and a well-formed signedState); otherwise deletes it and returns null.
 */
export function loadRehydratable(storage, name, now = Date.now()) {
  const e = loadPersisted(storage, name, now);
  if (!e) return null;
  if (now - e.lastUpdate > CLIENT.REHYDRATE_TTL_MS || !isSignedState(e.signedState)) {
    clearPersisted(storage, name);
    return null;
  }
  return e;
}

// ---------------------------------------------------------------- msgpack

/**
 * Decodes one msgpack value (the subset of spec §1.10.2: nil, booleans,
 * fixint/uint8-32/int8-32, float64, str, bin, array, map). Throws RangeError
 * on truncation, on containers claiming more items than bytes left, or on
 * nesting deeper than maxDepth; TypeError on other type bytes. Map keys are
 * stringified; __proto__/constructor/prototype keys are dropped.
 * @param {Uint8Array} bytes
 * @param {number} [maxDepth]
 */
export function decodeMsgpack(bytes, maxDepth = CLIENT.MSGPACK_MAX_DEPTH) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n) => {
    if (pos + n > bytes.length) throw new RangeError('msgpack: truncated input');
  };
  const num = (size, get) => {
    need(size);
    const v = view[get](pos);
    pos += size;
    return v;
  };
  const u8 = () => num(1, 'getUint8');
  const u16 = () => num(2, 'getUint16');
  const u32 = () => num(4, 'getUint32');
  const raw = (n) => {
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = (n) => utf8Decoder.decode(raw(n));
  const container = (n, per, depth) => {
    if (depth + 1 > maxDepth) throw new RangeError('msgpack: nesting too deep');
    if (n * per > bytes.length - pos) throw new RangeError('msgpack: container larger than input');
  };
  const arr = (n, depth) => {
    container(n, 1, depth);
    const out = [];
    for (let i = 0; i < n; i++) out.push(read(depth + 1));
    return out;
  };
  const map = (n, depth) => {
    container(n, 2, depth);
    const out = {};
    for (let i = 0; i < n; i++) {
      const k = read(depth + 1);
      const v = read(depth + 1);
      const key = typeof k === 'string' ? k : String(k);
      if (!UNSAFE_KEYS.has(key)) out[key] = v;
    }
    return out;
  };
  const read = (depth) => {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f) return arr(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return raw(u8()).slice();
      case 0xc5: return raw(u16()).slice();
      case 0xc6: return raw(u32()).slice();
      case 0xcb: return num(8, 'getFloat64');
      case 0xcc: return u8();
      case 0xcd: return u16();
      case 0xce: return u32();
      case 0xd0: return num(1, 'getInt8');
      case 0xd1: return num(2, 'getInt16');
      case 0xd2: return num(4, 'getInt32');
      case 0xd9: return str(u8());
      case 0xda: return str(u16());
      case 0xdb: return str(u32());
      case 0xdc: return arr(u16(), depth);
      case 0xdd: return arr(u32(), depth);
      case 0xde: return map(u16(), depth);
      case 0xdf: return map(u32(), depth);
    }
    throw new TypeError(`msgpack: unsupported type 0x${b.toString(16)}`);
  };
  return read(0);
}

// ---------------------------------------------------------- binary frames

/**
 * Parses a 0x02 (room event) or 0x03 (room state) frame (spec §1.10.2).
 * Returns null for any other type, fewer than 6 bytes, or a length that runs
 * past the buffer.
 * @param {Uint8Array} b
 * @returns {{kind: number, componentId: string, roomId: string, event: string, payload: Uint8Array} | null}
 */
export function parseRoomFrame(b) {
  if (b.length < 6 || (b[0] !== 2 && b[0] !== 3)) return null;
  let p = 1;
  const field = (len) => {
    if (len < 0 || p + len > b.length) return null;
    const s = utf8Decoder.decode(b.subarray(p, p + len));
    p += len;
    return s;
  };
  const componentId = field(b[p++]);
  if (componentId === null || p >= b.length) return null;
  const roomId = field(b[p++]);
  if (roomId === null || p + 2 > b.length) return null;
  const eventLen = (b[p] << 8) | b[p + 1];
  p += 2;
  const event = field(eventLen);
  if (event === null) return null;
  return { kind: b[0], componentId, roomId, event, payload: b.subarray(p) };
}

/**
 * Parses a 0x01 component binary delta (spec §1.10.1); null if malformed.
 * @param {Uint8Array} b
 */
export function parseComponentFrame(b) {
  if (b.length < 3 || b[0] !== 1 || 2 + b[1] > b.length) return null;
  return { componentId: utf8Decoder.decode(b.subarray(2, 2 + b[1])), payload: b.subarray(2 + b[1]) };
}

/**
 * Builds a binary upload chunk (spec §1.10.3): u32 little-endian header
 * length, UTF-8 JSON header, raw bytes.
 * @param {object} header
 * @param {Uint8Array} data
 */
export function encodeUploadChunk(header, data) {
  const h = utf8Encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  out.set(data, 4 + h.length);
  return out;
}

/**
 * Turns a decoded binary room frame into the equivalent JSON room message, so
 * both wire forms share one code path. Returns null if the payload does not
 * decode.
 */
export function roomFrameMessage(frame, maxDepth) {
  let data;
  try {
    data = decodeMsgpack(frame.payload, maxDepth);
  } catch {
    return null;
  }
  const type = frame.kind === 3 ? T.ROOM_STATE : frame.event.startsWith('$sub:') ? T.ROOM_SYSTEM : T.ROOM_EVENT;
  return { type, componentId: frame.componentId, roomId: frame.roomId, event: frame.event, data };
}

// ------------------------------------------------------------- SSE parser

/**
 * Incremental text/event-stream parser. push() text chunks in; onEvent(name,
 * data) runs for each complete event (default name "message"). Comment lines
 * are ignored. An event or line larger than maxBytes throws RangeError.
 */
export class SseParser {
  constructor(onEvent, maxBytes = 2 * LIMITS.MAX_MESSAGE_SIZE) {
    this.onEvent = onEvent;
    this.max = maxBytes;
    this.buf = '';
    this.event = '';
    this.data = [];
    this.size = 0;
  }

  push(chunk) {
    this.buf += chunk;
    let start = 0;
    for (;;) {
      let i = start;
      while (i < this.buf.length && this.buf[i] !== '\n' && this.buf[i] !== '\r') i++;
      if (i >= this.buf.length) break;
      // A CR at the very end may be the first half of CRLF: wait for more.
      if (this.buf[i] === '\r' && i + 1 >= this.buf.length) break;
      const line = this.buf.slice(start, i);
      start = i + (this.buf[i] === '\r' && this.buf[i + 1] === '\n' ? 2 : 1);
      this.line(line);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > this.max) throw new RangeError('SSE line too long');
  }

  line(line) {
    if (line === '') {
      if (this.data.length) this.onEvent(this.event || 'message', this.data.join('\n'));
      this.event = '';
      this.data = [];
      this.size = 0;
      return;
    }
    if (line[0] === ':') return;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.size += value.length;
      if (this.size > this.max) throw new RangeError('SSE event too large');
      this.data.push(value);
    }
  }
}

// --------------------------------------------------------- unrouted buffer

/**
 * Holds messages for componentIds nobody has registered yet (replies trail
 * their side effects, spec §1.7): at most perComponent messages per id (the
 * oldest are dropped), at most maxComponents ids (the oldest id is dropped),
 * each message kept ttl ms.
 */
export class UnroutedBuffer {
  constructor(opts = {}) {
    this.perComponent = opts.perComponent ?? CLIENT.UNROUTED_PER_COMPONENT;
    this.maxComponents = opts.maxComponents ?? CLIENT.UNROUTED_COMPONENTS;
    this.ttl = opts.ttl ?? CLIENT.UNROUTED_TTL_MS;
    this.now = opts.now ?? Date.now;
    this.map = new Map();
  }

  push(id, msg) {
    let q = this.map.get(id);
    if (!q) {
      this.prune();
      if (this.map.size >= this.maxComponents) this.map.delete(this.map.keys().next().value);
      q = [];
      this.map.set(id, q);
    }
    q.push({ at: this.now(), msg });
    if (q.length > this.perComponent) q.shift();
  }

  /** Removes and returns the unexpired messages buffered for id, oldest first. */
  take(id) {
    const q = this.map.get(id);
    if (!q) return [];
    this.map.delete(id);
    const limit = this.now() - this.ttl;
    return q.filter((e) => e.at >= limit).map((e) => e.msg);
  }

  prune() {
    const limit = this.now() - this.ttl;
    for (const [id, q] of this.map) if (!q.length || q[q.length - 1].at < limit) this.map.delete(id);
  }

  clear() {
    this.map.clear();
  }

  get size() {
    return this.map.size;
  }
}

// ------------------------------------------------------------------ router

const isReplyError = (m) =>
  (m.type === T.ERROR || m.success === false) && !String(m.error ?? '').includes(CLIENT.REHYDRATION_REQUIRED);

/** Error text of a failed reply. */
const replyError = (m) => m.error ?? (m.payload && m.payload.error) ?? 'Request failed';

/**
 * Dispatches decoded server messages (spec §10.3): replies settle the pending
 * request with their requestId (or the upload alias), BROADCAST goes to every
 * target but the sender, everything else goes to the target registered for
 * its componentId or waits in the unrouted buffer until one registers.
 */
export class Router {
  constructor(opts = {}) {
    this.targets = new Map();
    this.pending = new Map();
    this.buffer = new UnroutedBuffer(opts);
  }

  /** Registers fn(msg) for componentId and replays what was buffered for it. */
  register(id, fn) {
    this.targets.set(id, fn);
    for (const m of this.buffer.take(id)) fn(m);
  }

  unregister(id, fn) {
    if (!fn || this.targets.get(id) === fn) this.targets.delete(id);
  }

  /**
   * Awaits the reply with requestId. Unless raw, a reply with success:false
   * or type ERROR rejects with a LiveError, except for
   * COMPONENT_REHYDRATION_REQUIRED, which resolves (the caller recovers).
   */
  expect(requestId, resolve, reject, raw = false) {
    this.pending.set(requestId, { resolve, reject, raw });
  }

  forget(requestId) {
    this.pending.delete(requestId);
  }

  /** Rejects every pending request with err. */
  rejectAll(err) {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  settle(key, m) {
    const p = this.pending.get(key);
    if (!p) return false;
    this.pending.delete(key);
    if (!p.raw && isReplyError(m)) p.reject(new LiveError(replyError(m), { reply: m }));
    else p.resolve(m);
    return true;
  }

  dispatch(m) {
    if (typeof m.requestId === 'string' && this.settle(m.requestId, m)) return;
    if (m.type === T.FILE_UPLOAD_PROGRESS && this.settle(`chunk-${m.uploadId}-${m.chunkIndex}`, m)) return;
    if (m.type === T.FILE_UPLOAD_COMPLETE && this.settle(`complete-${m.uploadId}`, m)) return;
    if (m.type === T.BROADCAST) {
      for (const [id, fn] of [...this.targets]) if (id !== m.componentId) fn(m);
      return;
    }
    const id = m.componentId;
    if (typeof id !== 'string') return;
    const fn = this.targets.get(id);
    if (fn) fn(m);
    else this.buffer.push(id, m);
  }
}

// -------------------------------------------------------------- endpoints

/**
 * Derives the transport URLs (spec §1.12): the WebSocket URL defaults to
 * ws(s)://<location.host>/api/live/ws (ws://localhost:3000/... without a
 * location); a path or http(s) URL is turned into ws(s); SSE and long-poll
 * URLs replace the scheme and the final /ws segment unless given.
 */
export function deriveEndpoints(opts = {}, loc = globalThis.location) {
  const secure = loc && loc.protocol === 'https:';
  let url = opts.url;
  if (!url) url = loc && loc.host ? `${secure ? 'wss' : 'ws'}://${loc.host}${PATHS.WS}` : `ws://localhost:3000${PATHS.WS}`;
  else if (url[0] === '/' && loc && loc.host) url = `${secure ? 'wss' : 'ws'}://${loc.host}${url}`;
  url = url.replace(/^http(s?):/, 'ws$1:');
  const base = url.replace(/^ws(s?):/, 'http$1:').replace(/\/ws\/?$/, '').replace(/\/$/, '');
  return { url, sse: opts.sseUrl || `${base}/sse`, http: opts.httpUrl || `${base}/http` };
}

// -------------------------------------------------------------- transports
//
// A transport factory is (endpoints, handlers, env) → {name, send(data),
// close()}; it calls handlers.open(), handlers.message(string | Uint8Array)
// and, once, handlers.close(code, reason) unless close() was called.

const toBytes = (d) => (d instanceof Uint8Array ? d : new Uint8Array(d));

function websocketTransport(ep, h, env) {
  const ws = new env.WebSocket(ep.url);
  ws.binaryType = 'arraybuffer';
  let done = false;
  ws.onopen = () => h.open();
  ws.onmessage = (e) => h.message(typeof e.data === 'string' ? e.data : toBytes(e.data));
  ws.onerror = () => {};
  ws.onclose = (e) => {
    if (done) return;
    done = true;
    h.close(e.code || CLOSE.ABNORMAL, e.reason || '');
  };
  return {
    name: 'websocket',
    send: (d) => ws.send(d),
    // final: the client is done (1000: the server ends its components at
    // once); otherwise it means to come back (CLIENT_AWAY: they are kept
    // for a resume).
    close(final) {
      done = true;
      try {
        if (final) ws.close(CLOSE.NORMAL, 'client closed');
        else ws.close(CLOSE.CLIENT_AWAY, 'client disconnect');
      } catch { /* already closed */ }
    },
  };
}

/** Shared state of the two HTTP transports: abort, failure, POST /send queue. */
function httpBase(h, env, sendUrl) {
  const ctrl = new AbortController();
  const t = {
    token: null,
    closed: false,
    queue: Promise.resolve(),
    signal: ctrl.signal,
    fail(code, reason) {
      if (t.closed) return;
      t.closed = true;
      ctrl.abort();
      h.close(code, reason);
    },
    stop() {
      t.closed = true;
      ctrl.abort();
    },
    headers: (extra) => ({ [CLIENT.SESSION_HEADER]: t.token, ...extra }),
    // POSTs are serialised so frames arrive in order (spec §1.12).
    send(d) {
      const binary = typeof d !== 'string';
      t.queue = t.queue.then(async () => {
        if (t.closed) return;
        try {
          const res = await env.fetch(sendUrl, {
            method: 'POST',
            headers: t.headers({ 'Content-Type': binary ? 'application/octet-stream' : 'application/json' }),
            body: d,
            credentials: 'same-origin',
          });
          if (res.status === 401 || res.status === 404 || res.status === 410) t.fail(CLOSE.ABNORMAL, 'session lost');
        } catch {
          t.fail(CLOSE.ABNORMAL, 'send failed');
        }
      });
    },
  };
  return t;
}

function sseTransport(ep, h, env) {
  const t = httpBase(h, env, `${ep.sse}/send`);
  const timer = env.setTimeout(() => t.fail(CLOSE.ABNORMAL, 'SSE open timeout'), CLIENT.SSE_OPEN_TIMEOUT_MS);
  const fail = (code, reason) => {
    env.clearTimeout(timer);
    t.fail(code, reason);
  };
  const parser = new SseParser((event, data) => {
    if (t.closed) return;
    if (event === 'session') {
      let token = null;
      try {
        token = JSON.parse(data).token;
      } catch { /* handled below */ }
      if (typeof token !== 'string') return fail(CLOSE.ABNORMAL, 'bad SSE session');
      t.token = token;
      env.clearTimeout(timer);
      h.open();
    } else if (event === 'message') h.message(data);
    else if (event === 'binary') {
      try {
        h.message(base64ToBytes(data));
      } catch { /* undecodable frame dropped */ }
    } else if (event === 'close') {
      let c = {};
      try {
        c = JSON.parse(data) || {};
      } catch { /* handled below */ }
      fail(typeof c.code === 'number' ? c.code : CLOSE.ABNORMAL, typeof c.reason === 'string' ? c.reason : '');
    }
  });
  (async () => {
    let res;
    try {
      res = await env.fetch(ep.sse, {
        headers: { Accept: 'text/event-stream' },
        cache: 'no-store',
        credentials: 'same-origin',
        signal: t.signal,
      });
    } catch {
      return fail(CLOSE.ABNORMAL, 'SSE connect failed');
    }
    if (res.status === 403) return fail(CLOSE.ORIGIN_REJECTED, 'Forbidden');
    if (!res.ok || !res.body) return fail(CLOSE.ABNORMAL, `SSE HTTP ${res.status}`);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || t.closed) break;
        parser.push(dec.decode(value, { stream: true }));
      }
    } catch { /* aborted or broken stream */ }
    fail(CLOSE.ABNORMAL, 'SSE stream ended');
  })();
  return {
    name: 'sse',
    send: (d) => t.send(d),
    close() {
      env.clearTimeout(timer);
      t.stop();
    },
  };
}

function pollTransport(ep, h, env) {
  const t = httpBase(h, env, `${ep.http}/send`);
  const get = (url, headers) => env.fetch(url, { headers, cache: 'no-store', credentials: 'same-origin', signal: t.signal });
  (async () => {
    try {
      const res = await get(ep.http, {});
      if (res.status === 403) return t.fail(CLOSE.ORIGIN_REJECTED, 'Forbidden');
      if (!res.ok) return t.fail(CLOSE.ABNORMAL, `HTTP ${res.status}`);
      const body = await res.json();
      if (!body || typeof body.token !== 'string') return t.fail(CLOSE.ABNORMAL, 'bad session');
      t.token = body.token;
      if (t.closed) return;
      h.open();
      while (!t.closed) {
        const r = await get(`${ep.http}/poll`, t.headers());
        if (t.closed) return;
        if (r.status === 401 || r.status === 404 || r.status === 410) return t.fail(CLOSE.ABNORMAL, 'session lost');
        if (!r.ok) return t.fail(CLOSE.ABNORMAL, `HTTP ${r.status}`);
        const data = await r.json();
        for (const f of (data && Array.isArray(data.frames) ? data.frames : [])) {
          if (t.closed) return;
          if (f && typeof f.t === 'string') h.message(f.t);
          else if (f && typeof f.b === 'string') {
            try {
              h.message(base64ToBytes(f.b));
            } catch { /* undecodable frame dropped */ }
          }
        }
        if (data && data.closed) {
          return t.fail(typeof data.closed.code === 'number' ? data.closed.code : CLOSE.ABNORMAL, String(data.closed.reason ?? ''));
        }
      }
    } catch {
      t.fail(CLOSE.ABNORMAL, 'HTTP polling failed');
    }
  })();
  return {
    name: 'http',
    send: (d) => t.send(d),
    close() {
      const token = t.token;
      t.stop();
      if (token) {
        env.fetch(`${ep.http}/close`, { method: 'POST', headers: { [CLIENT.SESSION_HEADER]: token }, keepalive: true, credentials: 'same-origin' })
          .catch(() => {});
      }
    },
  };
}

/** Built-in transport factories by name. */
export const TRANSPORTS = Object.freeze({ websocket: websocketTransport, sse: sseTransport, http: pollTransport });

function transportChain(t) {
  if (t === 'auto' || t === undefined) return t === 'auto' ? ['websocket', 'sse', 'http'] : ['websocket'];
  return Array.isArray(t) ? t : [t];
}

// ------------------------------------------------------------------ events

class Emitter {
  constructor() {
    this.map = new Map();
  }

  on(name, fn) {
    let s = this.map.get(name);
    if (!s) this.map.set(name, (s = new Set()));
    s.add(fn);
    return () => s.delete(fn);
  }

  emit(name, ...args) {
    const s = this.map.get(name);
    if (!s) return;
    for (const fn of [...s]) {
      try {
        fn(...args);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}

// -------------------------------------------------------------- connection

const DEFAULTS = {
  transport: 'websocket',
  autoConnect: true,
  reconnectInterval: CLIENT.RECONNECT_BASE_MS,
  maxReconnectDelay: CLIENT.RECONNECT_CAP_MS,
  reconnectJitter: 0.2,
  maxReconnectAttempts: Infinity,
  heartbeatInterval: CLIENT.HEARTBEAT_MS,
  requestTimeout: CLIENT.REQUEST_TIMEOUT_MS,
  persist: true,
};

/**
 * Creates a LiveConnection and (unless autoConnect is false) starts
 * connecting.
 * @param {object} [options] see live.d.ts ConnectOptions
 */
export function connect(options = {}) {
  return new LiveConnection(options);
}

/**
 * One logical connection to a live server across transports and reconnects.
 * Events (on): "state" (state), "open", "ready", "close" ({code, reason}),
 * "message" (msg), "auth" ({authenticated, session}), "error" (err).
 */
export class LiveConnection {
  constructor(options = {}) {
    const o = { ...DEFAULTS, ...options };
    if (!o.maxReconnectAttempts) o.maxReconnectAttempts = Infinity;
    this.options = o;
    const g = globalThis;
    let storage = null;
    try {
      storage = o.storage !== undefined ? o.storage : g.localStorage || null;
    } catch { /* access denied */ }
    this.env = {
      WebSocket: o.WebSocket || g.WebSocket,
      fetch: o.fetch || (g.fetch && g.fetch.bind(g)),
      storage: o.persist ? storage : null,
      setTimeout: o.setTimeout || ((fn, ms) => g.setTimeout(fn, ms)),
      clearTimeout: o.clearTimeout || ((id) => g.clearTimeout(id)),
      now: o.now || Date.now,
      random: o.random || Math.random,
      window: o.window !== undefined ? o.window : g.window,
      document: o.document !== undefined ? o.document : g.document,
    };
    this.endpoints = deriveEndpoints(o, o.location !== undefined ? o.location : g.location);
    this.state = {
      status: 'idle', connected: false, connecting: false, ready: false, transport: null,
      connectionId: null, authenticated: false, session: null, error: null,
    };
    this.router = new Router({ now: this.env.now });
    this._events = new Emitter();
    this._credentials = o.auth || null;
    this._chain = transportChain(o.transport);
    for (const k of this._chain) {
      if (typeof k !== 'function' && !TRANSPORTS[k]) throw new TypeError(`live: unknown transport ${String(k)}`);
    }
    this._chainIndex = 0;
    this._failedOpens = 0;
    this._attempt = 0;
    this._gen = 0;
    this._transport = null;
    this._opened = false;
    this._timer = null;
    this._heartbeat = null;
    this._intentional = false;
    this._blocked = false;
    this._destroyed = false;
    this._waiters = [];
    this._handles = new Set();
    this._routes = new Map(); // componentId → {handle, rooms: Map}
    this._slots = new Set(); // component names whose storage slot a handle owns
    this._wake = () => this.reconnectNow();
    this._visible = () => {
      if (this.env.document && this.env.document.visibilityState === 'visible') this.reconnectNow();
    };
    if (o.autoConnect) this.connect();
  }

  /** Registers fn for a connection event; returns an unsubscribe function. */
  on(event, fn) {
    return this._events.on(event, fn);
  }

  _set(patch) {
    Object.assign(this.state, patch);
    this._events.emit('state', this.state);
  }

  /** Opens the connection (no-op while connecting or open). */
  connect() {
    if (this._destroyed) throw new LiveError('Connection destroyed');
    if (this._transport) return;
    this._intentional = false;
    this._blocked = false;
    this._listen(true);
    this._clearTimer();
    this._open();
  }

  /**
   * Closes the connection without reconnecting, until connect() is called.
   * Over WebSocket the server keeps the components for its resume grace,
   * so a later connect() resumes them.
   */
  disconnect() {
    this._disconnect(false);
  }

  _disconnect(final) {
    this._intentional = true;
    this._clearTimer();
    this._listen(false);
    const t = this._transport;
    if (t) {
      this._lost(CLOSE.NORMAL, 'client disconnect');
      t.close(final);
    }
    this._set({ status: 'closed' });
  }

  /** disconnect() then connect(). */
  reconnect() {
    this.disconnect();
    this.connect();
  }

  /**
   * Closes for good: pending requests and waiters reject, handles become
   * unusable, listeners are removed.
   */
  close() {
    if (this._destroyed) return;
    this._disconnect(true); // final: the server ends the components at once
    this._destroyed = true;
    this._fail(new LiveError('Connection destroyed'));
    for (const h of [...this._handles]) h._dispose();
  }

  /** Reconnects at once if not connected (used on `online` / tab visible). */
  reconnectNow() {
    if (this._destroyed || this._intentional || this._blocked || this._transport) return;
    this._clearTimer();
    this._attempt = 0;
    this._open();
  }

  _listen(on) {
    const w = this.env.window;
    const d = this.env.document;
    const m = on ? 'addEventListener' : 'removeEventListener';
    if (w && w[m]) w[m]('online', this._wake);
    if (d && d[m]) d[m]('visibilitychange', this._visible);
  }

  _clearTimer() {
    if (this._timer !== null) this.env.clearTimeout(this._timer);
    this._timer = null;
  }

  _open() {
    const gen = ++this._gen;
    const kind = this._chain[this._chainIndex];
    const factory = typeof kind === 'function' ? kind : TRANSPORTS[kind];
    this._opened = false;
    this._set({ status: 'connecting', connecting: true, connected: false, transport: typeof kind === 'string' ? kind : 'custom' });
    const handlers = {
      open: () => gen === this._gen && this._onOpen(),
      message: (d) => gen === this._gen && this._onData(d),
      close: (code, reason) => gen === this._gen && this._onClose(code, reason),
    };
    // The slot exists before the factory runs, so a transport may report
    // open (or close) synchronously.
    let real = null;
    this._transport = {
      send(d) {
        if (!real) throw new LiveError('Not connected');
        real.send(d);
      },
      close: (final) => real && real.close(final),
    };
    try {
      real = factory(this.endpoints, handlers, this.env);
    } catch (e) {
      this._events.emit('error', e);
      if (gen === this._gen) this._onClose(CLOSE.ABNORMAL, String(e && e.message));
    }
  }

  _onOpen() {
    this._opened = true;
    this._attempt = 0;
    this._failedOpens = 0;
    this._set({ status: 'open', connected: true, connecting: false, error: null });
    this._beat();
    this._events.emit('open');
  }

  _beat() {
    const ms = this.options.heartbeatInterval;
    if (!(ms > 0)) return;
    this._heartbeat = this.env.setTimeout(() => {
      this._heartbeat = null;
      if (!this.state.connected) return;
      try {
        this.send({ type: T.PING });
      } catch { /* closing */ }
      this._beat();
    }, ms);
  }

  // _lost tears the current transport's session down: pending requests
  // reject, routing buffers clear, handles learn they are disconnected.
  _lost(code, reason) {
    this._gen++;
    this._transport = null;
    if (this._heartbeat !== null) this.env.clearTimeout(this._heartbeat);
    this._heartbeat = null;
    const wasReady = this.state.ready;
    this._set({
      status: 'disconnected', connected: false, connecting: false, ready: false,
      connectionId: null, authenticated: false, session: null,
    });
    this.router.rejectAll(new LiveError(`Connection lost (${code}${reason ? `: ${reason}` : ''})`, { code, lost: true }));
    this.router.buffer.clear();
    if (wasReady) for (const h of this._handles) h._disconnected();
    this._events.emit('close', { code, reason });
  }

  _onClose(code, reason) {
    const opened = this._opened;
    this._lost(code, reason);
    if (this._intentional || this._destroyed) return;
    if (code === CLOSE.ORIGIN_REJECTED) {
      this._blocked = true;
      const err = new LiveError('Connection rejected: origin not allowed', { code });
      this._set({ status: 'closed', error: err.message });
      this._fail(err);
      return;
    }
    if (!opened && ++this._failedOpens >= 2 && this._chainIndex < this._chain.length - 1) {
      this._chainIndex++;
      this._failedOpens = 0;
      this._attempt = 0;
    }
    this._schedule();
  }

  _schedule() {
    const o = this.options;
    this._attempt++;
    if (this._attempt > o.maxReconnectAttempts) {
      const err = new LiveError('Reconnect attempts exhausted');
      this._set({ status: 'closed', error: err.message });
      this._fail(err);
      return;
    }
    const delay = backoffDelay(this._attempt, {
      base: o.reconnectInterval, cap: o.maxReconnectDelay, jitter: o.reconnectJitter, random: this.env.random,
    });
    this._timer = this.env.setTimeout(() => {
      this._timer = null;
      this._open();
    }, delay);
  }

  _fail(err) {
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) x.reject(err);
  }

  /**
   * Resolves once the connection is open, CONNECTION_ESTABLISHED arrived and
   * the AUTH exchange (if credentials are set) finished. Rejects when the
   * connection is closed for good, rejected (4003) or out of attempts.
   */
  ready() {
    if (this.state.ready) return Promise.resolve(this);
    if (this._destroyed) return Promise.reject(new LiveError('Connection destroyed'));
    if (this._blocked) return Promise.reject(new LiveError('Connection rejected: origin not allowed'));
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  _onData(d) {
    if (typeof d === 'string') {
      let v;
      try {
        v = JSON.parse(d);
      } catch {
        return;
      }
      for (const m of Array.isArray(v) ? v : [v]) if (isPlainObject(m)) this._dispatch(m);
      return;
    }
    const b = toBytes(d);
    if (b[0] === 1) {
      const f = parseComponentFrame(b);
      if (f) this.router.dispatch({ type: '$binary', componentId: f.componentId, payload: f.payload });
    } else if (b[0] === 2 || b[0] === 3) {
      const f = parseRoomFrame(b);
      const m = f && roomFrameMessage(f);
      if (m) this._dispatch(m);
    }
  }

  _dispatch(m) {
    this._events.emit('message', m);
    if (m.type === T.CONNECTION_ESTABLISHED) this._onEstablished(m);
    else this.router.dispatch(m);
  }

  async _onEstablished(m) {
    const gen = this._gen;
    this._set({ connectionId: typeof m.connectionId === 'string' ? m.connectionId : null });
    if (this._credentials) {
      try {
        await this._auth(this._credentials);
      } catch (e) {
        this._events.emit('error', e);
      }
    }
    if (gen !== this._gen) return;
    this._set({ status: 'ready', ready: true });
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) x.resolve(this);
    this._events.emit('ready');
    for (const h of [...this._handles]) h._recover();
  }

  async _auth(credentials) {
    const reply = await this.request({ type: T.AUTH, payload: credentials }, { timeout: CLIENT.AUTH_TIMEOUT_MS, raw: true });
    const p = isPlainObject(reply.payload) ? reply.payload : {};
    const result = { authenticated: reply.success === true && p.authenticated !== false, session: p.session ?? null };
    if (!result.authenticated) result.error = p.error || reply.error || 'Authentication failed';
    this._set({ authenticated: result.authenticated, session: result.session });
    this._events.emit('auth', result);
    return result;
  }

  /**
   * Stores credentials (sent as AUTH after every CONNECTION_ESTABLISHED) and
   * authenticates now if connected; resolves with {authenticated, session,
   * error?}.
   */
  async authenticate(credentials) {
    this._credentials = credentials || null;
    if (!this.state.ready) {
      await this.ready();
      return { authenticated: this.state.authenticated, session: this.state.session };
    }
    return this._auth(this._credentials);
  }

  /** Sends one message object (fire-and-forget); throws when not connected. */
  send(msg) {
    if (!this._transport || !this.state.connected) throw new LiveError('Not connected');
    this._transport.send(JSON.stringify(msg));
  }

  /**
   * Sends msg with a fresh requestId and expectResponse:true and resolves
   * with the reply (see Router.expect for rejections). Rejects with
   * "Request timeout after <n>ms" and, when the connection drops, with
   * "Connection lost (<code>)".
   */
  request(msg, opts = {}) {
    const requestId = opts.requestId || generateId();
    return this._await(requestId, opts, () => this.send({ ...msg, requestId, expectResponse: true }));
  }

  /** Sends a binary frame and awaits the reply carrying requestId. */
  requestBinary(bytes, requestId, opts = {}) {
    return this._await(requestId, opts, () => {
      if (!this._transport || !this.state.connected) throw new LiveError('Not connected');
      this._transport.send(bytes);
    });
  }

  _await(requestId, opts, sendFn) {
    const timeout = opts.timeout ?? this.options.requestTimeout;
    return new Promise((resolve, reject) => {
      const timer = this.env.setTimeout(() => {
        this.router.forget(requestId);
        reject(new LiveError(`Request timeout after ${timeout}ms`, { timeout: true }));
      }, timeout);
      const done = (fn) => (v) => {
        this.env.clearTimeout(timer);
        fn(v);
      };
      this.router.expect(requestId, done(resolve), done(reject), opts.raw);
      try {
        sendFn();
      } catch (e) {
        this.router.forget(requestId);
        done(reject)(e);
      }
    });
  }

  /**
   * Mounts (or, from a persisted signed state, rehydrates) a component and
   * resolves with its handle once the server answered. Waits for the
   * connection; a connection lost mid-way retries on the next one.
   * @param {string} name component name
   * @param {object} [props]
   * @param {{room?: string, debugLabel?: string, persist?: boolean, rehydrate?: boolean, resume?: boolean}} [opts]
   */
  async mount(name, props = {}, opts = {}) {
    const h = new ComponentHandle(this, name, props, opts);
    for (;;) {
      await this.ready();
      try {
        await h._attach(true);
        break;
      } catch (e) {
        if (!e.lost || this._destroyed) {
          h._release();
          throw e;
        }
      }
    }
    this._handles.add(h);
    return h;
  }

  /** Room handle for (componentId, roomId); created on first use. */
  room(componentId, roomId) {
    const r = this._routes.get(componentId) || this._route(componentId, new Set(), new Map());
    let room = r.rooms.get(roomId);
    if (!room) r.rooms.set(roomId, (room = new RoomHandle(this, componentId, roomId)));
    return room;
  }

  // _route creates the routing record of a componentId and registers it with
  // the router, which replays what it buffered for that id, so the record's
  // handles and rooms must be in place first.
  _route(id, handles, rooms) {
    const r = { id, handles, rooms };
    r.fn = (m) => this._deliver(r, m);
    this._routes.set(id, r);
    this.router.register(id, r.fn);
    return r;
  }

  _deliver(r, m) {
    const roomId = typeof m.roomId === 'string' ? m.roomId : m.payload && m.payload.roomId;
    if (typeof m.type === 'string' && m.type.startsWith('ROOM_') && typeof roomId === 'string') {
      let room = r.rooms.get(roomId);
      if (!room && r.rooms.size < 256) r.rooms.set(roomId, (room = new RoomHandle(this, r.id, roomId)));
      if (room) room._handle(m);
      return;
    }
    for (const h of [...r.handles]) h._handle(m);
  }

  // _move routes newId to handle, taking its rooms along from oldId.
  _move(oldId, newId, handle) {
    const old = oldId == null ? undefined : this._routes.get(oldId);
    let rooms = new Map();
    if (old && old.handles.has(handle) && oldId !== newId) {
      old.handles.delete(handle);
      if (!old.handles.size) {
        this._routes.delete(oldId);
        this.router.unregister(oldId, old.fn);
        rooms = old.rooms;
      }
    }
    const cur = this._routes.get(newId);
    if (cur) {
      cur.handles.add(handle);
      for (const [id, room] of rooms) if (!cur.rooms.has(id)) cur.rooms.set(id, room);
    } else this._route(newId, new Set([handle]), rooms);
    for (const room of rooms.values()) room.componentId = newId;
  }

  _drop(id, handle) {
    const r = this._routes.get(id);
    if (!r) return;
    r.handles.delete(handle);
    if (!r.handles.size) {
      this._routes.delete(id);
      this.router.unregister(id, r.fn);
    }
  }
}

// ---------------------------------------------------------------- handles

/**
 * A mounted server component and the client's mirror of its state. Status:
 * "mounting" | "ready" | "disconnected" | "recovering" | "error" | "unmounted".
 */
export class ComponentHandle {
  constructor(conn, name, props, opts) {
    this.connection = conn;
    this.name = name;
    this.props = props;
    this.options = { persist: true, rehydrate: true, resume: true, ...opts };
    this.id = null;
    this.state = {};
    this.signedState = null;
    this.seq = undefined;
    this.status = 'mounting';
    this.error = null;
    this.resumed = false;
    this._events = new Emitter();
    this._ownsSlot = false;
    this._recovering = null;
  }

  get _storage() {
    return this._ownsSlot ? this.connection.env.storage : null;
  }

  _setStatus(status, error = null) {
    this.status = status;
    this.error = error;
    this._events.emit('$status', status, error);
    if (status === 'ready') this._events.emit('$ready');
  }

  // _attach brings the component up on the current connection: resume or
  // rehydrate from the newest signed state, else mount (spec §3.10).
  async _attach(initial) {
    const conn = this.connection;
    if (initial && this.options.persist && conn.env.storage && !conn._slots.has(this.name)) {
      conn._slots.add(this.name);
      this._ownsSlot = true;
    }
    let signed = this.signedState;
    if (!signed && this.options.rehydrate && this._storage) {
      const e = loadRehydratable(this._storage, this.name, conn.env.now());
      signed = e && e.signedState;
    }
    this._setStatus(initial ? 'mounting' : 'recovering');
    if (signed) {
      try {
        await this._rehydrate(signed);
        return;
      } catch (e) {
        if (e.lost) throw e;
        this.signedState = null;
        clearPersisted(this._storage, this.name);
      }
    }
    await this._mount();
  }

  async _rehydrate(signed) {
    const payload = { component: this.name, signedState: signed };
    if (this.options.room) payload.room = this.options.room;
    const resume = this.options.resume && typeof this.seq === 'number' && this.id === signed.componentId;
    if (resume) payload.seq = this.seq;
    const oldId = this.id || signed.componentId;
    if (!resume) this.seq = undefined;
    const reply = await this.connection.request(
      { type: T.COMPONENT_REHYDRATE, componentId: oldId, payload },
      { timeout: CLIENT.REHYDRATE_TIMEOUT_MS },
    );
    const newId = reply.result && reply.result.newComponentId;
    if (reply.success !== true || typeof newId !== 'string') throw new LiveError(replyError(reply), { reply });
    this.resumed = resume && newId === oldId;
    this._adopt(newId);
  }

  async _mount() {
    const payload = { component: this.name, props: this.props || {} };
    if (this.options.room) payload.room = this.options.room;
    if (this.options.debugLabel) payload.debugLabel = this.options.debugLabel;
    this.seq = undefined;
    this.resumed = false;
    const reply = await this.connection.request({ type: T.COMPONENT_MOUNT, componentId: `mount-${this.name}`, payload });
    const r = reply.result;
    if (!isPlainObject(r) || typeof r.componentId !== 'string') throw new LiveError(replyError(reply), { reply });
    this._change(isPlainObject(r.initialState) ? r.initialState : {}, null);
    this.signedState = null;
    this._sign(r.signedState);
    this._adopt(r.componentId);
  }

  // _adopt registers the handle under id (replaying what the router
  // buffered for it) and marks it ready.
  _adopt(id) {
    const old = this.id;
    this.id = id;
    if (this.status === 'unmounted') {
      // Unmounted while the request was in flight: undo it on the server.
      this.connection.request({ type: T.COMPONENT_UNMOUNT, componentId: id }).catch(() => {});
      return;
    }
    this.connection._move(old, id, this);
    this._setStatus('ready');
    this._rejoinRooms();
  }

  _rejoinRooms() {
    const r = this.connection._routes.get(this.id);
    if (!r) return;
    for (const room of r.rooms.values()) if (room._wanted && !room._serverJoined) room.join(room._initial).catch(() => {});
  }

  _disconnected() {
    if (this.status !== 'unmounted') this._setStatus('disconnected');
  }

  // _recover re-attaches the handle (at most one recovery per connection).
  _recover() {
    const gen = this.connection._gen;
    if (this.status === 'unmounted' || (this._recovering && this._recoverGen === gen)) return this._recovering;
    const p = this._attach(false)
      .catch((e) => {
        if (!e.lost && this.status !== 'unmounted') this._setStatus('error', e);
      })
      .finally(() => {
        if (this._recovering === p) this._recovering = null;
      });
    this._recovering = p;
    this._recoverGen = gen;
    return p;
  }

  // _sign keeps the newest signed state (single-use on live-go: always
  // rehydrate with the latest) and persists it.
  _sign(s) {
    if (!isSignedState(s)) return;
    const cur = this.signedState;
    if (cur && cur.componentId === s.componentId && s.version < cur.version) return;
    this.signedState = s;
    savePersisted(this._storage, this.name, { signedState: s, room: this.options.room }, this.connection.env.now());
  }

  _handle(m) {
    const p = isPlainObject(m.payload) ? m.payload : {};
    const seq = typeof m.seq === 'number' ? m.seq : undefined;
    switch (m.type) {
      case T.STATE_UPDATE:
      case T.STATE_REHYDRATED:
        if (isPlainObject(p.state)) this._change(p.state, null);
        this._sign(p.signedState);
        if (seq !== undefined) this.seq = seq;
        break;
      case T.STATE_DELTA:
        if (seq !== undefined && typeof this.seq === 'number' && seq <= this.seq) return; // replayed
        if (isPlainObject(p.delta)) this._change(applyDelta(this.state, p.delta), p.delta);
        if (seq !== undefined) this.seq = seq;
        break;
      case T.STATE_SIGNATURE:
        this._sign(p.signedState);
        break;
      case '$binary':
        this._events.emit('$binary', m.payload);
        return;
    }
    const payload = m.payload === undefined && m.type === T.ERROR ? { error: m.error } : m.payload;
    this._events.emit(m.type, payload, m);
  }

  _change(state, delta) {
    this.state = state;
    this._events.emit('$change', state, delta);
  }

  // _ready waits until the handle is usable on the current connection.
  _ready(timeout) {
    if (this.status === 'ready') return Promise.resolve();
    if (this.status === 'unmounted') return Promise.reject(new LiveError('Component unmounted'));
    const env = this.connection.env;
    return new Promise((resolve, reject) => {
      let off = null;
      const timer = env.setTimeout(() => {
        off();
        reject(new LiveError(`Request timeout after ${timeout}ms`, { timeout: true }));
      }, timeout);
      off = this._events.on('$status', (s, err) => {
        if (s === 'ready') resolve();
        else if (s === 'unmounted') reject(new LiveError('Component unmounted'));
        else return;
        env.clearTimeout(timer);
        off();
      });
    });
  }

  /**
   * Calls a server action and resolves with its result. Sends an
   * idempotencyKey; if the connection drops while the call is in flight and
   * the component is then resumed (same instance), the call is retried once
   * with the same key, so it runs at most once (live-go extension).
   * @param {string} action
   * @param {*} [payload]
   * @param {{timeout?: number, idempotencyKey?: string, retry?: boolean}} [opts]
   */
  async call(action, payload = {}, opts = {}) {
    const conn = this.connection;
    const timeout = opts.timeout ?? conn.options.requestTimeout;
    const key = opts.idempotencyKey || generateId(16);
    for (let attempt = 0; ; attempt++) {
      await this._ready(timeout);
      const id = this.id;
      try {
        const reply = await conn.request({ type: T.CALL_ACTION, componentId: id, action, payload, idempotencyKey: key }, { timeout });
        if (reply.success === false) {
          this._recover();
          throw new LiveError(replyError(reply), { reply });
        }
        return reply.result;
      } catch (e) {
        if (!e.lost || opts.retry === false || attempt > 0) throw e;
        await this._ready(timeout);
        if (!this.resumed || this.id !== id) throw e;
      }
    }
  }

  /** Calls an action without waiting (no requestId; failures arrive as ERROR events). */
  fire(action, payload = {}) {
    if (this.status !== 'ready') throw new LiveError('Not connected');
    this.connection.send({ type: T.CALL_ACTION, componentId: this.id, action, payload });
  }

  /** Sets a writable property (PROPERTY_UPDATE); resolves when the server accepted it. */
  async set(property, value, opts = {}) {
    const timeout = opts.timeout ?? this.connection.options.requestTimeout;
    await this._ready(timeout);
    await this.connection.request({ type: T.PROPERTY_UPDATE, componentId: this.id, property, payload: { value } }, { timeout });
  }

  /**
   * Registers fn(payload, msg) for messages of type event routed to this
   * component: custom emits, ERROR, BROADCAST, STATE_* …; returns an
   * unsubscribe function.
   */
  on(event, fn) {
    return this._events.on(event, fn);
  }

  /** Registers fn(state, delta) for every state change (delta null for snapshots). */
  onChange(fn) {
    return this._events.on('$change', fn);
  }

  /** Registers fn(status, error) for status changes. */
  onStatus(fn) {
    return this._events.on('$status', fn);
  }

  /** Registers fn(bytes) for 0x01 binary state deltas of this component. */
  onBinary(fn) {
    return this._events.on('$binary', fn);
  }

  /** Room handle of this component (follows the component across id changes). */
  room(roomId) {
    if (!this.id) throw new LiveError('Component not mounted');
    return this.connection.room(this.id, roomId);
  }

  /**
   * Uploads a file (Blob/File, ArrayBuffer or Uint8Array) in chunks: START,
   * binary chunks (or base64 JSON with binary:false), COMPLETE. Resolves with
   * {uploadId, filename, fileUrl}.
   */
  async upload(file, opts = {}) {
    await this._ready(opts.timeout ?? this.connection.options.requestTimeout);
    return uploadFile(this.connection, this.id, file, opts);
  }

  /**
   * Unmounts on the server and detaches the handle. With {forget: true} the
   * persisted signed state is deleted too.
   */
  async unmount(opts = {}) {
    if (this.status === 'unmounted') return;
    const id = this.id;
    const live = this.status === 'ready';
    if (opts.forget) clearPersisted(this._storage, this.name);
    this._dispose();
    if (live && id) {
      await this.connection.request({ type: T.COMPONENT_UNMOUNT, componentId: id }).catch((e) => {
        if (!e.lost) throw e;
      });
    }
  }

  _dispose() {
    this._release();
    this.connection._handles.delete(this);
    if (this.id) this.connection._drop(this.id, this);
    this._setStatus('unmounted');
  }

  _release() {
    if (this._ownsSlot) this.connection._slots.delete(this.name);
    this._ownsSlot = false;
  }
}

/** A room seen from one component (spec §4.8, §10.5). */
export class RoomHandle {
  constructor(conn, componentId, id) {
    this.connection = conn;
    this.componentId = componentId;
    this.id = id;
    this.joined = false;
    this.state = {};
    this.count = undefined;
    this._events = new Emitter();
    this._wanted = false;
    this._serverJoined = false;
    this._initial = undefined;
  }

  /** ROOM_JOIN; resolves with the room state. Rejoined after recoveries. */
  async join(initialState) {
    this._wanted = true;
    this._initial = initialState;
    const payload = { roomId: this.id };
    if (initialState !== undefined) payload.initialState = initialState;
    const m = await this.connection.request(
      { type: T.ROOM_JOIN, componentId: this.componentId, roomId: this.id, payload },
      { timeout: CLIENT.ROOM_TIMEOUT_MS },
    );
    if (m.type !== T.ROOM_JOINED && m.success !== true) throw new LiveError(replyError(m), { reply: m });
    this.joined = true;
    const state = m.payload && m.payload.state;
    this._replace(isPlainObject(state) ? state : {});
    return this.state;
  }

  /** ROOM_LEAVE. */
  async leave() {
    this._wanted = false;
    await this.connection.request(
      { type: T.ROOM_LEAVE, componentId: this.componentId, roomId: this.id, payload: { roomId: this.id } },
      { timeout: CLIENT.ROOM_TIMEOUT_MS },
    );
    this.joined = false;
  }

  /** ROOM_EMIT to the other members (fire-and-forget). */
  emit(event, data) {
    this.connection.send({ type: T.ROOM_EMIT, componentId: this.componentId, roomId: this.id, payload: { event, data } });
  }

  /** Merges updates locally (optimistic) and sends ROOM_STATE_SET. */
  setState(updates) {
    this.connection.send({ type: T.ROOM_STATE_SET, componentId: this.componentId, roomId: this.id, payload: { state: updates } });
    this._merge(updates);
  }

  /** ROOM_STATE_GET; replaces the local state with the server's. */
  async fetchState() {
    const m = await this.connection.request(
      { type: T.ROOM_STATE_GET, componentId: this.componentId, roomId: this.id, payload: { roomId: this.id } },
      { timeout: CLIENT.ROOM_TIMEOUT_MS },
    );
    const state = m.payload && m.payload.state;
    this._replace(isPlainObject(state) ? state : {});
    return this.state;
  }

  /** fn(data, msg) for a room event; returns an unsubscribe function. */
  on(event, fn) {
    return this._events.on(event, fn);
  }

  /** fn(data, msg) for a system event: "sub:join", "sub:leave", "state:change", "room:joined". */
  onSystem(name, fn) {
    return this._events.on(name[0] === '$' ? name : `$${name}`, fn);
  }

  _replace(state) {
    this.state = state;
    this._events.emit('$state:change', state, null);
  }

  _merge(changes) {
    this.state = applyDelta(this.state, changes);
    this._events.emit('$state:change', this.state, changes);
  }

  _handle(m) {
    const data = m.data;
    switch (m.type) {
      case T.ROOM_STATE: {
        const changes = isPlainObject(data) && 'state' in data ? data.state : isPlainObject(data) ? data : m.payload && m.payload.state;
        if (isPlainObject(changes)) this._merge(changes);
        return;
      }
      case T.ROOM_JOINED:
        this.joined = true;
        this._serverJoined = true;
        this._replace(isPlainObject(data) && isPlainObject(data.state) ? data.state : {});
        this._events.emit(EVENTS.ROOM_JOINED, data, m);
        return;
      case T.ROOM_LEFT:
        this.joined = false;
        return;
      case T.ROOM_SYSTEM:
        if (isPlainObject(data) && typeof data.count === 'number') this.count = data.count;
        break;
    }
    if (typeof m.event === 'string') this._events.emit(m.event, data, m);
  }
}

// ----------------------------------------------------------------- uploads

async function uploadFile(conn, componentId, file, opts) {
  const chunkSize = opts.chunkSize ?? LIMITS.DEFAULT_CHUNK_SIZE;
  if (!(chunkSize >= LIMITS.MIN_UPLOAD_CHUNK_SIZE && chunkSize <= LIMITS.MAX_UPLOAD_CHUNK_SIZE)) {
    throw new LiveError(`Invalid chunkSize: ${chunkSize}`);
  }
  const bytes = file instanceof ArrayBuffer ? new Uint8Array(file) : file instanceof Uint8Array ? file : null;
  const size = bytes ? bytes.length : file.size;
  if (!(size > 0)) throw new LiveError('Empty file');
  const slice = async (a, b) => (bytes ? bytes.subarray(a, b) : new Uint8Array(await file.slice(a, b).arrayBuffer()));
  const uploadId = opts.uploadId || generateId();
  const filename = opts.filename || file.name || 'file';
  const fileType = opts.type || file.type || 'application/octet-stream';
  const totalChunks = Math.ceil(size / chunkSize);
  const aborted = () => {
    if (opts.signal && opts.signal.aborted) throw new LiveError('Upload cancelled');
  };
  aborted();
  const start = await conn.request({ type: T.FILE_UPLOAD_START, componentId, uploadId, filename, fileType, fileSize: size, chunkSize });
  if (start.success !== true) throw new LiveError(replyError(start), { reply: start });
  for (let i = 0; i < totalChunks; i++) {
    aborted();
    const data = await slice(i * chunkSize, Math.min(size, (i + 1) * chunkSize));
    const requestId = `chunk-${uploadId}-${i}`;
    const header = { type: T.FILE_UPLOAD_CHUNK, componentId, uploadId, chunkIndex: i, totalChunks, requestId };
    const reply = opts.binary === false
      ? await conn.request({ ...header, data: bytesToBase64(data) }, { requestId })
      : await conn.requestBinary(encodeUploadChunk(header, data), requestId);
    if (opts.onProgress) {
      opts.onProgress({
        uploadId, chunkIndex: i, totalChunks,
        bytesUploaded: reply.bytesUploaded ?? Math.min(size, (i + 1) * chunkSize),
        totalBytes: size,
        progress: reply.progress ?? ((i + 1) / totalChunks) * 100,
      });
    }
  }
  aborted();
  const done = await conn.request({ type: T.FILE_UPLOAD_COMPLETE, componentId, uploadId }, { requestId: `complete-${uploadId}` });
  if (done.success !== true) throw new LiveError(replyError(done), { reply: done });
  return { uploadId, filename: done.filename ?? filename, fileUrl: done.fileUrl };
}
