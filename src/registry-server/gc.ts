/**
 * `berth registry gc`: deletes blobs no manifest references.
 *
 * It runs beside a serving registry without a shared lock. The server marks every blob it
 * links, mounts or names in a pushed manifest as fresh (mtime = now), and gc spares blobs
 * fresher than the grace period, so a push in flight never loses a blob it is about to
 * reference; a manifest push also re-checks its blobs after linking itself (storage.ts).
 * Uploads in progress live under uploads/, outside gc's reach, until they are older than
 * `uploadTtlMs` without a write.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonIfExists } from '../store/index.js';
import { parseManifest } from './manifest.js';
import { type Digest, formatDigest, isAlgorithm } from './names.js';
import type { RegistryStorage } from './storage.js';

export interface GcOptions {
  /** Unreferenced blobs younger than this stay (default one hour). */
  graceMs: number;
  /** Uploads untouched for this long are removed (default one week). */
  uploadTtlMs: number;
  dryRun?: boolean;
}

export interface GcReport {
  kept: number;
  deleted: string[];
  bytesFreed: number;
  uploadsRemoved: number;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Every repository dir with its manifests' digests. */
async function* revisions(reposDir: string): AsyncGenerator<{ repo: string; digest: Digest }> {
  const stack = [reposDir];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    for (const entry of await entries(dir)) {
      if (entry === '_manifests') {
        const revDir = join(dir, entry, 'revisions');
        for (const algorithm of await entries(revDir)) {
          if (!isAlgorithm(algorithm)) continue;
          for (const hex of await entries(join(revDir, algorithm))) {
            if (!hex.startsWith('.')) yield { repo: dir, digest: { algorithm, hex } };
          }
        }
      } else if (!entry.startsWith('_') && !entry.startsWith('.')) {
        if ((await stat(join(dir, entry))).isDirectory()) stack.push(join(dir, entry));
      }
    }
  }
}

export async function collectGarbage(storage: RegistryStorage, opts: GcOptions): Promise<GcReport> {
  const report: GcReport = { kept: 0, deleted: [], bytesFreed: 0, uploadsRemoved: 0 };
  const now = Date.now();
  const marked = new Set<string>();
  for await (const { repo, digest } of revisions(storage.repositoriesDir())) {
    marked.add(formatDigest(digest));
    let bytes: Buffer;
    try {
      bytes = await readFile(storage.blobPath(digest));
    } catch (e) {
      // A manifest link whose content is gone keeps nothing alive.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const link = await readJsonIfExists<{ mediaType?: string }>(
      join(repo, '_manifests', 'revisions', digest.algorithm, digest.hex),
    );
    // A stored manifest was checked when pushed; one that no longer parses is damage,
    // and gc stops rather than guess which blobs it needs.
    for (const blob of parseManifest(bytes, link?.mediaType ?? '').blobs) marked.add(blob);
  }

  for (const algorithm of await entries(storage.blobsDir())) {
    const dir = join(storage.blobsDir(), algorithm);
    for (const name of await entries(dir)) {
      const path = join(dir, name);
      const info = await stat(path);
      const fresh = now - info.mtimeMs < opts.graceMs;
      if (name.startsWith('.tmp-')) {
        // A write a crash interrupted; never visible under a digest name.
        if (!fresh && opts.dryRun !== true) await rm(path, { force: true });
        continue;
      }
      if (marked.has(`${algorithm}:${name}`) || fresh) {
        report.kept++;
        continue;
      }
      report.deleted.push(`${algorithm}:${name}`);
      report.bytesFreed += info.size;
      if (opts.dryRun !== true) await rm(path, { force: true });
    }
  }

  for (const id of await entries(storage.uploadsDir())) {
    const dir = join(storage.uploadsDir(), id);
    const data = await stat(join(dir, 'data')).catch(() => stat(dir));
    if (now - data.mtimeMs < opts.uploadTtlMs) continue;
    report.uploadsRemoved++;
    if (opts.dryRun !== true) await rm(dir, { recursive: true, force: true });
  }
  return report;
}
