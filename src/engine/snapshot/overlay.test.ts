import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConflictError, NotFoundError } from '../../api/index.js';
import { listMounts, unmount } from '../../platform/index.js';
import { OverlaySnapshotter } from './index.js';

const roots: string[] = [];
after(async () => {
  for (const mount of await listMounts()) {
    if (roots.some((r) => mount.target.startsWith(r))) await unmount(mount.target);
  }
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'berth-snapshot-'));
  roots.push(root);
  return root;
}

describe('OverlaySnapshotter', () => {
  it('stacks committed layers and forgets discarded ones', async () => {
    const root = await tempRoot();
    const snapshots = await OverlaySnapshotter.open(root);
    const base = await snapshots.unpackLayer('sha256:base', null, (dir) => writeFile(join(dir, 'a'), 'base'));
    // A pending layer already parents the next one, as within one load.
    const top = await snapshots.unpackLayer('sha256:top', 'sha256:base', async (dir) => {
      assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'base');
      await writeFile(join(dir, 'b'), 'top');
    });
    const dropped = await snapshots.unpackLayer('sha256:dropped', null, (dir) =>
      writeFile(join(dir, 'c'), 'x'),
    );
    await dropped.discard();
    await base.commit();
    await top.commit();
    assert.equal(top.size, 3);
    await assert.rejects(
      snapshots.unpackLayer('sha256:fails', null, () => Promise.reject(new Error('boom'))),
      /boom/,
    );

    const reopened = await OverlaySnapshotter.open(root);
    assert.deepEqual(reopened.chainOf('sha256:top'), ['sha256:top', 'sha256:base']);
    assert.equal(reopened.hasLayer('sha256:dropped'), false);
    assert.equal((await readdir(root)).length, 3); // two layers and the empty lower dir

    await reopened.createActive('c1', 'sha256:top');
    await assert.rejects(reopened.createActive('c1', 'sha256:top'), ConflictError);
    await assert.rejects(reopened.createActive('c2', 'sha256:none'), NotFoundError);
    const target = join(root, '..', `${root.split('/').pop()}-mnt`);
    roots.push(target);
    await reopened.mountActive('c1', target);
    try {
      assert.deepEqual((await readdir(target)).sort(), ['a', 'b']);
      await writeFile(join(target, 'new'), '12345');
      assert.equal(await reopened.activeSize('c1'), 5);
    } finally {
      await unmount(target);
    }
    await reopened.removeActive('c1');
    await assert.rejects(reopened.activeSize('c1'), NotFoundError);
  });
});
