import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanDuration, humanSize } from './units.js';

test('humanDuration reads like docker', () => {
  const cases: [number, string][] = [
    [500, 'Less than a second'],
    [1000, '1 second'],
    [59_000, '59 seconds'],
    [60_000, 'About a minute'],
    [5 * 60_000, '5 minutes'],
    [60 * 60_000, 'About an hour'],
    [3 * 3_600_000, '3 hours'],
    [3 * 86_400_000, '3 days'],
    [21 * 86_400_000, '3 weeks'],
    [90 * 86_400_000, '3 months'],
    [3 * 365 * 86_400_000, '3 years'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});

test('humanSize uses decimal units with three significant digits', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [4_262_000, '4.26MB'],
    [1_234_567_890, '1.23GB'],
  ];
  for (const [bytes, text] of cases) assert.equal(humanSize(bytes), text);
});
