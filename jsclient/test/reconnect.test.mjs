import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, LiveError } from '../live.js';
import { setup, flush } from '../testdata/helpers.mjs';

test('backoffDelay doubles from 1 s to the 16 s cap', () => {
  const got = [1, 2, 3, 4, 5, 6, 10, 100].map((n) => backoffDelay(n, { random: () => 0 }));
  assert.deepEqual(got, [1000, 2000, 4000, 8000, 16000, 16000, 16000, 16000]);
});

test('backoffDelay jitter adds at most jitter × delay', () => {
  const cases = [
    { attempt: 1, random: 0.999999, jitter: 0.2, want: 1199 },
    { attempt: 3, random: 0.5, jitter: 0.2, want: 4400 },
    { attempt: 6, random: 0.5, jitter: 0.5, want: 20000 },
    { attempt: 2, random: 0.5, jitter: 0, want: 2000 },
    { attempt: 0, random: 0, jitter: 0.2, want: 1000 },
  ];
  for (const c of cases) {
    assert.equal(backoffDelay(c.attempt, { random: () => c.random, jitter: c.jitter }), c.want, JSON.stringify(c));
  }
});

test('reconnect schedule follows the backoff with fake timers', () => {
  const { clock, net } = setup();
  assert.equal(net.sockets.length, 1);
  net.last.establish();
  const delays = [];
  for (let i = 0; i < 7; i++) {
    net.last.drop(1006);
    assert.deepEqual(clock.pending().length, 1, 'exactly one reconnect timer');
    delays.push(clock.next());
    assert.equal(net.sockets.length, i + 2, 'timer opened a new transport');
  }
  // Never opened after the first drop, so the attempt counter keeps growing.
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 16000, 16000]);
});

test('a successful open resets the backoff', () => {
  const { clock, net } = setup();
  net.last.drop(1006);
  assert.equal(clock.next(), 1000);
  net.last.drop(1006);
  assert.equal(clock.next(), 2000);
  net.last.establish();
  net.last.drop(1006);
  assert.equal(clock.next(), 1000);
});

test('no reconnect after close 4003; pending requests and waiters rejected', async () => {
  const { conn, clock, net } = setup();
  const errors = [];
  conn.ready().catch((e) => errors.push(e.message));
  net.last.drop(4003, 'Origin not allowed');
  await flush();
  assert.deepEqual(clock.pending(), [], 'no reconnect timer');
  assert.equal(conn.state.status, 'closed');
  assert.equal(conn.state.error, 'Connection rejected: origin not allowed');
  assert.deepEqual(errors, ['Connection rejected: origin not allowed']);
  conn.reconnectNow();
  assert.equal(net.sockets.length, 1, 'reconnectNow does not override a 4003 rejection');
  await assert.rejects(conn.ready(), /origin not allowed/);
});

test('pending requests are rejected on close with "Connection lost (<code>)"', async () => {
  const { conn, net } = setup();
  net.last.establish();
  const a = conn.request({ type: 'CALL_ACTION', componentId: 'x', action: 'a' });
  const b = conn.request({ type: 'ROOM_STATE_GET', componentId: 'x', roomId: 'r' });
  net.last.drop(1006);
  await assert.rejects(a, (e) => e instanceof LiveError && e.message === 'Connection lost (1006)' && e.lost && e.code === 1006);
  await assert.rejects(b, /Connection lost \(1006\)/);
  const { conn: c2, net: n2 } = setup();
  n2.last.establish();
  const r = c2.request({ type: 'AUTH', payload: {} });
  n2.last.drop(1001, 'server shutdown');
  await assert.rejects(r, { message: 'Connection lost (1001: server shutdown)' });
});

test('request timeout after 10 s by default', async () => {
  const { conn, clock, net } = setup();
  net.last.establish();
  const p = conn.request({ type: 'CALL_ACTION', componentId: 'x', action: 'a' });
  assert.deepEqual(clock.pending(), [10000]);
  clock.advance(10000);
  await assert.rejects(p, (e) => e.timeout && e.message === 'Request timeout after 10000ms');
  assert.equal(conn.router.pending.size, 0);
});

test('request while disconnected rejects at once', async () => {
  const { conn } = setup();
  await assert.rejects(conn.request({ type: 'AUTH' }), { message: 'Not connected' });
  assert.throws(() => conn.send({ type: 'PING' }), /Not connected/);
});

test('requests resolve by requestId, reject on failure, resolve REHYDRATION_REQUIRED', async () => {
  const { conn, net } = setup();
  net.last.establish();
  const s = net.last;
  const ok = conn.request({ type: 'CALL_ACTION', componentId: 'x', action: 'a' });
  const bad = conn.request({ type: 'CALL_ACTION', componentId: 'x', action: 'b' });
  const err = conn.request({ type: 'ROOM_JOIN', componentId: 'x', roomId: 'r' });
  const gone = conn.request({ type: 'CALL_ACTION', componentId: 'x', action: 'c' });
  const [r1, r2, r3, r4] = s.of('CALL_ACTION').concat(s.of('ROOM_JOIN')).map((m) => m.requestId);
  assert.ok(s.sent.every((m) => m.expectResponse === true));
  // Replies may arrive batched in one array frame, in any order.
  s.recv([
    { type: 'ERROR', componentId: 'x', error: 'Room is full', requestId: r4 },
    { type: 'ACTION_RESPONSE', componentId: 'x', success: false, error: "Action 'b' not found on component", requestId: r2 },
    { type: 'ACTION_RESPONSE', componentId: 'x', success: true, result: 42, requestId: r1 },
    { type: 'ACTION_RESPONSE', componentId: 'x', success: false, error: 'COMPONENT_REHYDRATION_REQUIRED:x', requestId: r3 },
  ]);
  assert.equal((await ok).result, 42);
  await assert.rejects(bad, (e) => e.message === "Action 'b' not found on component" && e.reply.requestId === r2);
  await assert.rejects(err, { message: 'Room is full' });
  assert.equal((await gone).error, 'COMPONENT_REHYDRATION_REQUIRED:x');
});

test('two failed opens in a row fall back to the next transport and reset the backoff', () => {
  const kinds = [];
  const handlers = [];
  const mk = (name) => (ep, h) => {
    kinds.push(name);
    handlers.push(h);
    return { send() {}, close() {} };
  };
  const { clock } = setup({ transport: [mk('a'), mk('b'), mk('c')] });
  const current = () => handlers[handlers.length - 1];
  const delays = [];
  const failOnce = () => {
    current().close(1006, '');
    delays.push(clock.next());
  };
  failOnce(); // a: 1st failed open
  failOnce(); // a: 2nd in a row → b, attempt counter reset
  failOnce(); // b: 1st
  current().open(); // b opens: counters reset
  failOnce(); // b closes after opening: not a failed open
  failOnce(); // b: 1st failed open
  failOnce(); // b: 2nd in a row → c
  assert.deepEqual(kinds, ['a', 'a', 'b', 'b', 'b', 'b', 'c']);
  assert.deepEqual(delays, [1000, 1000, 2000, 1000, 2000, 1000]);
});

test('online and visibilitychange reconnect at once, cancelling the backoff', () => {
  const listeners = {};
  const target = {
    visibilityState: 'hidden',
    addEventListener: (t, fn) => (listeners[t] = fn),
    removeEventListener: (t) => delete listeners[t],
  };
  const { conn, clock, net } = setup({ window: target, document: target });
  net.last.drop(1006);
  assert.deepEqual(clock.pending(), [1000]);
  listeners.online();
  assert.equal(net.sockets.length, 2, 'online reconnected immediately');
  assert.deepEqual(clock.pending(), [], 'backoff timer cancelled');
  listeners.online();
  assert.equal(net.sockets.length, 2, 'no second transport while connecting');
  net.last.drop(1006);
  listeners.visibilitychange();
  assert.equal(net.sockets.length, 2, 'hidden tab does not reconnect');
  target.visibilityState = 'visible';
  listeners.visibilitychange();
  assert.equal(net.sockets.length, 3);
  conn.disconnect();
  assert.equal(listeners.online, undefined, 'listeners removed on disconnect');
});

test('disconnect stops reconnecting; connect resumes', async () => {
  const { conn, clock, net } = setup();
  net.last.establish();
  const p = conn.request({ type: 'AUTH' });
  conn.disconnect();
  await assert.rejects(p, /Connection lost \(1000/);
  assert.ok(net.last.closed, 'transport closed');
  assert.deepEqual(clock.pending(), []);
  assert.equal(conn.state.status, 'closed');
  net.last.drop(1006); // late close callback of the old transport is ignored
  assert.deepEqual(clock.pending(), []);
  conn.connect();
  assert.equal(net.sockets.length, 2);
});

test('maxReconnectAttempts is honoured', async () => {
  const { conn, clock, net } = setup({ maxReconnectAttempts: 2 });
  const ready = conn.ready();
  net.last.drop(1006);
  clock.next();
  net.last.drop(1006);
  clock.next();
  net.last.drop(1006);
  assert.deepEqual(clock.pending(), []);
  assert.equal(conn.state.error, 'Reconnect attempts exhausted');
  await assert.rejects(ready, /exhausted/);
});

test('heartbeat sends PING every interval while open', () => {
  const { clock, net } = setup({ heartbeatInterval: 30000 });
  net.last.establish();
  clock.advance(90000);
  assert.equal(net.last.of('PING').length, 3);
  net.last.drop(1006);
  assert.deepEqual(clock.pending(), [1000], 'heartbeat stopped on close');
});

test('AUTH is sent after CONNECTION_ESTABLISHED and gates readiness', async () => {
  const { conn, net } = setup({ auth: { token: 't1' } });
  let ready = false;
  conn.ready().then(() => (ready = true));
  net.last.establish('c9');
  const auth = net.last.last('AUTH');
  assert.deepEqual(auth.payload, { token: 't1' });
  await flush();
  assert.equal(ready, false, 'not ready before AUTH_RESPONSE');
  net.last.recv({ type: 'AUTH_RESPONSE', success: true, payload: { authenticated: true, session: { id: 'u1' } }, requestId: auth.requestId });
  await flush();
  assert.equal(ready, true);
  assert.equal(conn.state.authenticated, true);
  assert.deepEqual(conn.state.session, { id: 'u1' });
  assert.equal(conn.state.connectionId, 'c9');
  // A failed AUTH still makes the connection ready, unauthenticated.
  const again = conn.authenticate({ token: 'bad' });
  const a2 = net.last.last('AUTH');
  net.last.recv({ type: 'AUTH_RESPONSE', success: false, payload: { authenticated: false, error: 'Authentication failed' }, requestId: a2.requestId });
  assert.deepEqual(await again, { authenticated: false, session: null, error: 'Authentication failed' });
  assert.equal(conn.state.authenticated, false);
});

test('close() is final', async () => {
  const { conn, net } = setup();
  net.last.establish();
  conn.close();
  await assert.rejects(conn.ready(), /destroyed/);
  assert.throws(() => conn.connect(), /destroyed/);
});
