import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMsgpack, parseRoomFrame, parseComponentFrame, encodeUploadChunk, roomFrameMessage, SseParser } from '../live.js';
import { setup, mounted } from '../testdata/helpers.mjs';

const B = (...xs) => new Uint8Array(xs.flat());
const ascii = (s) => [...s].map((c) => c.charCodeAt(0));

// Hand-written encodings of the msgpack subset produced by the server
// (spec §1.10.2).
const golden = [
  { name: 'nil', bytes: B(0xc0), want: null },
  { name: 'false', bytes: B(0xc2), want: false },
  { name: 'true', bytes: B(0xc3), want: true },
  { name: 'positive fixint 0', bytes: B(0x00), want: 0 },
  { name: 'positive fixint 127', bytes: B(0x7f), want: 127 },
  { name: 'negative fixint -1', bytes: B(0xff), want: -1 },
  { name: 'negative fixint -32', bytes: B(0xe0), want: -32 },
  { name: 'uint8 255', bytes: B(0xcc, 0xff), want: 255 },
  { name: 'uint16 256', bytes: B(0xcd, 0x01, 0x00), want: 256 },
  { name: 'uint32 65536', bytes: B(0xce, 0x00, 0x01, 0x00, 0x00), want: 65536 },
  { name: 'uint32 max', bytes: B(0xce, 0xff, 0xff, 0xff, 0xff), want: 4294967295 },
  { name: 'int8 -128', bytes: B(0xd0, 0x80), want: -128 },
  { name: 'int16 -32768', bytes: B(0xd1, 0x80, 0x00), want: -32768 },
  { name: 'int32 min', bytes: B(0xd2, 0x80, 0x00, 0x00, 0x00), want: -2147483648 },
  { name: 'float64 1.5', bytes: B(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), want: 1.5 },
  { name: 'float64 2^32 (integers past uint32)', bytes: B(0xcb, 0x41, 0xf0, 0, 0, 0, 0, 0, 0), want: 4294967296 },
  { name: 'empty fixstr', bytes: B(0xa0), want: '' },
  { name: 'fixstr utf-8', bytes: B(0xa2, 0xc3, 0xa9), want: 'é' },
  { name: 'str8', bytes: B(0xd9, 32, Array(32).fill(0x61)), want: 'a'.repeat(32) },
  { name: 'str16', bytes: B(0xda, 0x01, 0x00, Array(256).fill(0x62)), want: 'b'.repeat(256) },
  { name: 'str32', bytes: B(0xdb, 0, 0, 0, 3, ascii('xyz')), want: 'xyz' },
  { name: 'bin8', bytes: B(0xc4, 3, 1, 2, 3), want: new Uint8Array([1, 2, 3]) },
  { name: 'bin16', bytes: B(0xc5, 0, 2, 9, 8), want: new Uint8Array([9, 8]) },
  { name: 'bin32', bytes: B(0xc6, 0, 0, 0, 1, 7), want: new Uint8Array([7]) },
  { name: 'fixarray', bytes: B(0x93, 0x01, 0xa1, 0x78, 0xc0), want: [1, 'x', null] },
  { name: 'array16', bytes: B(0xdc, 0x00, 0x02, 0x01, 0x02), want: [1, 2] },
  { name: 'array32', bytes: B(0xdd, 0, 0, 0, 1, 0xc3), want: [true] },
  { name: 'presence payload', bytes: B(0x82, 0xac, ascii('subscriberId'), 0xa3, ascii('abc'), 0xa5, ascii('count'), 0x02), want: { subscriberId: 'abc', count: 2 } },
  { name: 'map16', bytes: B(0xde, 0x00, 0x01, 0xa1, 0x6b, 0x05), want: { k: 5 } },
  { name: 'map32', bytes: B(0xdf, 0, 0, 0, 1, 0xa1, 0x6b, 0x90), want: { k: [] } },
  { name: 'nested state', bytes: B(0x81, 0xa5, ascii('state'), 0x81, 0xa1, 0x6e, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), want: { state: { n: Math.PI } } },
  { name: 'non-string key is stringified', bytes: B(0x81, 0x01, 0xa1, 0x78), want: { 1: 'x' } },
  { name: '__proto__ key is dropped', bytes: B(0x82, 0xa9, ascii('__proto__'), 0x81, 0xa1, 0x70, 0x01, 0xa1, 0x61, 0x01), want: { a: 1 } },
  { name: 'constructor/prototype keys are dropped', bytes: B(0x82, 0xab, ascii('constructor'), 0x01, 0xa9, ascii('prototype'), 0x02), want: {} },
];

for (const g of golden) {
  test(`msgpack golden: ${g.name}`, () => {
    const got = decodeMsgpack(g.bytes);
    assert.deepEqual(got, g.want);
    assert.equal({}.p, undefined);
  });
}

const bad = [
  { name: 'float32 is not in the subset', bytes: B(0xca, 0, 0, 0, 0), err: TypeError },
  { name: 'uint64', bytes: B(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), err: TypeError },
  { name: 'int64', bytes: B(0xd3, 0, 0, 0, 0, 0, 0, 0, 1), err: TypeError },
  { name: 'never-used 0xc1', bytes: B(0xc1), err: TypeError },
  { name: 'fixext', bytes: B(0xd4, 1, 1), err: TypeError },
  { name: 'empty input', bytes: B(), err: RangeError },
  { name: 'truncated uint16', bytes: B(0xcd, 0x01), err: RangeError },
  { name: 'truncated float64', bytes: B(0xcb, 0, 0), err: RangeError },
  { name: 'truncated string', bytes: B(0xa5, 0x61), err: RangeError },
  { name: 'truncated bin32 length', bytes: B(0xc6, 0, 0), err: RangeError },
  { name: 'array32 claiming 4G items', bytes: B(0xdd, 0xff, 0xff, 0xff, 0xff, 0x00), err: RangeError },
  { name: 'map claiming more pairs than bytes', bytes: B(0x83, 0xa1, 0x61, 0x01), err: RangeError },
  { name: 'map32 claiming 2G pairs', bytes: B(0xdf, 0x7f, 0xff, 0xff, 0xff), err: RangeError },
  { name: 'str32 longer than input', bytes: B(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61), err: RangeError },
  { name: 'array ending early', bytes: B(0x92, 0x01), err: RangeError },
];

for (const b of bad) {
  test(`msgpack rejects: ${b.name}`, () => {
    assert.throws(() => decodeMsgpack(b.bytes), b.err);
  });
}

test('msgpack nesting: 100 levels decode, 101 throw', () => {
  const nest = (n, open) => B(Array(n).fill(open), open === 0x91 ? 0xc0 : [0xa1, 0x6b, 0xc0]);
  let v = decodeMsgpack(nest(100, 0x91));
  let depth = 0;
  while (Array.isArray(v)) {
    v = v[0];
    depth++;
  }
  assert.equal(depth, 100);
  assert.throws(() => decodeMsgpack(nest(101, 0x91)), /nesting too deep/);
  // Maps count the same: fixmap {k: …} with one key per level.
  const maps = (n) => B(Array(n - 1).fill([0x81, 0xa1, 0x6b]).flat(), 0x81, 0xa1, 0x6b, 0xc0);
  assert.doesNotThrow(() => decodeMsgpack(maps(100)));
  assert.throws(() => decodeMsgpack(maps(101)), RangeError);
  assert.throws(() => decodeMsgpack(nest(5, 0x91), 4), RangeError, 'custom limit');
});

test('msgpack decoder only ever throws RangeError/TypeError on random input', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(rnd() * 40);
    const bytes = new Uint8Array(n);
    for (let j = 0; j < n; j++) bytes[j] = rnd() < 0.3 ? [0x91, 0x81, 0xdc, 0xdd, 0xdf, 0xdb, 0xc6][Math.floor(rnd() * 7)] : Math.floor(rnd() * 256);
    try {
      decodeMsgpack(bytes);
    } catch (e) {
      assert.ok(e instanceof RangeError || e instanceof TypeError, `unexpected ${e}`);
    }
    const f = parseRoomFrame(bytes);
    if (f) assert.ok(f.payload.length <= bytes.length);
    parseComponentFrame(bytes);
  }
});

// 0x02 frame: componentId "c1", room "lobby", event "chat!", payload {text:"hi"}.
const CHAT = B(0x02, 0x02, ascii('c1'), 0x05, ascii('lobby'), 0x00, 0x05, ascii('chat!'), 0x81, 0xa4, ascii('text'), 0xa2, ascii('hi'));

test('parseRoomFrame golden and malformed frames', () => {
  const f = parseRoomFrame(CHAT);
  assert.deepEqual({ ...f, payload: [...f.payload] }, {
    kind: 2, componentId: 'c1', roomId: 'lobby', event: 'chat!', payload: [0x81, 0xa4, ...ascii('text'), 0xa2, ...ascii('hi')],
  });
  assert.deepEqual(roomFrameMessage(f), { type: 'ROOM_EVENT', componentId: 'c1', roomId: 'lobby', event: 'chat!', data: { text: 'hi' } });
  const cases = [
    { name: 'shorter than 6 bytes', bytes: B(0x02, 0x00, 0x00, 0x00, 0x00) },
    { name: 'unknown frame type', bytes: B(0x04, CHAT.slice(1)) },
    { name: 'componentId length past the end', bytes: B(0x02, 0x40, 0, 0, 0, 0, 0) },
    { name: 'roomId length past the end', bytes: B(0x02, 0x01, 0x61, 0x40, 0, 0, 0) },
    { name: 'event length (u16 BE) past the end', bytes: B(0x02, 0x01, 0x61, 0x01, 0x62, 0x01, 0x00, 0x61) },
    { name: 'no room for the event length', bytes: B(0x02, 0x01, 0x61, 0x02, 0x62, 0x62, 0x00) },
  ];
  for (const c of cases) assert.equal(parseRoomFrame(c.bytes), null, c.name);
  // An empty payload is allowed by the framing (it then fails to decode).
  const empty = parseRoomFrame(B(0x03, 0x01, 0x61, 0x01, 0x62, 0x00, 0x00));
  assert.equal(empty.payload.length, 0);
  assert.equal(roomFrameMessage(empty), null);
});

test('parseComponentFrame and encodeUploadChunk layouts', () => {
  assert.deepEqual(parseComponentFrame(B(0x01, 0x02, ascii('k1'), 9, 8)), { componentId: 'k1', payload: new Uint8Array([9, 8]) });
  assert.equal(parseComponentFrame(B(0x01, 0x05, 0x61)), null);
  assert.equal(parseComponentFrame(B(0x01, 0x00)), null);
  const chunk = encodeUploadChunk({ type: 'FILE_UPLOAD_CHUNK', uploadId: 'u' }, new Uint8Array([1, 2]));
  const header = '{"type":"FILE_UPLOAD_CHUNK","uploadId":"u"}';
  assert.deepEqual([...chunk.slice(0, 4)], [header.length, 0, 0, 0], 'u32 little-endian header length');
  assert.equal(new TextDecoder().decode(chunk.slice(4, 4 + header.length)), header);
  assert.deepEqual([...chunk.slice(4 + header.length)], [1, 2]);
});

test('binary room frames reach the room handle; 0x01 reaches onBinary', async () => {
  const env = setup();
  env.net.last.establish();
  const h = await mounted(env, 'Chat', 'c1', {});
  const room = h.room('lobby');
  const got = [];
  room.on('chat!', (d) => got.push(['chat', d]));
  room.onSystem('sub:join', (d) => got.push(['join', d]));
  room.onSystem('state:change', (s, changes) => got.push(['state', s, changes]));
  h.onBinary((b) => got.push(['bin', [...b]]));
  const s = env.net.last;
  s.recv(CHAT);
  s.recv(B(0x02, 0x02, ascii('c1'), 0x05, ascii('lobby'), 0x00, 0x09, ascii('$sub:join'), 0x82, 0xac, ascii('subscriberId'), 0xa2, ascii('zz'), 0xa5, ascii('count'), 0x03));
  s.recv(B(0x03, 0x02, ascii('c1'), 0x05, ascii('lobby'), 0x00, 0x0d, ascii('$state:update'), 0x81, 0xa5, ascii('state'), 0x81, 0xa1, 0x6e, 0x07));
  s.recv(B(0x02, 0x02, ascii('c2'), 0x05, ascii('lobby'), 0x00, 0x05, ascii('chat!'), 0xc0)); // other component
  s.recv(B(0x02, 0x02, ascii('c1'), 0x05, ascii('lobby'), 0x00, 0x05, ascii('chat!'), 0xc1)); // undecodable: dropped
  s.recv(B(0x01, 0x02, ascii('c1'), 0xaa));
  assert.deepEqual(got, [
    ['chat', { text: 'hi' }],
    ['join', { subscriberId: 'zz', count: 3 }],
    ['state', { n: 7 }, { n: 7 }],
    ['bin', [0xaa]],
  ]);
  assert.equal(room.count, 3);
  assert.deepEqual(room.state, { n: 7 });
});

test('SseParser: fields, multi-line data, comments, CRLF, split chunks', () => {
  const got = [];
  const p = new SseParser((e, d) => got.push([e, d]));
  p.push('event: session\ndata: {"token":"ab"}\n\n');
  p.push(': ping\n\n');
  p.push('event: message\r\ndata: line1\r\ndata:line2\r\n\r\n');
  p.push('data: no event name\n');
  p.push('\n');
  p.push('event: bin');
  p.push('ary\ndata: AQI=\r');
  p.push('\n\r\n');
  p.push('data: x\r\r');
  p.push('id: 5\nretry: 10\n\n');
  assert.deepEqual(got, [
    ['session', '{"token":"ab"}'],
    ['message', 'line1\nline2'],
    ['message', 'no event name'],
    ['binary', 'AQI='],
    ['message', 'x'],
  ]);
  const small = new SseParser(() => {}, 16);
  assert.throws(() => small.push('data: 0123456789\ndata: 0123456789\n'), RangeError);
  assert.throws(() => new SseParser(() => {}, 8).push('data: 0123456789'), RangeError, 'unterminated line is bounded');
});
