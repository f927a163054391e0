import { test } from 'node:test';
import assert from 'node:assert/strict';
import { savePersisted, loadPersisted, loadRehydratable, clearPersisted, storageKey, isSignedState, CLIENT } from '../live.js';
import { FakeStorage, signed } from '../testdata/helpers.mjs';

const NOW = 1_700_000_000_000;
const HOUR = 3600 * 1000;

test('storage key and entry shape follow spec §3.9', () => {
  assert.equal(storageKey('Counter'), 'fluxstack_component_Counter');
  assert.equal(CLIENT.STORAGE_PREFIX, 'fluxstack_component_');
  const st = new FakeStorage();
  assert.equal(savePersisted(st, 'Counter', { signedState: signed('c1'), room: 'lobby' }, NOW), true);
  assert.deepEqual(JSON.parse(st.getItem('fluxstack_component_Counter')), {
    componentName: 'Counter', signedState: signed('c1'), room: 'lobby', lastUpdate: NOW,
  });
  assert.deepEqual(loadPersisted(st, 'Counter', NOW), JSON.parse(st.getItem('fluxstack_component_Counter')));
});

test('loadPersisted: TTL and malformed entries', () => {
  const cases = [
    { name: 'fresh', value: { componentName: 'C', signedState: signed('x'), lastUpdate: NOW - 1000 }, keep: true },
    { name: 'exactly 24 h old', value: { componentName: 'C', signedState: signed('x'), lastUpdate: NOW - 24 * HOUR }, keep: true },
    { name: 'older than 24 h', value: { componentName: 'C', signedState: signed('x'), lastUpdate: NOW - 24 * HOUR - 1 }, keep: false },
    { name: 'far future timestamp', value: { componentName: 'C', signedState: signed('x'), lastUpdate: NOW + HOUR }, keep: false },
    { name: 'no lastUpdate', value: { componentName: 'C', signedState: signed('x') }, keep: false },
    { name: 'other component name', value: { componentName: 'D', signedState: signed('x'), lastUpdate: NOW }, keep: false },
    { name: 'not JSON', raw: '{oops', keep: false },
    { name: 'JSON array', raw: '[1]', keep: false },
    { name: 'JSON null', raw: 'null', keep: false },
  ];
  for (const c of cases) {
    const st = new FakeStorage();
    st.setItem(storageKey('C'), c.raw ?? JSON.stringify(c.value));
    const got = loadPersisted(st, 'C', NOW);
    assert.equal(got !== null, c.keep, c.name);
    assert.equal(st.getItem(storageKey('C')) !== null, c.keep, `${c.name}: deleted iff rejected`);
  }
});

test('loadRehydratable: 1 h limit and signedState shape', () => {
  const cases = [
    { name: 'fresh and valid', age: 1000, ss: signed('x'), ok: true },
    { name: 'exactly 1 h', age: HOUR, ss: signed('x'), ok: true },
    { name: 'older than 1 h', age: HOUR + 1, ss: signed('x'), ok: false },
    { name: 'signature missing', age: 0, ss: { ...signed('x'), signature: undefined }, ok: false },
    { name: 'version not a number', age: 0, ss: { ...signed('x'), version: '1' }, ok: false },
    { name: 'nonce not a string', age: 0, ss: { ...signed('x'), nonce: 5 }, ok: false },
    { name: 'compressed not a boolean', age: 0, ss: { ...signed('x'), compressed: 'no' }, ok: false },
    { name: 'signedState null', age: 0, ss: null, ok: false },
  ];
  for (const c of cases) {
    const st = new FakeStorage();
    st.setItem(storageKey('C'), JSON.stringify({ componentName: 'C', signedState: c.ss, lastUpdate: NOW - c.age }));
    const got = loadRehydratable(st, 'C', NOW);
    assert.equal(got !== null, c.ok, c.name);
    assert.equal(st.getItem(storageKey('C')) !== null, c.ok, `${c.name}: deleted iff rejected`);
  }
});

test('isSignedState accepts the optional fields being absent', () => {
  const { nonce, compressed, encrypted, ...min } = signed('x');
  assert.ok(nonce && compressed === false && encrypted === false);
  assert.equal(isSignedState(min), true);
  assert.equal(isSignedState([]), false);
  assert.equal(isSignedState('x'), false);
});

test('persistence is a no-op without storage and survives throwing storage', () => {
  assert.equal(savePersisted(null, 'C', { signedState: signed('x') }, NOW), false);
  assert.equal(loadPersisted(null, 'C', NOW), null);
  clearPersisted(null, 'C');
  const st = new FakeStorage();
  st.failWrites = true;
  assert.equal(savePersisted(st, 'C', { signedState: signed('x') }, NOW), false);
  const throwing = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); }, removeItem() { throw new Error('denied'); } };
  assert.equal(loadPersisted(throwing, 'C', NOW), null);
  clearPersisted(throwing, 'C');
  assert.equal(savePersisted(new FakeStorage(), 'C', { signedState: { bogus: true } }, NOW), false, 'malformed signed state is not stored');
});
