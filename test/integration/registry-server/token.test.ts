// `berth registry serve --auth token` (issue 9): the server as its own token issuer, met by
// the real docker CLI through berthd's token dance: login, push, rmi, pull with equal
// digests; a wrong password and a push without login refused.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  type ImageInspect,
  parseInspect,
  startDaemon,
} from '../../harness/index.js';
import { Oci } from './oci.js';
import { type BerthRegistry, startBerthRegistry } from './serve.js';

const USER = 'tokenuser';
const PASSWORD = 'battery-staple';

let d: Daemon;
let registry: BerthRegistry;
let busyboxId = '';

before(async () => {
  [registry, d] = await Promise.all([
    startBerthRegistry({ user: USER, password: PASSWORD, auth: 'token' }),
    startDaemon(),
  ]);
  const image = await busyboxImage();
  busyboxId = image.imageId;
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await d?.stop();
  await registry?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

test('/v2/ asks for a bearer token from its own /token', async () => {
  const raw = await new Oci(registry.url).request('GET', '/v2/');
  assert.equal(raw.status, 401);
  assert.equal(
    raw.headers.get('www-authenticate'),
    `Bearer realm="${registry.url}/token",service="berth-registry"`,
  );
  assert.deepEqual(raw.codes, ['UNAUTHORIZED']);
});

test('push without login is refused', async () => {
  const name = `${registry.host}/token/busybox:anon`;
  assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
  const r = assertExit(await d.docker(['push', name]), 1, 'docker push without login');
  assert.match(r.stderr, /unauthorized: authentication required/);
});

test('a wrong password fails at login', async () => {
  const r = assertExit(
    await d.docker(['login', '-u', USER, '--password-stdin', registry.host], { input: 'wrong\n' }),
    1,
    'docker login wrong password',
  );
  assert.match(r.stderr, /unauthorized: invalid username or password/);
});

test('docker login, push, rmi, pull: equal digests', async () => {
  const login = assertOk(
    await d.docker(['login', '-u', USER, '--password-stdin', registry.host], { input: `${PASSWORD}\n` }),
    'docker login',
  );
  assert.match(login.stdout, /Login Succeeded/);
  const name = `${registry.host}/token/busybox:1`;
  assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
  const push = assertOk(await d.docker(['push', name]), 'docker push');
  const match = /^1: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(push.stdout);
  assert.ok(match, push.stdout);
  const digest = match[1] as string;
  assertOk(await d.docker(['rmi', name]), 'docker rmi');
  const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
  assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
  const seen = parseInspect(
    assertOk(await d.docker(['image', 'inspect', name]), 'inspect').stdout,
  ) as ImageInspect & { RepoDigests?: string[] };
  assert.equal(seen.Id, busyboxId);
  assert.deepEqual(seen.RepoDigests, [`${registry.host}/token/busybox@${digest}`]);
});
