// `--registry-mirror` (issue 9): Docker Hub pulls try the mirror first, then Docker Hub;
// pushes never use it. The mirror is Debian's docker-registry on loopback, and this
// daemon may contact nothing else, so the fallback to Docker Hub fails with a clear error.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  type ImageInspect,
  pushedDigest,
  startDaemon,
} from '../../harness/index.js';
import { type Distribution, startDistribution } from './distribution.js';

const HUB_REFUSED = /registry registry-1\.docker\.io is not allowed/;

let d: Daemon;
let mirror: Distribution;
let busyboxId = '';
let digest = '';

before(async () => {
  mirror = await startDistribution();
  d = await startDaemon({ extraArgs: ['--registry-mirror', `http://${mirror.host}`] });
  const image = await busyboxImage();
  busyboxId = image.imageId;
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
  // The mirror holds Docker Hub's library/busybox under the same path.
  const onMirror = `${mirror.host}/library/busybox:latest`;
  assertOk(await d.docker(['tag', busyboxId, onMirror]), 'docker tag');
  digest = pushedDigest(
    assertOk(await d.docker(['push', onMirror]), 'docker push to the mirror').stdout,
    'latest',
  );
  assertOk(await d.docker(['rmi', '-f', busyboxId]), 'docker rmi');
});
after(async () => {
  await d?.stop();
  await mirror?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

test('docker pull busybox comes from the mirror', async () => {
  const pull = assertOk(await d.docker(['pull', 'busybox']), 'docker pull busybox');
  assert.match(pull.stdout, /^latest: Pulling from library\/busybox$/m);
  assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
  assert.match(pull.stdout, /^Status: Downloaded newer image for busybox:latest$/m);
  const images = assertOk(
    await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
    'images',
  );
  assert.match(images.stdout, new RegExp(`^busybox:latest ${busyboxId.slice(7, 19)}$`, 'm'));
  const image = await d.inspect<ImageInspect>('busybox');
  assert.equal(image.Id, busyboxId);
  assert.ok(image.RepoDigests?.includes(`busybox@${digest}`), JSON.stringify(image.RepoDigests));
});

test('docker info lists the mirror', async () => {
  const info = assertOk(await d.docker(['info']), 'docker info');
  assert.match(info.stdout, new RegExp(`Registry Mirrors:\\n\\s+http://${mirror.host}/\\n`));
});

test('an image the mirror lacks falls back to Docker Hub, which this daemon may not contact', async () => {
  const r = assertExit(await d.docker(['pull', 'alpine:3.20']), 1, 'docker pull alpine');
  assert.match(r.stderr, HUB_REFUSED);
});

test('push never goes to the mirror', async () => {
  const r = assertExit(await d.docker(['push', 'busybox:latest']), 1, 'docker push busybox');
  assert.match(r.stderr, HUB_REFUSED);
});

test('another registry is never mirrored', async () => {
  // The mirror has library/busybox; asked for by another registry's name, it is not used.
  const r = assertExit(await d.docker(['pull', 'localhost:1/library/busybox']), 1, 'docker pull other');
  assert.match(r.stderr, /localhost:1/);
  assert.doesNotMatch(r.stderr, /Status:/);
});

test("a bad mirror URL stops berthd with dockerd's message", async () => {
  const bad = await startDaemon({ extraArgs: ['--registry-mirror', 'ftp://mirror.example'] }).then(
    async (started) => {
      await started.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.match(String(bad), /invalid mirror: unsupported scheme "ftp" in "ftp:\/\/mirror\.example"/);
});
