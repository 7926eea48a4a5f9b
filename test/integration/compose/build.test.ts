// The project with its built service (issue 10): `build: ./app` from a Dockerfile in
// the project, through `compose build` and `up -d --build`, with berth compose and with
// Debian's docker-compose (classic builder: DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertOk,
  busyboxImage,
  type Daemon,
  runProgram,
  startDaemon,
  waitFor,
} from '../../harness/index.js';
import { findOnPath } from '../../harness/prerequisites.js';

const DOCKER_COMPOSE = findOnPath('docker-compose');
let d: Daemon;
let dir = '';

const composeFile = `
services:
  web:
    image: busybox
    command: httpd -f -p 80 -h /www
    init: true
    volumes: [site:/www]
    healthcheck:
      test: ["CMD", "sh", "-c", "test -d /www"]
      interval: 1s
      retries: 30
  app:
    build:
      context: ./app
      args: {GREETING: built-with-args}
    init: true
    stop_grace_period: 1s
  waiter:
    image: busybox
    command: sleep 1000
    stop_grace_period: 1s
    depends_on:
      web: {condition: service_healthy}
volumes:
  site:
`;

function writeMessage(text: string): void {
  writeFileSync(join(dir, 'app', 'msg.txt'), `${text}\n`);
}

function berthCompose(args: string[]) {
  return d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', 'built', ...args], {
    timeoutMs: 90_000,
  });
}

function dockerCompose(args: string[]) {
  return runProgram(
    DOCKER_COMPOSE ?? 'docker-compose',
    ['--no-ansi', '-f', join(dir, 'compose.yaml'), '-p', 'legacybuilt', ...args],
    {
      env: { ...d.env, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
      timeoutMs: 90_000,
    },
  );
}

async function appSays(container: string): Promise<string> {
  return waitFor(`${container} printed its message`, async () => {
    const r = await d.docker(['logs', container]);
    return r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
  });
}

before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-build-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'compose.yaml'), composeFile);
  writeFileSync(
    join(dir, 'app', 'Dockerfile'),
    [
      'FROM busybox',
      'ARG GREETING=default',
      'COPY msg.txt /msg.txt',
      'RUN echo "$GREETING" > /greeting.txt',
      'CMD ["sh", "-c", "cat /msg.txt /greeting.txt; exec sleep 1000"]',
      '',
    ].join('\n'),
  );
  writeMessage('first-build');
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load busybox');
});
after(async () => {
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('berth compose with a built service', () => {
  test('build makes <project>-<service> from the Dockerfile with its args', async () => {
    const r = assertOk(await berthCompose(['build', 'app']), 'compose build');
    assert.match(r.stderr, /Image built-app {2}Built/);
    const tags = assertOk(await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']), 'images');
    assert.match(tags.stdout, /^built-app:latest$/m);
  });

  test('up -d --build rebuilds a changed context and recreates the service', async () => {
    const up = assertOk(await berthCompose(['up', '-d']), 'compose up -d');
    assert.match(up.stderr, /Container built-waiter-1 {2}Started/);
    assert.equal(await appSays('built-app-1'), 'first-build\nbuilt-with-args');
    const firstId = assertOk(await d.docker(['inspect', '-f', '{{.Id}}', 'built-app-1']), 'inspect').stdout;
    writeMessage('second-build');
    const again = assertOk(await berthCompose(['up', '-d', '--build']), 'compose up -d --build');
    assert.match(again.stderr, /Container built-app-1 {2}Recreated/);
    assert.match(again.stderr, /Container built-web-1 {2}Running/);
    const secondId = assertOk(await d.docker(['inspect', '-f', '{{.Id}}', 'built-app-1']), 'inspect').stdout;
    assert.notEqual(secondId, firstId);
    assert.equal(await appSays('built-app-1'), 'second-build\nbuilt-with-args');
    const ps = assertOk(await berthCompose(['ps', '--services']), 'compose ps --services');
    assert.deepEqual(ps.stdout.split('\n').filter(Boolean).sort(), ['app', 'waiter', 'web']);
    assertOk(await berthCompose(['down', '-v', '--rmi', 'local']), 'compose down -v --rmi local');
    const tags = assertOk(await d.docker(['images', '--format', '{{.Repository}}']), 'images');
    assert.doesNotMatch(tags.stdout, /built-app/);
  });
});

describe('docker-compose 1.29 with a built service', {
  skip: DOCKER_COMPOSE ? false : 'docker-compose is not installed',
}, () => {
  test('build, up -d --build, down -v', async () => {
    writeMessage('legacy-first');
    assertOk(await dockerCompose(['build', 'app']), 'docker-compose build');
    const tags = assertOk(await d.docker(['images', '--format', '{{.Repository}}']), 'images');
    assert.match(tags.stdout, /^legacybuilt_app$/m);
    assertOk(await dockerCompose(['up', '-d']), 'docker-compose up -d');
    assert.equal(await appSays('legacybuilt_app_1'), 'legacy-first\nbuilt-with-args');
    writeMessage('legacy-second');
    assertOk(await dockerCompose(['up', '-d', '--build']), 'docker-compose up -d --build');
    assert.equal(await appSays('legacybuilt_app_1'), 'legacy-second\nbuilt-with-args');
    const ps = assertOk(await dockerCompose(['ps']), 'docker-compose ps');
    assert.match(ps.stdout, /legacybuilt_waiter_1 .*Up/);
    assertOk(await dockerCompose(['down', '-v']), 'docker-compose down -v');
    const left = assertOk(await d.docker(['ps', '-aq']), 'docker ps -aq');
    assert.equal(left.stdout.trim(), '');
  });
});
