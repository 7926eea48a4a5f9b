import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatNumber, ratioOf, summarize } from './stats.js';

test('summarize gives median, min and max', () => {
  const cases: { samples: number[]; want: { median: number; min: number; max: number } | undefined }[] = [
    { samples: [], want: undefined },
    { samples: [5], want: { median: 5, min: 5, max: 5 } },
    { samples: [3, 1, 2], want: { median: 2, min: 1, max: 3 } },
    { samples: [4, 1, 3, 2], want: { median: 2.5, min: 1, max: 4 } },
  ];
  for (const c of cases) {
    const s = summarize(c.samples);
    assert.deepEqual(s && { median: s.median, min: s.min, max: s.max }, c.want, `samples ${c.samples}`);
  }
});

test('ratioOf divides medians and refuses a missing or zero baseline', () => {
  const s = (median: number) => ({ median, min: median, max: median, samples: [median] });
  const cases: { value: number | undefined; base: number | undefined; want: number | undefined }[] = [
    { value: 50, base: 200, want: 0.25 },
    { value: 50, base: undefined, want: undefined },
    { value: undefined, base: 200, want: undefined },
    { value: 50, base: 0, want: undefined },
  ];
  for (const c of cases) {
    const got = ratioOf(
      c.value === undefined ? undefined : s(c.value),
      c.base === undefined ? undefined : s(c.base),
    );
    assert.equal(got, c.want);
  }
});

test('formatNumber keeps about three significant digits', () => {
  const cases: [number, string][] = [
    [1234.5, '1235'],
    [12.345, '12.3'],
    [1.2345, '1.23'],
  ];
  for (const [n, want] of cases) assert.equal(formatNumber(n), want);
});
