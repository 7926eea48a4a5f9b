// berth compose's other commands as a user meets them (issue 10): config (YAML) over
// extends, include, profiles and --env-file; up --wait; top, port, images, ls, events,
// cp, pause/unpause, kill, restart; attached up and --abort-on-container-exit; version, run -e
// --entrypoint, create, rm, --force-recreate, --remove-orphans.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  assertExit,
  assertOk,
  BERTH_BIN,
  busyboxImage,
  type Daemon,
  freePort,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

let d: Daemon;
let dir = '';
let port = 0;

const mainFile = () => `
name: cmds
include:
  - inc/compose.yaml
services:
  web:
    image: busybox
    command: httpd -f -p 80
    init: true
    ports: ["127.0.0.1:${port}:80"]
  worker:
    extends: {file: base.yaml, service: base}
    environment:
      ROLE: worker
  debug:
    image: busybox
    command: sleep 1000
    profiles: [debug]
`;

const baseFile = `
services:
  base:
    image: busybox
    command: sleep 1000
    init: true
    stop_grace_period: 1s
    environment:
      GREETING: \${GREETING:-unset}
      ROLE: base
`;

const includedFile = `
services:
  helper:
    image: busybox
    command: ["true"]
    profiles: [tools]
`;

const onceFile = `
name: once
services:
  quick:
    image: busybox
    command: ["sh", "-c", "echo line-one; echo line-two; exit 3"]
  slow:
    image: busybox
    command: sleep 1000
    init: true
    stop_grace_period: 1s
`;

function compose(args: string[], file = 'compose.yaml') {
  return d.berth(['compose', '-f', join(dir, file), ...args], { timeoutMs: 60_000 });
}

async function state(name: string): Promise<string> {
  return assertOk(await d.docker(['inspect', '-f', '{{.State.Status}}', name]), 'inspect').stdout.trim();
}

before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-cmds-'));
  port = await freePort();
  mkdirSync(join(dir, 'inc'));
  writeFileSync(join(dir, 'compose.yaml'), mainFile());
  writeFileSync(join(dir, 'base.yaml'), baseFile);
  writeFileSync(join(dir, 'inc', 'compose.yaml'), includedFile);
  writeFileSync(join(dir, 'custom.env'), 'GREETING=from-env-file\n');
  writeFileSync(join(dir, 'once.yaml'), onceFile);
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load busybox');
});
after(async () => {
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('loading: config over extends, include, profiles, --env-file', () => {
  test('config prints the resolved model as YAML', async () => {
    const r = assertOk(
      await compose(['--env-file', join(dir, 'custom.env'), 'config']),
      'compose --env-file config',
    );
    assert.match(r.stdout, /^name: cmds\nservices:\n/);
    const model = parse(r.stdout) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; init?: boolean }>;
    };
    // Profiled services stay out unless their profile is enabled.
    assert.deepEqual(Object.keys(model.services).sort(), ['web', 'worker']);
    assert.deepEqual(model.services.worker?.command, ['sleep', '1000']);
    assert.equal(model.services.worker?.init, true);
    assert.deepEqual(model.services.worker?.environment, { GREETING: 'from-env-file', ROLE: 'worker' });
  });

  test('without --env-file the default applies', async () => {
    const r = assertOk(await compose(['config', '--format', 'json']), 'compose config --format json');
    const model = JSON.parse(r.stdout) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    assert.equal(model.services.worker?.environment?.GREETING, 'unset');
  });

  test('--profile enables profiled services, included ones too', async () => {
    const r = assertOk(
      await compose(['--profile', 'debug', '--profile', 'tools', 'config', '--services']),
      'compose --profile config --services',
    );
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ['debug', 'helper', 'web', 'worker']);
    const profiles = assertOk(await compose(['config', '--profiles']), 'compose config --profiles');
    assert.equal(profiles.stdout, 'debug\ntools\n');
  });

  test('a missing --env-file is an error', async () => {
    const r = await compose(['--env-file', join(dir, 'nope.env'), 'config']);
    assertExit(r, 1, 'compose --env-file nope.env config');
    assert.match(r.stderr, /^couldn't find env file: .*\/nope\.env$/m);
  });
});

describe('a running project', () => {
  test('up -d --wait returns once every service runs', async () => {
    const r = assertOk(
      await compose(['--env-file', join(dir, 'custom.env'), 'up', '-d', '--wait']),
      'compose up -d --wait',
    );
    assert.match(r.stderr, /Container cmds-worker-1 {2}Started/);
    assert.equal(await state('cmds-web-1'), 'running');
    assert.equal(await state('cmds-worker-1'), 'running');
    const ex = assertOk(await compose(['exec', '-T', 'worker', 'sh', '-c', 'echo $GREETING']), 'exec');
    assert.equal(ex.stdout.trim(), 'from-env-file');
  });

  test('top lists each container and its processes', async () => {
    const r = assertOk(await compose(['top', 'worker']), 'compose top');
    assert.match(r.stdout, /^cmds-worker-1\n/);
    assert.match(r.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/m);
    assert.match(r.stdout, /sleep 1000/);
  });

  test('port prints the published address', async () => {
    const r = assertOk(await compose(['port', 'web', '80']), 'compose port');
    assert.equal(r.stdout, `127.0.0.1:${port}\n`);
    const none = await compose(['port', 'worker', '80']);
    assertExit(none, 1, 'compose port worker 80');
  });

  test('images lists the images of the containers', async () => {
    const r = assertOk(await compose(['images']), 'compose images');
    assert.match(r.stdout, /^CONTAINER\s+REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE$/m);
    assert.match(r.stdout, /^cmds-web-1\s+busybox\s+latest\s+[0-9a-f]{12}\s+\S+/m);
    assert.match(r.stdout, /^cmds-worker-1\s+busybox\s+latest\s+/m);
  });

  test('ls lists the project with its state and file', async () => {
    const r = assertOk(await d.berth(['compose', 'ls']), 'compose ls');
    assert.match(r.stdout, /^NAME\s+STATUS\s+CONFIG FILES$/m);
    assert.match(r.stdout, new RegExp(`^cmds\\s+running\\(2\\)\\s+${join(dir, 'compose.yaml')}$`, 'm'));
    const json = assertOk(await d.berth(['compose', 'ls', '--format', 'json']), 'compose ls json');
    const rows = JSON.parse(json.stdout) as { Name: string; Status: string }[];
    assert.deepEqual(
      rows.map((x) => [x.Name, x.Status]),
      [['cmds', 'running(2)']],
    );
    const quiet = assertOk(await d.berth(['compose', 'ls', '-q']), 'compose ls -q');
    assert.equal(quiet.stdout, 'cmds\n');
  });

  test('events streams the project containers events', async () => {
    const child = spawn(
      process.execPath,
      ['--', BERTH_BIN, 'compose', '-f', join(dir, 'compose.yaml'), 'events', '--json', 'worker'],
      { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // Until the stream is subscribed, a harmless signal leaves no trace: send one per poll.
      const line = await waitFor('a kill event', async () => {
        assertOk(await d.docker(['kill', '-s', 'SIGWINCH', 'cmds-worker-1']), 'docker kill -s SIGWINCH');
        return out.split('\n').find((l) => l.includes('"action":"kill"'));
      });
      const event = JSON.parse(line) as { type: string; service: string; id: string };
      assert.equal(event.type, 'container');
      assert.equal(event.service, 'worker');
      assert.match(event.id, /^[0-9a-f]{64}$/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('cp copies into and out of a service container', async () => {
    writeFileSync(join(dir, 'in.txt'), 'copied-in\n');
    assertOk(await compose(['cp', join(dir, 'in.txt'), 'worker:/tmp/in.txt']), 'compose cp in');
    const cat = assertOk(await compose(['exec', '-T', 'worker', 'cat', '/tmp/in.txt']), 'exec cat');
    assert.equal(cat.stdout, 'copied-in\n');
    assertOk(await compose(['cp', 'worker:/tmp/in.txt', join(dir, 'out.txt')]), 'compose cp out');
    assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'copied-in\n');
  });

  test('pause and unpause', async () => {
    const p = assertOk(await compose(['pause', 'worker']), 'compose pause');
    assert.match(p.stderr, /Container cmds-worker-1 {2}Paused/);
    assert.equal(await state('cmds-worker-1'), 'paused');
    const u = assertOk(await compose(['unpause', 'worker']), 'compose unpause');
    assert.match(u.stderr, /Container cmds-worker-1 {2}Unpaused/);
    assert.equal(await state('cmds-worker-1'), 'running');
  });

  test('restart starts the container again', async () => {
    const started = async () =>
      assertOk(await d.docker(['inspect', '-f', '{{.State.StartedAt}}', 'cmds-worker-1']), 'inspect').stdout;
    const before = await started();
    const r = assertOk(await compose(['restart', 'worker']), 'compose restart');
    assert.match(r.stderr, /Container cmds-worker-1 {2}Started/);
    assert.equal(await state('cmds-worker-1'), 'running');
    assert.notEqual(await started(), before);
  });

  test('kill stops with SIGKILL; start brings it back', async () => {
    const k = assertOk(await compose(['kill', 'worker']), 'compose kill');
    assert.match(k.stderr, /Container cmds-worker-1 {2}Killed/);
    await waitFor('worker exited', async () =>
      (await state('cmds-worker-1')) === 'exited' ? true : undefined,
    );
    const code = assertOk(
      await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'cmds-worker-1']),
      'inspect',
    );
    assert.equal(code.stdout.trim(), '137');
    assertOk(await compose(['start', 'worker']), 'compose start');
    assert.equal(await state('cmds-worker-1'), 'running');
    assertOk(await compose(['down', '-t', '1']), 'compose down');
  });
});

describe('attached up', () => {
  test('prints prefixed logs and ends when the service exits', async () => {
    const r = await compose(['up', 'quick'], 'once.yaml');
    assertExit(r, 0, 'compose up quick');
    assert.match(r.stdout, /^Attaching to once-quick-1$/m);
    assert.match(r.stdout, /^quick-1 {2}\| line-one\nquick-1 {2}\| line-two$/m);
    assert.match(r.stdout, /^quick-1 exited with code 3$/m);
  });

  test('--abort-on-container-exit stops the rest and returns the exit code', async () => {
    const r = await compose(['up', '--abort-on-container-exit'], 'once.yaml');
    assertExit(r, 3, 'compose up --abort-on-container-exit');
    assert.match(r.stdout, /^quick-1 {2}\| line-one$/m);
    assert.match(r.stdout, /Aborting on container exit/);
    assert.equal(await state('once-slow-1'), 'exited');
    assertOk(await compose(['down'], 'once.yaml'), 'compose down once');
  });
});

describe('more of the lifecycle', () => {
  const ids = async (): Promise<Record<string, string>> => {
    const r = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.ID}}']), 'docker ps -a');
    return Object.fromEntries(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  };

  test('version', async () => {
    const r = assertOk(await d.berth(['compose', 'version', '--short']), 'compose version --short');
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test('run --rm with -e and --entrypoint', async () => {
    const r = assertOk(
      await compose(
        ['run', '--rm', '-T', '-e', 'X=from-run', '--entrypoint', 'sh', 'quick', '-c', 'echo $X'],
        'once.yaml',
      ),
      'compose run --rm -e --entrypoint',
    );
    assert.equal(r.stdout.trim(), 'from-run');
    assert.deepEqual(Object.keys(await ids()), []);
  });

  test('create, then rm -f', async () => {
    const c = assertOk(await compose(['create', 'slow'], 'once.yaml'), 'compose create');
    assert.match(c.stderr, /Container once-slow-1 {2}Created/);
    assert.equal(await state('once-slow-1'), 'created');
    const rm = assertOk(await compose(['rm', '-f', 'slow'], 'once.yaml'), 'compose rm -f');
    assert.match(rm.stderr, /Container once-slow-1 {2}Removed/);
    assert.deepEqual(Object.keys(await ids()), []);
  });

  test('--force-recreate replaces an unchanged container', async () => {
    assertOk(await compose(['up', '-d', 'slow'], 'once.yaml'), 'compose up -d slow');
    const first = (await ids())['once-slow-1'];
    const r = assertOk(
      await compose(['up', '-d', '--force-recreate', 'slow'], 'once.yaml'),
      'up --force-recreate',
    );
    assert.match(r.stderr, /Container once-slow-1 {2}Recreated/);
    assert.notEqual((await ids())['once-slow-1'], first);
  });

  test('--remove-orphans removes services the file no longer has', async () => {
    writeFileSync(
      join(dir, 'solo.yaml'),
      'name: once\nservices:\n  other:\n    image: busybox\n    command: sleep 1000\n    init: true\n',
    );
    const warn = assertOk(await compose(['up', '-d'], 'solo.yaml'), 'compose up -d (orphan)');
    assert.match(warn.stderr, /Found orphan containers \(\[once-slow-1\]\) for this project/);
    const r = assertOk(await compose(['up', '-d', '--remove-orphans'], 'solo.yaml'), 'up --remove-orphans');
    assert.match(r.stderr, /Container once-slow-1 {2}Removed/);
    assert.deepEqual(Object.keys(await ids()), ['once-other-1']);
    assertOk(await compose(['down', '-t', '1'], 'solo.yaml'), 'compose down');
  });
});
