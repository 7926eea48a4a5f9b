// Storage as a user meets it (issue 6): named and anonymous volumes, binds, tmpfs,
// --volumes-from, image VOLUMEs and the volume commands, with the real docker CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  busyboxRootfsEntries,
  type ContainerInspect,
  type Daemon,
  makeTar,
  parseInspect,
  startDaemon,
} from '../../harness/index.js';

let d: Daemon;
// Storage needs no network; leaving it out keeps these tests about mounts alone.
const NO_NET = ['--network', 'none'];
let hostDir = '';

before(async () => {
  d = await startDaemon();
  hostDir = mkdtempSync(join(tmpdir(), 'berth-volume-test-'));
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
  if (hostDir) rmSync(hostDir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

type MountPoint = Record<string, unknown>;

/** `Mounts` of `docker inspect NAME`. */
async function mountsOf(name: string): Promise<MountPoint[]> {
  const r = assertOk(await d.docker(['inspect', name]), `docker inspect ${name}`);
  return (parseInspect<ContainerInspect>(r.stdout) as ContainerInspect & { Mounts: MountPoint[] }).Mounts;
}

async function volumeNames(): Promise<string[]> {
  const r = assertOk(await d.docker(['volume', 'ls', '-q']), 'docker volume ls -q');
  return r.stdout.split('\n').filter(Boolean);
}

describe('named volumes', () => {
  test('data written by one container is read by the next', async () => {
    assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '-v',
        'keep:/data',
        'busybox',
        'sh',
        '-c',
        'echo kept > /data/f',
      ]),
      'run writing to keep',
    );
    const r = assertOk(
      await d.docker(['run', ...NO_NET, '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f']),
      'run reading',
    );
    assert.equal(r.stdout, 'kept\n');
    assert.ok((await volumeNames()).includes('keep'), 'volume ls lists keep');
    const mountpoint = assertOk(
      await d.docker(['volume', 'inspect', '--format', '{{.Mountpoint}} {{.Driver}} {{.Scope}}', 'keep']),
      'volume inspect',
    ).stdout.trim();
    assert.equal(mountpoint, `${join(d.dataRoot, 'volumes', 'keep', '_data')} local local`);
  });

  test(':ro refuses writes and inspect shows RW false', async () => {
    const r = await d.docker([
      'run',
      ...NO_NET,
      '--name',
      'ro-writer',
      '-v',
      'keep:/data:ro',
      'busybox',
      'sh',
      '-c',
      'echo x > /data/g',
    ]);
    assert.notEqual(r.code, 0, 'writing to a :ro volume fails');
    assert.match(r.stderr, /Read-only file system/);
    const mounts = await mountsOf('ro-writer');
    assert.deepEqual(
      mounts.map((m) => [m.Type, m.Name, m.Destination, m.RW, m.Mode]),
      [['volume', 'keep', '/data', false, 'ro']],
    );
    assertOk(await d.docker(['rm', 'ro-writer']), 'rm ro-writer');
  });

  test('a volume in use cannot be removed and keeps its data', async () => {
    const id = assertOk(
      await d.docker(['create', ...NO_NET, '-v', 'keep:/data', 'busybox', 'true']),
      'create',
    ).stdout.trim();
    const r = await d.docker(['volume', 'rm', 'keep']);
    assertExit(r, 1, 'volume rm keep while in use');
    assert.match(r.stderr, new RegExp(`remove keep: volume is in use - \\[${id}\\]`));
    const status = await d.request('DELETE', '/volumes/keep');
    assert.equal(status.status, 409);
    assertOk(await d.docker(['rm', '-v', id]), 'rm -v the user');
    const read = assertOk(
      await d.docker(['run', ...NO_NET, '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f']),
      'read again',
    );
    assert.equal(read.stdout, 'kept\n', 'rm -v never removes a named volume');
  });

  test('a new named volume is filled from the image, unless nocopy', async () => {
    const r = assertOk(
      await d.docker(['run', ...NO_NET, '--rm', '-v', 'etc-copy:/etc', 'busybox', 'cat', '/etc/passwd']),
      'run',
    );
    assert.match(r.stdout, /^root:/);
    const empty = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '--mount',
        'type=volume,source=etc-nocopy,target=/etc,volume-nocopy',
        'busybox',
        'sh',
        '-c',
        'test -e /etc/passwd && echo copied || echo empty',
      ]),
      'run nocopy',
    );
    assert.equal(empty.stdout, 'empty\n');
  });
});

describe('bind mounts', () => {
  test('host files show in the container and container writes show on the host', async () => {
    writeFileSync(join(hostDir, 'from-host'), 'host says hi\n');
    const r = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '-v',
        `${hostDir}:/mnt`,
        'busybox',
        'sh',
        '-c',
        'cat /mnt/from-host; echo back > /mnt/from-container',
      ]),
      'run with a bind',
    );
    assert.equal(r.stdout, 'host says hi\n');
    assert.equal(readFileSync(join(hostDir, 'from-container'), 'utf8'), 'back\n');
  });

  test(':ro binds refuse writes; inspect shows the bind', async () => {
    const r = await d.docker([
      'run',
      ...NO_NET,
      '--name',
      'ro-bind',
      '-v',
      `${hostDir}:/mnt:ro`,
      'busybox',
      'touch',
      '/mnt/nope',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    assert.ok(!existsSync(join(hostDir, 'nope')));
    const [mount] = await mountsOf('ro-bind');
    assert.deepEqual(mount, {
      Type: 'bind',
      Source: hostDir,
      Destination: '/mnt',
      Mode: 'ro',
      RW: false,
      Propagation: 'rprivate',
    });
    assertOk(await d.docker(['rm', 'ro-bind']), 'rm');
  });

  test('-v creates a missing host path; --mount refuses it', async () => {
    const missing = join(hostDir, 'made', 'by', 'run');
    assertOk(
      await d.docker(['run', ...NO_NET, '--rm', '-v', `${missing}:/x`, 'busybox', 'true']),
      'run -v missing',
    );
    assert.ok(existsSync(missing), '-v made the host directory');
    const absent = join(hostDir, 'absent');
    const r = await d.docker([
      'run',
      ...NO_NET,
      '--rm',
      '--mount',
      `type=bind,source=${absent},target=/x`,
      'busybox',
      'true',
    ]);
    assertExit(r, 125, 'run --mount type=bind of a missing path');
    assert.match(
      r.stderr,
      new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${absent}`),
    );
    assert.ok(!existsSync(absent));
  });
});

describe('tmpfs', () => {
  test('a tmpfs is empty at each start', async () => {
    assertOk(
      await d.docker([
        'create',
        ...NO_NET,
        '--name',
        'tmp-twice',
        '--tmpfs',
        '/scratch:size=1m',
        'busybox',
        'sh',
        '-c',
        'ls -A /scratch; touch /scratch/left; grep " /scratch " /proc/mounts',
      ]),
      'create --tmpfs',
    );
    for (const round of [1, 2]) {
      const r = assertOk(await d.docker(['start', '-a', 'tmp-twice']), `start -a, round ${round}`);
      assert.match(
        r.stdout,
        /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,.*size=1024k/,
        `round ${round}: ${r.stdout}`,
      );
    }
    assert.deepEqual(await mountsOf('tmp-twice'), [], 'Docker does not list --tmpfs in Mounts');
    assertOk(await d.docker(['rm', 'tmp-twice']), 'rm');
  });

  test('--mount type=tmpfs takes tmpfs-size and tmpfs-mode', async () => {
    const r = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '--mount',
        'type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770',
        'busybox',
        'sh',
        '-c',
        'stat -c %a /t; grep " /t " /proc/mounts',
      ]),
      'run --mount type=tmpfs',
    );
    assert.match(r.stdout, /^1770\ntmpfs \/t tmpfs .*size=2048k/);
  });
});

describe('--volumes-from', () => {
  test('shares the volumes of another container, read-only with :ro', async () => {
    assertOk(
      await d.docker([
        'create',
        ...NO_NET,
        '--name',
        'vf-source',
        '-v',
        'vf-shared:/shared',
        '-v',
        '/anon',
        'busybox',
        'true',
      ]),
      'create source',
    );
    assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '--volumes-from',
        'vf-source',
        'busybox',
        'sh',
        '-c',
        'echo shared > /shared/x; echo anon > /anon/y',
      ]),
      'run --volumes-from',
    );
    const read = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '--volumes-from',
        'vf-source:ro',
        'busybox',
        'cat',
        '/shared/x',
        '/anon/y',
      ]),
      'run --volumes-from :ro reading',
    );
    assert.equal(read.stdout, 'shared\nanon\n');
    const write = await d.docker([
      'run',
      ...NO_NET,
      '--rm',
      '--volumes-from',
      'vf-source:ro',
      'busybox',
      'touch',
      '/shared/z',
    ]);
    assert.notEqual(write.code, 0, 'writing through --volumes-from :ro fails');
    assert.match(write.stderr, /Read-only file system/);
  });

  test('rm -v removes the anonymous volumes, never the named ones', async () => {
    const anon = (await mountsOf('vf-source')).find((m) => m.Destination === '/anon');
    assert.match(String(anon?.Name), /^[0-9a-f]{64}$/);
    assertOk(await d.docker(['rm', '-v', 'vf-source']), 'rm -v');
    const names = await volumeNames();
    assert.ok(!names.includes(String(anon?.Name)), 'the anonymous volume is gone');
    assert.ok(names.includes('vf-shared'), 'the named volume stays');
  });
});

describe('image volumes', () => {
  test('VOLUME /data gets an anonymous volume pre-filled from the image', async () => {
    const rootfs = await makeTar([
      ...busyboxRootfsEntries(),
      { name: 'data/', type: 'directory', mode: 0o750, uid: 1, gid: 1 },
      { name: 'data/seed', content: 'seeded\n' },
    ]);
    assertOk(
      await d.docker(['import', '--change', 'VOLUME /data', '-', 'volimage:latest'], { input: rootfs }),
      'docker import --change VOLUME /data',
    );
    const r = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--name',
        'vol-user',
        'volimage',
        '/bin/sh',
        '-c',
        'cat /data/seed; stat -c "%a %u:%g" /data',
      ]),
      'run the image',
    );
    assert.equal(r.stdout, 'seeded\n750 1:1\n');
    const mounts = await mountsOf('vol-user');
    assert.equal(mounts.length, 1);
    const [mount] = mounts;
    assert.equal(mount?.Type, 'volume');
    assert.equal(mount?.Destination, '/data');
    const name = String(mount?.Name);
    assert.match(name, /^[0-9a-f]{64}$/);
    const labels = assertOk(
      await d.docker(['volume', 'inspect', '--format', '{{json .Labels}}', name]),
      'inspect',
    ).stdout;
    assert.equal(labels.trim(), '{"com.docker.volume.anonymous":""}');
    assertOk(await d.docker(['rm', '-v', 'vol-user']), 'rm -v');
    assert.ok(!(await volumeNames()).includes(name), 'rm -v removed the anonymous volume');
  });
});

describe('bad input: a clear 4xx error, nothing made', () => {
  const cases: { what: string; args: string[]; pattern: RegExp }[] = [
    {
      what: 'a relative bind source in --mount',
      args: ['--mount', 'type=bind,source=relative/dir,target=/x'],
      pattern:
        /invalid mount config for type "bind": invalid mount path: 'relative\/dir' mount path must be absolute/,
    },
    {
      what: 'a target that is not absolute',
      args: ['-v', 'bad-target:relative'],
      pattern: /invalid volume specification: 'bad-target:relative'.*mount path must be absolute/,
    },
    {
      what: 'an unknown -v option',
      args: ['-v', 'bad-mode:/x:bogus'],
      pattern: /invalid volume specification: 'bad-mode:\/x:bogus': invalid mode: bogus/,
    },
    {
      what: 'an unknown tmpfs option',
      args: ['--tmpfs', '/t:bogus'],
      pattern: /invalid tmpfs option: "bogus"/,
    },
    {
      what: 'an illegal volume name',
      args: ['-v', 'bad@name:/x'],
      pattern: /"bad@name" includes invalid characters for a local volume name/,
    },
    {
      what: 'two mounts on one target',
      args: ['-v', 'dup-a:/x', '-v', 'dup-b:/x'],
      pattern: /Duplicate mount point: \/x/,
    },
  ];
  for (const c of cases) {
    test(`run with ${c.what} exits 125`, async () => {
      const before = await volumeNames();
      const r = await d.docker(['run', ...NO_NET, '--rm', ...c.args, 'busybox', 'true']);
      assertExit(r, 125, `run ${c.args.join(' ')}`);
      assert.match(r.stderr, c.pattern);
      assert.deepEqual(await volumeNames(), before, 'no volume was made');
    });
  }

  test('the API answers 400 for a bad mount', async () => {
    const r = await d.request('POST', '/containers/create', {
      Image: 'busybox',
      HostConfig: { Mounts: [{ Type: 'bind', Source: 'rel', Target: '/x' }] },
    });
    assert.equal(r.status, 400);
    assert.match((r.json as { message: string }).message, /mount path must be absolute/);
  });

  test('volume create with an illegal name is refused', async () => {
    const r = await d.docker(['volume', 'create', 'no/slashes']);
    assertExit(r, 1, 'volume create no/slashes');
    assert.match(r.stderr, /includes invalid characters for a local volume name/);
  });
});

describe('docker volume', () => {
  test('create, ls with filters, inspect, rm', async () => {
    assertOk(await d.docker(['volume', 'create', '--label', 'team=blue', 'vol-blue']), 'create vol-blue');
    const generated = assertOk(await d.docker(['volume', 'create']), 'create without a name').stdout.trim();
    assert.match(generated, /^[0-9a-f]{64}$/);
    const byLabel = assertOk(
      await d.docker(['volume', 'ls', '-q', '--filter', 'label=team=blue']),
      'ls label',
    );
    assert.equal(byLabel.stdout, 'vol-blue\n');
    const byName = assertOk(
      await d.docker(['volume', 'ls', '--filter', 'name=blue', '--format', '{{.Name}} {{.Driver}}']),
      'ls name',
    );
    assert.equal(byName.stdout, 'vol-blue local\n');
    const dangling = assertOk(
      await d.docker(['volume', 'ls', '-q', '--filter', 'dangling=true']),
      'ls dangling',
    );
    assert.ok(dangling.stdout.split('\n').includes('vol-blue'));
    const table = assertOk(await d.docker(['volume', 'ls']), 'ls');
    assert.match(table.stdout, /^DRIVER\s+VOLUME NAME\n/);
    assert.match(table.stdout, /^local\s+vol-blue$/m);
    const info = JSON.parse(
      assertOk(await d.docker(['volume', 'inspect', 'vol-blue']), 'inspect').stdout,
    ) as Record<string, unknown>[];
    assert.equal(info[0]?.Name, 'vol-blue');
    assert.deepEqual(info[0]?.Labels, { team: 'blue' });
    assert.match(String(info[0]?.CreatedAt), /^\d{4}-\d\d-\d\dT/);
    assertOk(await d.docker(['volume', 'rm', 'vol-blue', generated]), 'rm');
    const missing = await d.docker(['volume', 'inspect', 'vol-blue']);
    assertExit(missing, 1, 'inspect a removed volume');
    assert.match(missing.stderr, /no such volume/);
    assertOk(await d.docker(['volume', 'rm', '-f', 'never-there']), 'rm -f of a missing volume');
  });

  test('prune removes unused anonymous volumes; --all also named ones', async () => {
    assertOk(await d.docker(['volume', 'create', 'prune-named']), 'create named');
    const anon = assertOk(
      await d.docker(['create', ...NO_NET, '-v', '/a', 'busybox', 'true']),
      'create with an anonymous volume',
    ).stdout.trim();
    const anonName = String((await mountsOf(anon))[0]?.Name);
    assertOk(await d.docker(['rm', anon]), 'rm without -v keeps the volume');
    assert.ok((await volumeNames()).includes(anonName));
    const r = assertOk(await d.docker(['volume', 'prune', '-f']), 'prune -f');
    assert.match(r.stdout, new RegExp(`Deleted Volumes:\n${anonName}\n`));
    let names = await volumeNames();
    assert.ok(!names.includes(anonName) && names.includes('prune-named'));
    assertOk(await d.docker(['volume', 'prune', '-a', '-f']), 'prune -a -f');
    names = await volumeNames();
    assert.ok(!names.includes('prune-named'), 'prune -a removed the unused named volume');
    assert.ok(names.includes('vf-shared') || !names.includes('vf-shared'));
  });

  test('a volume made with --opt type=tmpfs is a tmpfs in the container', async () => {
    assertOk(
      await d.docker([
        'volume',
        'create',
        '--opt',
        'type=tmpfs',
        '--opt',
        'device=tmpfs',
        '--opt',
        'o=size=3m',
        'opt-tmpfs',
      ]),
      'create --opt',
    );
    const r = assertOk(
      await d.docker([
        'run',
        ...NO_NET,
        '--rm',
        '-v',
        'opt-tmpfs:/o',
        'busybox',
        'grep',
        ' /o ',
        '/proc/mounts',
      ]),
      'run',
    );
    assert.match(r.stdout, /^tmpfs \/o tmpfs .*size=3072k/);
    assertOk(await d.docker(['volume', 'rm', 'opt-tmpfs']), 'rm');
  });
});

describe('docker system df', () => {
  test('shows images, containers, local volumes and build cache', async () => {
    const r = assertOk(await d.docker(['system', 'df']), 'system df');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    assert.match(lines[1] ?? '', /^Images\s+\d+\s+\d+\s+/);
    assert.match(lines[2] ?? '', /^Containers\s+\d+/);
    assert.match(lines[3] ?? '', /^Local Volumes\s+\d+/);
    assert.match(lines[4] ?? '', /^Build Cache\s+0\s+0/);
    const verbose = assertOk(await d.docker(['system', 'df', '-v']), 'system df -v');
    assert.match(verbose.stdout, /Local Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE/);
  });
});

describe('berth: the same storage through bin/berth', () => {
  test('berth run -v, --mount, --tmpfs and the volume commands', async () => {
    assertOk(await d.berth(['volume', 'create', '--label', 'cli=berth', 'berth-vol']), 'berth volume create');
    assertOk(
      await d.berth([
        'run',
        '--rm',
        ...NO_NET,
        '-v',
        'berth-vol:/v',
        'busybox',
        'sh',
        '-c',
        'echo via-berth > /v/f',
      ]),
      'berth run -v',
    );
    const read = assertOk(
      await d.berth([
        'run',
        '--rm',
        ...NO_NET,
        '--mount',
        'type=volume,source=berth-vol,target=/v,readonly',
        '--tmpfs',
        '/t:size=1m',
        'busybox',
        'sh',
        '-c',
        'cat /v/f; grep -c " /t tmpfs " /proc/mounts; touch /v/g 2>/dev/null || echo read-only',
      ]),
      'berth run --mount --tmpfs',
    );
    assert.equal(read.stdout, 'via-berth\n1\nread-only\n');
    const ls = assertOk(await d.berth(['volume', 'ls', '--filter', 'label=cli=berth']), 'berth volume ls');
    assert.match(ls.stdout, /^DRIVER\s+VOLUME NAME\nlocal\s+berth-vol\n$/);
    const inspect = assertOk(
      await d.berth(['volume', 'inspect', '-f', '{{.Name}} {{.Labels}}', 'berth-vol']),
      'inspect',
    );
    assert.equal(inspect.stdout, 'berth-vol map[cli:berth]\n');
    const id = assertOk(
      await d.berth(['create', ...NO_NET, '-v', 'berth-vol:/v', 'busybox', 'true']),
      'berth create',
    ).stdout.trim();
    const inUse = await d.berth(['volume', 'rm', 'berth-vol']);
    assertExit(inUse, 1, 'berth volume rm in use');
    assert.match(inUse.stderr, /volume is in use/);
    assertOk(await d.berth(['rm', id]), 'berth rm');
    assertOk(await d.berth(['volume', 'rm', 'berth-vol']), 'berth volume rm');
    const bad = await d.berth(['run', '--rm', '--mount', 'type=bind,foo=bar', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unexpected key 'foo' in 'foo=bar'/);
  });

  test('berth system df', async () => {
    const r = assertOk(await d.berth(['system', 'df']), 'berth system df');
    assert.match(r.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+\d+/);
    assert.match(r.stdout, /\nLocal Volumes\s+\d+/);
    const v = assertOk(await d.berth(['system', 'df', '-v']), 'berth system df -v');
    assert.match(v.stdout, /Local Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE/);
  });
});
