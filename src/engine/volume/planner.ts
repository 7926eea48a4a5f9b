import { mkdir, stat } from 'node:fs/promises';
import { ConflictError, InvalidArgumentError, messageOf } from '../../api/index.js';
import { run } from '../../platform/index.js';
import type { EventSink } from '../events.js';
import { resolveInRoot, type SpecMount } from '../runtime/index.js';
import { generateVolumeName } from './names.js';
import {
  type MountObject,
  type MountRequest,
  parseBind,
  parseMount,
  parseTmpfs,
  parseVolumesFrom,
} from './parse.js';
import type { VolumeService } from './service.js';
import { ANONYMOUS_LABEL, type MountRecord, type VolumeLog } from './types.js';

/** The parts of a container's configuration that ask for mounts. */
export interface MountPlanInput {
  containerId: string;
  binds?: readonly string[] | null | undefined;
  mounts?: readonly MountObject[] | null | undefined;
  tmpfs?: Record<string, string> | null | undefined;
  volumesFrom?: readonly string[] | null | undefined;
  /** The effective Config.Volumes (image's and request's): anonymous volumes where nothing else is mounted. */
  imageVolumes?: Record<string, unknown> | null | undefined;
  /** The mounts of another container, for VolumesFrom (NotFoundError for an unknown one). */
  mountsOf: (container: string) => readonly MountRecord[];
}

export interface MountPlannerOptions {
  volumes: VolumeService;
  events: EventSink;
  log: VolumeLog;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * A container's mounts over its life: `plan` at create (validates everything, then
 * creates and claims volumes), `prepare` at each start (driver mounts, filling new
 * volumes from the image, OCI mounts), `unprepare` at each exit, `release` at remove
 * (anonymous volumes go too when asked), `restore` when the daemon comes back.
 */
export class MountPlanner {
  constructor(private readonly opts: MountPlannerOptions) {}

  async plan(input: MountPlanInput): Promise<MountRecord[]> {
    const requests = this.requestsOf(input);
    for (const request of requests) {
      if (request.type === 'bind' && !request.createSource && !(await exists(request.source))) {
        throw new InvalidArgumentError(
          `invalid mount config for type "bind": bind source path does not exist: ${request.source}`,
        );
      }
    }
    const inherited = this.inheritedMounts(input);
    const records: MountRecord[] = [];
    try {
      for (const request of requests) records.push(await this.claim(input.containerId, request));
      for (const record of inherited) {
        if (records.some((r) => r.destination === record.destination)) continue;
        if (record.type === 'volume' && record.name !== undefined) {
          await this.opts.volumes.acquire(record.name, input.containerId);
        }
        records.push(record);
      }
    } catch (e) {
      await this.release(input.containerId, records, { removeAnonymous: true });
      throw e;
    }
    return records;
  }

  /** The OCI mounts for a start: volumes mounted (and filled from the image when new), bind sources made. */
  async prepare(containerId: string, mounts: readonly MountRecord[], rootfs: string): Promise<SpecMount[]> {
    const specs: SpecMount[] = [];
    for (const m of mounts) {
      if (m.type === 'tmpfs') {
        specs.push({
          type: 'tmpfs',
          source: 'tmpfs',
          destination: m.destination,
          readonly: m.readonly,
          options: m.tmpfsOptions ?? [],
        });
        continue;
      }
      let source = m.source;
      if (m.type === 'volume' && m.name !== undefined) {
        source = await this.opts.volumes.mount(m.name, containerId);
        if (!m.noCopy && (await this.opts.volumes.isEmpty(m.name)))
          await this.fillFromImage(rootfs, m.destination, source);
        this.opts.events({
          type: 'volume',
          action: 'mount',
          id: m.name,
          attributes: {
            container: containerId,
            destination: m.destination,
            driver: 'local',
            propagation: m.propagation,
            'read/write': String(!m.readonly),
          },
        });
      } else if (!(await exists(source))) {
        // `-v /missing:/x` makes the host directory, as Docker does at start.
        await mkdir(source, { recursive: true, mode: 0o755 });
      }
      specs.push({
        type: 'bind',
        source,
        destination: m.destination,
        readonly: m.readonly,
        ...(m.propagation !== ''
          ? { propagation: m.propagation as NonNullable<SpecMount['propagation']> }
          : {}),
        ...(m.nonRecursive ? { nonRecursive: true } : {}),
      });
    }
    return specs;
  }

  /** After the container stopped: driver mounts come down when no running container needs them. */
  async unprepare(containerId: string, mounts: readonly MountRecord[]): Promise<void> {
    for (const m of mounts) {
      if (m.type !== 'volume' || m.name === undefined) continue;
      await this.opts.volumes.unmount(m.name, containerId);
      this.opts.events({
        type: 'volume',
        action: 'unmount',
        id: m.name,
        attributes: { container: containerId, driver: 'local' },
      });
    }
  }

  /** The container is gone: its volumes are free, and its anonymous ones removed when asked (`rm -v`, `--rm`). */
  async release(
    containerId: string,
    mounts: readonly MountRecord[],
    opts: { removeAnonymous: boolean },
  ): Promise<void> {
    for (const m of mounts) {
      if (m.type !== 'volume' || m.name === undefined) continue;
      this.opts.volumes.release(m.name, containerId);
      if (!opts.removeAnonymous || !m.anonymous) continue;
      try {
        await this.opts.volumes.remove(m.name, { force: true });
      } catch (e) {
        // Another container (--volumes-from) still uses it: Docker keeps it too.
        if (!(e instanceof ConflictError))
          this.opts.log.warn({ err: e, volume: m.name }, 'removing anonymous volume failed');
      }
    }
  }

  /** A container found at daemon start claims its volumes again; a running one also keeps its driver mounts. */
  restore(containerId: string, mounts: readonly MountRecord[], running: boolean): void {
    for (const m of mounts) {
      if (m.type !== 'volume' || m.name === undefined) continue;
      if (!this.opts.volumes.has(m.name)) {
        this.opts.log.warn({ id: containerId, volume: m.name }, 'container refers to a volume that is gone');
        continue;
      }
      void this.opts.volumes.acquire(m.name, containerId);
      if (running) this.opts.volumes.adoptMount(m.name, containerId);
    }
  }

  /** Parsed, checked and ordered as Docker does: binds and mounts, tmpfs, then the image's volumes. */
  private requestsOf(input: MountPlanInput): MountRequest[] {
    const requests: MountRequest[] = [
      ...(input.binds ?? []).map(parseBind),
      ...(input.mounts ?? []).map(parseMount),
      ...parseTmpfs(input.tmpfs ?? {}),
    ];
    const seen = new Set<string>();
    for (const r of requests) {
      if (seen.has(r.destination)) throw new InvalidArgumentError(`Duplicate mount point: ${r.destination}`);
      seen.add(r.destination);
    }
    const inheritedDestinations = new Set(this.inheritedMounts(input).map((m) => m.destination));
    for (const path of Object.keys(input.imageVolumes ?? {})) {
      const destination = path.replace(/(.)\/$/, '$1');
      if (seen.has(destination) || inheritedDestinations.has(destination)) continue;
      seen.add(destination);
      requests.push(parseBind(destination));
    }
    return requests;
  }

  private inheritedMounts(input: MountPlanInput): MountRecord[] {
    const inherited: MountRecord[] = [];
    for (const raw of input.volumesFrom ?? []) {
      const { container, access } = parseVolumesFrom(raw);
      for (const m of input.mountsOf(container)) {
        if (m.type === 'tmpfs') continue;
        const readonly = access === undefined ? m.readonly : access === 'ro';
        const { anonymous: _anonymous, ...shared } = m;
        inherited.push({ ...shared, readonly });
      }
    }
    return inherited;
  }

  private async claim(containerId: string, request: MountRequest): Promise<MountRecord> {
    if (request.type === 'bind') {
      return {
        type: 'bind',
        source: request.source,
        destination: request.destination,
        readonly: request.readonly,
        mode: request.mode,
        propagation: request.propagation,
        ...(request.nonRecursive ? { nonRecursive: true } : {}),
      };
    }
    if (request.type === 'tmpfs') {
      return {
        type: 'tmpfs',
        source: '',
        destination: request.destination,
        readonly: request.readonly,
        mode: '',
        propagation: '',
        tmpfsOptions: request.options,
        ...(request.hidden ? { hidden: true } : {}),
      };
    }
    const anonymous = request.name === undefined;
    const name = request.name ?? generateVolumeName();
    const labels = anonymous ? { ...request.labels, [ANONYMOUS_LABEL]: '' } : request.labels;
    const volume = await this.opts.volumes.acquire(name, containerId, {
      labels,
      options: request.driverOptions,
    });
    return {
      type: 'volume',
      name,
      source: volume.mountpoint,
      destination: request.destination,
      readonly: request.readonly,
      mode: request.mode,
      propagation: '',
      ...(request.noCopy ? { noCopy: true } : {}),
      ...(anonymous ? { anonymous: true } : {}),
    };
  }

  /** Docker fills a new, empty volume with what the image has at the mount point (files, owners, modes). */
  private async fillFromImage(rootfs: string, destination: string, volumeDir: string): Promise<void> {
    const from = await resolveInRoot(rootfs, destination);
    if (!(await isDirectory(from))) return;
    try {
      await run('cp', ['-a', '--', `${from}/.`, `${volumeDir}/`]);
    } catch (e) {
      throw new Error(`copying the image's ${destination} into the volume failed: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }
}
