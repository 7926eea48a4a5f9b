import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';

/** A partial download nobody resumed for this long is not worth its disk space. */
const STALE_AFTER_MS = 7 * 24 * 3600 * 1000;

/**
 * Bytes of layer downloads that broke off, one file per digest (`<dir>/<hex>`), kept so
 * the next attempt asks only for the rest. They live outside the content store: nothing
 * here is verified, and nothing here is ever read as a blob until the whole stream, this
 * prefix included, has matched its digest on its way into the store.
 */
export class PartialBlobs {
  private constructor(readonly dir: string) {}

  /** Opens (creating) `dir`, dropping partials older than a week. */
  static async open(dir: string): Promise<PartialBlobs> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (info !== undefined && now - info.mtimeMs > STALE_AFTER_MS) await rm(path, { force: true });
    }
    return new PartialBlobs(dir);
  }

  pathOf(digest: string): string {
    const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!match) throw new InvalidArgumentError(`invalid digest ${digest}`);
    return join(this.dir, match[1] as string);
  }

  /** Bytes already received for `digest`; 0 when none. */
  async sizeOf(digest: string): Promise<number> {
    try {
      return (await stat(this.pathOf(digest))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }
}
