import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import {
  chmod,
  type FileHandle,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { InvalidArgumentError } from '../../api/index.js';
import { run } from '../../platform/index.js';
import { asArchiveError } from './tar-io.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
// As Linux's own limit on symlinks followed in one lookup.
const MAX_LINKS_FOLLOWED = 40;
const WRITE_CHUNK_BYTES = 1024 * 1024;
/**
 * Regular files up to this size are read into memory and written in the background while
 * the tar reads on, this many at once: a layer or context of many small files is bound
 * by file-system calls, which run in parallel on libuv's threads but not one after another.
 */
const BACKGROUND_FILE_BYTES = 1024 * 1024;
const MAX_BACKGROUND_WRITES = 32;

/**
 * Extracts an uncompressed layer tar into `root`, the merged view of an overlay whose
 * upper dir is the new layer. OCI whiteouts become real deletions there, so overlay
 * writes its own whiteouts and opaque markers into the upper dir.
 *
 * Nothing is written outside `root`: `..` and absolute entry names, symlinks whose
 * relative target climbs out and hardlinks pointing out are rejected; symlinks met in
 * parent directories are resolved as if `root` were `/`. `what` names the layer in errors.
 */
export async function applyLayerTar(
  tar: Readable,
  root: string,
  what: string,
  opts: ApplyOptions = {},
): Promise<void> {
  const applier = new LayerApplier(root, what, opts);
  const reader = extract();
  const feeding = pipeline(tar, reader);
  try {
    for await (const entry of reader) {
      // streamx readables are async iterable at run time; their typings do not say so.
      await applier.apply(entry.header, entry as unknown as AsyncIterable<Uint8Array>);
      // Whatever the entry type, its data must be drained before the next header.
      entry.resume();
    }
    await feeding;
    await applier.finish();
  } catch (e) {
    tar.destroy();
    reader.destroy();
    // The parse error, if that is what failed, already surfaced through the iterator.
    await feeding.catch(() => undefined);
    // Nothing may still be writing when the caller cleans up after the failure.
    await applier.settle();
    throw asArchiveError(e, what);
  }
}

/** How `docker cp` extracts, where a layer's rules differ. */
export interface ApplyOptions {
  /** Directory (components relative to root, symlinks already resolved) the entries are relative to. */
  under?: readonly string[];
  /** Owner of every extracted file instead of the one in the tar. */
  owner?: { uid: number; gid: number };
  /** `.wh.` names are ordinary files, not whiteouts. */
  plainNames?: boolean;
  /** Refuse to replace a directory with a non-directory or the reverse (Docker's noOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
  /**
   * Told of every path an entry writes, with the sha256 (hex) of its content for a regular
   * file and undefined for anything else: a build hashes its context while unpacking it.
   */
  onWritten?: (path: string, contentDigest: string | undefined) => void;
}

class LayerApplier {
  /** Paths (relative to root, resolved) this layer wrote; an opaque dir keeps only these. */
  private readonly written = new Set<string>();
  /** Directory mtimes are set last: creating their children would change them again. */
  private readonly directoryTimes: { path: string; mtime: Date }[] = [];
  /** Small files being written in the background, by absolute path. */
  private readonly writes = new Map<string, Promise<void>>();
  private writeError: unknown;
  /**
   * Directory lookups already resolved (key: the entry's parent components), valid until
   * something other than a new file or directory changes the tree: then it is cleared.
   */
  private readonly resolvedDirectories = new Map<string, string[]>();

  constructor(
    private readonly root: string,
    private readonly what: string,
    private readonly opts: ApplyOptions = {},
  ) {}

  async apply(header: Header, data: AsyncIterable<Uint8Array>): Promise<void> {
    const parts = [...(this.opts.under ?? []), ...this.entryParts(header.name)];
    if (parts.length === (this.opts.under?.length ?? 0)) return; // the layer's own root: keep the snapshot's
    if (this.writeError !== undefined) throw this.writeError;
    const base = parts[parts.length - 1] as string;
    const parent = await this.resolveDirectory(parts.slice(0, -1), true);

    if (!this.opts.plainNames && base === OPAQUE_MARKER) {
      await this.settleWrites();
      this.resolvedDirectories.clear();
      await this.makeOpaque(parent);
      return;
    }
    if (!this.opts.plainNames && base.startsWith(WHITEOUT_PREFIX)) {
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === '' || victim === '.' || victim === '..')
        throw this.invalid(`invalid whiteout "${header.name}"`);
      await this.settleWrites();
      this.resolvedDirectories.clear();
      await rm(join(this.root, ...parent, victim), { recursive: true, force: true });
      return;
    }

    const relative = [...parent, base].join('/');
    const path = join(this.root, relative);
    const type = header.type ?? 'file';
    await this.writes.get(path);
    await this.clearFor(path, type === 'directory', header.name);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const isRegular = type === 'file' || type === 'contiguous-file';
    if (!isRegular) this.opts.onWritten?.(path, undefined);

    if (isRegular && (header.size ?? 0) <= BACKGROUND_FILE_BYTES) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of data) chunks.push(chunk);
      const content = Buffer.concat(chunks);
      const { onWritten } = this.opts;
      if (onWritten) onWritten(path, createHash('sha256').update(content).digest('hex'));
      this.written.add(relative);
      await this.writeInBackground(path, content, header, mode);
      return;
    }

    switch (type) {
      case 'file':
      case 'contiguous-file': {
        const handle = await createCleared(path);
        const hash = this.opts.onWritten ? createHash('sha256') : undefined;
        const hashed = async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash?.update(chunk);
            yield chunk;
          }
        };
        // Large writes: a layer's big files would otherwise go to disk 16 KiB at a time.
        await pipeline(data, hashed, handle.createWriteStream({ highWaterMark: WRITE_CHUNK_BYTES }));
        if (hash) this.opts.onWritten?.(path, hash.digest('hex'));
        break;
      }
      case 'directory':
        await mkdir(path, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        break;
      case 'symlink': {
        const target = header.linkname ?? '';
        if (target === '') throw this.invalid(`symlink "${header.name}" has no target`);
        // Docker's rule: a relative target may not climb above the layer's root.
        if (!target.startsWith('/') && escapesRoot(posix.join(posix.dirname(parts.join('/')), target))) {
          throw this.invalid(`symlink "${header.name}" -> "${target}" escapes the root`);
        }
        await symlink(target, path);
        // Lookups through this name now lead elsewhere.
        this.resolvedDirectories.clear();
        break;
      }
      case 'link': {
        const targetName = header.linkname ?? '';
        const targetParts = [
          ...(this.opts.under ?? []),
          ...this.entryParts(targetName.replace(/^\/+/, ''), 'hardlink target'),
        ];
        if (targetParts.length === (this.opts.under?.length ?? 0))
          throw this.invalid(`hardlink "${header.name}" -> "${targetName}" escapes the root`);
        const targetParent = await this.resolveDirectory(targetParts.slice(0, -1), false);
        const targetPath = join(this.root, ...targetParent, targetParts[targetParts.length - 1] as string);
        await this.writes.get(targetPath);
        const targetStat = await lstat(targetPath).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT')
            throw this.invalid(`hardlink "${header.name}" -> "${targetName}": no such file`);
          throw e;
        });
        if (targetStat.isDirectory())
          throw this.invalid(`hardlink "${header.name}" -> "${targetName}" is a directory`);
        await link(targetPath, path);
        this.written.add(relative);
        return; // a hardlink shares its target's metadata
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await makeSpecialFile(path, type, mode, header.devmajor ?? 0, header.devminor ?? 0);
        break;
      default:
        // pax and GNU long-name records are consumed by tar-stream; other types carry no file.
        return;
    }
    this.written.add(relative);

    await lchown(path, this.opts.owner?.uid ?? header.uid ?? 0, this.opts.owner?.gid ?? header.gid ?? 0);
    const mtime = header.mtime ?? new Date(0);
    if (type === 'symlink') {
      await lutimes(path, mtime, mtime);
      return;
    }
    // chmod after chown: chown clears setuid and setgid bits.
    await chmod(path, mode);
    if (type === 'directory') this.directoryTimes.push({ path, mtime });
    else await lutimes(path, mtime, mtime);
  }

  async finish(): Promise<void> {
    await this.settleWrites();
    if (this.writeError !== undefined) throw this.writeError;
    for (const { path, mtime } of this.directoryTimes.reverse()) await lutimes(path, mtime, mtime);
  }

  /** Waits for every background write, whatever its outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }

  private async settleWrites(): Promise<void> {
    await this.settle();
    if (this.writeError !== undefined) throw this.writeError;
  }

  /** Writes a cleared path's file without holding up the tar; waits only for a free slot. */
  private async writeInBackground(
    path: string,
    content: Buffer,
    header: Header,
    mode: number,
  ): Promise<void> {
    while (this.writes.size >= MAX_BACKGROUND_WRITES) await Promise.race(this.writes.values());
    if (this.writeError !== undefined) throw this.writeError;
    const write = this.writeFile(path, content, header, mode)
      .catch((e: unknown) => {
        this.writeError ??= e;
      })
      .finally(() => this.writes.delete(path));
    this.writes.set(path, write);
  }

  private async writeFile(path: string, content: Buffer, header: Header, mode: number): Promise<void> {
    const handle = await createCleared(path);
    try {
      if (content.length > 0) await handle.writeFile(content);
      await handle.chown(this.opts.owner?.uid ?? header.uid ?? 0, this.opts.owner?.gid ?? header.gid ?? 0);
      // chmod after chown: chown clears setuid and setgid bits.
      await handle.chmod(mode);
      const mtime = header.mtime ?? new Date(0);
      await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
  }

  /** Splits a tar name into clean components; `..` anywhere or a leading `/` is an escape. */
  private entryParts(name: string, kind = 'path'): string[] {
    if (name.startsWith('/')) throw this.invalid(`${kind} "${name}" is absolute`);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.invalid(`${kind} "${name}" escapes the root`);
    if (parts.some((p) => p.includes('\0'))) throw this.invalid(`${kind} "${name}" contains a NUL byte`);
    return parts;
  }

  /**
   * Resolves directory components inside the root, following symlinks as if the root
   * were `/` (an absolute target restarts at the root, `..` stops there), so no path
   * leaves it. Missing directories are made when `create`, as tar does for parents.
   * Returns the resolved components, none of them a symlink.
   */
  private async resolveDirectory(parts: readonly string[], create: boolean): Promise<string[]> {
    const key = parts.join('/');
    const known = create ? this.resolvedDirectories.get(key) : undefined;
    if (known !== undefined) return known;
    const resolved = await this.lookUpDirectory(parts, create);
    if (create) this.resolvedDirectories.set(key, resolved);
    return resolved;
  }

  private async lookUpDirectory(parts: readonly string[], create: boolean): Promise<string[]> {
    const resolved: string[] = [];
    const pending = [...parts];
    let linksFollowed = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const path = join(this.root, ...resolved, part);
      // A file of this layer still being written there is what a lookup must find.
      await this.writes.get(path);
      let stats: Awaited<ReturnType<typeof lstat>>;
      try {
        stats = await lstat(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw e;
        await mkdir(path, { mode: 0o755 });
        resolved.push(part);
        continue;
      }
      if (stats.isSymbolicLink()) {
        if (++linksFollowed > MAX_LINKS_FOLLOWED)
          throw this.invalid(`too many levels of symbolic links in "${parts.join('/')}"`);
        const target = await readlink(path);
        if (target.startsWith('/')) resolved.length = 0;
        pending.unshift(...target.split('/'));
        continue;
      }
      if (!stats.isDirectory()) throw this.invalid(`"${[...resolved, part].join('/')}" is not a directory`);
      resolved.push(part);
    }
    return resolved;
  }

  /** Removes what is at `path` unless both it and the new entry are directories (then they merge). */
  private async clearFor(path: string, isDirectory: boolean, name: string): Promise<void> {
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (this.opts.noOverwriteDirNonDir && stats.isDirectory() !== isDirectory) {
      const at = `/${path.slice(this.root.length).replace(/^\/+/, '')}`;
      throw new InvalidArgumentError(
        stats.isDirectory()
          ? `cannot overwrite directory "${at}" with non-directory "${name}"`
          : `cannot overwrite non-directory "${at}" with directory "${name}"`,
      );
    }
    if (stats.isDirectory()) {
      if (!isDirectory) {
        await rm(path, { recursive: true });
        this.resolvedDirectories.clear();
      }
    } else {
      await unlink(path);
    }
  }

  /** Hides what lower layers have in the directory; what this layer put there stays. */
  private async makeOpaque(dir: readonly string[]): Promise<void> {
    const prefix = dir.length === 0 ? '' : `${dir.join('/')}/`;
    const path = join(this.root, ...dir);
    for (const name of await readdir(path)) {
      if (!this.written.has(prefix + name)) await rm(join(path, name), { recursive: true });
    }
  }

  private invalid(detail: string): InvalidArgumentError {
    return new InvalidArgumentError(`${this.what}: ${detail}`);
  }
}

/** Creates a file at a path just cleared: O_EXCL|O_NOFOLLOW, as anything there now is not ours to follow. */
function createCleared(path: string): Promise<FileHandle> {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
}

function escapesRoot(normalized: string): boolean {
  return normalized === '..' || normalized.startsWith('../');
}

// Node has no mknod(2); coreutils' mknod is on every Debian system.
async function makeSpecialFile(
  path: string,
  type: 'character-device' | 'block-device' | 'fifo',
  mode: number,
  major: number,
  minor: number,
): Promise<void> {
  const modeText = mode.toString(8);
  if (type === 'fifo') await run('mknod', ['-m', modeText, path, 'p']);
  else
    await run('mknod', [
      '-m',
      modeText,
      path,
      type === 'character-device' ? 'c' : 'b',
      String(major),
      String(minor),
    ]);
}
