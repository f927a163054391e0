import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storageKey, savePersisted } from '../live.js';
import { setup, flush, mounted, signed, answerMount, FakeStorage } from '../testdata/helpers.mjs';

// Reconnects: drop the socket, fire the backoff timer, establish the new one.
async function reconnect(env) {
  env.net.last.drop(1006);
  await flush();
  env.clock.next();
  env.net.last.establish('conn2');
  await flush();
  return env.net.last;
}

// A mounted Counter k1 that has applied deltas up to seq 2 and holds the
// version-2 signature.
async function counterAtSeq2(opts) {
  const env = setup(opts);
  env.net.last.establish();
  const h = await mounted(env, 'Counter', 'k1', { count: 0 });
  const s = env.net.last;
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 1 } }, seq: 1 });
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 2 } }, seq: 2 });
  s.recv({ type: 'STATE_SIGNATURE', componentId: 'k1', payload: { signedState: signed('k1', 2) } });
  return { env, h };
}

test('mount persists the newest signed state under fluxstack_component_<name>', async () => {
  const { env, h } = await counterAtSeq2();
  assert.deepEqual(h.state, { count: 2 });
  assert.equal(h.seq, 2);
  assert.equal(h.signedState.version, 2);
  const stored = JSON.parse(env.storage.getItem(storageKey('Counter')));
  assert.equal(stored.componentName, 'Counter');
  assert.deepEqual(stored.signedState, signed('k1', 2));
  assert.equal(stored.lastUpdate, env.clock.now());
  // An older signature (lower version, same id) never replaces a newer one.
  env.net.last.recv({ type: 'STATE_SIGNATURE', componentId: 'k1', payload: { signedState: signed('k1', 1) } });
  assert.equal(h.signedState.version, 2);
  // A replayed delta (seq not above the last one) is ignored.
  env.net.last.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 99 } }, seq: 2 });
  assert.deepEqual(h.state, { count: 2 });
});

test('reconnect resumes with payload.seq and applies the missed deltas', async () => {
  const { env, h } = await counterAtSeq2();
  const statuses = [];
  h.onStatus((st) => statuses.push(st));
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  assert.deepEqual(req.payload, { component: 'Counter', signedState: signed('k1', 2), seq: 2 });
  assert.equal(req.componentId, 'k1');
  // Server frames of a resume (docs/recovery.md): missed deltas, a fresh
  // signature, then the reply naming the same id.
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 3 } }, seq: 3 });
  s.recv({ type: 'STATE_SIGNATURE', componentId: 'k1', payload: { signedState: signed('k1', 3) } });
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'k1' }, requestId: req.requestId });
  await flush();
  assert.equal(h.id, 'k1');
  assert.equal(h.resumed, true);
  assert.equal(h.status, 'ready');
  assert.deepEqual(h.state, { count: 3 });
  assert.equal(h.seq, 3);
  assert.equal(JSON.parse(env.storage.getItem(storageKey('Counter'))).signedState.version, 3);
  assert.deepEqual(statuses, ['disconnected', 'recovering', 'ready']);
  assert.equal(s.of('COMPONENT_MOUNT').length, 0);
});

test('reconnect falls back to a classic rehydrate and adopts the new id', async () => {
  const { env, h } = await counterAtSeq2();
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  // The instance is gone: the server rehydrates into a new id; STATE_REHYDRATED
  // precedes the reply and is buffered until the id is known.
  s.recv({
    type: 'STATE_REHYDRATED', componentId: 'k2',
    payload: { state: { count: 2 }, signedState: signed('k2', 3), oldComponentId: 'k1', newComponentId: 'k2' }, seq: 0,
  });
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'k2' }, requestId: req.requestId });
  await flush();
  assert.equal(h.id, 'k2');
  assert.equal(h.resumed, false);
  assert.equal(h.seq, 0);
  assert.deepEqual(h.signedState, signed('k2', 3));
  s.recv({ type: 'STATE_DELTA', componentId: 'k2', payload: { delta: { count: 5 } }, seq: 1 });
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 666 } }, seq: 9 });
  assert.deepEqual(h.state, { count: 5 }, 'routed by the new id only');
});

test('rehydrate refused → persisted entry deleted, mount with the original props', async () => {
  const env = setup();
  env.net.last.establish();
  const p = env.conn.mount('Counter', { count: 10 }, { room: 'r1' });
  await flush();
  answerMount(env.net.last, 'k1', { count: 10 });
  const h = await p;
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  assert.equal(req.payload.room, 'r1');
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: false, error: 'Nonce already used', requestId: req.requestId });
  await flush();
  assert.equal(env.storage.getItem(storageKey('Counter')), null, 'refused state forgotten');
  const mount = s.last('COMPONENT_MOUNT');
  assert.deepEqual(mount.payload, { component: 'Counter', props: { count: 10 }, room: 'r1' });
  answerMount(s, 'k3', { count: 10 }, 1, 0);
  await flush();
  assert.equal(h.id, 'k3');
  assert.equal(h.status, 'ready');
  assert.deepEqual(JSON.parse(env.storage.getItem(storageKey('Counter'))).signedState, signed('k3', 1));
});

test('rehydrate timeout also falls back to mount', async () => {
  const { env, h } = await counterAtSeq2();
  const s = await reconnect(env);
  assert.equal(s.of('COMPONENT_REHYDRATE').length, 1);
  env.clock.advance(5000);
  await flush();
  answerMount(s, 'k4', { count: 0 });
  await flush();
  assert.equal(h.id, 'k4');
  assert.equal(h.seq, 0);
});

test('initial mount rehydrates from localStorage (no seq), else mounts', async () => {
  const storage = new FakeStorage();
  const now = 1_700_000_000_000;
  savePersisted(storage, 'Counter', { signedState: signed('old1', 4) }, now - 60_000);
  const env = setup({ storage });
  env.net.last.establish();
  const p = env.conn.mount('Counter', { count: 0 });
  await flush();
  const s = env.net.last;
  const req = s.last('COMPONENT_REHYDRATE');
  assert.deepEqual(req.payload, { component: 'Counter', signedState: signed('old1', 4) });
  assert.equal(req.componentId, 'old1');
  s.recv({ type: 'STATE_REHYDRATED', componentId: 'n1', payload: { state: { count: 4 }, signedState: signed('n1', 5), oldComponentId: 'old1', newComponentId: 'n1' }, seq: 0 });
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'old1', success: true, result: { newComponentId: 'n1' }, requestId: req.requestId });
  const h = await p;
  assert.equal(h.id, 'n1');
  assert.deepEqual(h.state, { count: 4 });
  assert.equal(s.of('COMPONENT_MOUNT').length, 0);

  // Older than 1 h: not used, deleted, plain mount.
  const st2 = new FakeStorage();
  savePersisted(st2, 'Counter', { signedState: signed('old2') }, now - 3600_001);
  const env2 = setup({ storage: st2 });
  env2.net.last.establish();
  const p2 = env2.conn.mount('Counter', {});
  await flush();
  assert.equal(env2.net.last.of('COMPONENT_REHYDRATE').length, 0);
  assert.equal(st2.getItem(storageKey('Counter')), null, 'stale entry deleted');
  answerMount(env2.net.last, 'm1', {});
  assert.equal((await p2).id, 'm1');
});

test('only the first live handle of a name uses the storage slot', async () => {
  const env = setup();
  env.net.last.establish();
  const a = await mounted(env, 'Counter', 'a1', {});
  const p = env.conn.mount('Counter', {});
  await flush();
  assert.equal(env.net.last.of('COMPONENT_REHYDRATE').length, 0, 'second handle does not rehydrate the first one\'s state');
  answerMount(env.net.last, 'b1', {});
  const b = await p;
  env.net.last.recv({ type: 'STATE_SIGNATURE', componentId: 'b1', payload: { signedState: signed('b1', 7) } });
  assert.equal(b.signedState.version, 7);
  assert.equal(JSON.parse(env.storage.getItem(storageKey('Counter'))).signedState.componentId, 'a1');
  a.unmount({ forget: true }); // reply not awaited: the slot is cleared at once
  assert.equal(env.storage.getItem(storageKey('Counter')), null);
});

test('call sends an idempotencyKey and retries it once after a resume', async () => {
  const { env, h } = await counterAtSeq2();
  const p = h.call('increment', { by: 1 });
  await flush();
  const first = env.net.last.last('CALL_ACTION');
  assert.equal(typeof first.idempotencyKey, 'string');
  assert.equal(first.idempotencyKey.length, 16);
  assert.equal(first.expectResponse, true);
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'k1' }, requestId: req.requestId });
  await flush();
  const retry = s.last('CALL_ACTION');
  assert.equal(retry.idempotencyKey, first.idempotencyKey, 'same key: the server answers with the first outcome');
  assert.notEqual(retry.requestId, first.requestId);
  s.recv({ type: 'ACTION_RESPONSE', componentId: 'k1', success: true, result: { count: 3 }, requestId: retry.requestId });
  assert.deepEqual(await p, { count: 3 });
});

test('a call lost before a non-resume recovery is rejected, not re-run', async () => {
  const { env, h } = await counterAtSeq2();
  const p = h.call('increment');
  await flush();
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'k9' }, requestId: req.requestId });
  await assert.rejects(p, /Connection lost \(1006\)/);
  assert.equal(s.of('CALL_ACTION').length, 0);
});

test('COMPONENT_REHYDRATION_REQUIRED on a call triggers a recovery', async () => {
  const { env, h } = await counterAtSeq2();
  const s = env.net.last;
  const p = h.call('increment');
  await flush();
  const call = s.last('CALL_ACTION');
  s.recv({ type: 'ACTION_RESPONSE', componentId: 'k1', success: false, error: 'COMPONENT_REHYDRATION_REQUIRED:k1', requestId: call.requestId });
  await assert.rejects(p, /COMPONENT_REHYDRATION_REQUIRED/);
  await flush();
  assert.equal(s.last('COMPONENT_REHYDRATE').payload.seq, 2);
  assert.equal(h.status, 'recovering');
});

test('calls while disconnected wait for the recovery', async () => {
  const { env, h } = await counterAtSeq2();
  env.net.last.drop(1006);
  await flush();
  const p = h.call('increment');
  await flush();
  env.clock.next();
  const s = env.net.last;
  s.establish();
  await flush();
  assert.equal(s.of('CALL_ACTION').length, 0, 'not sent before the component is back');
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'k1' }, requestId: s.last('COMPONENT_REHYDRATE').requestId });
  await flush();
  const call = s.last('CALL_ACTION');
  s.recv({ type: 'ACTION_RESPONSE', componentId: 'k1', success: true, result: 1, requestId: call.requestId });
  assert.equal(await p, 1);
});

test('mount interrupted by a dropped connection is retried on the next one', async () => {
  const env = setup();
  env.net.last.establish();
  const p = env.conn.mount('Counter', { a: 1 });
  await flush();
  assert.equal(env.net.last.of('COMPONENT_MOUNT').length, 1);
  const s = await reconnect(env);
  answerMount(s, 'k7', { a: 1 });
  const h = await p;
  assert.equal(h.id, 'k7');
});

test('mount failure rejects with the server error', async () => {
  const env = setup();
  env.net.last.establish();
  const p = env.conn.mount('Nope', {});
  await flush();
  const req = env.net.last.last('COMPONENT_MOUNT');
  env.net.last.recv({ type: 'MESSAGE_RESPONSE', componentId: req.componentId, success: false, error: "Component 'Nope' not found", requestId: req.requestId });
  await assert.rejects(p, { message: "Component 'Nope' not found" });
});

test('unmount sends COMPONENT_UNMOUNT and stops routing', async () => {
  const env = setup();
  env.net.last.establish();
  const h = await mounted(env, 'Counter', 'k1', { count: 0 });
  const changes = [];
  h.onChange((st) => changes.push(st));
  const p = h.unmount();
  const req = env.net.last.last('COMPONENT_UNMOUNT');
  assert.equal(req.componentId, 'k1');
  env.net.last.recv({ type: 'MESSAGE_RESPONSE', componentId: 'k1', success: true, requestId: req.requestId });
  await p;
  env.net.last.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { count: 1 } }, seq: 1 });
  assert.deepEqual(changes, []);
  assert.equal(h.status, 'unmounted');
  await assert.rejects(h.call('x'), /unmounted/);
  assert.ok(env.storage.getItem(storageKey('Counter')), 'kept for a later rehydrate unless forget');
});

test('singleton rehydrate: shared id from the reply, snapshot via STATE_UPDATE', async () => {
  const { env, h } = await counterAtSeq2({});
  const s = await reconnect(env);
  const req = s.last('COMPONENT_REHYDRATE');
  s.recv({ type: 'STATE_UPDATE', componentId: 'shared', payload: { state: { count: 40 }, signedState: signed('shared', 9) }, seq: 40 });
  s.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'k1', success: true, result: { newComponentId: 'shared' }, requestId: req.requestId });
  await flush();
  assert.equal(h.id, 'shared');
  assert.deepEqual(h.state, { count: 40 });
  assert.equal(h.seq, 40);
});

test('STATE_UPDATE replaces the state; onChange gets (state, delta|null); ERROR and BROADCAST events', async () => {
  const env = setup();
  env.net.last.establish();
  const h = await mounted(env, 'Counter', 'k1', { a: 1, o: { x: 1 } });
  const seen = [];
  h.onChange((st, d) => seen.push([st, d]));
  h.on('ERROR', (p) => seen.push(['error', p]));
  h.on('BROADCAST', (p) => seen.push(['broadcast', p]));
  const s = env.net.last;
  s.recv({ type: 'STATE_DELTA', componentId: 'k1', payload: { delta: { o: { x: null, y: 2 } } }, seq: 1 });
  s.recv({ type: 'STATE_UPDATE', componentId: 'k1', payload: { state: { a: 5 } }, seq: 4 });
  s.recv({ type: 'ERROR', componentId: 'k1', payload: { action: 'boom', error: 'bad' } });
  s.recv({ type: 'ERROR', componentId: 'k1', error: 'Not a member of this room' });
  s.recv({ type: 'BROADCAST', componentId: 'other', payload: { type: 'ping', data: 1 }, room: 'r' });
  s.recv({ type: 'BROADCAST', componentId: 'k1', payload: { type: 'self', data: 1 }, room: 'r' });
  assert.deepEqual(seen, [
    [{ a: 1, o: { y: 2 } }, { o: { x: null, y: 2 } }],
    [{ a: 5 }, null],
    ['error', { action: 'boom', error: 'bad' }],
    ['error', { error: 'Not a member of this room' }],
    ['broadcast', { type: 'ping', data: 1 }],
  ]);
});

test('set sends PROPERTY_UPDATE; fire sends no requestId', async () => {
  const env = setup();
  env.net.last.establish();
  const h = await mounted(env, 'Form', 'f1', { name: '' });
  const p = h.set('name', 'Ada');
  await flush();
  const s = env.net.last;
  const req = s.last('PROPERTY_UPDATE');
  assert.equal(req.componentId, 'f1');
  assert.equal(req.property, 'name');
  assert.deepEqual(req.payload, { value: 'Ada' });
  s.recv({ type: 'MESSAGE_RESPONSE', componentId: 'f1', success: false, error: "PROPERTY_UPDATE rejected: 'name' is a reserved key", requestId: req.requestId });
  await assert.rejects(p, /PROPERTY_UPDATE rejected/);
  h.fire('save', { a: 1 });
  const fire = s.last('CALL_ACTION');
  assert.deepEqual(fire, { type: 'CALL_ACTION', componentId: 'f1', action: 'save', payload: { a: 1 } });
});
