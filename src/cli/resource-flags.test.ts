import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  healthcheckOf,
  parseBytes,
  parseCpus,
  parseDevice,
  parseDurationNs,
  parseUlimit,
} from './resource-flags.js';

test('sizes, CPUs, durations, ulimits and devices parse as docker parses them', () => {
  assert.equal(parseBytes('32m'), 32 * 1024 * 1024);
  assert.equal(parseBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('100'), 100);
  assert.throws(() => parseBytes('lots'), /invalid size/);
  assert.equal(parseCpus('0.5'), 5e8);
  assert.equal(parseDurationNs('1m30s'), 90e9);
  assert.equal(parseDurationNs('500ms'), 5e8);
  assert.throws(() => parseDurationNs('5 s'), /invalid duration/);
  assert.deepEqual(parseUlimit('nofile=100:200'), { Name: 'nofile', Soft: 100, Hard: 200 });
  assert.deepEqual(parseUlimit('nproc=50'), { Name: 'nproc', Soft: 50, Hard: 50 });
  assert.deepEqual(parseDevice('/dev/fuse'), {
    PathOnHost: '/dev/fuse',
    PathInContainer: '/dev/fuse',
    CgroupPermissions: 'rwm',
  });
  assert.deepEqual(parseDevice('/dev/null:/dev/x:r'), {
    PathOnHost: '/dev/null',
    PathInContainer: '/dev/x',
    CgroupPermissions: 'r',
  });
  assert.deepEqual(parseDevice('/dev/null:rw'), {
    PathOnHost: '/dev/null',
    PathInContainer: '/dev/null',
    CgroupPermissions: 'rw',
  });
});

test('health flags become Config.Healthcheck', () => {
  assert.equal(healthcheckOf({}), undefined);
  assert.deepEqual(healthcheckOf({ healthcheck: false }), { Test: ['NONE'] });
  assert.deepEqual(healthcheckOf({ healthCmd: 'true', healthInterval: '1s', healthRetries: '2' }), {
    Test: ['CMD-SHELL', 'true'],
    Interval: 1e9,
    Retries: 2,
  });
});
