import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDelta } from '../live.js';

// Every row of the delta-application rules (spec §2.7 "Applying a delta",
// and the deep-diff table's client-visible consequences).
const cases = [
  { name: 'new top-level key is added', state: { a: 1 }, delta: { b: 2 }, want: { a: 1, b: 2 } },
  { name: 'primitive overwrites primitive', state: { a: 1 }, delta: { a: 2 }, want: { a: 2 } },
  { name: 'undefined value is skipped', state: { a: 1 }, delta: { a: undefined }, want: { a: 1 } },
  { name: 'null at depth 0 is stored as a value', state: { a: 1 }, delta: { a: null }, want: { a: null } },
  { name: 'null at depth 1 deletes the key', state: { o: { x: 1, y: 2 } }, delta: { o: { x: null } }, want: { o: { y: 2 } } },
  { name: 'null at depth 3 deletes the key', state: { a: { b: { c: { d: 1, e: 2 } } } }, delta: { a: { b: { c: { d: null } } } }, want: { a: { b: { c: { e: 2 } } } } },
  { name: 'nested null for a missing key is a no-op', state: { o: { x: 1 } }, delta: { o: { z: null } }, want: { o: { x: 1 } } },
  { name: 'two plain objects merge recursively', state: { o: { x: 1, n: { p: 1, q: 2 } } }, delta: { o: { n: { q: 3 } } }, want: { o: { x: 1, n: { p: 1, q: 3 } } } },
  { name: 'object replaces a primitive', state: { o: 5 }, delta: { o: { x: 1 } }, want: { o: { x: 1 } } },
  { name: 'primitive replaces an object', state: { o: { x: 1 } }, delta: { o: 7 }, want: { o: 7 } },
  { name: 'arrays are replaced whole, never merged', state: { l: [1, 2, 3] }, delta: { l: [9] }, want: { l: [9] } },
  { name: 'object replaces an array', state: { l: [1] }, delta: { l: { x: 1 } }, want: { l: { x: 1 } } },
  { name: 'array inside a nested object is replaced', state: { o: { l: [1, 2] } }, delta: { o: { l: [] } }, want: { o: { l: [] } } },
  { name: 'missing keys at depth 0 are kept (patches are partial)', state: { a: 1, b: 2 }, delta: { b: 3 }, want: { a: 1, b: 3 } },
  { name: 'whole object beyond the diff depth deep-merges (keys not deleted)', state: { a: { b: { c: { d: { k: 1, j: 2 } } } } }, delta: { a: { b: { c: { d: { k: 5 } } } } }, want: { a: { b: { c: { d: { k: 5, j: 2 } } } } } },
  { name: 'nested object set to null is deleted whole', state: { o: { a: { x: 1 } } }, delta: { o: { a: null, b: 1 } }, want: { o: { b: 1 } } },
  { name: 'empty delta changes nothing', state: { a: 1 }, delta: {}, want: { a: 1 } },
  { name: 'null top-level value can later become an object', state: { a: null }, delta: { a: { x: 1 } }, want: { a: { x: 1 } } },
  { name: 'prototype keys are ignored', state: { a: 1 }, delta: JSON.parse('{"__proto__":{"polluted":1},"constructor":2,"prototype":3,"b":1}'), want: { a: 1, b: 1 } },
  { name: 'non-object delta is ignored', state: { a: 1 }, delta: [1, 2], want: { a: 1 } },
  { name: 'non-object state starts empty', state: null, delta: { a: 1 }, want: { a: 1 } },
];

for (const c of cases) {
  test(`applyDelta: ${c.name}`, () => {
    const before = JSON.stringify(c.state);
    const got = applyDelta(c.state, c.delta);
    assert.deepEqual(got, c.want);
    assert.equal(JSON.stringify(c.state), before, 'input state must not be mutated');
    assert.equal({}.polluted, undefined, 'Object.prototype must stay clean');
  });
}

test('applyDelta shares unchanged branches and returns the same object for a no-op', () => {
  const state = { a: { x: 1 }, b: { y: 2 } };
  const next = applyDelta(state, { a: { x: 2 } });
  assert.notEqual(next, state);
  assert.equal(next.b, state.b, 'untouched branch is shared');
  assert.notEqual(next.a, state.a);
  assert.equal(applyDelta(state, {}), state);
  assert.equal(applyDelta(state, { a: undefined }), state);
});

test('applyDelta applies a sequence like the server state evolves', () => {
  let s = { count: 0, user: { name: 'a', tags: ['x'], prefs: { dark: true } } };
  s = applyDelta(s, { count: 1 });
  s = applyDelta(s, { user: { prefs: { dark: null, size: 2 } } });
  s = applyDelta(s, { user: { tags: ['x', 'y'] }, count: null });
  assert.deepEqual(s, { count: null, user: { name: 'a', tags: ['x', 'y'], prefs: { size: 2 } } });
});
