// The registry's process and storage over time: a SIGKILL mid-upload leaves nothing
// half-visible and the upload resumable after a restart; `berth registry gc` removes
// what no manifest references; bad command lines are usage errors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertExit, assertOk, BERTH_BIN, runProgram } from '../../harness/index.js';
import { Oci, sha256 } from './oci.js';
import { type BerthRegistry, startBerthRegistry } from './serve.js';

let registry: BerthRegistry;
let oci: Oci;

before(async () => {
  registry = await startBerthRegistry();
  oci = new Oci(registry.url);
});
after(async () => {
  await registry?.stop();
});

function berthRegistry(args: string[]) {
  return runProgram(process.execPath, [BERTH_BIN, 'registry', ...args]);
}

function age(path: string): void {
  const old = new Date(Date.now() - 2 * 3600_000);
  utimesSync(path, old, old);
}

test('a server killed mid-upload restarts with the upload resumable and nothing half-visible', async () => {
  const data = randomBytes(4096);
  const post = await oci.request('POST', '/v2/crash/blobs/uploads/');
  const location = post.headers.get('location') ?? '';
  await oci.request('PATCH', location, {
    headers: { 'Content-Range': '0-2047' },
    body: data.subarray(0, 2048),
  });
  await registry.kill();
  await registry.restart();
  assert.equal((await oci.request('HEAD', `/v2/crash/blobs/${sha256(data)}`)).status, 404);
  const status = await oci.request('GET', location);
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), '0-2047');
  const put = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
    headers: { 'Content-Range': '2048-4095' },
    body: data.subarray(2048),
  });
  assert.equal(put.status, 201);
  assert.deepEqual((await oci.request('GET', `/v2/crash/blobs/${sha256(data)}`)).body, data);
});

test('berth registry gc deletes blobs no manifest references, spares fresh ones', async () => {
  const kept = await oci.pushImageBlobs('gc/kept');
  assert.equal((await oci.pushManifest('gc/kept', 'v1', kept.manifest)).status, 201);
  const dropped = await oci.pushImageBlobs('gc/dropped');
  assert.equal((await oci.pushManifest('gc/dropped', 'v1', dropped.manifest)).status, 201);
  assert.equal((await oci.request('DELETE', `/v2/gc/dropped/manifests/${dropped.digest}`)).status, 202);
  const fresh = await oci.pushBlob('gc/fresh', randomBytes(64));

  const blobs = join(registry.root, 'blobs', 'sha256');
  for (const name of readdirSync(blobs)) {
    if (`sha256:${name}` !== fresh) age(join(blobs, name));
  }
  const dry = assertOk(await berthRegistry(['gc', '--root', registry.root, '--dry-run']), 'gc --dry-run');
  assert.match(dry.stdout, new RegExp(`^would delete ${dropped.layer}$`, 'm'));
  assert.equal((await oci.request('HEAD', `/v2/gc/dropped/blobs/${dropped.layer}`)).status, 200);

  const gc = assertOk(await berthRegistry(['gc', '--root', registry.root]), 'gc');
  for (const digest of [dropped.layer, dropped.config, dropped.digest]) {
    assert.match(gc.stdout, new RegExp(`^deleted ${digest}$`, 'm'));
  }
  assert.doesNotMatch(gc.stdout, new RegExp(`${kept.layer}|${fresh}`));
  assert.match(gc.stdout, /^\d+ blobs deleted \(\d+ bytes\), \d+ kept, 0 stale uploads removed$/m);
  assert.equal((await oci.request('HEAD', `/v2/gc/dropped/blobs/${dropped.layer}`)).status, 404);
  assert.deepEqual((await oci.request('GET', `/v2/gc/kept/blobs/${kept.layer}`)).body, kept.layerBytes);
  assert.equal((await oci.request('GET', '/v2/gc/kept/manifests/v1')).status, 200);
  assert.equal((await oci.request('HEAD', `/v2/gc/fresh/blobs/${fresh}`)).status, 200);
});

test('usage errors exit 125 with a hint', async () => {
  const unknown = assertExit(await berthRegistry(['frobnicate']), 125, 'unknown command');
  assert.match(unknown.stderr, /unknown command "registry frobnicate"/);
  const bad = assertExit(await berthRegistry(['serve', '--addr', 'nope']), 125, 'bad addr');
  assert.match(bad.stderr, /invalid --addr "nope"/);
  const flag = assertExit(await berthRegistry(['gc', '--bogus']), 125, 'bad flag');
  assert.match(flag.stderr, /See 'berth registry --help'/);
  assert.match(
    assertOk(await berthRegistry(['--help']), 'help').stdout,
    /serve {3}Serve an OCI distribution registry/,
  );
});

test('--tls-cert/--tls-key serve HTTPS, with --htpasswd asking for Basic credentials', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regtls-'));
  let secure: BerthRegistry | undefined;
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    assertOk(
      await runProgram('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]),
      'openssl req',
    );
    secure = await startBerthRegistry({ tls: { cert, key }, user: 'alice', password: 'secret' });
    const ask = (authorization?: string) =>
      new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
        const headers: Record<string, string> =
          authorization === undefined ? {} : { Authorization: authorization };
        get(`${secure?.url}/v2/`, { ca: readFileSync(cert), headers }, (res) => {
          res.resume();
          res.once('end', () =>
            resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }),
          );
        }).once('error', reject);
      });
    assert.deepEqual(await ask(), { status: 401, challenge: 'Basic realm="berth"' });
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    assert.equal((await ask(basic('alice', 'wrong'))).status, 401);
    assert.equal((await ask(basic('mallory', 'secret'))).status, 401);
    assert.equal((await ask(basic('alice', 'secret'))).status, 200);
  } finally {
    await secure?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
