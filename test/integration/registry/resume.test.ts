// Big layers (issue 9): a pull that breaks off resumes with a range, both inside one
// pull and in the next one; a push of a blob above the chunk size goes up in PATCHes.
// A loopback HTTP proxy in front of the registry breaks, stalls and watches the traffic.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertOk,
  type Daemon,
  dockerSaveTar,
  type ImageInspect,
  makeTar,
  pushedDigest,
  startDaemon,
  waitFor,
} from '../../harness/index.js';
import { type BerthRegistry, startBerthRegistry } from '../registry-server/serve.js';
import { type Distribution, startDistribution } from './distribution.js';
import { type RegistryProxy, startRegistryProxy } from './proxy.js';

const MiB = 1024 * 1024;
/** Above this a blob GET is "the big one" the proxy breaks. */
const BIG_BYTES = MiB;

/** What the proxy does to the first GET of a big blob: nothing, close at half, or hang at half. */
type Fault = 'none' | 'close' | 'stall';

interface Proxy extends RegistryProxy {
  fault: Fault;
  /** Set once the faulty answer has sent its half: how many bytes that was. */
  halfSentBytes: number;
}

/** A proxy that applies `fault` to the next GET of a big blob, once. */
async function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = Object.assign(
    await startRegistryProxy(target, {
      relay: (req, answer, res) => {
        const size = Number(answer.headers['content-length'] ?? 0);
        const isBigBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && size > BIG_BYTES;
        if (!isBigBlob || proxy.fault === 'none') return false;
        const fault = proxy.fault;
        proxy.fault = 'none';
        const half = Math.floor(size / 2);
        breakAtHalf(answer, res, half, fault, () => {
          proxy.halfSentBytes = half;
        });
        return true;
      },
    }),
    { fault: 'none' as Fault, halfSentBytes: 0 },
  );
  return proxy;
}

/** Passes `half` bytes on, then closes the connection or leaves it hanging. */
function breakAtHalf(
  answer: IncomingMessage,
  res: ServerResponse,
  half: number,
  fault: Fault,
  onHalf: () => void,
): void {
  let sent = 0;
  answer.on('data', (chunk: Buffer) => {
    if (sent >= half) return;
    const part = chunk.subarray(0, half - sent);
    sent += part.length;
    res.write(part);
    if (sent < half) return;
    answer.destroy();
    res.write('', () => {
      onHalf();
      if (fault === 'close') res.socket?.destroy();
    });
  });
}

/** A two-layer image: a small file, and `bigBytes` of random data nobody else has. */
async function bigImage(d: Daemon, tag: string, bigBytes: number): Promise<string> {
  const small = await makeTar([{ name: 'hello.txt', content: `hello ${tag}\n` }]);
  const big = await makeTar([{ name: 'random.bin', content: randomBytes(bigBytes) }]);
  const { tar, imageId } = await dockerSaveTar(tag, [small, big]);
  assertOk(await d.docker(['load'], { input: tar }), 'docker load');
  return imageId;
}

/** Pushes `local` as `pushed`, then removes every local name, so a pull must fetch it all. */
async function pushAndForget(d: Daemon, id: string, pushed: string, tag: string): Promise<string> {
  assertOk(await d.docker(['tag', id, pushed]), 'docker tag');
  const digest = pushedDigest(
    assertOk(await d.docker(['push', pushed]), `docker push ${pushed}`).stdout,
    tag,
  );
  assertOk(await d.docker(['rmi', '-f', id]), 'docker rmi');
  return digest;
}

const blobGets = (p: Proxy) => p.seen.filter((r) => r.method === 'GET' && r.url.includes('/blobs/sha256:'));
/** Digests of the layer blobs fetched: every blob but the config (whose digest is the image id). */
const layerGets = (p: Proxy, imageId: string) =>
  blobGets(p)
    .map((r) => r.url.slice(r.url.lastIndexOf('/') + 1))
    .filter((digest) => digest !== imageId);
const resumedAt = (p: Proxy) =>
  blobGets(p)
    .map((r) => /^bytes=(\d+)-$/.exec(r.range ?? '')?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);

let d: Daemon;
let registry: Distribution;
let ours: BerthRegistry;
let proxy: Proxy;
const children: ChildProcess[] = [];

before(async () => {
  [registry, ours] = await Promise.all([startDistribution(), startBerthRegistry()]);
  proxy = await startProxy(registry.host);
  d = await startDaemon();
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await d?.stop();
  await proxy?.stop();
  await registry?.stop();
  await ours?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('resumable pulls', () => {
  test('a layer cut off halfway is retried in the same pull from where it broke', async () => {
    const id = await bigImage(d, 'resume/one:1', 4 * MiB);
    const digest = await pushAndForget(d, id, `${registry.host}/resume/one:1`, '1');
    proxy.seen = [];
    proxy.fault = 'close';
    const name = `${proxy.host}/resume/one:1`;
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull through the breaking proxy');
    assert.match(pull.stdout, /^[a-f0-9]{12}: Retrying in 1 second$/m);
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    const offsets = resumedAt(proxy);
    assert.equal(offsets.length, 1, JSON.stringify(proxy.seen));
    assert.ok((offsets[0] ?? 0) > MiB, `resumed at ${offsets[0]}`);
    const image = await d.inspect<ImageInspect>(name);
    assert.equal(image.Id, id);
    assert.ok(image.RepoDigests?.includes(`${proxy.host}/resume/one@${digest}`));
    assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'partial')), [], 'no partial left');
  });

  test('a pull interrupted by its client is continued by the next pull; finished layers are not fetched again', async () => {
    const id = await bigImage(d, 'resume/two:1', 4 * MiB);
    const digest = await pushAndForget(d, id, `${registry.host}/resume/two:1`, '1');
    proxy.seen = [];
    proxy.halfSentBytes = 0;
    proxy.fault = 'stall';
    const name = `${proxy.host}/resume/two:1`;
    const first = spawn('docker', ['pull', name], { env: d.env, stdio: 'ignore' });
    children.push(first);
    const half = await waitFor('half of the big layer to be sent', () => proxy.halfSentBytes || undefined, {
      timeoutMs: 15_000,
    });
    // Everything sent is kept before the client goes away; the small layer went whole.
    const partialDir = join(d.dataRoot, 'content', 'partial');
    const keptBytes = () => readdirSync(partialDir).map((f) => statSync(join(partialDir, f)).size);
    await waitFor('the half to be kept', () => keptBytes()[0] === half, { timeoutMs: 5_000 });
    const isStored = (digest: string) =>
      existsSync(join(d.dataRoot, 'content', 'blobs', 'sha256', digest.slice(7)));
    await waitFor('the small layer to be stored', () => layerGets(proxy, id).some(isStored), {
      timeoutMs: 5_000,
    });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGINT');
    await exited;
    assert.deepEqual(keptBytes(), [half]);
    const getsBefore = layerGets(proxy, id);

    const pull = assertOk(await d.docker(['pull', name]), 'docker pull again');
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.match(pull.stdout, /^[a-f0-9]{12}: Already exists$/m);
    const offsets = resumedAt(proxy);
    assert.deepEqual(offsets, [half], JSON.stringify(proxy.seen));
    const getsAfter = layerGets(proxy, id).slice(getsBefore.length);
    assert.equal(getsAfter.length, 1, `only the unfinished layer is fetched again: ${getsAfter.join(' ')}`);
    assert.equal((await d.inspect<ImageInspect>(name)).Id, id);
    assert.deepEqual(readdirSync(partialDir), [], 'no partial left');
  });
});

describe('chunked push', () => {
  for (const target of ['docker-registry', 'berth registry serve'] as const) {
    test(`a blob above the chunk size goes up in PATCHes to ${target} and comes back equal`, async () => {
      const front = await startProxy(target === 'docker-registry' ? registry.host : ours.host);
      try {
        const repo = `chunked/${target === 'docker-registry' ? 'distribution' : 'berth'}`;
        const id = await bigImage(d, `${repo}:1`, 12 * MiB);
        const digest = await pushAndForget(d, id, `${front.host}/${repo}:1`, '1');
        const patches = front.seen.filter((r) => r.method === 'PATCH');
        assert.deepEqual(
          patches.map((r) => r.contentRange?.split('-')[0]),
          ['0', String(8 * MiB)],
          JSON.stringify(front.seen),
        );
        const pull = assertOk(await d.docker(['pull', `${front.host}/${repo}:1`]), 'docker pull');
        assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
        assert.equal((await d.inspect<ImageInspect>(`${front.host}/${repo}:1`)).Id, id);
      } finally {
        await front.stop();
      }
    });

    test(`a push whose upload fails cancels its upload session on ${target}`, async () => {
      // The second chunk is refused: the push fails, and the session it opened is cancelled.
      const front = await startRegistryProxy(target === 'docker-registry' ? registry.host : ours.host, {
        respond: (req, res) => {
          if (req.method !== 'PATCH' || !req.headers['content-range']?.startsWith(`${8 * MiB}-`))
            return false;
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk on fire' }] }));
          return true;
        },
      });
      try {
        const repo = `cancelled/${target === 'docker-registry' ? 'distribution' : 'berth'}`;
        const id = await bigImage(d, `${repo}:1`, 12 * MiB);
        assertOk(await d.docker(['tag', id, `${front.host}/${repo}:1`]), 'docker tag');
        const push = await d.docker(['push', `${front.host}/${repo}:1`]);
        assert.equal(push.code, 1, push.stdout);
        assert.match(push.stderr, /disk on fire/);
        const sessions = (method: string) =>
          new Set(
            front.seen
              .filter((r) => r.method === method && /\/blobs\/uploads\/[^?]+/.test(r.url))
              .map((r) => new URL(r.url, 'http://proxy').pathname),
          );
        const failed = [...sessions('PATCH')].filter((path) => !sessions('PUT').has(path));
        assert.ok(failed.length > 0, JSON.stringify(front.seen));
        assert.deepEqual(
          failed.filter((path) => !sessions('DELETE').has(path)),
          [],
          `every failed session cancelled: ${JSON.stringify(front.seen)}`,
        );
        assertOk(await d.docker(['rmi', '-f', id]), 'docker rmi');
      } finally {
        await front.stop();
      }
    });
  }
});
