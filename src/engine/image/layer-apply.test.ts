// applyLayerTar writes small files in the background: entries that depend on an earlier
// one (same path, a path below it, a hardlink to it, a whiteout of it) must still see it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import { applyLayerTar } from './layer-apply.js';
import { makeTar, type TarEntry } from './test-fixtures.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-apply-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function apply(entries: TarEntry[]): Promise<void> {
  await applyLayerTar(Readable.from(await makeTar(entries)), root, 'layer');
}

test('many small files land whole, with their modes and times', async () => {
  const entries: TarEntry[] = [];
  for (let d = 0; d < 5; d++) {
    entries.push({ name: `d${d}`, type: 'directory' });
    for (let f = 0; f < 40; f++) entries.push({ name: `d${d}/f${f}`, content: `${d}-${f}`, mode: 0o640 });
  }
  await apply(entries);
  for (let d = 0; d < 5; d++) {
    for (let f = 0; f < 40; f++) {
      const path = join(root, `d${d}`, `f${f}`);
      assert.equal(await readFile(path, 'utf8'), `${d}-${f}`);
      const stats = await stat(path);
      assert.equal(stats.mode & 0o7777, 0o640);
      assert.equal(stats.mtime.toISOString(), '2024-01-01T00:00:00.000Z');
    }
  }
});

test('a later entry for the same path replaces the earlier one', async () => {
  await apply([
    { name: 'f', content: 'first' },
    { name: 'f', content: 'second' },
  ]);
  assert.equal(await readFile(join(root, 'f'), 'utf8'), 'second');
});

test('a path below a file just written is refused: the file is not a directory', async () => {
  await assert.rejects(
    apply([
      { name: 'a', content: 'file' },
      { name: 'a/b', content: 'below' },
    ]),
    /"a" is not a directory/,
  );
});

test('a hardlink to a file just written shares its content', async () => {
  await apply([
    { name: 'target', content: 'shared' },
    { name: 'alias', type: 'link', linkname: 'target' },
  ]);
  assert.equal(await readFile(join(root, 'alias'), 'utf8'), 'shared');
  assert.equal((await stat(join(root, 'alias'))).ino, (await stat(join(root, 'target'))).ino);
});

test('a whiteout removes a file of the same layer written before it', async () => {
  await apply([
    { name: 'gone', content: 'soon' },
    { name: '.wh.gone', content: '' },
    { name: 'kept', content: 'here' },
  ]);
  await assert.rejects(lstat(join(root, 'gone')), { code: 'ENOENT' });
  assert.equal(await readFile(join(root, 'kept'), 'utf8'), 'here');
});

test('a directory replacing a file and a file replacing a directory', async () => {
  await apply([
    { name: 'x', content: 'file' },
    { name: 'x', type: 'directory' },
    { name: 'x/inside', content: 'in' },
    { name: 'y', type: 'directory' },
    { name: 'y/z', content: 'z' },
    { name: 'y', content: 'now a file' },
  ]);
  assert.equal(await readFile(join(root, 'x', 'inside'), 'utf8'), 'in');
  assert.equal(await readFile(join(root, 'y'), 'utf8'), 'now a file');
});

test("onWritten gives each file's content digest as the file ends up", async () => {
  const digests = new Map<string, string>();
  const big = Buffer.alloc(3 * 1024 * 1024, 7); // above the size written in the background
  const tar = await makeTar([
    { name: 'twice', content: 'old' },
    { name: 'twice', content: 'new' },
    { name: 'was-file', content: 'x' },
    { name: 'was-file', type: 'symlink', linkname: 'twice' },
    { name: 'big', content: big },
  ]);
  await applyLayerTar(Readable.from(tar), root, 'layer', {
    onWritten: (path, digest) => {
      if (digest === undefined) digests.delete(path);
      else digests.set(path, digest);
    },
  });
  const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  assert.deepEqual(
    new Map([...digests].map(([path, digest]) => [path.slice(root.length + 1), digest])),
    new Map([
      ['twice', sha('new')],
      ['big', sha(big)],
    ]),
  );
});
