import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { DEFAULT_CAPABILITIES, grantableCapabilities } from './capabilities.js';
import { buildSpec } from './spec.js';
import type { SpecOptions } from './types.js';

interface Spec {
  process: {
    env: string[];
    cwd: string;
    user: { uid: number; gid: number; additionalGids: number[] };
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  mounts: { destination: string; type: string; options: string[] }[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    resources: { devices: { allow: boolean }[]; memory?: unknown };
  };
}

let rootfs: string;

before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-spec-'));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:100:101::/app:/bin/sh\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:101:\nextra:x:102:app\n');
});

after(async () => {
  if (rootfs) await rm(rootfs, { recursive: true, force: true });
});

function options(extra: Partial<SpecOptions> = {}): SpecOptions {
  return {
    rootfs,
    args: ['sh'],
    env: [],
    cwd: '',
    user: '',
    hostname: 'box',
    terminal: false,
    network: undefined,
    mounts: [],
    cgroupsPath: '/berth/abc',
    ...extra,
  };
}

async function spec(extra: Partial<SpecOptions> = {}): Promise<Spec> {
  return (await buildSpec(options(extra))) as unknown as Spec;
}

test("buildSpec gives Docker's defaults", async () => {
  const s = await spec();
  assert.deepEqual(s.process.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=box',
  ]);
  assert.equal(s.process.cwd, '/');
  assert.deepEqual(s.process.user, { uid: 0, gid: 0, additionalGids: [] });
  assert.equal(s.process.noNewPrivileges, false);
  assert.deepEqual([...s.process.capabilities.bounding].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.deepEqual(
    s.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount', 'network'],
  );
  assert.equal(s.linux.cgroupsPath, '/berth/abc');
  assert.deepEqual(
    s.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'],
  );
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')?.options.includes('size=67108864'));
  assert.ok(s.mounts.find((m) => m.destination === '/sys')?.options.includes('ro'));
  for (const path of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi']) {
    assert.ok(s.linux.maskedPaths?.includes(path), path);
  }
  assert.deepEqual(s.linux.readonlyPaths, [
    '/proc/bus',
    '/proc/fs',
    '/proc/irq',
    '/proc/sys',
    '/proc/sysrq-trigger',
  ]);
  assert.deepEqual(s.linux.resources.devices[0], { allow: false, access: 'rwm' });
  assert.equal(s.root.readonly, false);
  // berth's default seccomp profile: a deny list over an allow-all default.
  const seccomp = (s.linux as { seccomp?: { defaultAction: string; syscalls: { names: string[] }[] } })
    .seccomp;
  assert.equal(seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
  assert.ok(seccomp?.syscalls[0]?.names.includes('kexec_load'));
  assert.ok(seccomp?.syscalls[0]?.names.includes('mount'), 'no CAP_SYS_ADMIN by default: mount is denied');
});

test('buildSpec env: caller values replace defaults, TERM for a tty', async () => {
  const s = await spec({ env: ['PATH=/custom', 'A=1', 'HOSTNAME=other'], terminal: true });
  assert.deepEqual(s.process.env, ['PATH=/custom', 'HOSTNAME=other', 'TERM=xterm', 'A=1']);
});

test('buildSpec network namespace modes', async () => {
  const types = async (network: SpecOptions['network']) => (await spec({ network })).linux.namespaces;
  assert.equal(
    (await types('host')).find((n) => n.type === 'network'),
    undefined,
  );
  assert.deepEqual(
    (await types({ path: '/run/netns/x' })).find((n) => n.type === 'network'),
    {
      type: 'network',
      path: '/run/netns/x',
    },
  );
});

test('buildSpec user, cwd, binds, resources', async () => {
  const s = await spec({
    user: 'app',
    cwd: '/app',
    readonlyRootfs: true,
    mounts: [{ source: '/host/etc-hosts', destination: '/etc/hosts', readonly: true }],
    resources: { memory: { limit: 1024 } },
  });
  assert.deepEqual(s.process.user, { uid: 100, gid: 101, additionalGids: [102] });
  assert.equal(s.process.cwd, '/app');
  assert.equal(s.root.readonly, true);
  const bind = s.mounts.find((m) => m.destination === '/etc/hosts');
  assert.deepEqual(bind?.options, ['rbind', 'rprivate', 'ro']);
  assert.deepEqual(s.linux.resources.memory, { limit: 1024 });
  assert.ok(s.linux.resources.devices.length > 1);
  await assert.rejects(spec({ user: 'ghost' }), InvalidArgumentError);
});

test('buildSpec capabilities: add, drop, ALL, privileged', async () => {
  const caps = async (extra: Partial<SpecOptions>) =>
    [...(await spec(extra)).process.capabilities.bounding].sort();
  const grantable = [...(await grantableCapabilities())].sort();
  const cases: [Partial<SpecOptions>, string[]][] = [
    [
      { capAdd: ['NET_ADMIN'], capDrop: ['chown', 'CAP_KILL'] },
      [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL'), 'CAP_NET_ADMIN'],
    ],
    [{ capDrop: ['ALL'], capAdd: ['cap_chown'] }, ['CAP_CHOWN']],
    [{ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] }, grantable.filter((c) => c !== 'CAP_SYS_ADMIN')],
    [{ privileged: true }, grantable],
  ];
  for (const [extra, expected] of cases)
    assert.deepEqual(await caps(extra), [...expected].sort(), JSON.stringify(extra));
  await assert.rejects(spec({ capAdd: ['FLY'] }), InvalidArgumentError);

  const privileged = await spec({ privileged: true });
  assert.equal(privileged.linux.maskedPaths, undefined);
  assert.deepEqual(privileged.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(privileged.mounts.find((m) => m.destination === '/sys')?.options.includes('rw'));
});

test('buildSpec maps volumes, binds and tmpfs mounts, parents first', async () => {
  const s = await spec({
    mounts: [
      { source: '/host/etc-hosts', destination: '/etc/hosts' },
      { source: '/vol/a/_data', destination: '/data/sub', readonly: true },
      { source: '/vol/b/_data', destination: '/data' },
      { source: 'tmpfs', destination: '/run', type: 'tmpfs', options: ['size=1m'] },
      { source: '/srv', destination: '/srv', propagation: 'rshared', nonRecursive: true },
      { source: '/mine/hosts', destination: '/etc/hosts' },
    ],
  });
  const user = s.mounts.slice(-5) as {
    destination: string;
    type: string;
    source: string;
    options: string[];
  }[];
  assert.deepEqual(
    user.map((m) => [m.destination, m.type, m.source, m.options.join(',')]),
    [
      ['/data', 'bind', '/vol/b/_data', 'rbind,rprivate,rw'],
      ['/run', 'tmpfs', 'tmpfs', 'noexec,nosuid,nodev,rw,size=1m'],
      ['/srv', 'bind', '/srv', 'bind,rshared,rw'],
      ['/data/sub', 'bind', '/vol/a/_data', 'rbind,rprivate,ro'],
      ['/etc/hosts', 'bind', '/mine/hosts', 'rbind,rprivate,rw'],
    ],
  );
  assert.equal((s.linux as unknown as { rootfsPropagation?: string }).rootfsPropagation, 'rshared');
});
