// `berth compose` as a user meets it (issue 10): a three-service project (a web server
// serving a named volume's file on a published port, a built service, one waiting for
// the web server to be healthy) through up, scale, down and up again, and down -v.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  freePort,
  httpGet,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

async function fetchText(url: string): Promise<string> {
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`HTTP ${status}`);
  return body;
}

let d: Daemon;
let dir = '';
let port = 0;

const composeFile = () => `
name: shop
services:
  web:
    image: busybox
    command: httpd -f -p 80 -h /www
    init: true
    ports: ["127.0.0.1:\${WEB_PORT}:80"]
    volumes: [site:/www]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/index.html"]
      interval: 1s
      retries: 30
  seed:
    image: busybox
    command: ["sh", "-c", "echo hello-from-volume > /www/index.html"]
    volumes: [site:/www]
  waiter:
    image: busybox
    command: sleep 1000
    stop_grace_period: 1s
    depends_on:
      web: {condition: service_healthy}
  worker:
    image: busybox
    command: sleep 1000
    stop_grace_period: 1s
    environment:
      GREETING: \${GREETING:-hi}
volumes:
  site:
`;

async function compose(args: string[]) {
  return d.berth(['compose', '-f', join(dir, 'compose.yaml'), ...args], { timeoutMs: 90_000 });
}

async function names(): Promise<string[]> {
  const r = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}}']), 'docker ps');
  return r.stdout.split('\n').filter(Boolean).sort();
}

before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-test-'));
  port = await freePort();
  writeFileSync(join(dir, 'compose.yaml'), composeFile());
  writeFileSync(join(dir, '.env'), `WEB_PORT=${port}\n`);
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load busybox');
});
after(async () => {
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('compose up, scale, down, up, down -v', () => {
  test('config resolves .env and defaults', async () => {
    const r = assertOk(await compose(['config', '--format', 'json']), 'compose config');
    const model = JSON.parse(r.stdout) as {
      name: string;
      services: Record<string, { ports?: { published: string }[]; environment?: Record<string, string> }>;
    };
    assert.equal(model.name, 'shop');
    assert.equal(model.services.web?.ports?.[0]?.published, String(port));
    assert.equal(model.services.worker?.environment?.GREETING, 'hi');
  });

  test('up -d starts every service, the web server answers on 127.0.0.1', async () => {
    assertOk(await compose(['run', '--rm', 'seed']), 'compose run --rm seed');
    const up = assertOk(await compose(['up', '-d', 'web', 'waiter', 'worker']), 'compose up -d');
    assert.match(up.stderr, /Container shop-web-1 {2}Started/);
    assert.match(up.stderr, /Container shop-web-1 {2}Healthy/);
    assert.deepEqual(await names(), ['shop-waiter-1', 'shop-web-1', 'shop-worker-1']);
    const body = await waitFor('web answers', () =>
      fetchText(`http://127.0.0.1:${port}/index.html`).catch(() => undefined),
    );
    assert.equal(body.trim(), 'hello-from-volume');
    const ps = assertOk(await compose(['ps']), 'compose ps');
    assert.match(ps.stdout, /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS/);
    assert.match(ps.stdout, new RegExp(`shop-web-1 .*127\\.0\\.0\\.1:${port}->80/tcp`));
    const labels = assertOk(
      await d.docker(['inspect', '-f', '{{json .Config.Labels}}', 'shop-web-1']),
      'inspect',
    );
    const l = JSON.parse(labels.stdout) as Record<string, string>;
    assert.equal(l['com.docker.compose.project'], 'shop');
    assert.equal(l['com.docker.compose.service'], 'web');
    assert.equal(l['com.docker.compose.container-number'], '1');
    assert.equal(l['com.docker.compose.oneoff'], 'False');
  });

  test('up again changes nothing that did not change', async () => {
    const before = assertOk(await d.docker(['inspect', '-f', '{{.Id}}', 'shop-web-1']), 'inspect').stdout;
    const r = assertOk(await compose(['up', '-d', 'web', 'waiter', 'worker']), 'compose up -d again');
    assert.match(r.stderr, /Container shop-web-1 {2}Running/);
    const after = assertOk(await d.docker(['inspect', '-f', '{{.Id}}', 'shop-web-1']), 'inspect').stdout;
    assert.equal(after, before);
  });

  test('exec, logs and --scale', async () => {
    const ex = assertOk(
      await compose(['exec', '-T', 'worker', 'sh', '-c', 'echo $GREETING']),
      'compose exec',
    );
    assert.equal(ex.stdout.trim(), 'hi');
    assertOk(await compose(['up', '-d', '--scale', 'worker=3', 'worker']), 'compose up --scale worker=3');
    assert.deepEqual(
      (await names()).filter((n) => n.includes('worker')),
      ['shop-worker-1', 'shop-worker-2', 'shop-worker-3'],
    );
    assertOk(await compose(['up', '-d', '--scale', 'worker=1', 'worker']), 'compose up --scale worker=1');
    assert.deepEqual(
      (await names()).filter((n) => n.includes('worker')),
      ['shop-worker-1'],
    );
    await d.docker(['exec', 'shop-worker-1', 'sh', '-c', 'echo logged-line > /proc/1/fd/1']);
    const logs = assertOk(await compose(['logs', 'worker']), 'compose logs');
    assert.match(logs.stdout, /^worker-1 {2}\| logged-line$/m);
  });

  test('down keeps the volume; up serves the same data; down -v removes everything', async () => {
    const down = assertOk(await compose(['down']), 'compose down');
    assert.match(down.stderr, /Network shop_default {2}Removed/);
    assert.deepEqual(await names(), []);
    assertOk(await compose(['up', '-d', 'web']), 'compose up -d web');
    const body = await waitFor('web answers again', () =>
      fetchText(`http://127.0.0.1:${port}/index.html`).catch(() => undefined),
    );
    assert.equal(body.trim(), 'hello-from-volume');
    assertOk(await compose(['down', '-v']), 'compose down -v');
    assert.deepEqual(await names(), []);
    const vols = assertOk(await d.docker(['volume', 'ls', '-q']), 'volume ls');
    assert.doesNotMatch(vols.stdout, /shop_site/);
    const nets = assertOk(await d.docker(['network', 'ls', '--format', '{{.Name}}']), 'network ls');
    assert.doesNotMatch(nets.stdout, /shop_default/);
  });
});

describe('bad input: a clear error before anything is created', () => {
  const cases: { name: string; file: string; env?: string[]; flags?: string[]; error: RegExp }[] = [
    {
      name: 'a file that does not parse',
      file: 'services:\n  web: [unclosed\n',
      error: /failed to parse .*bad\.yaml: yaml: line \d+/,
    },
    {
      name: 'a key the schema rejects',
      file: 'services:\n  web:\n    image: busybox\n    colour: red\n',
      error: /validating .*bad\.yaml: services\.web: additional properties 'colour' not allowed/,
    },
    {
      name: 'a dependency cycle',
      file: 'services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n',
      error: /dependency cycle detected: a -> b -> a/,
    },
    {
      name: 'an undefined variable with :?',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation, not JavaScript's
      file: 'services:\n  web:\n    image: ${IMG:?set IMG please}\n',
      error: /required variable IMG is missing a value: set IMG please/,
    },
    {
      name: 'a missing env file',
      file: 'services:\n  web:\n    image: busybox\n    env_file: nope.env\n',
      error: /env file .*nope\.env not found/,
    },
    {
      name: 'a port clash',
      file: 'services:\n  a:\n    image: busybox\n    ports: ["127.0.0.1:18999:80"]\n  b:\n    image: busybox\n    ports: ["127.0.0.1:18999:80"]\n',
      error: /publishes host port 18999\/tcp already published by service "a": port is already allocated/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const bad = join(dir, 'bad');
      mkdirSync(bad, { recursive: true });
      writeFileSync(join(bad, 'bad.yaml'), c.file);
      const r = await d.berth([
        'compose',
        ...(c.flags ?? []),
        '-f',
        join(bad, 'bad.yaml'),
        '-p',
        'bad',
        'up',
        '-d',
      ]);
      assertExit(r, 1, `compose up (${c.name})`);
      assert.match(r.stderr, c.error);
      assert.deepEqual(await names(), []);
      const nets = assertOk(await d.docker(['network', 'ls', '--format', '{{.Name}}']), 'network ls');
      assert.doesNotMatch(nets.stdout, /bad_default/);
    });
  }
});
