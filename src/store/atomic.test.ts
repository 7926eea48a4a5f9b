import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { replaceFile, writeFileAtomic } from './atomic.js';

describe('whole-file writes', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writers = [
    { name: 'writeFileAtomic', write: writeFileAtomic },
    { name: 'replaceFile', write: replaceFile },
  ];
  for (const { name, write } of writers) {
    it(`${name} replaces the content whole and leaves no temp file`, async () => {
      const path = join(dir, `${name}.txt`);
      await write(path, 'first\n');
      await write(path, 'second\n', 0o600);
      assert.equal(await readFile(path, 'utf8'), 'second\n');
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('.tmp-')),
        [],
      );
    });
  }

  it('replaceFile into a missing directory fails and leaves nothing', async () => {
    await assert.rejects(replaceFile(join(dir, 'missing', 'x'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.tmp-')),
      [],
    );
  });
});
