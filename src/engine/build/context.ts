import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, messageOf } from '../../api/index.js';
import { applyLayerTar, MaybeGunzip } from '../image/index.js';
import { IgnoreMatcher } from './dockerignore.js';

export interface UnpackedContext {
  dockerfile: string;
  /** sha256 (hex) of each regular file's content, by host path, hashed as it streamed in. */
  digests: Map<string, string>;
}

/**
 * Unpacks the build context (a tar, maybe gzip) into `dir` as it streams in, then
 * removes what `.dockerignore` leaves out, so COPY never sees it. Entries that would
 * land outside `dir` fail the build. Returns the Dockerfile's text.
 */
export async function unpackContext(
  tar: Readable,
  dir: string,
  dockerfile: string,
): Promise<UnpackedContext> {
  const gunzip = new MaybeGunzip();
  tar.on('error', (e) => gunzip.destroy(e));
  const digests = new Map<string, string>();
  try {
    await applyLayerTar(tar.pipe(gunzip), dir, 'build context', {
      plainNames: true,
      onWritten: (path, digest) => {
        if (digest === undefined) digests.delete(path);
        else digests.set(path, digest);
      },
    });
  } catch (e) {
    throw new InvalidArgumentError(`failed to read the build context: ${messageOf(e)}`, { cause: e });
  }
  const dockerfilePath = posix.normalize(dockerfile).replace(/^\/+/, '');
  if (dockerfilePath.startsWith('..'))
    throw new InvalidArgumentError(`forbidden path outside the build context: ${dockerfile}`);
  let text: string;
  try {
    text = await readFile(join(dir, dockerfilePath), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidArgumentError(`Cannot locate specified Dockerfile: ${dockerfile}`);
    }
    throw e;
  }
  const ignore = await readFile(join(dir, '.dockerignore'), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const matcher = new IgnoreMatcher(ignore);
  if (!matcher.isEmpty) await removeIgnored(dir, '', matcher);
  // Docker sends both files even when ignored, and drops them once read.
  if (matcher.isIgnored(dockerfilePath)) await rm(join(dir, dockerfilePath), { force: true });
  if (matcher.isIgnored('.dockerignore')) await rm(join(dir, '.dockerignore'), { force: true });
  return { dockerfile: text, digests };
}

async function removeIgnored(root: string, relative: string, matcher: IgnoreMatcher): Promise<void> {
  for (const name of await readdir(join(root, relative))) {
    const child = relative === '' ? name : `${relative}/${name}`;
    if (child === '.dockerignore') continue;
    const path = join(root, child);
    const stats = await lstat(path);
    if (matcher.isIgnored(child)) {
      // An exception below an ignored directory keeps that part of it.
      if (stats.isDirectory()) {
        await removeIgnored(root, child, matcher);
        if ((await readdir(path)).length === 0) await rm(path, { recursive: true, force: true });
      } else {
        await rm(path, { force: true });
      }
    } else if (stats.isDirectory()) {
      await removeIgnored(root, child, matcher);
    }
  }
}
