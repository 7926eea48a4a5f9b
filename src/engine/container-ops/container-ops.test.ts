import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseControllerMounts } from './cgroups.js';
import { listChanges } from './changes.js';
import { resolveScoped } from './scoped-path.js';
import { parseBlkio, parseNetDev } from './stats.js';
import { parsePsOutput } from './top.js';

describe('parsePsOutput', () => {
  const output = [
    'UID          PID    PPID  C STIME TTY          TIME CMD',
    'root           1       0  0 10:00 ?        00:00:01 /sbin/init splash',
    'root        4242       1  0 10:01 ?        00:00:00 sleep 1000',
    '',
  ].join('\n');
  for (const { name, pids, rows } of [
    {
      name: 'keeps only the container pids',
      pids: [4242],
      rows: [['root', '4242', '1', '0', '10:01', '?', '00:00:00', 'sleep 1000']],
    },
    {
      name: 'keeps the command with its spaces',
      pids: [1],
      rows: [['root', '1', '0', '0', '10:00', '?', '00:00:01', '/sbin/init splash']],
    },
    { name: 'gives no rows for no pids', pids: [], rows: [] },
  ]) {
    test(name, () => {
      const table = parsePsOutput(output, new Set(pids));
      assert.deepEqual(table.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
      assert.deepEqual(table.processes, rows);
    });
  }
  test('refuses output without a PID column', () => {
    assert.throws(() => parsePsOutput('USER CMD\nroot x\n', new Set([1])), /Couldn't find PID field/);
  });
});

describe('cgroup and proc parsers', () => {
  test('controller mounts, combined hierarchies included', () => {
    const mounts = parseControllerMounts(
      [
        '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
        '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
        '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      ].join('\n'),
    );
    assert.equal(mounts.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(mounts.get('memory'), '/sys/fs/cgroup/memory');
    assert.equal(mounts.has('name=systemd'), false);
    assert.equal(mounts.size, 3);
  });
  test('net/dev without loopback', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0',
      '  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0',
    ].join('\n');
    assert.deepEqual(parseNetDev(text), {
      eth0: {
        rxBytes: 1000,
        rxPackets: 10,
        rxErrors: 1,
        rxDropped: 2,
        txBytes: 2000,
        txPackets: 20,
        txErrors: 3,
        txDropped: 4,
      },
    });
  });
  test('blkio without the Total line', () => {
    assert.deepEqual(parseBlkio('8:0 Read 4096\n8:0 Write 512\nTotal 4608\n'), [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 512 },
    ]);
  });
});

describe('resolveScoped and listChanges on real trees', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ops-unit-'));
    const root = join(dir, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await symlink('/etc', join(root, 'abs-link'));
    await symlink('../../../..', join(root, 'climb'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const { path, followLast, expected } of [
    { path: '/etc/../../x', followLast: false, expected: '/x' },
    { path: '/abs-link/passwd', followLast: false, expected: '/etc/passwd' },
    { path: '/abs-link', followLast: false, expected: '/abs-link' },
    { path: '/abs-link', followLast: true, expected: '/etc' },
    { path: '/climb/escape', followLast: false, expected: '/escape' },
    { path: '/missing/../../../y', followLast: false, expected: '/y' },
  ]) {
    test(`${path} (followLast ${followLast}) resolves to ${expected} inside the root`, async () => {
      const root = join(dir, 'root');
      const resolved = await resolveScoped(root, path, followLast);
      assert.equal(resolved.containerPath, expected);
      assert.equal(resolved.hostPath, join(root, expected));
    });
  }

  test('changes: added, modified and the parent of an addition', async () => {
    const upper = join(dir, 'upper');
    const lower = join(dir, 'lower');
    await mkdir(join(upper, 'etc'), { recursive: true });
    await mkdir(join(lower, 'etc'), { recursive: true });
    await writeFile(join(lower, 'etc', 'hosts'), 'old');
    await writeFile(join(upper, 'etc', 'hosts'), 'new');
    await writeFile(join(upper, 'etc', 'added'), 'x');
    await writeFile(join(upper, 'newfile'), 'x');
    const changes = await listChanges({ upperDir: upper, lowerDirs: [lower] });
    assert.deepEqual(
      changes.map((c) => `${c.kind} ${c.path}`),
      ['0 /etc', '1 /etc/added', '0 /etc/hosts', '1 /newfile'],
    );
  });
});
