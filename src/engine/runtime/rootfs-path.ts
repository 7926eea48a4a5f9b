import type { Stats } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';

/** Linux gives up after 40 links in one lookup (ELOOP); so do we. */
const MAX_LINKS = 40;

/** A container path resolved to the host: components relative to the rootfs, none of them a followed symlink. */
export interface ScopedPath {
  /** Host path, always `root` or below it. */
  hostPath: string;
  /** The same place as a clean absolute path inside the container. */
  containerPath: string;
  parts: string[];
}

/**
 * Resolves `path` (taken as absolute inside the container) under `root`, following
 * symlinks as if `root` were `/`: an absolute target restarts at the root and `..`
 * stops there, so the result never leaves the root whatever the links say. The last
 * component is followed only when `followLast` (Docker's rule: a trailing `/` or `/.`).
 * Components that do not exist are kept as named.
 */
export async function resolveScoped(root: string, path: string, followLast: boolean): Promise<ScopedPath> {
  if (path.includes('\0')) throw new InvalidArgumentError(`invalid path ${JSON.stringify(path)}`);
  const resolved: string[] = [];
  const pending = path.split('/');
  let linksFollowed = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const isLast = pending.every((p) => p === '' || p === '.');
    let stats: Stats;
    try {
      stats = await lstat(join(root, ...resolved, part));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      resolved.push(part);
      continue;
    }
    if (stats.isSymbolicLink() && (!isLast || followLast)) {
      if (++linksFollowed > MAX_LINKS) {
        throw new InvalidArgumentError(`too many levels of symbolic links in ${JSON.stringify(path)}`);
      }
      const target = await readlink(join(root, ...resolved, part));
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/'));
      continue;
    }
    resolved.push(part);
  }
  return { hostPath: join(root, ...resolved), containerPath: `/${resolved.join('/')}`, parts: resolved };
}

/** The host path of `path` inside `root`, every symlink followed as a process chrooted there would. */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  return (await resolveScoped(root, path, true)).hostPath;
}

/** A file of the rootfs, or undefined when it does not exist there. */
export async function readFileInRoot(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(await resolveInRoot(root, path), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
