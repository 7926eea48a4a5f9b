// Dockerfile builds beyond the classic builder (issue 8): independent stages built at
// once, RUN --mount from a stage, FROM images pulled from a registry on loopback, and
// builder prune removing what only the cache kept.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { assertOk, busyboxImage, type Daemon, startDaemon } from '../../harness/index.js';
import { type Distribution, startDistribution } from '../registry/distribution.js';
import { CLASSIC, classicBuild, runOutput as runOutputOf, writeContext } from './helpers.js';

let d: Daemon;
let registry: Distribution | undefined;
/** Needs a login (htpasswd): FROM pulls from it with the credentials the client sends. */
let privateRegistry: Distribution | undefined;
const USER = 'builder';
const PASSWORD = 'build-secret';
let scratch = '';

before(async () => {
  [d, registry, privateRegistry] = await Promise.all([
    startDaemon(),
    startDistribution(),
    startDistribution({ user: USER, password: PASSWORD }),
  ]);
  scratch = mkdtempSync(join(tmpdir(), 'berth-build-stages-'));
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
  await registry?.stop();
  await privateRegistry?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

const context = (name: string, files: Record<string, string>) => writeContext(join(scratch, name), files);

const build = (args: string[]) => classicBuild(d, args);

const runOutput = (image: string, ...cmd: string[]) => runOutputOf(d, image, ...cmd);

/** The Step lines of a build's output, in the order printed. */
function stepsOf(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('Step '));
}

describe('docker build: independent stages', () => {
  test('two independent stages run at once; output stays in step order', async () => {
    // Each stage waits (up to 10 s) to see the other's mark in a shared cache mount:
    // built one after the other, the first would give up and fail the build.
    const sync = `sync-${randomBytes(4).toString('hex')}`;
    const meet = (me: string, other: string) =>
      `RUN --mount=type=cache,id=${sync},target=/sync touch /sync/${me} && ` +
      `for i in $(seq 100); do [ -e /sync/${other} ] && break; sleep 0.1; done && ` +
      `[ -e /sync/${other} ] && echo ${me} saw ${other} > /${me}.txt`;
    const dir = context('parallel', {
      Dockerfile: [
        'FROM busybox AS left',
        meet('left', 'right'),
        'FROM busybox AS right',
        meet('right', 'left'),
        'FROM busybox',
        'COPY --from=left /left.txt /out/',
        'COPY --from=right /right.txt /out/',
        'CMD ["cat", "/out/left.txt", "/out/right.txt"]',
        '',
      ].join('\n'),
    });
    const result = assertOk(await build(['-t', 'parallel:1', dir]), 'build');
    assert.deepEqual(
      stepsOf(result.stdout).map((l) => /^Step (\d+)\/8 : /.exec(l)?.[1]),
      ['1', '2', '3', '4', '5', '6', '7', '8'],
      result.stdout,
    );
    // Each step's lines follow its own Step line: left's RUN is not inside right's.
    const leftRun = result.stdout.indexOf('Step 2/8');
    const rightFrom = result.stdout.indexOf('Step 3/8');
    const leftRemoved = result.stdout.indexOf('Removed intermediate container', leftRun);
    assert.ok(leftRemoved > leftRun && leftRemoved < rightFrom, result.stdout);
    assert.equal(await runOutput('parallel:1'), 'left saw right\nright saw left\n');
  });

  test('a failing stage fails the build and stops its sibling', async () => {
    const dir = context('parallel-fail', {
      Dockerfile: [
        'FROM busybox AS slow',
        'RUN sleep 30',
        'FROM busybox AS broken',
        'RUN echo breaking && exit 4',
        'FROM busybox',
        'COPY --from=slow /etc/hostname /a',
        'COPY --from=broken /etc/hostname /b',
        '',
      ].join('\n'),
    });
    const started = Date.now();
    const result = await build(['-t', 'parallel-fail:1', dir]);
    assert.equal(result.code, 4, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /The command '\/bin\/sh -c echo breaking && exit 4' returned a non-zero code: 4/,
    );
    assert.ok(Date.now() - started < 20_000, 'the sleeping stage was stopped');
    const images = assertOk(await d.docker(['images', '-q', 'parallel-fail:1']), 'images');
    assert.equal(images.stdout, '', 'nothing tagged');
  });
});

describe('docker build: RUN --mount=type=bind,from=', () => {
  test('a stage directory and file are mounted read-only; the cache reuses the step', async () => {
    const dir = context('mount-from', {
      Dockerfile: [
        'FROM busybox AS assets',
        'RUN mkdir -p /assets/sub && echo asset > /assets/sub/a.txt',
        'FROM busybox',
        'RUN --mount=type=bind,from=assets,source=/assets,target=/mnt/assets cat /mnt/assets/sub/a.txt > /seen.txt',
        'RUN --mount=type=bind,from=assets,source=/assets/sub/a.txt,target=/one.txt cat /one.txt >> /seen.txt',
        'RUN --mount=type=bind,from=assets,source=/assets,target=/ro touch /ro/x 2>/dev/null || echo read-only >> /seen.txt',
        'CMD ["cat", "/seen.txt"]',
        '',
      ].join('\n'),
    });
    assertOk(await build(['-t', 'mount-from:1', dir]), 'build');
    assert.equal(await runOutput('mount-from:1'), 'asset\nasset\nread-only\n');
    const again = assertOk(await build(['-t', 'mount-from:2', dir]), 'rebuild');
    assert.equal(again.stdout.match(/ ---> Using cache\n/g)?.length, 5, again.stdout);
  });
});

describe('docker build: FROM an image that is not here', () => {
  test('is pulled from a registry on loopback', async () => {
    const host = (registry as Distribution).host;
    assertOk(await d.docker(['tag', 'busybox', `${host}/base/busybox:1`]), 'tag');
    assertOk(await d.docker(['push', `${host}/base/busybox:1`]), 'push');
    assertOk(await d.docker(['rmi', `${host}/base/busybox:1`]), 'rmi');
    const dir = context('pull', {
      Dockerfile: `FROM ${host}/base/busybox:1\nRUN echo pulled > /p\nCMD ["cat", "/p"]\n`,
    });
    const result = assertOk(await build(['-t', 'pulled:1', dir]), 'build');
    assert.match(result.stdout, /Pulling from base\/busybox/);
    assert.match(result.stdout, /Digest: sha256:[0-9a-f]{64}/);
    assert.equal(await runOutput('pulled:1'), 'pulled\n');
    assertOk(await d.docker(['image', 'inspect', `${host}/base/busybox:1`]), 'the base is kept');
  });

  test("is pulled from a registry that needs a login, with the client's credentials (X-Registry-Config)", async () => {
    const host = (privateRegistry as Distribution).host;
    const image = `${host}/private/busybox:1`;
    assertOk(
      await d.docker(['login', '-u', USER, '--password-stdin', host], { input: PASSWORD }),
      'docker login',
    );
    assertOk(await d.docker(['tag', 'busybox', image]), 'tag');
    assertOk(await d.docker(['push', image]), 'push');
    assertOk(await d.docker(['rmi', image]), 'rmi');
    const dir = context('pull-private', {
      Dockerfile: `FROM ${image}\nRUN echo private > /p\nCMD ["cat", "/p"]\n`,
    });
    assertOk(await build(['-t', 'private:1', dir]), 'build with the login');
    assert.equal(await runOutput('private:1'), 'private\n');

    assertOk(await d.docker(['rmi', image, 'private:1']), 'rmi');
    assertOk(await d.docker(['logout', host]), 'docker logout');
    const anonymous = await build(['-t', 'private:2', dir]);
    assert.equal(anonymous.code, 1, anonymous.stdout + anonymous.stderr);
    assert.match(anonymous.stderr, /no basic auth credentials|unauthorized|authentication required/);
  });

  test('a registry the daemon may not contact is a clear error', async () => {
    const dir = context('pull-refused', { Dockerfile: 'FROM example.com/nothing/here:1\nRUN true\n' });
    const result = await build(['-t', 'refused:1', dir]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /registry example\.com is not allowed: this daemon may only contact/);
  });
});

describe('docker builder prune', () => {
  const dockerfile = [
    'FROM busybox',
    'RUN head -c 300000 /dev/zero > /zeros',
    'RUN --mount=type=cache,target=/c head -c 200000 /dev/zero > /c/z',
    'RUN echo last > /last',
    '',
  ].join('\n');
  const imageIds = async () =>
    new Set(
      assertOk(await d.docker(['images', '-aq', '--no-trunc']), 'images -aq')
        .stdout.split('\n')
        .filter((l) => l !== ''),
    );
  const reclaimed = (stdout: string): number => {
    const size = /Total reclaimed space: ([\d.]+)([kMG]?B)/.exec(stdout);
    assert.ok(size, stdout);
    const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[size[2] as 'B'];
    return Number(size[1]) * unit;
  };

  test('removes the intermediate images only the cache kept and reports the bytes', async () => {
    const imagesBefore = await imageIds();
    assertOk(await build(['-t', 'prune:1', context('prune', { Dockerfile: dockerfile })]), 'build');
    assertOk(await d.docker(['rmi', '--no-prune', 'prune:1']), 'rmi --no-prune');
    const pruned = assertOk(await d.docker(['builder', 'prune', '-f'], { env: CLASSIC }), 'builder prune');
    // The 300 kB layer and the 200 kB cache mount, at least.
    assert.ok(reclaimed(pruned.stdout) >= 500_000, pruned.stdout);
    const left = [...(await imageIds())].filter((id) => !imagesBefore.has(id));
    assert.deepEqual(left, [], 'the build left no image behind');
  });

  test('keeps the images a tagged image is made of', async () => {
    assertOk(await build(['-t', 'prune:2', context('prune-kept', { Dockerfile: dockerfile })]), 'build');
    const imagesBefore = await imageIds();
    const pruned = assertOk(await d.docker(['builder', 'prune', '-f'], { env: CLASSIC }), 'builder prune');
    assert.equal(reclaimed(pruned.stdout), 200_000, 'only the cache mount');
    assert.deepEqual(await imageIds(), imagesBefore);
    assert.equal(await runOutput('prune:2', 'cat', '/last'), 'last\n');
  });
});
