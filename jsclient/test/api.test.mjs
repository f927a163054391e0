import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as live from '../live.js';
import * as gen from '../protocol_gen.js';

test('live.d.ts declares exactly the runtime exports of live.js', () => {
  const dts = readFileSync(new URL('../live.d.ts', import.meta.url), 'utf8');
  const declared = new Set([...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]));
  assert.deepEqual([...declared].sort(), Object.keys(live).sort());
});

test('live.d.ts constant types list every generated key', () => {
  const dts = readFileSync(new URL('../live.d.ts', import.meta.url), 'utf8');
  for (const [name, obj] of Object.entries(gen)) {
    const block = dts.match(new RegExp(`export declare const ${name}: Readonly<\\{([^}]*)\\}>`));
    assert.ok(block, `${name} declared`);
    const keys = [...block[1].matchAll(/^\s*(\w+):|[{;]\s*(\w+):/gm)].map((m) => m[1] ?? m[2]).sort();
    assert.deepEqual(keys, Object.keys(obj).sort(), name);
  }
});

test('generated constants are frozen and re-exported unchanged', () => {
  for (const [name, obj] of Object.entries(gen)) {
    assert.ok(Object.isFrozen(obj), name);
    assert.equal(live[name], obj);
  }
  assert.equal(live.TYPES.CALL_ACTION, 'CALL_ACTION');
  assert.equal(live.CLIENT.STORAGE_PREFIX, 'fluxstack_component_');
});

test('generateId uses the protocol alphabet', () => {
  for (let i = 0; i < 100; i++) assert.match(live.generateId(), /^[A-Za-z0-9_-]{8}$/);
  assert.equal(live.generateId(16).length, 16);
  assert.deepEqual(live.base64ToBytes(live.bytesToBase64(new Uint8Array([0, 255, 7]))), new Uint8Array([0, 255, 7]));
});
