import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { parseHtpasswd } from './auth.js';
import { RegistryError } from './errors.js';
import { collectGarbage } from './gc.js';
import { type Digest, parseDigest } from './names.js';
import { RegistryStorage } from './storage.js';

let dir: string;
let storage: RegistryStorage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-regstore-'));
  storage = new RegistryStorage(dir);
  await storage.init();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function digestOf(data: Uint8Array): Digest {
  return { algorithm: 'sha256', hex: createHash('sha256').update(data).digest('hex') };
}

async function putBlob(repo: string, data: Buffer): Promise<Digest> {
  const upload = await storage.startUpload(repo, 'sha256');
  await storage.finishUpload(repo, upload.id, digestOf(data), { body: Readable.from([data]) });
  return digestOf(data);
}

async function blobFiles(): Promise<string[]> {
  return (await readdir(join(dir, 'blobs', 'sha256')).catch(() => [])).sort();
}

function isCode(code: string) {
  return (e: unknown) => e instanceof RegistryError && e.code === code;
}

test('an upload whose content does not match its digest stores nothing and stays resumable', async () => {
  const before = await blobFiles();
  const upload = await storage.startUpload('r', 'sha256');
  await storage.append('r', upload.id, Readable.from([Buffer.from('half')]));
  const whole = Buffer.from('half and the rest');
  await assert.rejects(storage.finishUpload('r', upload.id, digestOf(whole)), isCode('DIGEST_INVALID'));
  assert.deepEqual(await blobFiles(), before);
  assert.equal((await storage.upload('r', upload.id)).size, 4);
  await storage.finishUpload('r', upload.id, digestOf(whole), {
    body: Readable.from([Buffer.from(' and the rest')]),
  });
  assert.ok((await blobFiles()).includes(digestOf(whole).hex));
});

test('chunk ranges: a gap or an overlap is refused with 416, a short chunk is cut back', async () => {
  const upload = await storage.startUpload('r', 'sha256');
  const cases: { range: { start: number; end: number }; data: string; code?: string; size: number }[] = [
    { range: { start: 0, end: 2 }, data: 'abc', size: 3 },
    { range: { start: 5, end: 6 }, data: 'fg', code: 'BLOB_UPLOAD_INVALID', size: 3 },
    { range: { start: 0, end: 2 }, data: 'abc', code: 'BLOB_UPLOAD_INVALID', size: 3 },
    { range: { start: 3, end: 9 }, data: 'de', code: 'SIZE_INVALID', size: 3 },
    { range: { start: 3, end: 4 }, data: 'de', size: 5 },
  ];
  for (const c of cases) {
    const attempt = storage.append('r', upload.id, Readable.from([Buffer.from(c.data)]), c.range);
    if (c.code === undefined) await attempt;
    else await assert.rejects(attempt, isCode(c.code));
    assert.equal((await storage.upload('r', upload.id)).size, c.size, JSON.stringify(c));
  }
});

test('gc deletes unreferenced blobs past the grace period and keeps the rest', async () => {
  const config = await putBlob('img', Buffer.from('{"os":"linux"}'));
  const layer = await putBlob('img', randomBytes(100));
  const orphan = await putBlob('img', randomBytes(100));
  const fresh = await putBlob('img', randomBytes(100));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${config.hex}`,
        size: 14,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layer.hex}`, size: 100 },
      ],
    }),
  );
  const { digest } = await storage.putManifest('img', { tag: 'v1' }, manifest, { contentType: '' });
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const d of [config, layer, orphan, parseDigest(digest)]) await utimes(storage.blobPath(d), old, old);

  const report = await collectGarbage(storage, { graceMs: 3600_000, uploadTtlMs: 3600_000 });
  assert.ok(report.deleted.includes(`sha256:${orphan.hex}`));
  assert.ok(!report.deleted.includes(`sha256:${fresh.hex}`), 'a fresh blob is spared');
  const left = await blobFiles();
  for (const kept of [config, layer, fresh, parseDigest(digest)]) assert.ok(left.includes(kept.hex));
  assert.ok(!left.includes(orphan.hex));
  await assert.rejects(storage.statBlob('img', orphan), isCode('BLOB_UNKNOWN'));
  assert.equal((await storage.getManifest('img', { tag: 'v1' })).digest, digest);

  // Once the manifest goes, so do its blobs.
  await storage.deleteManifest('img', { digest: parseDigest(digest) });
  const second = await collectGarbage(storage, { graceMs: 3600_000, uploadTtlMs: 3600_000 });
  assert.ok(second.deleted.includes(`sha256:${layer.hex}`));
  assert.ok(second.deleted.includes(digest));
});

test('htpasswd: bcrypt entries only', () => {
  const users = parseHtpasswd(
    '# comment\nalice:$2y$05$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa\n',
  );
  assert.deepEqual([...users.keys()], ['alice']);
  assert.throws(() => parseHtpasswd('bob:{SHA}xyz'), /only bcrypt/);
});
