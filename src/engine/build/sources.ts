import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Pack, pack } from 'tar-stream';
import { InvalidArgumentError, NotFoundError } from '../../api/index.js';

/** One COPY/ADD source found on the host. */
export interface Source {
  /** Path on the host. */
  hostPath: string;
  /** Path relative to the source root, as the user named it after globbing. */
  relative: string;
  stats: Stats;
}

/**
 * Resolves COPY sources under `root` (the context or a staged image path): globs
 * expanded, `..` kept inside the root (Docker's `forbidden path outside the build
 * context`), missing files a NotFoundError with Docker's text.
 */
export async function resolveSources(root: string, patterns: readonly string[]): Promise<Source[]> {
  const found: Source[] = [];
  for (const pattern of patterns) {
    const clean = posix.normalize(`/${pattern}`).slice(1);
    if (posix.normalize(pattern).startsWith('../') || posix.normalize(pattern) === '..') {
      throw new InvalidArgumentError(`forbidden path outside the build context: ${pattern} ()`);
    }
    const matches = /[*?[]/.test(clean) ? await glob(root, clean) : [clean];
    for (const relative of matches) {
      const hostPath = relative === '' ? root : join(root, relative);
      const stats = await lstat(hostPath).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
        throw e;
      });
      if (!stats) continue;
      found.push({ hostPath, relative, stats });
    }
    if (!found.some((s) => matches.includes(s.relative))) {
      throw new NotFoundError(
        `file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`,
      );
    }
  }
  return found;
}

async function glob(root: string, pattern: string): Promise<string[]> {
  const parts = pattern.split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    const regex = globRegex(part);
    for (const dir of current) {
      if (!/[*?[]/.test(part)) {
        next.push(dir === '' ? part : `${dir}/${part}`);
        continue;
      }
      const names = await readdir(join(root, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) if (regex.test(name)) next.push(dir === '' ? name : `${dir}/${name}`);
    }
    current = next;
  }
  return current;
}

function globRegex(part: string): RegExp {
  let out = '^';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        out += `[${part.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${out}$`);
}

/** The sha256 (hex) of a file's content when it is already known, by host path. */
export type KnownDigests = ReadonlyMap<string, string>;

/**
 * A digest of names, modes, link targets and contents' digests: what COPY's cache key
 * depends on. A file whose digest `known` holds (the context, hashed as it was unpacked)
 * is not read again.
 */
export async function checksumOf(
  sources: readonly Source[],
  known: KnownDigests = new Map(),
): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (path: string, name: string, stats: Stats): Promise<void> => {
    hash.update(`${name}\0${stats.mode}\0`);
    if (stats.isSymbolicLink()) hash.update(await readlink(path));
    else if (stats.isFile()) hash.update(known.get(path) ?? (await contentDigest(path)));
    else if (stats.isDirectory()) {
      for (const child of (await readdir(path)).sort()) {
        const childPath = join(path, child);
        await visit(childPath, `${name}/${child}`, await lstat(childPath));
      }
    }
    hash.update('\0');
  };
  for (const source of sources) await visit(source.hostPath, source.relative, source.stats);
  return hash.digest('hex');
}

async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}

/** Where each source goes, relative to the extraction directory. */
export interface Placement {
  source: Source;
  /** Destination path relative to the extraction dir; a directory source's contents go below it. */
  name: string;
}

export interface PackSourcesOptions {
  /** Directories to create first (missing parents of the destination), relative names. */
  parents: readonly string[];
  owner: { uid: number; gid: number };
  /** `--chmod`: mode bits for every file and directory copied. */
  mode?: number;
}

/** A tar of the placements, as putArchive extracts it. */
export function packSources(placements: readonly Placement[], opts: PackSourcesOptions): Readable {
  const archive = pack();
  const base = { uid: opts.owner.uid, gid: opts.owner.gid };
  const write = async (path: string, name: string, stats: Stats): Promise<void> => {
    const mode = opts.mode ?? stats.mode & 0o7777;
    if (stats.isDirectory()) {
      if (name !== '')
        await addEntry(archive, { ...base, name: `${name}/`, type: 'directory', mode, mtime: stats.mtime });
      for (const child of (await readdir(path)).sort()) {
        const childPath = join(path, child);
        await write(childPath, name === '' ? child : `${name}/${child}`, await lstat(childPath));
      }
    } else if (stats.isSymbolicLink()) {
      await addEntry(archive, {
        ...base,
        name,
        type: 'symlink',
        linkname: await readlink(path),
        mode,
        mtime: stats.mtime,
      });
    } else if (stats.isFile()) {
      const entry = archive.entry({
        ...base,
        name,
        type: 'file',
        size: stats.size,
        mode,
        mtime: stats.mtime,
      });
      await pipeline(createReadStream(path), entry);
    }
  };
  (async () => {
    for (const parent of opts.parents) {
      await addEntry(archive, { ...base, name: `${parent}/`, type: 'directory', mode: 0o755 });
    }
    for (const { source, name } of placements) await write(source.hostPath, name, source.stats);
    archive.finalize();
  })().catch((e: unknown) => archive.destroy(e as Error));
  return archive as unknown as Readable;
}

function addEntry(archive: Pack, header: Parameters<Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => {
    archive.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}
