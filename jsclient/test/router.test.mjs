import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnroutedBuffer, Router } from '../live.js';
import { FakeClock, setup, flush } from '../testdata/helpers.mjs';

const msg = (id, n) => ({ type: 'STATE_DELTA', componentId: id, payload: { delta: { n } } });

test('UnroutedBuffer keeps the newest 32 messages per component', () => {
  const b = new UnroutedBuffer({ now: () => 0 });
  for (let i = 0; i < 40; i++) b.push('a', msg('a', i));
  const got = b.take('a').map((m) => m.payload.delta.n);
  assert.equal(got.length, 32);
  assert.deepEqual(got.slice(0, 2), [8, 9]);
  assert.equal(got[31], 39);
  assert.deepEqual(b.take('a'), [], 'take empties the slot');
});

test('UnroutedBuffer holds at most 64 components, evicting the oldest', () => {
  const b = new UnroutedBuffer({ now: () => 0 });
  for (let i = 0; i < 65; i++) b.push(`c${i}`, msg(`c${i}`, i));
  assert.equal(b.size, 64);
  assert.deepEqual(b.take('c0'), []);
  assert.equal(b.take('c1').length, 1);
  assert.equal(b.take('c64').length, 1);
});

test('UnroutedBuffer drops messages older than 5 s', () => {
  const clock = new FakeClock(0);
  const b = new UnroutedBuffer({ now: clock.now });
  b.push('a', msg('a', 1));
  clock.t = 3000;
  b.push('a', msg('a', 2));
  clock.t = 5500;
  assert.deepEqual(b.take('a').map((m) => m.payload.delta.n), [2]);
  b.push('old', msg('old', 1));
  clock.t = 20000;
  b.push('new', msg('new', 1)); // a new id prunes expired ones
  assert.equal(b.size, 1);
});

test('Router replays buffered messages in order on register', () => {
  const r = new Router({ now: () => 0 });
  r.dispatch(msg('a', 1));
  r.dispatch(msg('a', 2));
  r.dispatch(msg('b', 9));
  const got = [];
  r.register('a', (m) => got.push(m.payload.delta.n));
  assert.deepEqual(got, [1, 2]);
  r.dispatch(msg('a', 3));
  assert.deepEqual(got, [1, 2, 3]);
  r.unregister('a');
  r.dispatch(msg('a', 4));
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(r.buffer.take('a').length, 1, 'after unregister messages are buffered again');
});

test('Router: BROADCAST reaches every target but the sender', () => {
  const r = new Router();
  const got = [];
  for (const id of ['a', 'b', 'c']) r.register(id, (m) => got.push(`${id}:${m.payload.type}`));
  r.dispatch({ type: 'BROADCAST', componentId: 'b', payload: { type: 'hi', data: 1 }, room: 'r' });
  assert.deepEqual(got.sort(), ['a:hi', 'c:hi']);
  r.dispatch({ type: 'BROADCAST', componentId: 'system', payload: { type: 'sys' } });
  assert.equal(got.filter((g) => g.endsWith(':sys')).length, 3);
});

test('Router: replies go to the pending request only; upload alias', () => {
  const r = new Router();
  const seen = [];
  r.register('a', (m) => seen.push(m.type));
  let reply = null;
  r.expect('q1', (m) => (reply = m), assert.fail);
  r.dispatch({ type: 'ACTION_RESPONSE', componentId: 'a', success: true, result: 1, requestId: 'q1' });
  assert.equal(reply.result, 1);
  assert.deepEqual(seen, []);
  r.dispatch({ type: 'ACTION_RESPONSE', componentId: 'a', success: true, requestId: 'unknown' });
  assert.deepEqual(seen, ['ACTION_RESPONSE'], 'unmatched reply routes by componentId');
  let progress = null;
  r.expect('chunk-u1-3', (m) => (progress = m), assert.fail);
  r.dispatch({ type: 'FILE_UPLOAD_PROGRESS', componentId: 'a', uploadId: 'u1', chunkIndex: 3, progress: 50 });
  assert.equal(progress.progress, 50, 'old servers without requestId echo match by upload alias');
});

test('array frames: every element is dispatched in order; junk is ignored', async () => {
  const env = setup();
  const s = env.net.last;
  s.establish();
  const seen = [];
  env.conn.on('message', (m) => seen.push(m.type));
  s.recv([{ type: 'A', componentId: 'x' }, 7, null, 'str', [{ type: 'nested' }], { type: 'B', componentId: 'x' }]);
  s.recv('not json');
  s.recv({ type: 'C' });
  assert.deepEqual(seen, ['A', 'B', 'C']);
  assert.equal(env.conn.router.buffer.take('x').length, 2);
  await flush();
});

test('messages preceding a mount reply are buffered then replayed into the handle', async () => {
  const env = setup();
  const s = env.net.last;
  s.establish();
  const p = env.conn.mount('Counter', { count: 5 });
  await flush();
  const req = s.last('COMPONENT_MOUNT');
  assert.equal(req.componentId, 'mount-Counter');
  assert.deepEqual(req.payload, { component: 'Counter', props: { count: 5 } });
  const events = [];
  s.recv([
    { type: 'STATE_UPDATE', componentId: 'k1', payload: { state: { count: 5 } }, seq: 0 },
    { type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 6 } }, seq: 1 },
    { type: 'tick', componentId: 'k1', payload: { at: 1 } },
  ]);
  s.recv({ type: 'MESSAGE_RESPONSE', componentId: 'mount-Counter', success: true, result: { componentId: 'k1', initialState: { count: 6 } }, requestId: req.requestId });
  const h = await p;
  h.on('tick', (pl) => events.push(pl));
  assert.equal(h.id, 'k1');
  assert.deepEqual(h.state, { count: 6 });
  assert.equal(h.seq, 1);
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 7 } }, seq: 2 });
  s.recv({ type: 'tick', componentId: 'k1', payload: { at: 2 } });
  assert.deepEqual(h.state, { count: 7 });
  assert.deepEqual(events, [{ at: 2 }]);
});
