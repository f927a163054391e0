import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, flush, mounted } from '../testdata/helpers.mjs';

async function chat() {
  const env = setup();
  env.net.last.establish();
  const h = await mounted(env, 'Chat', 'c1', {});
  return { env, h, s: env.net.last };
}

test('room join/leave/emit/setState/fetchState messages', async () => {
  const { h, s } = await chat();
  const room = h.room('lobby');
  assert.equal(h.room('lobby'), room, 'one handle per (component, room)');
  const joined = room.join({ topic: 'hi' });
  const j = s.last('ROOM_JOIN');
  assert.deepEqual({ ...j, requestId: 0 }, { type: 'ROOM_JOIN', componentId: 'c1', roomId: 'lobby', payload: { roomId: 'lobby', initialState: { topic: 'hi' } }, requestId: 0, expectResponse: true });
  s.recv({ type: 'ROOM_JOINED', componentId: 'c1', payload: { roomId: 'lobby', state: { topic: 'hi', n: 1 } }, requestId: j.requestId });
  assert.deepEqual(await joined, { topic: 'hi', n: 1 });
  assert.equal(room.joined, true);

  room.emit('typing', { who: 'me' });
  assert.deepEqual(s.last('ROOM_EMIT'), { type: 'ROOM_EMIT', componentId: 'c1', roomId: 'lobby', payload: { event: 'typing', data: { who: 'me' } } });

  room.setState({ n: 2, nested: { a: 1 } });
  assert.deepEqual(s.last('ROOM_STATE_SET').payload, { state: { n: 2, nested: { a: 1 } } });
  assert.deepEqual(room.state, { topic: 'hi', n: 2, nested: { a: 1 } }, 'optimistic local merge');

  const fetched = room.fetchState();
  const g = s.last('ROOM_STATE_GET');
  s.recv({ type: 'ROOM_STATE', componentId: 'c1', payload: { roomId: 'lobby', state: { n: 3 } }, requestId: g.requestId });
  assert.deepEqual(await fetched, { n: 3 });

  const left = room.leave();
  const l = s.last('ROOM_LEAVE');
  s.recv({ type: 'ROOM_LEFT', componentId: 'c1', payload: { roomId: 'lobby' }, requestId: l.requestId });
  await left;
  assert.equal(room.joined, false);
});

test('room join errors reject', async () => {
  const { h, s } = await chat();
  const p = h.room('game:1').join();
  const j = s.last('ROOM_JOIN');
  assert.equal('initialState' in j.payload, false);
  s.recv({ type: 'ERROR', componentId: 'c1', error: 'Room requires server-side join via component action', requestId: j.requestId });
  await assert.rejects(p, /server-side join/);
});

test('JSON room broadcasts: events, presence, state, server-side join', async () => {
  const { h, s } = await chat();
  const room = h.room('lobby');
  const got = [];
  room.on('msg', (d, m) => got.push(['msg', d, m.roomId]));
  room.onSystem('sub:join', (d) => got.push(['join', d]));
  room.onSystem('$sub:leave', (d) => got.push(['leave', d]));
  room.onSystem('state:change', (st, ch) => got.push(['state', st, ch]));
  room.onSystem('room:joined', (d) => got.push(['joined', d]));
  s.recv([
    { componentId: 'c1', type: 'ROOM_EVENT', roomId: 'lobby', event: 'msg', data: { text: 'hello' }, timestamp: 1 },
    { componentId: 'c1', type: 'ROOM_SYSTEM', roomId: 'lobby', event: '$sub:join', data: { subscriberId: 'x', count: 2 }, timestamp: 2 },
    { componentId: 'c1', type: 'ROOM_STATE', roomId: 'lobby', event: '$state:update', data: { state: { n: 1, o: { a: 1 } } }, timestamp: 3 },
    { componentId: 'c1', type: 'ROOM_STATE', roomId: 'lobby', event: '$state:update', data: { state: { o: { a: null } } }, timestamp: 4 },
    { componentId: 'c1', type: 'ROOM_SYSTEM', roomId: 'lobby', event: '$sub:leave', data: { subscriberId: 'x', count: 1 }, timestamp: 5 },
    { componentId: 'c2', type: 'ROOM_EVENT', roomId: 'lobby', event: 'msg', data: 'not mine', timestamp: 6 },
    { componentId: 'c1', type: 'ROOM_EVENT', roomId: 'other', event: 'msg', data: 'other room', timestamp: 7 },
  ]);
  assert.deepEqual(got, [
    ['msg', { text: 'hello' }, 'lobby'],
    ['join', { subscriberId: 'x', count: 2 }],
    ['state', { n: 1, o: { a: 1 } }, { n: 1, o: { a: 1 } }],
    ['state', { n: 1, o: {} }, { o: { a: null } }],
    ['leave', { subscriberId: 'x', count: 1 }],
  ]);
  assert.equal(room.count, 1);
  // Messages for a room nobody asked for yet are kept in a lazily created handle.
  assert.equal(h.room('other').joined, false);
  // Typed rooms joined by the server announce themselves.
  s.recv({ type: 'ROOM_JOINED', componentId: 'c1', roomId: 'game:7', event: '$room:joined', data: { state: { turn: 1 } }, timestamp: 8 });
  const game = h.room('game:7');
  assert.equal(game.joined, true);
  assert.deepEqual(game.state, { turn: 1 });
});

test('conn.room works before the component handle exists and follows id changes', async () => {
  const env = setup();
  env.net.last.establish();
  const s = env.net.last;
  const early = env.conn.room('c1', 'lobby');
  const got = [];
  early.on('msg', (d) => got.push(d));
  s.recv({ componentId: 'c1', type: 'ROOM_EVENT', roomId: 'lobby', event: 'msg', data: 1 });
  const h = await mounted(env, 'Chat', 'c1', {});
  assert.equal(h.room('lobby'), early);
  const joined = early.join();
  s.recv({ type: 'ROOM_JOINED', componentId: 'c1', payload: { roomId: 'lobby', state: {} }, requestId: s.last('ROOM_JOIN').requestId });
  await joined;
  // Reconnect with a classic rehydrate to a new id: the room moves along and is re-joined.
  s.drop(1006);
  await flush();
  env.clock.next();
  const s2 = env.net.last;
  s2.establish();
  await flush();
  const req = s2.last('COMPONENT_REHYDRATE');
  s2.recv({ type: 'COMPONENT_REHYDRATED', componentId: 'c1', success: true, result: { newComponentId: 'c2' }, requestId: req.requestId });
  await flush();
  assert.equal(early.componentId, 'c2');
  assert.equal(s2.last('ROOM_JOIN').componentId, 'c2', 'joined rooms are re-joined after recovery');
  s2.recv({ componentId: 'c2', type: 'ROOM_EVENT', roomId: 'lobby', event: 'msg', data: 2 });
  assert.deepEqual(got, [1, 2]);
});

test('upload: START, binary chunks with progress, COMPLETE', async () => {
  const { h, s } = await chat();
  const data = new Uint8Array(10).map((_, i) => i);
  const progress = [];
  const p = h.upload(data, { chunkSize: 4, filename: 'a.txt', type: 'text/plain', uploadId: 'up1', onProgress: (x) => progress.push(x.progress) });
  await flush();
  const start = s.last('FILE_UPLOAD_START');
  assert.deepEqual({ ...start, requestId: 0 }, { type: 'FILE_UPLOAD_START', componentId: 'c1', uploadId: 'up1', filename: 'a.txt', fileType: 'text/plain', fileSize: 10, chunkSize: 4, requestId: 0, expectResponse: true });
  s.recv({ type: 'FILE_UPLOAD_START_RESPONSE', componentId: 'c1', success: true, requestId: start.requestId });
  const decoder = new TextDecoder();
  for (let i = 0; i < 3; i++) {
    await flush();
    const frame = s.sent[s.sent.length - 1];
    assert.ok(frame instanceof Uint8Array, `chunk ${i} is binary`);
    const hl = new DataView(frame.buffer, frame.byteOffset).getUint32(0, true);
    const header = JSON.parse(decoder.decode(frame.subarray(4, 4 + hl)));
    assert.deepEqual(header, { type: 'FILE_UPLOAD_CHUNK', componentId: 'c1', uploadId: 'up1', chunkIndex: i, totalChunks: 3, requestId: `chunk-up1-${i}` });
    assert.deepEqual([...frame.subarray(4 + hl)], [...data.subarray(i * 4, i * 4 + 4)]);
    const done = Math.min(10, (i + 1) * 4);
    s.recv({ type: 'FILE_UPLOAD_PROGRESS', componentId: 'c1', uploadId: 'up1', chunkIndex: i, totalChunks: 3, bytesUploaded: done, totalBytes: 10, progress: done * 10, timestamp: 1, requestId: header.requestId });
  }
  await flush();
  const complete = s.last('FILE_UPLOAD_COMPLETE');
  assert.equal(complete.requestId, 'complete-up1');
  s.recv({ type: 'FILE_UPLOAD_COMPLETE', componentId: 'c1', uploadId: 'up1', success: true, filename: 'a.txt', fileUrl: '/uploads/x.txt', timestamp: 1, requestId: complete.requestId });
  assert.deepEqual(await p, { uploadId: 'up1', filename: 'a.txt', fileUrl: '/uploads/x.txt' });
  assert.deepEqual(progress, [40, 80, 100]);
});

test('upload: base64 JSON chunks, server refusal, cancellation, bad chunk size', async () => {
  const { h, s } = await chat();
  const p = h.upload(new Uint8Array([1, 2, 3]), { binary: false, uploadId: 'u2' });
  await flush();
  s.recv({ type: 'FILE_UPLOAD_START_RESPONSE', componentId: 'c1', success: true, requestId: s.last('FILE_UPLOAD_START').requestId });
  await flush();
  const chunk = s.last('FILE_UPLOAD_CHUNK');
  assert.equal(chunk.data, 'AQID');
  assert.equal(chunk.requestId, 'chunk-u2-0');
  s.recv({ type: 'ERROR', componentId: 'c1', error: 'Chunk too large: 3 > 2', requestId: chunk.requestId });
  await assert.rejects(p, /Chunk too large/);

  const refused = h.upload(new Uint8Array([1]), { type: 'application/x-msdownload' });
  await flush();
  s.recv({ type: 'FILE_UPLOAD_START_RESPONSE', componentId: 'c1', success: false, error: 'File type not allowed: application/x-msdownload', requestId: s.last('FILE_UPLOAD_START').requestId });
  await assert.rejects(refused, /File type not allowed/);

  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(h.upload(new Uint8Array([1]), { signal: ctrl.signal }), /cancelled/);
  await assert.rejects(h.upload(new Uint8Array([1]), { chunkSize: 2 << 20 }), /Invalid chunkSize/);
  await assert.rejects(h.upload(new Uint8Array(0)), /Empty file/);
});

test('upload reads Blobs slice by slice', async () => {
  const { h, s } = await chat();
  const blob = new Blob([new Uint8Array([5, 6, 7])], { type: 'image/png' });
  const p = h.upload(blob, { chunkSize: 2, filename: 'p.png', uploadId: 'b1' });
  await flush();
  const start = s.last('FILE_UPLOAD_START');
  assert.equal(start.fileType, 'image/png');
  s.recv({ type: 'FILE_UPLOAD_START_RESPONSE', componentId: 'c1', success: true, requestId: start.requestId });
  const tails = [];
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 5; k++) await flush();
    const f = s.sent[s.sent.length - 1];
    const hl = new DataView(f.buffer, f.byteOffset).getUint32(0, true);
    tails.push([...f.subarray(4 + hl)]);
    s.recv({ type: 'FILE_UPLOAD_PROGRESS', componentId: 'c1', uploadId: 'b1', chunkIndex: i, requestId: `chunk-b1-${i}` });
  }
  await flush();
  s.recv({ type: 'FILE_UPLOAD_COMPLETE', componentId: 'c1', uploadId: 'b1', success: true, fileUrl: '/u/p.png', requestId: 'complete-b1' });
  assert.equal((await p).fileUrl, '/u/p.png');
  assert.deepEqual(tails, [[5, 6], [7]]);
});
