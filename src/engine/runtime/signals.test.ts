import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { signalNumber } from './signals.js';

test('signalNumber accepts Docker spellings', () => {
  const cases: [string | number, number][] = [
    ['TERM', 15],
    ['SIGTERM', 15],
    ['sigkill', 9],
    ['kill', 9],
    ['9', 9],
    [9, 9],
    ['HUP', 1],
    ['SIGUSR1', 10],
    ['WINCH', 28],
    ['RTMIN', 34],
    ['RTMIN+3', 37],
    ['SIGRTMAX-1', 63],
    [64, 64],
  ];
  for (const [name, number] of cases) assert.equal(signalNumber(name), number, String(name));
});

test('signalNumber rejects unknown signals with Docker text', () => {
  for (const name of ['NOPE', 'SIGFOO', '', '0', '65', 0, -1, 1.5, 'RTMIN+31', 'RTMAX+1', 'TERM9']) {
    assert.throws(
      () => signalNumber(name),
      (e: Error) => e instanceof InvalidArgumentError && e.message === `Invalid signal: ${name}`,
      String(name),
    );
  }
});
