import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alignColumns,
  ellipsis,
  formatRfc3339Nano,
  formatSignificant,
  humanDuration,
  humanSize,
  parseGoDuration,
  shortId,
  toApiTimestamp,
} from './format.js';

describe('humanDuration', () => {
  const s = 1000;
  const h = 3600 * s;
  const cases: [number, string][] = [
    [500, 'Less than a second'],
    [1 * s, '1 second'],
    [5 * s, '5 seconds'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [120 * s, '2 minutes'],
    [59 * 60 * s, '59 minutes'],
    [60 * 60 * s, 'About an hour'],
    [89 * 60 * s, 'About an hour'],
    [90 * 60 * s, '2 hours'],
    [47 * h, '47 hours'],
    [48 * h, '2 days'],
    [14 * 24 * h, '2 weeks'],
    [60 * 24 * h, '2 months'],
    [2 * 365 * 24 * h, '2 years'],
  ];
  for (const [ms, expected] of cases)
    it(`${ms}ms is ${expected}`, () => assert.equal(humanDuration(ms), expected));
});

describe('humanSize', () => {
  const cases: [number, number, string][] = [
    [0, 3, '0B'],
    [999, 3, '999B'],
    [1000, 3, '1kB'],
    [4_261_000, 3, '4.26MB'],
    [4_265_000, 4, '4.265MB'],
    [123_456_789, 3, '123MB'],
    [1_500_000_000, 3, '1.5GB'],
    [999_900, 3, '1e+03kB'],
  ];
  for (const [bytes, precision, expected] of cases) {
    it(`${bytes} at ${precision} is ${expected}`, () => assert.equal(humanSize(bytes, precision), expected));
  }
  it('formats like Go %g', () => {
    assert.equal(formatSignificant(0.0001234, 3), '0.000123');
    assert.equal(formatSignificant(0.00001234, 3), '1.23e-05');
    assert.equal(formatSignificant(12.5, 3), '12.5');
  });
});

describe('alignColumns', () => {
  it('pads each column to its widest cell plus 3, at least 10, leaving the last cell alone', () => {
    const text = 'CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tweb';
    assert.equal(
      alignColumns(text),
      'CONTAINER ID   IMAGE            NAMES\nabc            busybox:latest   web',
    );
  });
  it('counts "…" as one column', () => {
    assert.equal(alignColumns('a…\tb'), 'a…        b');
  });
});

describe('ids and truncation', () => {
  it('shortens ids to 12 hex digits', () => assert.equal(shortId('sha256:0123456789abcdef'), '0123456789ab'));
  it('cuts with an ellipsis', () => {
    assert.equal(ellipsis('sh -c while true; do sleep 1; done', 20), 'sh -c while true; d…');
    assert.equal(ellipsis('short', 20), 'short');
  });
});

describe('timestamps', () => {
  it('formats event times in UTC with nine fraction digits', () => {
    const previous = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(formatRfc3339Nano(1767225600123456789n), '2026-01-01T00:00:00.123456789Z');
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });
  it('parses Go durations', () => {
    assert.equal(parseGoDuration('10m'), 600_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('10'), undefined);
  });
  const now = Date.UTC(2026, 0, 1, 0, 10, 0);
  const cases: [string, string][] = [
    ['10m', '1767225600.000000000'],
    ['1767225600', '1767225600'],
    ['2026-01-01T00:00:00Z', '1767225600.000000000'],
  ];
  for (const [input, expected] of cases) {
    it(`sends ${input} as ${expected}`, () => assert.equal(toApiTimestamp(input, now), expected));
  }
});
