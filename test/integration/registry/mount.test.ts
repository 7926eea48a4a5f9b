// Cross-repository blob mounts on push (issue 9): berthd remembers which repository of a
// registry holds each layer, from pulls and pushes, and a push to another repository of
// the same registry mounts the layer from there instead of uploading it. A loopback proxy
// in front of each registry counts the requests, and can make the registry decline mounts.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertOk,
  busyboxImage,
  type Daemon,
  type ImageInspect,
  pushedDigest,
  startDaemon,
} from '../../harness/index.js';
import { type BerthRegistry, startBerthRegistry } from '../registry-server/serve.js';
import { type Distribution, startDistribution } from './distribution.js';
import { type RegistryProxy, startRegistryProxy } from './proxy.js';

interface Proxy extends RegistryProxy {
  /** Drops `mount` and `from` from upload POSTs: the registry opens a plain upload (202), as one that declines mounts. */
  declineMounts: boolean;
}

async function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = Object.assign(
    await startRegistryProxy(target, {
      rewritePath: (req, path) => {
        if (!proxy.declineMounts || req.method !== 'POST' || !path.includes('mount=')) return path;
        const url = new URL(path, 'http://proxy');
        url.searchParams.delete('mount');
        url.searchParams.delete('from');
        return `${url.pathname}${url.search}`;
      },
    }),
    { declineMounts: false },
  );
  return proxy;
}

const isUpload = (r: { url: string }, repo: string) => r.url.startsWith(`/v2/${repo}/blobs/uploads/`);
/** The digests the closing PUTs of uploads to `repo` named. */
const uploadedDigests = (p: Proxy, repo: string) =>
  p.seen
    .filter((r) => r.method === 'PUT' && isUpload(r, repo))
    .map((r) => new URL(r.url, 'http://proxy').searchParams.get('digest'));

let d: Daemon;
let distribution: Distribution;
let ours: BerthRegistry;
/** `berth registry serve --auth token`: a mount needs a token that also grants pull on the source. */
let tokenAuth: BerthRegistry;
const USER = 'mountuser';
const PASSWORD = 'mount-password';
const proxies: Proxy[] = [];
let busybox = { path: '', imageId: '' };

before(async () => {
  [distribution, ours, tokenAuth] = await Promise.all([
    startDistribution(),
    startBerthRegistry(),
    startBerthRegistry({ user: USER, password: PASSWORD, auth: 'token' }),
  ]);
  for (const target of [distribution.host, ours.host]) proxies.push(await startProxy(target));
  d = await startDaemon();
  busybox = await busyboxImage();
});
after(async () => {
  await d?.stop();
  for (const p of proxies) await p.stop();
  await distribution?.stop();
  await ours?.stop();
  await tokenAuth?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

/** Loads busybox afresh, so each registry's test starts from an image no repository has. */
async function loadBusybox(): Promise<void> {
  assertOk(await d.docker(['load', '-i', busybox.path]), 'docker load');
}

/** Removes the image with all its names, then pulls `name`: the layers come from the registry. */
async function pullBack(name: string): Promise<void> {
  assertOk(await d.docker(['rmi', '-f', busybox.imageId]), 'docker rmi');
  assertOk(await d.docker(['pull', name]), `docker pull ${name}`);
  assert.equal((await d.inspect<ImageInspect>(name)).Id, busybox.imageId);
}

const registries = ['docker-registry', 'berth registry serve'] as const;

describe('cross-repository mounts', () => {
  registries.forEach((target, i) => {
    test(`a layer another repository of ${target} holds is mounted, not uploaded`, async () => {
      const proxy = proxies[i] as Proxy;
      await loadBusybox();
      const source = `${proxy.host}/team-a/app:1`;
      assertOk(await d.docker(['tag', busybox.imageId, source]), 'docker tag');
      assertOk(await d.docker(['push', source]), 'docker push team-a');
      // Forget what that push learned: only the pull below may tell berthd where the layer is.
      const sourcesDir = join(d.dataRoot, 'distribution', 'blob-sources');
      for (const f of readdirSync(sourcesDir)) rmSync(join(sourcesDir, f));
      await pullBack(source);

      const name = `${proxy.host}/team-b/app:1`;
      assertOk(await d.docker(['tag', source, name]), 'docker tag team-b');
      proxy.seen = [];
      const push = assertOk(await d.docker(['push', name]), 'docker push team-b');
      assert.match(push.stdout, /^[a-f0-9]{12}: Mounted from team-a\/app$/m);
      assert.doesNotMatch(push.stdout, /: Pushed$/m);
      const mounts = proxy.seen.filter((r) => r.method === 'POST' && r.url.includes('mount='));
      assert.equal(mounts.length, 1, JSON.stringify(proxy.seen));
      assert.match(mounts[0]?.url ?? '', /from=team-a%2Fapp/);
      // Only the config went up; no byte of the layer did.
      assert.equal(proxy.seen.filter((r) => r.method === 'PATCH').length, 0, JSON.stringify(proxy.seen));
      assert.deepEqual(uploadedDigests(proxy, 'team-b/app'), [busybox.imageId]);

      const digest = pushedDigest(push.stdout, '1');
      await pullBack(`${proxy.host}/team-b/app@${digest}`);

      // On the wire, the line as dockerd sends it; the newest source is the one mounted from.
      const other = `${proxy.host}/team-d/app`;
      assertOk(await d.docker(['tag', busybox.imageId, `${other}:1`]), 'docker tag team-d');
      const api = await d.request('POST', `/images/${encodeURIComponent(other)}/push?tag=1`, undefined, {
        headers: { 'X-Registry-Auth': Buffer.from('{}').toString('base64url') },
      });
      assert.equal(api.status, 200);
      const layerId = /"id":"([a-f0-9]{12})"/.exec(api.body)?.[1] ?? '';
      assert.ok(
        api.body.includes(`{"status":"Mounted from team-b/app","progressDetail":{},"id":"${layerId}"}`),
        api.body,
      );
    });

    test(`${target} declining the mount (202) still gets the layer, through the upload it opened`, async () => {
      const proxy = proxies[i] as Proxy;
      const name = `${proxy.host}/team-c/app:1`;
      assertOk(await d.docker(['tag', busybox.imageId, name]), 'docker tag team-c');
      proxy.seen = [];
      proxy.declineMounts = true;
      try {
        const push = assertOk(await d.docker(['push', name]), 'docker push team-c');
        assert.match(push.stdout, /^[a-f0-9]{12}: Pushed$/m);
        assert.doesNotMatch(push.stdout, /Mounted from/);
        const posts = proxy.seen.filter((r) => r.method === 'POST' && isUpload(r, 'team-c/app'));
        // One for the layer (the declined mount, whose upload was used) and one for the config.
        assert.equal(posts.length, 2, JSON.stringify(proxy.seen));
        assert.equal(posts.filter((r) => r.url.includes('mount=')).length, 1);
        assert.equal(uploadedDigests(proxy, 'team-c/app').length, 2);

        const digest = pushedDigest(push.stdout, '1');
        await pullBack(`${proxy.host}/team-c/app@${digest}`);
      } finally {
        proxy.declineMounts = false;
      }
    });
  });

  test('with token auth, the token asked for covers the source too, and the layer is mounted', async () => {
    assertOk(
      await d.docker(['login', '-u', USER, '--password-stdin', tokenAuth.host], { input: `${PASSWORD}\n` }),
      'docker login',
    );
    await loadBusybox();
    const source = `${tokenAuth.host}/team-a/app:1`;
    assertOk(await d.docker(['tag', busybox.imageId, source]), 'docker tag');
    assertOk(await d.docker(['push', source]), 'docker push team-a');
    const name = `${tokenAuth.host}/team-b/app:1`;
    assertOk(await d.docker(['tag', source, name]), 'docker tag team-b');
    const push = assertOk(await d.docker(['push', name]), 'docker push team-b');
    assert.match(push.stdout, /^[a-f0-9]{12}: Mounted from team-a\/app$/m);
  });
});
