import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { listOpaqueDirs } from '../../platform/index.js';
import { packTree } from './tar-pack.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * An OCI layer tar of a container's overlay upper dir: overlay's whiteouts (0:0
 * character devices) become `.wh.<name>` entries and its opaque directories get a
 * `.wh..wh..opq` entry, so applying the layer on the same parents gives the same tree.
 */
export async function packUpperDir(upperDir: string): Promise<Readable> {
  const opaque = await listOpaqueDirs(upperDir);
  return packTree(upperDir, {
    name: '',
    decide: (relative, stats) => {
      if (!stats.isCharacterDevice() || stats.rdev !== 0) return { kind: 'entry' };
      const dir = posix.dirname(relative);
      const name = `${WHITEOUT_PREFIX}${posix.basename(relative)}`;
      return {
        kind: 'replace',
        header: {
          name: dir === '.' ? name : `${dir}/${name}`,
          type: 'file',
          size: 0,
          mode: 0o644,
          mtime: stats.mtime,
        },
      };
    },
    extraAfterDirectory: (relative) =>
      opaque.has(relative) ? [{ name: OPAQUE_MARKER, type: 'file', size: 0, mode: 0o644 }] : [],
  });
}
