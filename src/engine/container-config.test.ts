import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandLine, mergeEnv, mergeImageConfig } from './container-config.js';

test('mergeEnv: container values replace image values of the same name, keeping order', () => {
  assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3']), ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(mergeEnv([], ['NAME']), ['NAME']);
});

test('mergeImageConfig follows Docker for Cmd and Entrypoint', () => {
  const image = {
    Entrypoint: ['/entry'],
    Cmd: ['default'],
    Env: ['PATH=/bin'],
    WorkingDir: '/srv',
    User: 'app',
  };
  const cases = [
    { request: {}, entrypoint: ['/entry'], cmd: ['default'] },
    { request: { Cmd: ['mine'] }, entrypoint: ['/entry'], cmd: ['mine'] },
    // Overriding the entrypoint drops the image's CMD.
    { request: { Entrypoint: ['/other'] }, entrypoint: ['/other'], cmd: null },
    { request: { Entrypoint: ['/other'], Cmd: ['x'] }, entrypoint: ['/other'], cmd: ['x'] },
    // An empty entrypoint (`--entrypoint ''`) clears it; the image's CMD goes too.
    { request: { Entrypoint: [] }, entrypoint: null, cmd: null },
    { request: { Entrypoint: [''], Cmd: ['ls'] }, entrypoint: null, cmd: ['ls'] },
  ];
  for (const { request, entrypoint, cmd } of cases) {
    const merged = mergeImageConfig(request, image);
    assert.deepEqual(merged.Entrypoint, entrypoint, JSON.stringify(request));
    assert.deepEqual(merged.Cmd, cmd, JSON.stringify(request));
    assert.equal(merged.WorkingDir, '/srv');
    assert.equal(merged.User, 'app');
  }
});

test('commandLine joins entrypoint and cmd, and refuses an empty one', () => {
  assert.deepEqual(commandLine({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'] }), {
    path: '/bin/sh',
    args: ['-c', 'echo hi'],
  });
  assert.throws(() => commandLine({ Entrypoint: null, Cmd: null }), /no command specified/);
});
