// Registries as a user meets them (issue 9): the real docker CLI and bin/berth against
// berthd, pushing to and pulling from Debian's docker-registry on loopback.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  type ImageInspect,
  pushedDigest,
  runProgram,
  startDaemon,
} from '../../harness/index.js';
import { type Distribution, startDistribution } from './distribution.js';

const USER = 'berthuser';
const PASSWORD = 'correct-horse';

let d: Daemon;
let open: Distribution;
let locked: Distribution;
let busyboxId = '';

before(async () => {
  [open, locked] = await Promise.all([
    startDistribution(),
    startDistribution({ user: USER, password: PASSWORD }),
  ]);
  d = await startDaemon();
  const image = await busyboxImage();
  busyboxId = image.imageId;
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await d?.stop();
  await open?.stop();
  await locked?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('anonymous registry', () => {
  test('docker push, rmi, pull gives back the same image id and digest', async () => {
    const name = `${open.host}/team/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const push = assertOk(await d.docker(['push', name]), 'docker push');
    assert.match(
      push.stdout,
      new RegExp(`^The push refers to repository \\[${open.host}/team/busybox\\]$`, 'm'),
    );
    assert.match(push.stdout, /^[a-f0-9]{12}: Pushed$/m);
    const digest = pushedDigest(push.stdout, '1');

    // A second client sees what berth pushed, under the same digest.
    const seen = assertOk(
      await runProgram('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]),
      'skopeo inspect',
    );
    assert.equal((JSON.parse(seen.stdout) as { Digest: string }).Digest, digest);

    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    assertExit(await d.docker(['image', 'inspect', name]), 1, 'inspect after rmi');
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
    assert.match(pull.stdout, /^1: Pulling from team\/busybox$/m);
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.match(
      pull.stdout,
      new RegExp(`^Status: (Downloaded newer image|Image is up to date) for ${name}$`, 'm'),
    );
    const pulled = await d.inspect<ImageInspect>(name);
    assert.equal(pulled.Id, busyboxId);
    assert.ok(
      pulled.RepoDigests?.includes(`${open.host}/team/busybox@${digest}`),
      JSON.stringify(pulled.RepoDigests),
    );

    // Pushing again: every blob is there already.
    const again = assertOk(await d.docker(['push', name]), 'docker push again');
    assert.match(again.stdout, /^[a-f0-9]{12}: Layer already exists$/m);
    assert.equal(pushedDigest(again.stdout, '1'), digest);
  });

  test('a pull into an empty store downloads and unpacks every layer, and a second pull is up to date', async () => {
    const name = `${open.host}/fresh/busybox:2`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const digest = pushedDigest(assertOk(await d.docker(['push', name]), 'docker push').stdout, '2');
    // Remove every local copy, so the layer blob itself must come from the registry.
    for (const image of (await d.docker(['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean)) {
      assertOk(await d.docker(['rmi', '-f', image]), `rmi ${image}`);
    }
    const pull = assertOk(await d.berth(['pull', name]), 'berth pull');
    assert.match(pull.stdout, /^[a-f0-9]{12}: Pull complete$/m);
    assert.match(pull.stdout, new RegExp(`^Status: Downloaded newer image for ${name}$`, 'm'));
    assert.equal((await d.inspect<ImageInspect>(name)).Id, busyboxId);
    const second = assertOk(await d.docker(['pull', name]), 'docker pull again');
    assert.match(second.stdout, new RegExp(`^Status: Image is up to date for ${name}$`, 'm'));

    // Pull by digest: same image, recorded under the digest.
    const byDigest = `${open.host}/fresh/busybox@${digest}`;
    const r = assertOk(await d.docker(['pull', byDigest]), 'docker pull by digest');
    assert.match(r.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.equal((await d.inspect<ImageInspect>(byDigest)).Id, busyboxId);
  });

  test('a missing tag is a manifest unknown error, exit 1', async () => {
    const r = assertExit(
      await d.docker(['pull', `${open.host}/team/busybox:nope`]),
      1,
      'docker pull missing tag',
    );
    assert.match(
      r.stderr,
      new RegExp(`manifest for ${open.host}/team/busybox:nope not found: manifest unknown: manifest unknown`),
    );
    const b = assertExit(await d.berth(['pull', `${open.host}/none/here:1`]), 1, 'berth pull missing repo');
    assert.match(b.stderr, /manifest unknown/);
  });

  test('a malformed reference is 400 invalid reference format', async () => {
    const res = await d.request('POST', '/images/create?fromImage=Bad%2F%2Fname&tag=1');
    assert.equal(res.status, 400);
    assert.match((res.json as { message: string }).message, /^invalid reference format/);
    const push = await d.request('POST', '/images/UPPER/push?tag=1');
    assert.equal(push.status, 400);
  });

  test('pushing an image that does not exist locally says so', async () => {
    const r = assertExit(await d.docker(['push', `${open.host}/team/absent:1`]), 1, 'docker push absent');
    assert.match(
      r.stderr,
      new RegExp(`An image does not exist locally with the tag: ${open.host}/team/absent`),
    );
  });
});

describe('registry with htpasswd', () => {
  test('push without login is refused, exit 1', async () => {
    const name = `${locked.host}/secret/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const r = assertExit(await d.docker(['push', name]), 1, 'docker push without login');
    assert.match(r.stderr, /no basic auth credentials/);
  });

  test('docker login with a wrong password fails, exit 1', async () => {
    const r = assertExit(
      await d.docker(['login', '-u', USER, '--password-stdin', locked.host], { input: 'wrong\n' }),
      1,
      'docker login wrong password',
    );
    assert.match(r.stderr, /401 Unauthorized/);
  });

  test('docker login, then push and pull back', async () => {
    const login = assertOk(
      await d.docker(['login', '-u', USER, '--password-stdin', locked.host], { input: `${PASSWORD}\n` }),
      'docker login',
    );
    assert.match(login.stdout, /Login Succeeded/);
    const name = `${locked.host}/secret/busybox:1`;
    const digest = pushedDigest(assertOk(await d.docker(['push', name]), 'docker push').stdout, '1');
    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.equal((await d.inspect<ImageInspect>(name)).Id, busyboxId);
  });

  test('berth login writes a 0600 config the docker CLI can read; logout removes it', async () => {
    const config = join(d.dataRoot, '..', 'berth-config');
    const env = { BERTH_CONFIG: config };
    const bad = assertExit(
      await d.berth(['login', '-u', USER, '-p', 'wrong', locked.host], { env }),
      1,
      'berth login wrong password',
    );
    assert.match(bad.stderr, /401 Unauthorized/);
    const ok = assertOk(
      await d.berth(['login', '-u', USER, '--password-stdin', locked.host], { env, input: PASSWORD }),
      'berth login',
    );
    assert.match(ok.stdout, /^Login Succeeded$/m);
    const file = join(config, 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const name = `${locked.host}/berth/busybox:7`;
    assertOk(await d.berth(['tag', busyboxId, name]), 'berth tag');
    const push = assertOk(await d.berth(['push', name], { env }), 'berth push');
    assert.match(push.stdout, /^7: digest: sha256:[a-f0-9]{64} size: \d+$/m);
    // docker reads the same file.
    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    assertOk(
      await d.docker(['pull', name], { env: { DOCKER_CONFIG: config } }),
      'docker pull with berth config',
    );
    const out = assertOk(await d.berth(['logout', locked.host], { env }), 'berth logout');
    assert.match(out.stdout, new RegExp(`Removing login credentials for ${locked.host}`));
    assertExit(await d.berth(['pull', name], { env }), 1, 'berth pull after logout');
  });
});
