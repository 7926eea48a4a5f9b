import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError } from '../../api/index.js';
import { syncDir } from '../../store/index.js';
import { DigestPassThrough, hexOf, sha256Of } from './tar-io.js';

/** A file written under ingest/, not yet visible as a blob. */
export interface IngestedFile {
  path: string;
  digest: string;
  size: number;
}

/**
 * Content-addressed blobs under `content/blobs/sha256/<hex>`. Data is written to
 * `content/ingest/` first and renamed into place only once its digest is known and
 * checked, so a visible blob is always whole and correct.
 */
export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  private constructor(root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  /** Opens the store under `root` (the data root's content/), discarding ingests a crash left. */
  static async open(root: string): Promise<ContentStore> {
    const store = new ContentStore(root);
    await mkdir(store.blobsDir, { recursive: true });
    await rm(store.ingestDir, { recursive: true, force: true });
    await mkdir(store.ingestDir, { recursive: true });
    return store;
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${digest} not found`);
      throw e;
    }
  }

  openRead(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.blobPath(digest))).size;
  }

  /** A fresh path under ingest/ for a caller that stages several files (an archive being loaded). */
  async makeIngestDir(): Promise<string> {
    const dir = join(this.ingestDir, randomBytes(8).toString('hex'));
    await mkdir(dir);
    return dir;
  }

  /** Writes a stream to ingest/, hashing it on the way. */
  async ingest(source: Readable, signal?: AbortSignal): Promise<IngestedFile> {
    const path = join(this.ingestDir, randomBytes(8).toString('hex'));
    const hasher = new DigestPassThrough();
    try {
      await pipeline(source, hasher, createWriteStream(path, { flags: 'wx' }), signal ? { signal } : {});
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { path, digest: hasher.digest(), size: hasher.bytes };
  }

  async ingestBytes(data: Uint8Array): Promise<IngestedFile> {
    const path = join(this.ingestDir, randomBytes(8).toString('hex'));
    await writeAndSync(path, data);
    return { path, digest: sha256Of(data), size: data.length };
  }

  /**
   * Makes an ingested file the blob `expected`. The digest was computed while the data
   * was written; a mismatch is the caller's bad input. fsync before rename, so a blob
   * that survives a crash has its data.
   */
  async commit(file: IngestedFile, expected: string): Promise<void> {
    if (file.digest !== expected) {
      throw new InvalidArgumentError(`digest mismatch: expected ${expected}, got ${file.digest}`);
    }
    if (await this.has(expected)) {
      await rm(file.path, { force: true });
      return;
    }
    const handle = await open(file.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(file.path, this.blobPath(expected));
    await syncDir(this.blobsDir);
  }

  async remove(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** Digests of every visible blob. */
  async list(): Promise<string[]> {
    const names = await readdir(this.blobsDir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

async function writeAndSync(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
