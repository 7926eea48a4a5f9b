import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DetachKeyScanner, InvalidDetachKeysError, parseDetachKeys } from './detach-keys.js';

test('parseDetachKeys turns docker key names into bytes', () => {
  const cases: [string, number[]][] = [
    ['ctrl-p,ctrl-q', [16, 17]],
    ['ctrl-a', [1]],
    ['a,b', [97, 98]],
    ['ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_', [0, 27, 28, 29, 30, 31]],
    ['ctrl-z,x', [26, 120]],
  ];
  for (const [keys, bytes] of cases) assert.deepEqual([...parseDetachKeys(keys)], bytes, keys);
});

test('parseDetachKeys refuses what is not a key', () => {
  for (const keys of ['ctrl-', 'ctrl-1', 'bogus', 'ctrl-p,,', 'ctrl-pq', '']) {
    assert.throws(() => parseDetachKeys(keys), InvalidDetachKeysError, keys);
  }
});

test('DetachKeyScanner holds back a prefix and passes on a broken one', () => {
  const cases: { chunks: string[]; passed: string; isDetached: boolean }[] = [
    { chunks: ['hello'], passed: 'hello', isDetached: false },
    { chunks: ['ab\x10\x11cd'], passed: 'ab', isDetached: true },
    { chunks: ['ab\x10', '\x11'], passed: 'ab', isDetached: true },
    { chunks: ['\x10x'], passed: '\x10x', isDetached: false },
    { chunks: ['\x10\x10\x11'], passed: '\x10', isDetached: true },
    { chunks: ['\x10', 'y'], passed: '\x10y', isDetached: false },
  ];
  for (const { chunks, passed, isDetached } of cases) {
    const scanner = new DetachKeyScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    let out = '';
    let detached = false;
    for (const chunk of chunks) {
      const r = scanner.push(Buffer.from(chunk, 'latin1'));
      out += r.data.toString('latin1');
      if (r.isDetached) {
        detached = true;
        break;
      }
    }
    assert.equal(out, passed, JSON.stringify(chunks));
    assert.equal(detached, isDetached, JSON.stringify(chunks));
  }
});
