import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes under `dir` as `du --apparent-size` counts them, each hard-linked inode once.
 * Does not descend into other filesystems (a mount below is not the volume's data).
 */
export async function directorySize(dir: string): Promise<number> {
  const top = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!top) return 0;
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      const stat = await lstat(child);
      if (stat.dev !== top.dev) continue;
      if (stat.isDirectory()) {
        await walk(child);
        continue;
      }
      const inode = `${stat.ino}`;
      if (stat.nlink > 1) {
        if (seen.has(inode)) continue;
        seen.add(inode);
      }
      total += stat.size;
    }
  };
  if (top.isDirectory()) await walk(dir);
  else total = top.size;
  return total;
}
