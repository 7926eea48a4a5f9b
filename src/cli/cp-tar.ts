import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import { UsageError } from './errors.js';

/**
 * A tar of a local file or directory, its entries named under `name` (`.` packs a
 * directory's contents), for `cp` into a container. Symlinks are kept as links.
 */
export function packLocal(source: string, name: string): Readable {
  const archive = pack();
  const walk = async (path: string, entryName: string): Promise<void> => {
    const stats = await lstat(path);
    const header = {
      name: entryName,
      mode: stats.mode & 0o7777,
      mtime: stats.mtime,
      uid: stats.uid,
      gid: stats.gid,
    };
    if (stats.isDirectory()) {
      await new Promise<void>((resolve, reject) =>
        archive.entry({ ...header, name: `${entryName}/`, type: 'directory' }, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
      for (const child of (await readdir(path)).sort())
        await walk(join(path, child), `${entryName}/${child}`);
    } else if (stats.isSymbolicLink()) {
      const linkname = await readlink(path);
      await new Promise<void>((resolve, reject) =>
        archive.entry({ ...header, type: 'symlink', linkname }, (e) => (e ? reject(e) : resolve())),
      );
    } else if (stats.isFile()) {
      const chunks: Buffer[] = [];
      for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
      const data = Buffer.concat(chunks);
      await new Promise<void>((resolve, reject) =>
        archive.entry({ ...header, type: 'file', size: data.length }, data, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
    }
  };
  void walk(source, name)
    .then(() => archive.finalize())
    .catch((e: unknown) => archive.destroy(e instanceof Error ? e : new Error(String(e))));
  return archive as unknown as Readable;
}

export interface ExtractOptions {
  /** Renames the archive's top entry (`from`) to `to`, for a copy to a new name. */
  rename?: { from: string; to: string };
  /** Extract `./...` entries (a directory's contents) into this new directory under the target. */
  into?: string;
}

/** Extracts a `cp` tar into `targetDir`; entries that would leave it are refused. */
export async function extractArchive(
  tar: Readable,
  targetDir: string,
  opts: ExtractOptions = {},
): Promise<void> {
  const reader = extract();
  const feeding = pipeline(tar, reader);
  const directoryTimes: { path: string; mtime: Date }[] = [];
  for await (const entry of reader) {
    const { header } = entry;
    let name = posix.normalize(header.name).replace(/\/+$/, '');
    if (opts.rename && (name === opts.rename.from || name.startsWith(`${opts.rename.from}/`))) {
      name = opts.rename.to + name.slice(opts.rename.from.length);
    }
    if (opts.into !== undefined) name = posix.join(opts.into, name);
    if (name.startsWith('/') || name === '..' || name.startsWith('../')) {
      entry.resume();
      throw new UsageError(`invalid archive entry "${header.name}": it would leave ${targetDir}`);
    }
    const path = join(targetDir, name);
    const mtime = header.mtime ?? new Date();
    if (header.type === 'directory') {
      await mkdir(path, { recursive: true });
      await chmod(path, header.mode ?? 0o755);
      directoryTimes.push({ path, mtime });
    } else if (header.type === 'symlink') {
      await rm(path, { force: true });
      await symlink(header.linkname ?? '', path);
    } else if (header.type === 'file' || header.type === 'contiguous-file') {
      await rm(path, { force: true });
      await pipeline(entry as unknown as Readable, createWriteStream(path, { mode: header.mode ?? 0o644 }));
      await chmod(path, header.mode ?? 0o644);
      await utimes(path, mtime, mtime);
      continue;
    }
    entry.resume();
  }
  await feeding;
  for (const { path, mtime } of directoryTimes.reverse()) await utimes(path, mtime, mtime);
}
