import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../store/index.js';

/** One reusable step: the image it produced. */
export interface CacheEntry {
  imageId: string;
  /** RFC 3339 time the step ran. */
  created: string;
}

interface CacheFile {
  entries: Record<string, CacheEntry>;
}

/** What a step's result depends on; equal keys give the same image. */
export interface StepKey {
  /** The image the step starts from, `scratch` for none. */
  parent: string;
  /** The instruction after variable expansion, with its options. */
  instruction: string;
  /** Build args the step sees (RUN gets them as environment). */
  args: string[];
  /** Checksum of the files COPY/ADD read, '' otherwise. */
  files: string;
}

export function cacheKeyOf(step: StepKey): string {
  return createHash('sha256').update(JSON.stringify(step)).digest('hex');
}

/**
 * The build cache: step key -> image, in <data-root>/build/cache.json written
 * atomically after each new step, so it survives a restart (or a crash mid-build).
 */
export class BuildCache {
  private entries = new Map<string, CacheEntry>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

  static async open(dir: string): Promise<BuildCache> {
    const cache = new BuildCache(join(dir, 'cache.json'));
    const file = await readJsonIfExists<CacheFile>(cache.path);
    for (const [key, entry] of Object.entries(file?.entries ?? {})) cache.entries.set(key, entry);
    return cache;
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  async set(key: string, imageId: string): Promise<void> {
    this.entries.set(key, { imageId, created: new Date().toISOString() });
    await this.save();
  }

  async delete(key: string): Promise<void> {
    if (this.entries.delete(key)) await this.save();
  }

  list(): [string, CacheEntry][] {
    return [...this.entries];
  }

  /** Forgets every entry; returns their keys. */
  async clear(): Promise<string[]> {
    const keys = [...this.entries.keys()];
    this.entries.clear();
    await this.save();
    return keys;
  }

  private save(): Promise<void> {
    const file: CacheFile = { entries: Object.fromEntries(this.entries) };
    // One write at a time, each with the whole current map: the last one wins.
    this.writing = this.writing.catch(() => undefined).then(() => writeJsonAtomic(this.path, file));
    return this.writing;
  }
}
