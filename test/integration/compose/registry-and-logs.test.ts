// berth compose against a registry and over time (issue 10): `pull` and `push` with a
// loopback docker-registry, `logs -f` while a service is still printing, and attached
// `up --exit-code-from` / `--abort-on-container-exit`; `pull` and `logs` with Debian's
// docker-compose 1.29 too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  BERTH_BIN,
  busyboxImage,
  type Daemon,
  runProgram,
  startDaemon,
  waitFor,
} from '../../harness/index.js';
import { findOnPath } from '../../harness/prerequisites.js';
import { type Distribution, startDistribution } from '../registry/distribution.js';

const DOCKER_COMPOSE = findOnPath('docker-compose');

let d: Daemon;
let reg: Distribution;
let dir = '';

const files = (host: string): Record<string, string> => ({
  'pull.yaml': `
name: pulls
services:
  first:
    image: ${host}/team/first:1
  second:
    image: ${host}/team/second:1
  local:
    build: ./ctx
`,
  'missing.yaml': `
name: missing
services:
  absent:
    image: ${host}/team/absent:1
  first:
    image: ${host}/team/first:1
`,
  'push.yaml': `
name: pushes
services:
  built:
    build: ./ctx
    image: ${host}/team/built:1
  tagged:
    build: ./ctx
    image: ${host}/team/tagged:1
  plain:
    image: ${host}/team/plain:1
`,
  'push-missing.yaml': `
name: unbuilt
services:
  never:
    build: ./ctx
    image: ${host}/team/never:1
`,
  'logs.yaml': `
name: ticks
services:
  ticker:
    image: busybox
    # tick-2 waits for the test's go-ahead: a follower that shows tick-1 first streams.
    command: ["sh", "-c", "echo tick-1; until [ -e /signal/go ]; do sleep 0.05; done; echo tick-2"]
    volumes:
      - ./signal:/signal
`,
  'up.yaml': `
name: ends
services:
  quick:
    image: busybox
    command: ["sh", "-c", "echo quick-says-bye; sleep 0.5; exit 3"]
  slow:
    image: busybox
    command: ["sleep", "1000"]
    init: true
    stop_grace_period: 1s
`,
});

function compose(file: string, args: string[]) {
  return d.berth(['compose', '-f', join(dir, file), ...args], { timeoutMs: 60_000 });
}

/** docker-compose 1.29 knows no top-level `name:`: it gets a copy without one, and `-p`. */
function dockerCompose(file: string, project: string, args: string[]) {
  const legacy = join(dir, `legacy-${file}`);
  writeFileSync(legacy, (files(reg.host)[file] ?? '').replace(/^name: .*$/m, ''));
  return runProgram(DOCKER_COMPOSE ?? 'docker-compose', ['--no-ansi', '-f', legacy, '-p', project, ...args], {
    env: d.env,
    timeoutMs: 60_000,
  });
}

async function hasImage(ref: string): Promise<boolean> {
  return (await d.docker(['image', 'inspect', ref])).code === 0;
}

async function repoDigest(ref: string): Promise<string> {
  const r = assertOk(await d.docker(['image', 'inspect', '-f', '{{join .RepoDigests " "}}', ref]), 'inspect');
  const digest = /@(sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];
  if (!digest) throw new Error(`no repo digest for ${ref}: ${r.stdout}`);
  return digest;
}

async function rmi(...refs: string[]): Promise<void> {
  for (const ref of refs)
    if (await hasImage(ref)) assertOk(await d.docker(['rmi', ref]), `docker rmi ${ref}`);
}

before(async () => {
  d = await startDaemon();
  reg = await startDistribution();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-registry-'));
  mkdirSync(join(dir, 'ctx'));
  writeFileSync(join(dir, 'ctx', 'Dockerfile'), 'FROM busybox\nRUN echo built > /built.txt\n');
  for (const [name, text] of Object.entries(files(reg.host))) writeFileSync(join(dir, name), text);
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load busybox');
  for (const name of ['first', 'second']) {
    const ref = `${reg.host}/team/${name}:1`;
    assertOk(await d.docker(['tag', 'busybox', ref]), `docker tag ${ref}`);
    assertOk(await d.docker(['push', ref]), `docker push ${ref}`);
    assertOk(await d.docker(['rmi', ref]), `docker rmi ${ref}`);
  }
});
after(async () => {
  if (d) {
    for (const file of ['logs.yaml', 'up.yaml'])
      await compose(file, ['down', '-v', '-t', '1']).catch(() => undefined);
  }
  await d?.stop();
  await reg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('compose pull', () => {
  test('pulls every service image and skips a service that only builds', async () => {
    const r = assertOk(await compose('pull.yaml', ['pull']), 'compose pull');
    assert.ok(await hasImage(`${reg.host}/team/first:1`), 'first pulled');
    assert.ok(await hasImage(`${reg.host}/team/second:1`), 'second pulled');
    // Docker Compose v2 names the service in its progress: `first Pulled`.
    assert.match(r.stderr, /^ first Pulling$/m);
    assert.match(r.stderr, /^ first Pulled$/m);
    assert.match(r.stderr, /^ second Pulled$/m);
    assert.match(r.stderr, /^ local Skipped - No image to be pulled$/m);
    await rmi(`${reg.host}/team/first:1`, `${reg.host}/team/second:1`);
  });

  test('a missing image fails with the registry error; --ignore-pull-failures goes on', async () => {
    const r = await compose('missing.yaml', ['pull']);
    assertExit(r, 1, 'compose pull with a missing image');
    assert.match(r.stderr, /absent/);
    assert.match(r.stderr, /manifest unknown|not found/);

    const ignoring = assertOk(
      await compose('missing.yaml', ['pull', '--ignore-pull-failures']),
      'compose pull --ignore-pull-failures',
    );
    assert.match(ignoring.stderr, /manifest unknown|not found/);
    assert.ok(await hasImage(`${reg.host}/team/first:1`), 'first pulled past the failure');
    await rmi(`${reg.host}/team/first:1`);
  });

  test('docker-compose 1.29 pulls the same project', { skip: !DOCKER_COMPOSE }, async () => {
    assertOk(await dockerCompose('pull.yaml', 'pulls', ['pull']), 'docker-compose pull');
    assert.ok(await hasImage(`${reg.host}/team/first:1`), 'first pulled');
    assert.ok(await hasImage(`${reg.host}/team/second:1`), 'second pulled');
    await rmi(`${reg.host}/team/first:1`, `${reg.host}/team/second:1`);
  });
});

describe('compose push', () => {
  test('pushes built and tagged service images; a pull brings them back with equal digests', async () => {
    const built = `${reg.host}/team/built:1`;
    const tagged = `${reg.host}/team/tagged:1`;
    const plain = `${reg.host}/team/plain:1`;
    assertOk(await compose('push.yaml', ['build', 'built']), 'compose build built');
    assertOk(await d.docker(['tag', 'busybox', tagged]), 'docker tag');
    assertOk(await d.docker(['tag', 'busybox', plain]), 'docker tag');
    const r = assertOk(await compose('push.yaml', ['push']), 'compose push');
    assert.match(r.stderr, new RegExp(`^ Image ${built}  Pushed$`, 'm'));
    assert.match(r.stderr, new RegExp(`^ Image ${tagged}  Pushed$`, 'm'));
    // Compose pushes only images it builds: a service with just `image:` is skipped.
    assert.match(r.stderr, /^ plain Skipped$/m);
    const notPushed = await d.docker(['pull', plain]);
    assertExit(notPushed, 1, 'docker pull of the skipped image');
    assert.match(notPushed.stderr, /manifest unknown|not found/);
    const ids = {
      built: assertOk(await d.docker(['image', 'inspect', '-f', '{{.Id}}', built]), 'inspect').stdout.trim(),
      tagged: assertOk(
        await d.docker(['image', 'inspect', '-f', '{{.Id}}', tagged]),
        'inspect',
      ).stdout.trim(),
    };
    const pushed = { built: await repoDigest(built), tagged: await repoDigest(tagged) };
    await rmi(built, tagged);
    for (const [name, ref] of [
      ['built', built],
      ['tagged', tagged],
    ] as const) {
      const pull = assertOk(await d.docker(['pull', ref]), `docker pull ${ref}`);
      assert.match(pull.stdout, new RegExp(`^Digest: ${pushed[name]}$`, 'm'));
      const id = assertOk(
        await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref]),
        'inspect',
      ).stdout.trim();
      assert.equal(id, ids[name]);
    }
    const file = assertOk(
      await d.docker(['run', '--rm', built, 'cat', '/built.txt']),
      'docker run the pulled build',
    );
    assert.equal(file.stdout.trim(), 'built');
  });

  test('an image never built fails the push; --ignore-push-failures goes on', async () => {
    const r = await compose('push-missing.yaml', ['push']);
    assertExit(r, 1, 'compose push of an unbuilt image');
    assert.match(r.stderr, /does not exist locally|No such image/);
    const ignoring = assertOk(
      await compose('push-missing.yaml', ['push', '--ignore-push-failures']),
      'compose push --ignore-push-failures',
    );
    assert.match(ignoring.stderr, /^Pushing never: .*(does not exist locally|No such image)/m);
    assert.doesNotMatch(ignoring.stderr, /Pushed/);
  });
});

describe('compose logs', () => {
  test('-f prints prefixed lines as they come and ends when the container stops', async () => {
    mkdirSync(join(dir, 'signal'), { recursive: true });
    assertOk(await compose('logs.yaml', ['up', '-d']), 'compose up -d');
    const child = spawn(
      process.execPath,
      ['--', BERTH_BIN, 'compose', '-f', join(dir, 'logs.yaml'), 'logs', '-f'],
      { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    try {
      // tick-2 is not even written until the go-ahead below.
      await waitFor('logs -f to show tick-1', () => out.includes('ticker-1  | tick-1\n'), {
        timeoutMs: 15_000,
      });
      assert.doesNotMatch(out, /tick-2/);
      writeFileSync(join(dir, 'signal', 'go'), '');
      assert.equal(await exited, 0, out);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(out, 'ticker-1  | tick-1\nticker-1  | tick-2\n');
    const ps = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), 'docker ps -a');
    assert.match(ps.stdout, /^ticks-ticker-1 Exited \(0\)/m);
  });

  test('--tail 1, --no-log-prefix and -t', async () => {
    const tail = assertOk(await compose('logs.yaml', ['logs', '--tail', '1']), 'compose logs --tail 1');
    assert.equal(tail.stdout, 'ticker-1  | tick-2\n');
    const bare = assertOk(await compose('logs.yaml', ['logs', '--no-log-prefix']), 'logs --no-log-prefix');
    assert.equal(bare.stdout, 'tick-1\ntick-2\n');
    const stamped = assertOk(await compose('logs.yaml', ['logs', '-t', '--tail', '2']), 'compose logs -t');
    const stampedLines = stamped.stdout.split('\n').filter(Boolean);
    assert.equal(stampedLines.length, 2);
    for (const l of stampedLines)
      assert.match(l, /^ticker-1 {2}\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick-[12]$/);
  });

  test('docker-compose 1.29 logs -f on the same project', { skip: !DOCKER_COMPOSE }, async () => {
    const r = assertOk(
      await dockerCompose('logs.yaml', 'ticks', ['logs', '-f', '--tail', '2']),
      'docker-compose logs -f',
    );
    assert.match(r.stdout, /ticker-1 +\| tick-1\n.*ticker-1 +\| tick-2/s);
    assertOk(await compose('logs.yaml', ['down']), 'compose down');
  });
});

describe('attached up ends with a container', () => {
  test('--exit-code-from quick exits 3 and stops slow', async () => {
    const r = await compose('up.yaml', ['up', '--exit-code-from', 'quick']);
    assertExit(r, 3, 'compose up --exit-code-from quick');
    assert.match(r.stdout, /^quick-1 {2}\| quick-says-bye$/m);
    assert.match(r.stdout, /^quick-1 exited with code 3$/m);
    const ps = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']), 'docker ps -a');
    assert.match(ps.stdout, /^ends-slow-1 exited$/m);
    assert.match(ps.stdout, /^ends-quick-1 exited$/m);
    assertOk(await compose('up.yaml', ['down', '-t', '1']), 'compose down');
  });

  test('--abort-on-container-exit stops all when the first exits', async () => {
    const r = await compose('up.yaml', ['up', '--abort-on-container-exit']);
    assertExit(r, 3, 'compose up --abort-on-container-exit');
    assert.match(r.stdout, /Aborting on container exit/);
    const ps = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']), 'docker ps -a');
    assert.match(ps.stdout, /^ends-slow-1 exited$/m);
    const running = assertOk(await d.docker(['ps', '-q']), 'docker ps -q');
    assert.equal(running.stdout.trim(), '');
    assertOk(await compose('up.yaml', ['down', '-t', '1']), 'compose down');
  });
});
