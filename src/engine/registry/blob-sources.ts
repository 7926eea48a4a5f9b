import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../store/index.js';

/** A repository on a registry that is known to hold a blob. */
export interface BlobSource {
  /** The registry as references name it (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** The repository path on it (`library/busybox`). */
  repository: string;
}

/**
 * dockerd keeps a few per layer; more would only mean more failed mount attempts
 * when a registry has forgotten them.
 */
export const MAX_SOURCES_PER_BLOB = 5;

interface SourcesFile {
  sources: BlobSource[];
}

/**
 * Where each blob has been seen on registries, so a push can mount it from a repository
 * of the same registry instead of uploading it (dockerd's "v2 metadata service"). One
 * small JSON file per digest (`<dir>/<hex>.json`), newest source first, written
 * atomically: a crash leaves the old list or the new one. It is a hint, never a proof:
 * a registry that no longer has the blob just refuses the mount.
 */
export class BlobSources {
  /** Per digest, the last write queued, so concurrent updates of one file never lose each other. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  /** Opens (creating) `dir`, removing temp files a crash left. */
  static async open(dir: string): Promise<BlobSources> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeTempFiles(dir);
    return new BlobSources(dir);
  }

  /** Known sources of `digest`, newest first. */
  async sourcesOf(digest: string): Promise<BlobSource[]> {
    const file = await readJsonIfExists<SourcesFile>(this.pathOf(digest));
    return (file?.sources ?? []).filter(isBlobSource);
  }

  /** Remembers that `source` holds `digest`, as its newest source. */
  add(digest: string, source: BlobSource): Promise<void> {
    return this.update(digest, (sources) =>
      [source, ...sources.filter((s) => !isSame(s, source))].slice(0, MAX_SOURCES_PER_BLOB),
    );
  }

  /** Forgets `source` for `digest`: the registry said it does not hold it (any longer). */
  remove(digest: string, source: BlobSource): Promise<void> {
    return this.update(digest, (sources) => sources.filter((s) => !isSame(s, source)));
  }

  private update(digest: string, change: (sources: BlobSource[]) => BlobSource[]): Promise<void> {
    const path = this.pathOf(digest);
    const previous = this.writes.get(digest) ?? Promise.resolve();
    const write = previous
      // The previous write's failure was reported to its caller; this one starts afresh.
      .catch(() => undefined)
      .then(async () => {
        const before = await this.sourcesOf(digest);
        const after = change(before);
        if (after.length === before.length && after.every((s, i) => isSame(s, before[i]))) return;
        await writeJsonAtomic(path, { sources: after } satisfies SourcesFile);
      });
    this.writes.set(digest, write);
    const forget = () => {
      if (this.writes.get(digest) === write) this.writes.delete(digest);
    };
    write.then(forget, forget);
    return write;
  }

  private pathOf(digest: string): string {
    const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!match) throw new InvalidArgumentError(`invalid digest ${digest}`);
    return join(this.dir, `${match[1]}.json`);
  }
}

function isSame(a: BlobSource, b: BlobSource | undefined): boolean {
  return b !== undefined && a.host === b.host && a.repository === b.repository;
}

function isBlobSource(value: unknown): value is BlobSource {
  if (typeof value !== 'object' || value === null) return false;
  const { host, repository } = value as Record<string, unknown>;
  return typeof host === 'string' && typeof repository === 'string';
}
