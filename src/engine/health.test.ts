import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type HealthState, mergeHealthcheck, nextHealth, probeArgs, validateHealthcheck } from './health.js';

const entry = (code: number) => ({ Start: 's', End: 'e', ExitCode: code, Output: '' });
const starting: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };

test('nextHealth: success heals, failures count up to the retries, the start period forgives', () => {
  const cases: [HealthState, number, boolean, number, HealthState['Status'], number][] = [
    // state, exit code, in start period, retries, status after, streak after
    [starting, 0, false, 3, 'healthy', 0],
    [starting, 1, false, 3, 'starting', 1],
    [{ ...starting, FailingStreak: 2 }, 1, false, 3, 'unhealthy', 3],
    [starting, 1, true, 1, 'starting', 0],
    [{ Status: 'healthy', FailingStreak: 0, Log: [] }, 1, true, 1, 'unhealthy', 1],
    [{ Status: 'unhealthy', FailingStreak: 5, Log: [] }, 0, false, 3, 'healthy', 0],
  ];
  for (const [state, exitCode, inStartPeriod, retries, status, streak] of cases) {
    const next = nextHealth(state, { exitCode, inStartPeriod, retries, entry: entry(exitCode) });
    assert.deepEqual(
      [next.Status, next.FailingStreak],
      [status, streak],
      JSON.stringify({ state, exitCode, inStartPeriod }),
    );
  }
  let state = starting;
  for (let i = 0; i < 8; i++)
    state = nextHealth(state, { exitCode: 0, inStartPeriod: false, retries: 3, entry: entry(i) });
  assert.equal(state.Log.length, 5, 'the last five results are kept');
});

test('probe commands, merging and validation follow Docker', () => {
  assert.deepEqual(probeArgs({ Test: ['CMD-SHELL', 'test -f /ok'] }), ['/bin/sh', '-c', 'test -f /ok']);
  assert.deepEqual(probeArgs({ Test: ['CMD', 'true'] }), ['true']);
  assert.equal(probeArgs({ Test: ['NONE'] }), undefined);
  assert.equal(probeArgs(undefined), undefined);
  assert.deepEqual(
    mergeHealthcheck({ Test: [], Interval: 5e9 }, { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 }),
    {
      Test: ['CMD', 'true'],
      Interval: 5e9,
      Timeout: 0,
      Retries: 2,
      StartPeriod: 0,
    },
  );
  assert.throws(
    () => validateHealthcheck({ Test: ['CMD', 'x'], Interval: 10 }),
    /Interval in Healthcheck cannot be less than 1ms/,
  );
  assert.throws(
    () => validateHealthcheck({ Test: ['SHELL', 'x'] }),
    /must start with NONE, CMD or CMD-SHELL/,
  );
});
