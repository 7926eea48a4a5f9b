import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Stats } from 'node:fs';
import { lstat, mkdir, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerConfig, ContainerStatus, HostConfig, ImageRuntimeConfig } from '../../api/index.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  messageOf,
  NotFoundError,
} from '../../api/index.js';
import type { EventSink } from '../events.js';
import {
  applyLayerTar,
  type ImageRecord,
  type ImageService,
  packTree,
  type RootfsService,
} from '../image/index.js';
import type { ContainerRuntime } from '../runtime/index.js';
import { type ControllerMounts, cgroupProcs, readControllerMounts } from './cgroups.js';
import { type Change, listChanges } from './changes.js';
import { followsLast, resolveScoped } from './scoped-path.js';
import { type ResourceSample, sampleResources } from './stats.js';
import { listProcesses, type ProcessTable } from './top.js';

/** What these operations read of a container record (the engine's ContainerView has it). */
export interface ContainerView {
  id: string;
  /** With the leading slash. */
  name: string;
  imageId: string;
  imageRef: string;
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: { status: ContainerStatus; pid: number };
}

export interface ContainerOpsDeps {
  /** Finds a container by id, name or unique prefix; NotFoundError otherwise. */
  containers: { get(ref: string): ContainerView; isRunning(ref: string): boolean };
  /** Where a running container's root filesystem is mounted (its bundle's rootfs/). */
  rootfsPathOf: (containerId: string) => string;
  images: Pick<ImageService, 'commit'>;
  rootfs: RootfsService;
  runtime: Pick<ContainerRuntime, 'pause' | 'resume'>;
  events: EventSink;
  log: { error(details: object, message: string): void };
  /** cgroupfs parent of every container's cgroup, e.g. `/berth`. */
  cgroupParent: string;
  /** Where stopped containers' root filesystems are mounted while an operation reads or writes them. */
  scratchDir: string;
}

/** One stats reading; `sample` is undefined while the container does not run. */
export interface StatsReading {
  id: string;
  name: string;
  sample: ResourceSample | undefined;
}

/** What `HEAD /containers/{id}/archive` reports about a path. */
export interface PathStat {
  name: string;
  size: number;
  /** Node's lstat mode bits (type and permissions). */
  mode: number;
  mtime: Date;
  /** For a symlink, where it leads inside the container; '' otherwise. */
  linkTarget: string;
}

export interface CommitRequest {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** Freeze the container while its layer is read (Docker's default). */
  pause?: boolean;
  /** Overrides of the container's config for the image. */
  config?: ImageRuntimeConfig;
}

export interface PutArchiveOptions {
  noOverwriteDirNonDir?: boolean;
  /** Keep the tar's owners instead of making root own everything. */
  copyUidGid?: boolean;
}

// The image config fields a commit carries over from the container's config.
const IMAGE_CONFIG_KEYS = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
] as const;

/**
 * What users ask of one container's resources and files: stats, top, diff, export,
 * commit and cp. Stopped containers have their root filesystem mounted on demand,
 * shared between concurrent operations and unmounted when the last one ends.
 */
export class ContainerOps {
  private mounts: ControllerMounts | undefined;
  private readonly scratch = new Map<string, { path: string; users: number; ready: Promise<void> }>();
  /** Scratch mounts on their way out, by container id. */
  private readonly unmounting = new Map<string, Promise<void>>();
  /** Emits a container id when its scratch mount is gone. */
  private readonly scratchReleased = new EventEmitter();

  constructor(private readonly deps: ContainerOpsDeps) {
    this.scratchReleased.setMaxListeners(0);
  }

  /**
   * Before a container is removed: waits, a bounded time, for the operations that read its
   * files (a `cp` stream just drained, say) to let go of its scratch mount.
   */
  releaseScratch(containerId: string, timeoutMs = 5_000): Promise<void> {
    const unmounting = this.unmounting.get(containerId);
    if (!this.scratch.has(containerId)) return unmounting ?? Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.scratchReleased.off(containerId, finish);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.scratchReleased.on(containerId, finish);
    });
  }

  /** One reading now. */
  async stats(ref: string): Promise<StatsReading> {
    const record = this.deps.containers.get(ref);
    const base = { id: record.id, name: record.name };
    if (!this.deps.containers.isRunning(record.id) || record.state.pid <= 0)
      return { ...base, sample: undefined };
    this.mounts ??= await readControllerMounts();
    const sample = await sampleResources(this.mounts, this.cgroupPathOf(record), record.state.pid);
    return { ...base, sample };
  }

  /** Docker's top: `ps` rows of the container's processes. ConflictError when it does not run. */
  async top(ref: string, psArgs: string): Promise<ProcessTable> {
    const record = this.deps.containers.get(ref);
    if (!this.deps.containers.isRunning(record.id)) {
      throw new ConflictError(`Container ${record.id} is not running`);
    }
    this.mounts ??= await readControllerMounts();
    const pids = await cgroupProcs(this.mounts, this.cgroupPathOf(record));
    return listProcesses(pids, psArgs || '-ef');
  }

  changes(ref: string): Promise<Change[]> {
    const record = this.deps.containers.get(ref);
    return listChanges(this.deps.rootfs.layout(record.id));
  }

  /** A tar of the container's whole root filesystem. */
  async exportRootfs(ref: string): Promise<Readable> {
    const record = this.deps.containers.get(ref);
    const rootfs = await this.openRootfs(record);
    try {
      return this.releasedOnClose(packTree(rootfs.path, { name: '' }), rootfs.release);
    } catch (e) {
      await rootfs.release();
      throw e;
    }
  }

  async statPath(ref: string, path: string): Promise<PathStat> {
    const record = this.deps.containers.get(ref);
    const rootfs = await this.openRootfs(record);
    try {
      return (await this.locate(record, rootfs.path, path)).stat;
    } finally {
      await rootfs.release();
    }
  }

  /** A tar of one path, named by its base name, with the stat `HEAD` reports. */
  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const record = this.deps.containers.get(ref);
    const rootfs = await this.openRootfs(record);
    try {
      const { stat, hostPath } = await this.locate(record, rootfs.path, path);
      // Docker names the entries after the path as asked: `dir/.` gives `./...`, the contents.
      const name = path.endsWith('/.') || path === '.' ? '.' : stat.name;
      const tar = packTree(hostPath, { name });
      return { stat, tar: this.releasedOnClose(tar, rootfs.release) };
    } catch (e) {
      await rootfs.release();
      throw e;
    }
  }

  /** Extracts a tar into the directory at `path`; nothing is written outside the root filesystem. */
  async putArchive(ref: string, path: string, tar: Readable, opts: PutArchiveOptions = {}): Promise<void> {
    const record = this.deps.containers.get(ref);
    if (record.hostConfig.ReadonlyRootfs === true) {
      throw new ForbiddenError('container rootfs is marked read-only');
    }
    const rootfs = await this.openRootfs(record);
    try {
      const dir = await resolveScoped(rootfs.path, posix.join('/', path), true);
      const stats = await lstat(dir.hostPath).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
          throw new NotFoundError(`Could not find the file ${path} in container ${ref}`);
        }
        throw e;
      });
      if (!stats.isDirectory()) throw new InvalidArgumentError('extraction point is not a directory');
      await applyLayerTar(tar, rootfs.path, 'archive', {
        under: dir.parts,
        plainNames: true,
        noOverwriteDirNonDir: opts.noOverwriteDirNonDir === true,
        ...(opts.copyUidGid ? {} : { owner: { uid: 0, gid: 0 } }),
      });
    } finally {
      await rootfs.release();
    }
  }

  async commit(ref: string, request: CommitRequest): Promise<ImageRecord> {
    const record = this.deps.containers.get(ref);
    const shouldPause = request.pause !== false && record.state.status === 'running';
    if (shouldPause) await this.deps.runtime.pause(record.id);
    let image: ImageRecord;
    try {
      image = await this.deps.images.commit({
        containerId: record.id,
        imageId: record.imageId,
        config: commitConfig(record, request.config ?? {}),
        ...(request.changes ? { changes: request.changes } : {}),
        ...(request.repo ? { repo: request.repo } : {}),
        ...(request.tag ? { tag: request.tag } : {}),
        ...(request.comment ? { comment: request.comment } : {}),
        ...(request.author ? { author: request.author } : {}),
        createdBy: [record.path, ...record.args].join(' '),
      });
    } finally {
      if (shouldPause) await this.deps.runtime.resume(record.id);
    }
    this.deps.events({
      type: 'container',
      action: 'commit',
      id: record.id,
      attributes: {
        ...(record.config.Labels ?? {}),
        comment: request.comment ?? '',
        image: record.imageRef,
        imageID: image.id,
        imageRef: image.repoTags[0] ?? '',
        name: record.name.slice(1),
      },
    });
    return image;
  }

  private cgroupPathOf(record: ContainerView): string {
    return `${this.deps.cgroupParent}/${record.id}`;
  }

  /** Resolves a container path (Docker's rules) and stats it; NotFoundError when absent. */
  private async locate(
    record: ContainerView,
    root: string,
    path: string,
  ): Promise<{ stat: PathStat; hostPath: string }> {
    const absolute = posix.join('/', path);
    const scoped = await resolveScoped(root, absolute, followsLast(path));
    let stats: Stats;
    try {
      stats = await lstat(scoped.hostPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new NotFoundError(`Could not find the file ${path} in container ${record.name.slice(1)}`);
      }
      throw e;
    }
    let linkTarget = '';
    if (stats.isSymbolicLink()) linkTarget = (await resolveScoped(root, absolute, true)).containerPath;
    return {
      hostPath: scoped.hostPath,
      stat: {
        name: absolute === '/' ? '/' : posix.basename(absolute),
        size: stats.size,
        mode: stats.mode,
        mtime: stats.mtime,
        linkTarget,
      },
    };
  }

  /**
   * The container's merged root filesystem: where it is mounted while it runs, else a
   * scratch mount shared by concurrent callers. Call release() when done.
   */
  private async openRootfs(record: ContainerView): Promise<{ path: string; release: () => Promise<void> }> {
    if (this.deps.containers.isRunning(record.id)) {
      return { path: this.deps.rootfsPathOf(record.id), release: async () => undefined };
    }
    let entry = this.scratch.get(record.id);
    if (!entry) {
      const path = join(this.deps.scratchDir, randomBytes(6).toString('hex'));
      const ready = (async () => {
        await mkdir(this.deps.scratchDir, { recursive: true, mode: 0o700 });
        await this.deps.rootfs.mount(record.id, path);
      })();
      entry = { path, users: 0, ready };
      this.scratch.set(record.id, entry);
      ready.catch(() => this.scratch.delete(record.id));
    }
    entry.users++;
    const current = entry;
    try {
      await current.ready;
    } catch (e) {
      current.users--;
      await rmdir(current.path).catch(() => undefined);
      throw e;
    }
    let isReleased = false;
    return {
      path: current.path,
      release: async () => {
        if (isReleased) return;
        isReleased = true;
        if (--current.users > 0) return;
        this.scratch.delete(record.id);
        const unmounted = (async () => {
          await this.deps.rootfs.unmount(current.path);
          await rmdir(current.path);
        })();
        this.unmounting.set(
          record.id,
          unmounted.catch(() => undefined),
        );
        try {
          await unmounted;
        } finally {
          this.unmounting.delete(record.id);
          this.scratchReleased.emit(record.id);
        }
      },
    };
  }

  private releasedOnClose(stream: Readable, release: () => Promise<void>): Readable {
    stream.once('close', () => {
      release().catch((e: unknown) =>
        this.deps.log.error({ err: messageOf(e) }, 'releasing a container rootfs mount failed'),
      );
    });
    return stream;
  }
}

/** Docker's commit config: the request's fields where set, the container's elsewhere. */
function commitConfig(record: ContainerView, overrides: ImageRuntimeConfig): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = {};
  for (const key of IMAGE_CONFIG_KEYS) {
    const value = overrides[key] ?? record.config[key];
    if (value !== undefined && value !== null) config[key] = value as never;
  }
  return config;
}
