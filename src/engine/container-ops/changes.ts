import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Docker's change kinds (`GET /containers/{id}/changes`). */
export const ChangeKind = { Modified: 0, Added: 1, Deleted: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

export interface Change {
  path: string;
  kind: ChangeKind;
}

/**
 * What a container changed, read from its overlay upper dir: a whiteout device is a
 * deletion, a path no lower layer has is an addition, anything else a modification.
 * A directory that only holds changes and looks as in the image is not itself listed,
 * but the parent of every addition and deletion is. Sorted by path.
 */
export async function listChanges(layout: { upperDir: string; lowerDirs: string[] }): Promise<Change[]> {
  const changes: Change[] = [];
  const changedDirs = new Set<string>();
  const noteParent = (path: string) => {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (parent === '/' || changedDirs.has(parent)) return;
    changedDirs.add(parent);
    changes.push({ path: parent, kind: ChangeKind.Modified });
  };
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(layout.upperDir, relative))).sort();
    for (const name of names) {
      const path = `${relative}/${name}`;
      const stats = await lstat(join(layout.upperDir, path));
      if (stats.isCharacterDevice() && stats.rdev === 0) {
        changes.push({ path, kind: ChangeKind.Deleted });
        noteParent(path);
        continue;
      }
      const below = await lowerStats(layout.lowerDirs, path);
      if (below === undefined) {
        changes.push({ path, kind: ChangeKind.Added });
        noteParent(path);
      } else if (!(stats.isDirectory() && below.isDirectory() && looksTheSame(stats, below))) {
        changes.push({ path, kind: ChangeKind.Modified });
        if (stats.isDirectory()) changedDirs.add(path);
      }
      if (stats.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function lowerStats(lowerDirs: readonly string[], path: string): Promise<Stats | undefined> {
  for (const dir of lowerDirs) {
    try {
      return await lstat(join(dir, path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR')
        throw e;
    }
  }
  return undefined;
}

function looksTheSame(a: Stats, b: Stats): boolean {
  return a.mode === b.mode && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);
}
