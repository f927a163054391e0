import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveEndpoints, bytesToBase64 } from '../live.js';
import { setup, flush } from '../testdata/helpers.mjs';

test('deriveEndpoints', () => {
  const cases = [
    { name: 'no location', opts: {}, loc: null, want: { url: 'ws://localhost:3000/api/live/ws', sse: 'http://localhost:3000/api/live/sse', http: 'http://localhost:3000/api/live/http' } },
    { name: 'https page', opts: {}, loc: { protocol: 'https:', host: 'ex.com' }, want: { url: 'wss://ex.com/api/live/ws', sse: 'https://ex.com/api/live/sse', http: 'https://ex.com/api/live/http' } },
    { name: 'http page, custom path', opts: { url: '/rt/ws' }, loc: { protocol: 'http:', host: 'h:8080' }, want: { url: 'ws://h:8080/rt/ws', sse: 'http://h:8080/rt/sse', http: 'http://h:8080/rt/http' } },
    { name: 'http url', opts: { url: 'https://a.b/api/live/ws' }, loc: null, want: { url: 'wss://a.b/api/live/ws', sse: 'https://a.b/api/live/sse', http: 'https://a.b/api/live/http' } },
    { name: 'no final /ws', opts: { url: 'ws://a/live' }, loc: null, want: { url: 'ws://a/live', sse: 'http://a/live/sse', http: 'http://a/live/http' } },
    { name: 'explicit sse/http', opts: { url: 'ws://a/ws', sseUrl: 'https://s/e', httpUrl: 'https://p/q' }, loc: null, want: { url: 'ws://a/ws', sse: 'https://s/e', http: 'https://p/q' } },
  ];
  for (const c of cases) assert.deepEqual(deriveEndpoints(c.opts, c.loc), c.want, c.name);
});

test('websocket transport: URL, binaryType, text and binary frames, close codes', async () => {
  const sockets = [];
  class FakeWS {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(d) {
      this.sent.push(d);
    }
    close(code, reason) {
      this.closedWith = [code, reason];
    }
  }
  const env = setup({ transport: 'websocket', WebSocket: FakeWS, url: 'wss://x/api/live/ws' });
  const ws = sockets[0];
  assert.equal(ws.url, 'wss://x/api/live/ws');
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.onopen();
  ws.onmessage({ data: '{"type":"CONNECTION_ESTABLISHED","connectionId":"w1"}' });
  assert.equal(env.conn.state.connectionId, 'w1');
  assert.equal(env.conn.state.transport, 'websocket');
  const seen = [];
  env.conn.on('message', (m) => seen.push(m));
  ws.onmessage({ data: new Uint8Array([0x02, 0x01, 0x61, 0x01, 0x62, 0x00, 0x01, 0x65, 0xc3]).buffer });
  assert.deepEqual(seen, [{ type: 'ROOM_EVENT', componentId: 'a', roomId: 'b', event: 'e', data: true }]);
  env.conn.send({ type: 'PING' });
  assert.deepEqual(ws.sent, ['{"type":"PING"}']);
  ws.onclose({ code: 1001, reason: 'server shutdown' });
  assert.deepEqual(env.clock.pending(), [1000]);
  env.clock.next();
  sockets[1].onclose({}); // no code: reported as 1006
  assert.equal(env.conn.state.status, 'disconnected');
  env.conn.disconnect();
  assert.equal(sockets.length, 2);
});

// disconnect() means to come back (CLIENT_AWAY: the server keeps the
// components for a resume); close() is final (1000: it ends them at once).
test('websocket transport: disconnect() closes with 4000, close() with 1000', () => {
  const sockets = [];
  class FakeWS {
    constructor(url) {
      this.url = url;
      sockets.push(this);
    }
    send() {}
    close(code, reason) {
      this.closedWith = [code, reason];
    }
  }
  const env = setup({ transport: 'websocket', WebSocket: FakeWS, url: 'wss://x/api/live/ws' });
  sockets[0].onopen();
  env.conn.disconnect();
  assert.deepEqual(sockets[0].closedWith, [4000, 'client disconnect']);
  env.conn.connect();
  assert.equal(sockets.length, 2);
  sockets[1].onopen();
  env.conn.close();
  assert.deepEqual(sockets[1].closedWith, [1000, 'client closed']);
});

// A scripted fetch: each call is recorded; respond(...) decides the answer.
function fakeFetch(respond) {
  const calls = [];
  const fn = (url, init = {}) => {
    const call = { url, init };
    calls.push(call);
    return respond(call, calls);
  };
  fn.calls = calls;
  return fn;
}

// An SSE response whose body the test writes to.
function sseStream() {
  let ctrl;
  const body = new ReadableStream({ start: (c) => (ctrl = c) });
  const enc = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    write: (text) => ctrl.enqueue(enc.encode(text)),
    end: () => ctrl.close(),
  };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await flush();
};

test('sse transport: session, frames, POST /send with X-Live-Session, close event', async () => {
  const streams = [];
  const fetch = fakeFetch(({ url, init }) => {
    if (init.method === 'POST') return Promise.resolve(new Response(null, { status: 204 }));
    const s = sseStream();
    streams.push(s);
    return Promise.resolve(s.response);
  });
  const env = setup({ transport: 'sse', fetch, url: 'http://h/api/live/ws' });
  await settle();
  assert.equal(fetch.calls[0].url, 'http://h/api/live/sse');
  assert.equal(fetch.calls[0].init.headers.Accept, 'text/event-stream');
  assert.equal(fetch.calls[0].init.cache, 'no-store');
  assert.equal(env.conn.state.connected, false);
  const seen = [];
  env.conn.on('message', (m) => seen.push(m.type));
  streams[0].write('event: session\ndata: {"token":"tok1"}\n\n: ping\n\n');
  streams[0].write('event: message\ndata: {"type":"CONNECTION_ESTABLISHED","connectionId":"s1"}\n\n');
  streams[0].write(`event: message\ndata: [{"type":"A"},{"type":"B"}]\n\nevent: binary\ndata: ${bytesToBase64(new Uint8Array([0x02, 0x01, 0x61, 0x01, 0x62, 0x00, 0x01, 0x65, 0xc0]))}\n\n`);
  await settle();
  assert.equal(env.conn.state.ready, true);
  assert.deepEqual(seen, ['CONNECTION_ESTABLISHED', 'A', 'B', 'ROOM_EVENT']);
  env.conn.send({ type: 'PING' });
  env.conn._transport.send(new Uint8Array([1, 2]));
  await settle();
  const posts = fetch.calls.filter((c) => c.init.method === 'POST');
  assert.equal(posts.length, 2);
  assert.equal(posts[0].url, 'http://h/api/live/sse/send');
  assert.equal(posts[0].init.headers['X-Live-Session'], 'tok1');
  assert.equal(posts[0].init.headers['Content-Type'], 'application/json');
  assert.equal(posts[0].init.body, '{"type":"PING"}');
  assert.equal(posts[1].init.headers['Content-Type'], 'application/octet-stream');
  streams[0].write('event: close\ndata: {"code":4003,"reason":"Origin not allowed"}\n\n');
  await settle();
  assert.equal(env.conn.state.error, 'Connection rejected: origin not allowed');
  assert.deepEqual(env.clock.pending(), []);
});

test('sse transport: 403 → 4003, stream end → reconnect, POST 404 → session lost, open timeout', async () => {
  // 403 on the stream is treated as an origin rejection.
  const f403 = fakeFetch(() => Promise.resolve(new Response('Forbidden', { status: 403 })));
  const e1 = setup({ transport: 'sse', fetch: f403 });
  await settle();
  assert.equal(e1.conn.state.error, 'Connection rejected: origin not allowed');

  // Stream ends → 1006 → backoff reconnect.
  const streams = [];
  let postStatus = 204;
  const fetch = fakeFetch(({ init }) => {
    if (init.method === 'POST') return Promise.resolve(new Response(null, { status: postStatus }));
    const s = sseStream();
    streams.push(s);
    return Promise.resolve(s.response);
  });
  const e2 = setup({ transport: 'sse', fetch });
  await settle();
  const closes = [];
  e2.conn.on('close', (c) => closes.push(c.code));
  streams[0].write('event: session\ndata: {"token":"t"}\n\n');
  await settle();
  streams[0].end();
  await settle();
  assert.deepEqual(closes, [1006]);
  assert.deepEqual(e2.clock.pending().slice(-1), [1000]);
  e2.clock.next();
  await settle();
  streams[1].write('event: session\ndata: {"token":"t2"}\n\n');
  await settle();
  postStatus = 404;
  e2.conn.send({ type: 'PING' });
  await settle();
  assert.deepEqual(closes, [1006, 1006], 'unknown session closes with 1006');

  // No session event within 10 s → 1006.
  const e3 = setup({ transport: 'sse', fetch: fakeFetch(() => Promise.resolve(sseStream().response)) });
  await settle();
  const c3 = [];
  e3.conn.on('close', (c) => c3.push(c));
  e3.clock.advance(10000);
  await settle();
  assert.deepEqual(c3, [{ code: 1006, reason: 'SSE open timeout' }]);
});

test('long-poll transport: token, /poll loop, /send, /close, 404 → session lost', async () => {
  const polls = [];
  const fetch = fakeFetch(({ url, init }) => {
    if (url.endsWith('/api/live/http')) return Promise.resolve(Response.json({ token: 'ptok' }));
    if (url.endsWith('/poll')) {
      return new Promise((resolve, reject) => {
        polls.push(resolve);
        init.signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    }
    return Promise.resolve(new Response(null, { status: 204 }));
  });
  const env = setup({ transport: 'http', fetch, url: 'ws://h/api/live/ws' });
  await settle();
  assert.equal(env.conn.state.connected, true, 'open once the token arrived');
  assert.equal(polls.length, 1);
  const poll = fetch.calls.find((c) => c.url === 'http://h/api/live/http/poll');
  assert.equal(poll.init.headers['X-Live-Session'], 'ptok');
  const seen = [];
  env.conn.on('message', (m) => seen.push(m.type));
  polls[0](Response.json({ frames: [
    { t: '{"type":"CONNECTION_ESTABLISHED","connectionId":"p1"}' },
    { t: '[{"type":"X"},{"type":"Y"}]' },
    { b: bytesToBase64(new Uint8Array([0x02, 0x01, 0x61, 0x01, 0x62, 0x00, 0x01, 0x65, 0xc0])) },
    { b: '!!not base64!!' },
    { z: 1 },
  ] }));
  await settle();
  assert.deepEqual(seen, ['CONNECTION_ESTABLISHED', 'X', 'Y', 'ROOM_EVENT']);
  assert.equal(env.conn.state.ready, true);
  assert.equal(polls.length, 2, 'polls again');
  env.conn.send({ type: 'PING' });
  await settle();
  const send = fetch.calls.find((c) => c.url === 'http://h/api/live/http/send');
  assert.equal(send.init.method, 'POST');
  assert.equal(send.init.headers['X-Live-Session'], 'ptok');
  // A server close delivered in a poll.
  const closes = [];
  env.conn.on('close', (c) => closes.push(c));
  polls[1](Response.json({ frames: [], closed: { code: 1008, reason: 'HTTP polling backpressure: client too slow' } }));
  await settle();
  assert.deepEqual(closes, [{ code: 1008, reason: 'HTTP polling backpressure: client too slow' }]);
  env.clock.next();
  await settle();
  polls[2](new Response('Unknown session', { status: 404 }));
  await settle();
  assert.equal(closes[1].code, 1006);
  // Client close: POST /close with keepalive, the pending poll is aborted.
  env.clock.next();
  await settle();
  env.conn.disconnect();
  await settle();
  const close = fetch.calls.filter((c) => c.url === 'http://h/api/live/http/close');
  assert.equal(close.length, 1);
  assert.equal(close[0].init.keepalive, true);
  assert.equal(close[0].init.headers['X-Live-Session'], 'ptok');
});

test('long-poll transport: 403 on the session GET → 4003', async () => {
  const env = setup({ transport: 'http', fetch: fakeFetch(() => Promise.resolve(new Response('', { status: 403 }))) });
  await settle();
  assert.equal(env.conn.state.error, 'Connection rejected: origin not allowed');
});

test("transport 'auto' falls back websocket → sse after two failed opens", async () => {
  class DeadWS {
    constructor() {
      queueMicrotask(() => this.onclose({ code: 1006 }));
    }
    close() {}
  }
  const fetch = fakeFetch(() => Promise.resolve(sseStream().response));
  const env = setup({ transport: 'auto', WebSocket: DeadWS, fetch });
  await settle();
  env.clock.next();
  await settle();
  assert.equal(env.conn.state.transport, 'websocket');
  env.clock.next();
  await settle();
  assert.equal(env.conn.state.transport, 'sse');
  assert.equal(fetch.calls.length, 1);
});

test('unknown transport names are rejected at construction', () => {
  assert.throws(() => setup({ transport: 'carrier-pigeon' }), /unknown transport carrier-pigeon/);
  assert.throws(() => setup({ transport: ['websocket', 'smoke'] }), TypeError);
});

test('a transport that cannot be created counts as a failed open', async () => {
  class Broken {
    constructor() {
      throw new Error('sockets disabled');
    }
  }
  const env = setup({ transport: 'websocket', WebSocket: Broken });
  const errors = [];
  env.conn.on('error', (e) => errors.push(e.message));
  assert.equal(env.conn.state.status, 'disconnected');
  assert.deepEqual(env.clock.pending(), [1000]);
  env.clock.next();
  assert.deepEqual(errors, ['sockets disabled']);
  assert.deepEqual(env.clock.pending(), [2000], 'second failure backs off further');
});
