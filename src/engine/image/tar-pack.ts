import { once } from 'node:events';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Pack, pack, type Header as TarHeader } from 'tar-stream';

/** A tar header as written: only the name is required. */
export type Header = Partial<TarHeader> & Pick<TarHeader, 'name'>;

/** What to write for one file met in the walk. */
export type PackDecision =
  | { kind: 'entry' }
  | { kind: 'skip' }
  /** Write this header (no data) instead, e.g. an OCI whiteout for overlay's whiteout device. */
  | { kind: 'replace'; header: Header };

export interface PackOptions {
  /** Name of `source` itself in the archive; '' packs a directory's contents without an entry for it. */
  name: string;
  /** Decides per file (relative path from `source`, `''` for itself); everything is written by default. */
  decide?: (relative: string, stats: Stats) => PackDecision;
  /** Extra entries written right after a directory's own entry (opaque markers). */
  extraAfterDirectory?: (relative: string) => Header[];
  /** Owner written for every entry instead of the file's. */
  owner?: { uid: number; gid: number };
}

/**
 * A tar stream of the tree at `source` (a directory, file or symlink, never followed),
 * read lazily as the consumer pulls. Hardlinked files after the first become link
 * entries; sockets are left out, as tar does. Walk errors destroy the stream.
 */
export function packTree(source: string, opts: PackOptions): Readable {
  const archive = pack();
  const seenInodes = new Map<string, string>();
  const write = async (path: string, relative: string, stats: Stats): Promise<void> => {
    const decision = opts.decide?.(relative, stats) ?? { kind: 'entry' };
    if (decision.kind === 'skip') return;
    const name = joinName(opts.name, relative);
    if (decision.kind === 'replace') {
      await addEntry(archive, { ...decision.header, name: joinName(opts.name, decision.header.name) });
      return;
    }
    const base: Header = {
      name,
      mode: stats.mode & 0o7777,
      uid: opts.owner?.uid ?? stats.uid,
      gid: opts.owner?.gid ?? stats.gid,
      mtime: stats.mtime,
    };
    if (stats.isDirectory()) {
      if (name !== '') await addEntry(archive, { ...base, name: `${name}/`, type: 'directory' });
      for (const extra of opts.extraAfterDirectory?.(relative) ?? []) {
        await addEntry(archive, { ...extra, name: joinName(name, extra.name) });
      }
      const children = (await readdir(path)).sort();
      for (const child of children) {
        const childPath = join(path, child);
        await write(childPath, relative === '' ? child : `${relative}/${child}`, await lstat(childPath));
      }
      return;
    }
    if (stats.isSocket()) return;
    const inode = `${stats.dev}:${stats.ino}`;
    const first = stats.nlink > 1 ? seenInodes.get(inode) : undefined;
    if (first !== undefined) {
      await addEntry(archive, { ...base, type: 'link', linkname: first });
      return;
    }
    if (stats.nlink > 1) seenInodes.set(inode, name);
    if (stats.isSymbolicLink()) {
      await addEntry(archive, { ...base, type: 'symlink', linkname: await readlink(path) });
    } else if (stats.isFile()) {
      await addFileEntry(archive, { ...base, type: 'file', size: stats.size }, path);
    } else if (stats.isCharacterDevice() || stats.isBlockDevice()) {
      await addEntry(archive, {
        ...base,
        type: stats.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: Math.floor(stats.rdev / 256) & 0xfff,
        devminor: (stats.rdev & 0xff) | ((stats.rdev >> 12) & 0xfff00),
      });
    } else if (stats.isFIFO()) {
      await addEntry(archive, { ...base, type: 'fifo' });
    }
  };
  void (async () => {
    await write(source, '', await lstat(source));
    archive.finalize();
  })().catch((e: unknown) => archive.destroy(e instanceof Error ? e : new Error(String(e))));
  return archive as unknown as Readable;
}

function joinName(prefix: string, relative: string): string {
  if (prefix === '') return relative;
  if (relative === '') return prefix;
  return `${prefix}/${relative}`;
}

/** An entry without data. tar-stream waits for a file entry's data, so an empty file gets an empty buffer. */
function addEntry(archive: Pack, header: Header): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error | null) => (e ? reject(e) : resolve());
    if (header.type === 'file' || header.type === undefined) archive.entry(header, Buffer.alloc(0), done);
    else archive.entry(header, done);
  });
}

async function addFileEntry(archive: Pack, header: Header & { size: number }, path: string): Promise<void> {
  if (header.size === 0) {
    await addEntry(archive, header);
    return;
  }
  let finished: (e?: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finished = (e) => (e ? reject(e) : resolve());
  });
  const entry = archive.entry(header, finished);
  // Exactly the size in the header: a file that grows while a live container writes stays a valid entry.
  for await (const chunk of createReadStream(path, { start: 0, end: header.size - 1 })) {
    if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
  }
  entry.end(Buffer.alloc(0));
  await done;
}
