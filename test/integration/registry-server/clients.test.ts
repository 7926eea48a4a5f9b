// `berth registry serve` as users meet it (issue 9): the real docker CLI against berthd
// pushing to and pulling from it, anonymous and with htpasswd after `docker login`; skopeo
// copying between it and Debian's docker-registry, inspecting and deleting.
import assert from 'node:assert/strict';
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
import { type Distribution, startDistribution } from '../registry/distribution.js';
import { Oci } from './oci.js';
import { type BerthRegistry, startBerthRegistry } from './serve.js';

const USER = 'berthuser';
const PASSWORD = 'correct-horse';

let d: Daemon;
let open: BerthRegistry;
let locked: BerthRegistry;
let reference: Distribution;
let busyboxId = '';

before(async () => {
  [open, locked, reference] = await Promise.all([
    startBerthRegistry(),
    startBerthRegistry({ user: USER, password: PASSWORD }),
    startDistribution(),
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
  await reference?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

function skopeo(args: string[]) {
  return runProgram('skopeo', args);
}

describe('docker against berth registry serve', () => {
  test('docker push, rmi, pull by tag and by digest: same image, same digest', async () => {
    const name = `${open.host}/team/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const push = assertOk(await d.docker(['push', name]), 'docker push');
    assert.match(
      push.stdout,
      new RegExp(`^The push refers to repository \\[${open.host}/team/busybox\\]$`, 'm'),
    );
    assert.match(push.stdout, /^[a-f0-9]{12}: Pushed$/m);
    const digest = pushedDigest(push.stdout, '1');

    // What the registry serves is what docker pushed.
    const head = await new Oci(open.url).request('HEAD', '/v2/team/busybox/manifests/1');
    assert.equal(head.headers.get('docker-content-digest'), digest);

    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    const pulled = await d.inspect<ImageInspect>(name);
    assert.equal(pulled.Id, busyboxId);
    assert.ok(
      pulled.RepoDigests?.includes(`${open.host}/team/busybox@${digest}`),
      JSON.stringify(pulled.RepoDigests),
    );

    const byDigest = `${open.host}/team/busybox@${digest}`;
    const r = assertOk(await d.docker(['pull', byDigest]), 'docker pull by digest');
    assert.match(r.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.equal((await d.inspect<ImageInspect>(byDigest)).Id, busyboxId);

    const again = assertOk(await d.docker(['push', name]), 'docker push again');
    assert.match(again.stdout, /^[a-f0-9]{12}: Layer already exists$/m);
    assert.equal(pushedDigest(again.stdout, '1'), digest);
  });

  test('pushing to a second repository mounts the layers, and a container runs from the pulled image', async () => {
    const name = `${open.host}/other/busybox:2`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const push = assertOk(await d.docker(['push', name]), 'docker push');
    assert.match(push.stdout, /^[a-f0-9]{12}: (Mounted from team\/busybox|Layer already exists|Pushed)$/m);
    for (const image of (await d.docker(['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean)) {
      assertOk(await d.docker(['rmi', '-f', image]), `rmi ${image}`);
    }
    const run = assertOk(
      await d.docker(['run', '--rm', '--pull', 'missing', name, 'echo', 'pulled-and-ran']),
      'docker run',
    );
    assert.match(run.stdout, /pulled-and-ran/);
    assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load again');
  });

  test('a missing tag is manifest unknown, exit 1', async () => {
    const r = assertExit(
      await d.docker(['pull', `${open.host}/team/busybox:nope`]),
      1,
      'docker pull missing tag',
    );
    assert.match(
      r.stderr,
      new RegExp(`manifest for ${open.host}/team/busybox:nope not found: manifest unknown`),
    );
  });
});

describe('docker against berth registry serve --htpasswd', () => {
  test('push without login is refused', async () => {
    const name = `${locked.host}/secret/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const r = assertExit(await d.docker(['push', name]), 1, 'docker push without login');
    assert.match(r.stderr, /no basic auth credentials/);
  });

  test('a wrong password is 401 Unauthorized, exit 1', async () => {
    const r = assertExit(
      await d.docker(['login', '-u', USER, '--password-stdin', locked.host], { input: 'wrong\n' }),
      1,
      'docker login wrong password',
    );
    assert.match(r.stderr, /401 Unauthorized/);
    const raw = await new Oci(locked.url).request('GET', '/v2/');
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.get('www-authenticate'), 'Basic realm="berth"');
    assert.deepEqual(raw.codes, ['UNAUTHORIZED']);
  });

  test('docker login, push and pull back with equal digests', async () => {
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
});

describe('skopeo between berth registry serve and docker-registry', () => {
  test('copy ours -> theirs -> ours keeps the digest; inspect and delete ours', async () => {
    const source = `${open.host}/skopeo/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, source]), 'docker tag');
    const digest = pushedDigest(assertOk(await d.docker(['push', source]), 'docker push').stdout, '1');

    assertOk(
      await skopeo([
        'copy',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${source}`,
        `docker://${reference.host}/copied/busybox:1`,
      ]),
      'skopeo copy ours -> docker-registry',
    );
    assertOk(
      await skopeo([
        'copy',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${reference.host}/copied/busybox:1`,
        `docker://${open.host}/back/busybox:1`,
      ]),
      'skopeo copy docker-registry -> ours',
    );
    const seen = JSON.parse(
      assertOk(
        await skopeo(['inspect', '--tls-verify=false', `docker://${open.host}/back/busybox:1`]),
        'skopeo inspect',
      ).stdout,
    ) as { Digest: string; Name: string };
    assert.equal(seen.Digest, digest);
    assert.equal(seen.Name, `${open.host}/back/busybox`);
    const theirs = JSON.parse(
      assertOk(
        await skopeo(['inspect', '--tls-verify=false', `docker://${reference.host}/copied/busybox:1`]),
        'inspect',
      ).stdout,
    ) as { Digest: string };
    assert.equal(theirs.Digest, digest);

    assertOk(
      await skopeo(['delete', '--tls-verify=false', `docker://${open.host}/back/busybox:1`]),
      'skopeo delete',
    );
    const gone = await skopeo(['inspect', '--tls-verify=false', `docker://${open.host}/back/busybox:1`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/);
  });
});
