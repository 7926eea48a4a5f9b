import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BlobSource, BlobSources } from './blob-sources.js';

const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const repo = (repository: string, host = 'reg.example:5000'): BlobSource => ({ host, repository });

describe('BlobSources', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-blob-sources-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('an unknown blob has no sources', async () => {
    const sources = await BlobSources.open(join(root, 'empty'));
    assert.deepEqual(await sources.sourcesOf(digestOf(1)), []);
  });

  const cases: { name: string; adds: BlobSource[]; removes?: BlobSource[]; want: BlobSource[] }[] = [
    { name: 'newest first', adds: [repo('a'), repo('b')], want: [repo('b'), repo('a')] },
    {
      name: 'a repeat moves to the front',
      adds: [repo('a'), repo('b'), repo('a')],
      want: [repo('a'), repo('b')],
    },
    {
      name: 'the same path on two registries is two sources',
      adds: [repo('a'), repo('a', 'other:5000')],
      want: [repo('a', 'other:5000'), repo('a')],
    },
    {
      name: 'bounded to five: the oldest go',
      adds: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((r) => repo(r)),
      want: ['g', 'f', 'e', 'd', 'c'].map((r) => repo(r)),
    },
    { name: 'removed', adds: [repo('a'), repo('b')], removes: [repo('a')], want: [repo('b')] },
  ];
  cases.forEach((c, i) => {
    test(c.name, async () => {
      const dir = join(root, `case-${i}`);
      const sources = await BlobSources.open(dir);
      for (const s of c.adds) await sources.add(digestOf(i), s);
      for (const s of c.removes ?? []) await sources.remove(digestOf(i), s);
      assert.deepEqual(await sources.sourcesOf(digestOf(i)), c.want);
      // What a restarted daemon reads back.
      assert.deepEqual(await (await BlobSources.open(dir)).sourcesOf(digestOf(i)), c.want);
    });
  });

  test('concurrent adds to one blob all land', async () => {
    const sources = await BlobSources.open(join(root, 'concurrent'));
    await Promise.all(['a', 'b', 'c'].map((r) => sources.add(digestOf(7), repo(r))));
    const got = (await sources.sourcesOf(digestOf(7))).map((s) => s.repository).sort();
    assert.deepEqual(got, ['a', 'b', 'c']);
  });

  test('temp files a crash left are removed at open; entries of the wrong shape are ignored', async () => {
    const dir = join(root, 'crashed');
    await (await BlobSources.open(dir)).add(digestOf(8), repo('a'));
    await writeFile(join(dir, '.tmp-abc'), '{"sour');
    await writeFile(
      join(dir, `${digestOf(9).slice(7)}.json`),
      '{"sources":[{"host":1},{"host":"h","repository":"r"}]}',
    );
    const sources = await BlobSources.open(dir);
    assert.ok(!(await readdir(dir)).includes('.tmp-abc'));
    assert.deepEqual(await sources.sourcesOf(digestOf(8)), [repo('a')]);
    assert.deepEqual(await sources.sourcesOf(digestOf(9)), [{ host: 'h', repository: 'r' }]);
  });

  test('a malformed digest is refused', async () => {
    const sources = await BlobSources.open(join(root, 'bad'));
    await assert.rejects(sources.sourcesOf('sha256:../../etc'), /invalid digest/);
  });
});
