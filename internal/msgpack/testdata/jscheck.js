// jscheck.js: an independent JavaScript reader for the bytes the Go codecs
// write. It shares no code with the Go packages or the reference: it is a
// minimal msgpack decoder (the subset of spec §1.10.2), a room frame
// parser (§1.10.2), a 0x01 frame parser and a BinaryStateCodec payload
// decoder (§1.10.1), each written from the wire layout.
//
// Input (stdin): JSON {msgpack: [...], roomFrames: [...], componentDeltas:
// [...], stateDeltas: [...]}; every case has a name and hex bytes plus what
// the bytes must decode to. Output: one line per failure, then a summary.
// Exit status 1 when any case fails.
'use strict';

const fs = require('fs');

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fromHex(hex) {
  const clean = hex.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

// mpDecode reads exactly one msgpack value covering all of buf.
function mpDecode(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const take = (n) => {
    if (pos + n > buf.length) throw new Error('truncated at ' + pos);
    const at = pos;
    pos += n;
    return at;
  };
  const text = (n) => { const at = take(n); return utf8.decode(buf.subarray(at, at + n)); };
  const items = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(read()); return a; };
  const entries = (n) => {
    const o = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      if (typeof k !== 'string') throw new Error('non-string key');
      o[k] = read();
    }
    return o;
  };
  function read() {
    const t = buf[take(1)];
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xf0) === 0x80) return entries(t & 0x0f);
    if ((t & 0xf0) === 0x90) return items(t & 0x0f);
    if ((t & 0xe0) === 0xa0) return text(t & 0x1f);
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: { const n = buf[take(1)]; const at = take(n); return Array.from(buf.subarray(at, at + n)); }
      case 0xc5: { const n = dv.getUint16(take(2)); const at = take(n); return Array.from(buf.subarray(at, at + n)); }
      case 0xc6: { const n = dv.getUint32(take(4)); const at = take(n); return Array.from(buf.subarray(at, at + n)); }
      case 0xcb: return dv.getFloat64(take(8));
      case 0xcc: return buf[take(1)];
      case 0xcd: return dv.getUint16(take(2));
      case 0xce: return dv.getUint32(take(4));
      case 0xd0: return dv.getInt8(take(1));
      case 0xd1: return dv.getInt16(take(2));
      case 0xd2: return dv.getInt32(take(4));
      case 0xd9: return text(buf[take(1)]);
      case 0xda: return text(dv.getUint16(take(2)));
      case 0xdb: return text(dv.getUint32(take(4)));
      case 0xdc: return items(dv.getUint16(take(2)));
      case 0xdd: return items(dv.getUint32(take(4)));
      case 0xde: return entries(dv.getUint16(take(2)));
      case 0xdf: return entries(dv.getUint32(take(4)));
    }
    throw new Error('type byte 0x' + t.toString(16) + ' is outside the subset');
  }
  const v = read();
  if (pos !== buf.length) throw new Error((buf.length - pos) + ' trailing bytes');
  return v;
}

// parseRoomFrame: type, u8 id length + id, u8 room length + room, u16
// big-endian event length + event, payload.
function parseRoomFrame(buf) {
  let pos = 0;
  const take = (n) => {
    if (pos + n > buf.length) throw new Error('frame truncated at ' + pos);
    const at = pos;
    pos += n;
    return buf.subarray(at, at + n);
  };
  const kind = take(1)[0];
  const componentId = utf8.decode(take(take(1)[0]));
  const roomId = utf8.decode(take(take(1)[0]));
  const ev = take(2);
  const event = utf8.decode(take((ev[0] << 8) | ev[1]));
  return { kind, componentId, roomId, event, payload: buf.subarray(pos) };
}

function parseComponentDelta(buf) {
  if (buf.length < 3 || buf[0] !== 0x01) throw new Error('not a 0x01 frame');
  const n = buf[1];
  if (2 + n > buf.length) throw new Error('id runs past the frame');
  return { componentId: utf8.decode(buf.subarray(2, 2 + n)), payload: buf.subarray(2 + n) };
}

// decodeState reads a BinaryStateCodec payload for fields [[name, type]].
function decodeState(buf, fields) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const maskLen = Math.max(1, Math.ceil(fields.length / 8));
  let pos = maskLen;
  const out = {};
  fields.forEach(([name, type], i) => {
    if (!(buf[i >> 3] & (1 << (i & 7)))) return;
    switch (type) {
      case 'uint8': out[name] = dv.getUint8(pos); pos += 1; break;
      case 'int8': out[name] = dv.getInt8(pos); pos += 1; break;
      case 'uint16': out[name] = dv.getUint16(pos, true); pos += 2; break;
      case 'int16': out[name] = dv.getInt16(pos, true); pos += 2; break;
      case 'uint32': out[name] = dv.getUint32(pos, true); pos += 4; break;
      case 'int32': out[name] = dv.getInt32(pos, true); pos += 4; break;
      case 'float32': out[name] = dv.getFloat32(pos, true); pos += 4; break;
      case 'float64': out[name] = dv.getFloat64(pos, true); pos += 8; break;
      case 'boolean': out[name] = dv.getUint8(pos) === 1; pos += 1; break;
      case 'string': {
        const n = dv.getUint16(pos, true);
        pos += 2;
        if (pos + n > buf.length) throw new Error('string runs past the payload');
        out[name] = utf8.decode(buf.subarray(pos, pos + n));
        pos += n;
        break;
      }
      default: throw new Error('unknown type ' + type);
    }
  });
  if (pos !== buf.length) throw new Error((buf.length - pos) + ' trailing bytes');
  return out;
}

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
let passed = 0;
const failures = [];

function check(group, c, fn) {
  try {
    const problem = fn(fromHex(c.hex));
    if (problem) failures.push(group + '/' + c.name + ': ' + problem);
    else passed++;
  } catch (e) {
    failures.push(group + '/' + c.name + ': ' + e.message);
  }
}

const jsonOf = (v) => JSON.stringify(v);

for (const c of input.msgpack || []) {
  check('msgpack', c, (b) => {
    const got = jsonOf(mpDecode(b));
    return got === c.json ? '' : 'got ' + got.slice(0, 200) + ' want ' + c.json.slice(0, 200);
  });
}
for (const c of input.roomFrames || []) {
  check('room', c, (b) => {
    const f = parseRoomFrame(b);
    const got = jsonOf({ kind: f.kind, componentId: f.componentId, roomId: f.roomId, event: f.event, data: mpDecode(f.payload) });
    const want = jsonOf({ kind: c.kind, componentId: c.componentId || '', roomId: c.roomId || '', event: c.event || '', data: JSON.parse(c.json) });
    return got === want ? '' : 'got ' + got + ' want ' + want;
  });
}
for (const c of input.componentDeltas || []) {
  check('component', c, (b) => {
    const f = parseComponentDelta(b);
    const got = jsonOf({ componentId: f.componentId, payload: Array.from(f.payload) });
    const want = jsonOf({ componentId: c.componentId || '', payload: Array.from(fromHex(c.payloadHex || '')) });
    return got === want ? '' : 'got ' + got + ' want ' + want;
  });
}
for (const c of input.stateDeltas || []) {
  check('state', c, (b) => {
    const got = jsonOf(decodeState(b, c.fields));
    return got === c.json ? '' : 'got ' + got + ' want ' + c.json;
  });
}

for (const f of failures) console.log('FAIL ' + f);
console.log('jscheck: ' + passed + ' ok, ' + failures.length + ' failing');
process.exit(failures.length ? 1 : 0);
