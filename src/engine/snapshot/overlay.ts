import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, ConflictError, NotFoundError } from '../../api/index.js';
import { isMountPoint, listMounts, mountOverlay, unmount } from '../../platform/index.js';
import { readJsonIfExists, writeJsonAtomic } from '../../store/index.js';

/** A committed, read-only layer: the unpacked diff of one image layer, keyed by its chain id. */
export interface LayerSnapshot {
  kind: 'layer';
  chainId: string;
  /** Chain id of the layer below, or null for a base layer. */
  parent: string | null;
  /** Bytes in the layer's own dir (its diff, not the whole stack). */
  size: number;
}

/** A container's writable layer on top of a chain of layers. */
export interface ActiveSnapshot {
  kind: 'active';
  key: string;
  /** Chain id of the top image layer, or null for an image without layers. */
  parent: string | null;
}

type SnapshotInfo = LayerSnapshot | ActiveSnapshot;

/** A layer being unpacked: invisible until committed, gone without a trace when discarded. */
export interface PendingLayer {
  readonly chainId: string;
  readonly size: number;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

const INFO_FILE = 'info.json';
const TEMP_PREFIX = 'tmp-';
const EMPTY_DIR = 'empty';

/**
 * Overlay snapshots under `<data root>/snapshots`:
 *   `<12 hex>/{fs,work,info.json}`  committed layers and active (container) layers
 *   `tmp-<hex>/`                    layers being unpacked; removed at open
 *   `empty/`                        the lower dir for images without layers
 * Dir names are 12 hex characters so a 100-layer lowerdir option stays far below
 * the page-size limit; mounts run with the snapshots dir as working directory and
 * pass relative paths.
 */
export class OverlaySnapshotter {
  private readonly snapshots = new Map<string, SnapshotInfo>();
  /** Layers unpacked but not yet committed, by chain id; later layers of the same load stand on them. */
  private readonly pending = new Map<string, { dirName: string; parent: string | null }>();

  private constructor(readonly root: string) {}

  /** Opens the snapshotter, unmounting and removing what an interrupted unpack left. */
  static async open(root: string): Promise<OverlaySnapshotter> {
    const snapshotter = new OverlaySnapshotter(root);
    await mkdir(join(root, EMPTY_DIR), { recursive: true });
    for (const mount of await listMounts()) {
      if (mount.target.startsWith(join(root, TEMP_PREFIX))) await unmount(mount.target);
    }
    for (const name of await readdir(root)) {
      if (name.startsWith(TEMP_PREFIX)) {
        await rm(join(root, name), { recursive: true, force: true });
        continue;
      }
      if (name === EMPTY_DIR) continue;
      const info = await readJsonIfExists<SnapshotInfo>(join(root, name, INFO_FILE));
      // info.json is written before the rename that publishes a snapshot, so a dir without it is debris.
      if (info === undefined) await rm(join(root, name), { recursive: true, force: true });
      else snapshotter.snapshots.set(snapshotDirName(info), info);
    }
    return snapshotter;
  }

  hasLayer(chainId: string): boolean {
    return this.pending.has(chainId) || this.layer(chainId) !== undefined;
  }

  layer(chainId: string): LayerSnapshot | undefined {
    const info = this.snapshots.get(layerDirName(chainId));
    return info?.kind === 'layer' && info.chainId === chainId ? info : undefined;
  }

  layers(): LayerSnapshot[] {
    return [...this.snapshots.values()].filter((s): s is LayerSnapshot => s.kind === 'layer');
  }

  actives(): ActiveSnapshot[] {
    return [...this.snapshots.values()].filter((s): s is ActiveSnapshot => s.kind === 'active');
  }

  /**
   * Unpacks a layer: mounts an overlay of the parent chain with a fresh upper dir and
   * lets `unpack` write into the merged view. The result stays pending (invisible to
   * open) until committed.
   */
  async unpackLayer(
    chainId: string,
    parent: string | null,
    unpack: (mergedDir: string) => Promise<void>,
  ): Promise<PendingLayer> {
    if (this.hasLayer(chainId)) throw new ConflictError(`layer ${chainId} already exists`);
    const lowerDirs = this.lowerDirsOf(parent);
    const dirName = `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`;
    const dir = join(this.root, dirName);
    const merged = join(dir, 'mnt');
    try {
      await mkdir(dir);
      await mkdir(join(dir, 'fs'));
      await mkdir(join(dir, 'work'));
      await mkdir(merged);
      await mountOverlay(merged, {
        lowerDirs,
        upperDir: `${dirName}/fs`,
        workDir: `${dirName}/work`,
        cwd: this.root,
      });
      try {
        await unpack(merged);
      } finally {
        await unmount(merged);
      }
      await rmdir(merged);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const info: LayerSnapshot = { kind: 'layer', chainId, parent, size: await diskUsage(join(dir, 'fs')) };
    this.pending.set(chainId, { dirName, parent });
    return {
      chainId,
      size: info.size,
      commit: async () => {
        await writeJsonAtomic(join(dir, INFO_FILE), info);
        await rename(dir, join(this.root, layerDirName(chainId)));
        this.pending.delete(chainId);
        this.snapshots.set(layerDirName(chainId), info);
      },
      discard: async () => {
        this.pending.delete(chainId);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /** Removes a committed layer. The caller knows no image or active snapshot stands on it. */
  async removeLayer(chainId: string): Promise<void> {
    if (!this.layer(chainId)) return;
    const dirName = layerDirName(chainId);
    // Drop the info first: a crash midway then leaves debris that open() removes, not a half layer.
    await rm(join(this.root, dirName, INFO_FILE), { force: true });
    await rm(join(this.root, dirName), { recursive: true, force: true });
    this.snapshots.delete(dirName);
  }

  /** Makes an empty writable layer for `key` on top of `parent` (a chain id, or null). */
  async createActive(key: string, parent: string | null): Promise<void> {
    const dirName = activeDirName(key);
    if (this.snapshots.has(dirName)) throw new ConflictError(`rootfs for ${key} already exists`);
    if (parent !== null && !this.layer(parent)) throw new NotFoundError(`layer ${parent} not found`);
    const temp = join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const info: ActiveSnapshot = { kind: 'active', key, parent };
    try {
      await mkdir(join(temp, 'fs'), { recursive: true });
      await mkdir(join(temp, 'work'));
      await writeJsonAtomic(join(temp, INFO_FILE), info);
      await rename(temp, join(this.root, dirName));
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
    this.snapshots.set(dirName, info);
  }

  /** Mounts the active layer of `key` on `target`; a target that is already a mount point is left as is. */
  async mountActive(key: string, target: string): Promise<void> {
    const info = this.active(key);
    await mkdir(target, { recursive: true });
    if (await isMountPoint(target)) return;
    const dirName = activeDirName(key);
    await mountOverlay(target, {
      lowerDirs: this.lowerDirsOf(info.parent),
      upperDir: `${dirName}/fs`,
      workDir: `${dirName}/work`,
      cwd: this.root,
    });
  }

  /** Removes the active layer of `key`; removing one that does not exist is not an error. */
  async removeActive(key: string): Promise<void> {
    const dirName = activeDirName(key);
    if (!this.snapshots.has(dirName)) return;
    const mounted = (await listMounts()).find(
      (m) => m.type === 'overlay' && m.options.includes(`upperdir=${dirName}/fs`),
    );
    if (mounted) throw new ConflictError(`rootfs of ${key} is still mounted on ${mounted.target}`);
    await rm(join(this.root, dirName, INFO_FILE), { force: true });
    await rm(join(this.root, dirName), { recursive: true, force: true });
    this.snapshots.delete(dirName);
  }

  /** Bytes written to the active layer of `key`. */
  async activeSize(key: string): Promise<number> {
    this.active(key);
    return diskUsage(join(this.root, activeDirName(key), 'fs'));
  }

  /** Absolute paths of the active layer of `key`: its upper dir, and the layers below, top first. */
  activeLayout(key: string): { upperDir: string; lowerDirs: string[] } {
    const info = this.active(key);
    return {
      upperDir: join(this.root, activeDirName(key), 'fs'),
      lowerDirs: this.lowerDirsOf(info.parent).map((dir) => join(this.root, dir)),
    };
  }

  /** Chain ids from `top` down to the base layer. */
  chainOf(top: string | null): string[] {
    const chain: string[] = [];
    let current = top;
    while (current !== null) {
      chain.push(current);
      const info = this.layer(current);
      if (!info) {
        if (this.pending.has(current)) throw new BerthError(`layer ${current} is not committed`);
        throw new NotFoundError(`layer ${current} not found`);
      }
      current = info.parent;
    }
    return chain;
  }

  private active(key: string): ActiveSnapshot {
    const info = this.snapshots.get(activeDirName(key));
    if (info?.kind !== 'active' || info.key !== key) throw new NotFoundError(`no rootfs for ${key}`);
    return info;
  }

  /** Relative lower dirs, top first; pending layers (unpacked earlier in the same load) count. */
  private lowerDirsOf(top: string | null): string[] {
    if (top === null) return [EMPTY_DIR];
    const dirs: string[] = [];
    let current: string | null = top;
    while (current !== null) {
      const pendingLayer = this.pending.get(current);
      if (pendingLayer) {
        dirs.push(`${pendingLayer.dirName}/fs`);
        current = pendingLayer.parent;
        continue;
      }
      const info = this.layer(current);
      if (!info) throw new NotFoundError(`layer ${current} not found`);
      dirs.push(`${layerDirName(current)}/fs`);
      current = info.parent;
    }
    return dirs;
  }
}

function shortHex(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function layerDirName(chainId: string): string {
  return shortHex(`layer:${chainId}`);
}

function activeDirName(key: string): string {
  return shortHex(`active:${key}`);
}

function snapshotDirName(info: SnapshotInfo): string {
  return info.kind === 'layer' ? layerDirName(info.chainId) : activeDirName(info.key);
}

/** Bytes in a tree, counting each inode once, as `du --apparent-size` does. */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      const stats = await lstat(child);
      if (stats.isDirectory()) {
        await walk(child);
        continue;
      }
      const inode = `${stats.dev}:${stats.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
      total += stats.size;
    }
  };
  await walk(dir);
  return total;
}
