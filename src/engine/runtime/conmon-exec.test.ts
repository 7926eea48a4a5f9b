import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildExecProcess, mergeEnv } from './conmon-exec.js';
import type { ExecProcessOptions } from './types.js';

test('mergeEnv lets the exec replace the container variables it names', () => {
  const cases: [string[], string[], string[]][] = [
    [['PATH=/bin', 'A=1'], [], ['PATH=/bin', 'A=1']],
    [['PATH=/bin', 'A=1'], ['A=2'], ['PATH=/bin', 'A=2']],
    [['A=1'], ['B=2', 'A=3'], ['B=2', 'A=3']],
  ];
  for (const [base, extra, want] of cases) assert.deepEqual(mergeEnv(base, extra), want);
});

test('buildExecProcess keeps the container process and overrides what the exec sets', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-exec-spec-'));
  try {
    await mkdir(join(root, 'etc'));
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const spec = {
      ociVersion: '1.0.2',
      root: { path: root },
      process: {
        args: ['sleep', '1000'],
        env: ['PATH=/bin', 'HOSTNAME=c'],
        cwd: '/srv',
        user: { uid: 0, gid: 0 },
        capabilities: { bounding: ['CAP_CHOWN'] },
        noNewPrivileges: true,
        consoleSize: { height: 1, width: 1 },
      },
    };
    const base: ExecProcessOptions = {
      containerId: 'c',
      execId: 'e',
      args: ['sh'],
      env: [],
      cwd: '',
      user: '',
      terminal: false,
      privileged: false,
      stdin: false,
    };
    const plain = await buildExecProcess(spec, base);
    assert.deepEqual(plain.args, ['sh']);
    assert.equal(plain.cwd, '/srv');
    assert.deepEqual(plain.user, { uid: 0, gid: 0 });
    assert.equal(plain.noNewPrivileges, true);
    assert.equal(plain.consoleSize, undefined);
    assert.deepEqual(plain.capabilities, { bounding: ['CAP_CHOWN'] });

    const custom = await buildExecProcess(spec, {
      ...base,
      env: ['X=1'],
      cwd: '/tmp',
      user: 'nobody',
      terminal: true,
    });
    assert.deepEqual(custom.env, ['PATH=/bin', 'HOSTNAME=c', 'TERM=xterm', 'X=1']);
    assert.equal(custom.cwd, '/tmp');
    assert.equal(custom.terminal, true);
    assert.deepEqual(custom.user, { uid: 65534, gid: 65534, additionalGids: [] });

    await assert.rejects(
      buildExecProcess(spec, { ...base, user: 'nosuchuser' }),
      /unable to find user nosuchuser/,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
