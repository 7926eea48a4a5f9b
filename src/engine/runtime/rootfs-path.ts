import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';

/** Linux gives up after 40 links in one lookup (ELOOP); so do we. */
const MAX_LINKS = 40;

/**
 * Resolves `path` as a process chrooted at `root` would: symlinks are followed,
 * absolute targets restart at `root` and `..` stops at it, so the result never
 * leaves the rootfs whatever the image's links say.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  let pending = posix.normalize(path).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links: ${path}`);
    const target = await readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return join(root, ...resolved);
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
