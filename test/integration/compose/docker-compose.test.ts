// Debian's docker-compose (1.29.2, Python) against berthd, unchanged (issue 10): up -d,
// ps, logs, exec, run --rm, down -v on a project with a user network, a named volume
// and a published port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertOk,
  busyboxImage,
  type Daemon,
  freePort,
  httpGet,
  runProgram,
  startDaemon,
  waitFor,
} from '../../harness/index.js';
import { findOnPath } from '../../harness/prerequisites.js';

const DOCKER_COMPOSE = findOnPath('docker-compose');
async function fetchText(url: string): Promise<string> {
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`HTTP ${status}`);
  return body;
}

let d: Daemon;
let dir = '';
let port = 0;

function dockerCompose(args: string[]) {
  return runProgram(
    DOCKER_COMPOSE ?? 'docker-compose',
    ['--no-ansi', '-f', join(dir, 'docker-compose.yml'), '-p', 'legacy', ...args],
    {
      env: d.env,
      timeoutMs: 90_000,
    },
  );
}

before(async () => {
  if (!DOCKER_COMPOSE) return;
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-docker-compose-'));
  port = await freePort();
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `version: "3.7"
services:
  web:
    image: busybox
    init: true
    command: sh -c 'echo served-by-legacy > /www/index.html && echo web-ready && exec httpd -f -p 80 -h /www'
    ports: ["127.0.0.1:${port}:80"]
    volumes: [site:/www]
    networks: [back]
  worker:
    image: busybox
    command: sleep 1000
    stop_grace_period: 1s
    environment: [ROLE=worker]
    networks: [back]
networks:
  back:
    # berthd lists a bridge's generated name among its Options (dockerd does not), and
    # docker-compose 1.29 wants a network's Options to equal its driver_opts: name it here.
    driver_opts: {com.docker.network.bridge.name: ${d.names.bridge}-lg}
volumes:
  site:
`,
  );
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load busybox');
});
after(async () => {
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('docker-compose 1.29 against berthd', {
  skip: DOCKER_COMPOSE ? false : 'docker-compose is not installed',
}, () => {
  test('up -d, reachable, ps, logs, exec, run --rm, down -v', async () => {
    assertOk(await dockerCompose(['up', '-d']), 'docker-compose up -d');
    const body = await waitFor('web answers', () =>
      fetchText(`http://127.0.0.1:${port}/index.html`).catch(() => undefined),
    );
    assert.equal(body.trim(), 'served-by-legacy');
    const ps = assertOk(await dockerCompose(['ps']), 'docker-compose ps');
    assert.match(ps.stdout, /legacy_web_1 .*Up/);
    assert.match(ps.stdout, /legacy_worker_1 .*Up/);
    const logs = assertOk(await dockerCompose(['logs', 'web']), 'docker-compose logs');
    assert.match(logs.stdout, /web_1 +\| web-ready/);
    const ex = assertOk(
      await dockerCompose(['exec', '-T', 'worker', 'sh', '-c', 'echo $ROLE']),
      'docker-compose exec',
    );
    assert.equal(ex.stdout.trim(), 'worker');
    const run = assertOk(
      await dockerCompose(['run', '--rm', '-T', 'worker', 'echo', 'one-off']),
      'docker-compose run --rm',
    );
    assert.match(run.stdout, /one-off/);
    // Our own compose sees the other tool's project.
    const ours = assertOk(await d.berth(['compose', '-p', 'legacy', 'ps', '--services']), 'berth compose ps');
    assert.deepEqual(ours.stdout.split('\n').filter(Boolean).sort(), ['web', 'worker']);
    assertOk(await dockerCompose(['down', '-v']), 'docker-compose down -v');
    const left = assertOk(await d.docker(['ps', '-aq']), 'docker ps -aq');
    assert.equal(left.stdout.trim(), '');
    const vols = assertOk(await d.docker(['volume', 'ls', '-q']), 'volume ls');
    assert.doesNotMatch(vols.stdout, /legacy_site/);
  });
});
