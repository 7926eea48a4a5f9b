import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RestartPolicy } from '../api/index.js';
import {
  nextRestartDelayMs,
  restartsWithDaemon,
  shouldRestart,
  validateRestartPolicy,
} from './restart-policy.js';

test('shouldRestart follows Docker policies', () => {
  const cases: [RestartPolicy | undefined, number, number, boolean, boolean][] = [
    // policy, exit code, restarts so far, manually stopped, restart?
    [undefined, 1, 0, false, false],
    [{ Name: 'no' }, 1, 0, false, false],
    [{ Name: 'always' }, 0, 5, false, true],
    [{ Name: 'always' }, 0, 0, true, false],
    [{ Name: 'unless-stopped' }, 0, 0, false, true],
    [{ Name: 'on-failure' }, 0, 0, false, false],
    [{ Name: 'on-failure' }, 2, 100, false, true],
    [{ Name: 'on-failure', MaximumRetryCount: 2 }, 2, 1, false, true],
    [{ Name: 'on-failure', MaximumRetryCount: 2 }, 2, 2, false, false],
  ];
  for (const [policy, exitCode, restartCount, manuallyStopped, expected] of cases) {
    assert.equal(
      shouldRestart(policy, { exitCode, restartCount, manuallyStopped }),
      expected,
      JSON.stringify({ policy, exitCode, restartCount, manuallyStopped }),
    );
  }
});

test('restarts with the daemon: always, and unless-stopped unless stopped', () => {
  assert.equal(restartsWithDaemon({ Name: 'always' }, true), true);
  assert.equal(restartsWithDaemon({ Name: 'unless-stopped' }, true), false);
  assert.equal(restartsWithDaemon({ Name: 'unless-stopped' }, false), true);
  assert.equal(restartsWithDaemon({ Name: 'on-failure' }, false), false);
});

test('back-off doubles to a minute and resets after a healthy run', () => {
  assert.equal(nextRestartDelayMs(undefined, 0), 100);
  assert.equal(nextRestartDelayMs(100, 0), 200);
  assert.equal(nextRestartDelayMs(40_000, 0), 60_000);
  assert.equal(nextRestartDelayMs(60_000, 0), 60_000);
  assert.equal(nextRestartDelayMs(6_400, 10_000), 100);
});

test('invalid policies are refused with Docker messages', () => {
  assert.throws(
    () => validateRestartPolicy({ Name: 'sometimes' as 'no' }, false),
    /unknown policy 'sometimes'/,
  );
  assert.throws(
    () => validateRestartPolicy({ Name: 'always', MaximumRetryCount: 3 }, false),
    /only be used with 'on-failure'/,
  );
  assert.throws(
    () => validateRestartPolicy({ Name: 'always' }, true),
    /Conflicting options: --restart and --rm/,
  );
  assert.doesNotThrow(() => validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 3 }, false));
});
