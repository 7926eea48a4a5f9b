import { readdir } from 'node:fs/promises';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/index.js';
import { isMountPoint, mount, unmount } from '../../platform/index.js';
import type { EventSink } from '../events.js';
import { directorySize } from './disk-usage.js';
import { generateVolumeName, validateVolumeName } from './names.js';
import { ANONYMOUS_LABEL, type Volume, type VolumeLog, type VolumeRecord } from './types.js';
import { VolumeStore } from './volume-store.js';

export interface VolumeCreateOptions {
  /** Generated (64 hex digits) when omitted or ''. */
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
  /** The local driver's `type`, `device`, `o`. */
  options?: Record<string, string>;
}

export interface VolumePruneOptions {
  /** Every unused volume, not only anonymous ones (`prune --all`). */
  all?: boolean;
  /** Docker's `label=k[=v]`; `labelNot` is `label!=k[=v]`. */
  label?: string[];
  labelNot?: string[];
}

export interface VolumeServiceOptions {
  /** `<data-root>/volumes`. */
  root: string;
  events: EventSink;
  log: VolumeLog;
}

const LOCAL_OPTION_KEYS = ['type', 'device', 'o', 'size'];

function matchesLabel(labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=');
  if (eq === -1) return wanted in labels;
  return labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

function validateLocalOptions(options: Record<string, string>): void {
  for (const key of Object.keys(options)) {
    if (!LOCAL_OPTION_KEYS.includes(key)) throw new InvalidArgumentError(`invalid option key: "${key}"`);
  }
  if (options.size !== undefined) {
    throw new InvalidArgumentError('quota size requested but no quota support');
  }
  if ((options.type || options.o) && !options.device) {
    throw new InvalidArgumentError('missing required option: "device"');
  }
}

/**
 * Named and anonymous volumes of the local driver. Lifecycle: create -> a container
 * uses it (acquire at container create, mount while it runs, release at container
 * remove) -> remove. A volume any container refers to is never removed
 * (ConflictError `remove NAME: volume is in use - [ids]`); unknown names give
 * NotFoundError(`get NAME: no such volume`).
 */
export class VolumeService {
  private readonly volumes = new Map<string, VolumeRecord>();
  /** Volume name -> ids of the containers that refer to it. */
  private readonly users = new Map<string, Set<string>>();
  /** Volume name -> ids of running containers that have it mounted (driver mounts only). */
  private readonly active = new Map<string, Set<string>>();
  private readonly creating = new Map<string, Promise<Volume>>();
  private readonly store: VolumeStore;

  private constructor(private readonly opts: VolumeServiceOptions) {
    this.store = new VolumeStore(opts.root);
  }

  /** Loads every volume; takes away what a create or remove cut short. */
  static async open(opts: VolumeServiceOptions): Promise<VolumeService> {
    const service = new VolumeService(opts);
    const { records, unfinished } = await service.store.loadAll();
    for (const name of unfinished) {
      opts.log.warn({ volume: name }, 'removing a volume whose create or remove never finished');
      await service.store.removeLeftovers(name);
    }
    for (const record of records) service.volumes.set(record.name, record);
    return service;
  }

  /** Takes driver mounts down (daemon shutdown would leave them behind otherwise only when unused). */
  async close(): Promise<void> {
    for (const [name, users] of this.active) {
      if (users.size === 0) await unmount(this.store.dataDirOf(name));
    }
  }

  list(): Volume[] {
    return [...this.volumes.values()]
      .map((r) => this.volumeOf(r))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Volume {
    const record = this.volumes.get(name);
    if (!record) throw new NotFoundError(`get ${name}: no such volume`);
    return this.volumeOf(record);
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  /** Ids of the containers that refer to the volume. */
  usersOf(name: string): string[] {
    return [...(this.users.get(name) ?? [])];
  }

  isAnonymous(name: string): boolean {
    return this.volumes.get(name)?.labels[ANONYMOUS_LABEL] !== undefined;
  }

  /** Creates the volume; an existing one of that name is returned as it is, as Docker does. */
  async create(opts: VolumeCreateOptions = {}): Promise<Volume> {
    const driver = opts.driver || 'local';
    if (driver !== 'local') {
      throw new NotFoundError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    }
    const name = opts.name || generateVolumeName();
    validateVolumeName(name);
    const options = opts.options ?? {};
    validateLocalOptions(options);
    const existing = this.volumes.get(name);
    if (existing) return this.volumeOf(existing);
    const pending = this.creating.get(name);
    if (pending) return pending;
    const record: VolumeRecord = {
      name,
      driver: 'local',
      createdAt: new Date().toISOString(),
      labels: opts.labels ?? {},
      options,
    };
    const creation = (async () => {
      try {
        await this.store.save(record);
      } catch (e) {
        await this.store.removeLeftovers(name).catch(() => undefined);
        throw e;
      }
      this.volumes.set(name, record);
      this.opts.events({ type: 'volume', action: 'create', id: name, attributes: { driver: 'local' } });
      return this.volumeOf(record);
    })();
    this.creating.set(name, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(name);
    }
  }

  /**
   * Records that a container refers to the volume, creating it first when asked.
   * From here on the volume cannot be removed until `release`.
   */
  async acquire(name: string, containerId: string, create?: VolumeCreateOptions): Promise<Volume> {
    for (;;) {
      const record = this.volumes.get(name);
      if (record) {
        const set = this.users.get(name) ?? new Set<string>();
        set.add(containerId);
        this.users.set(name, set);
        return this.volumeOf(record);
      }
      if (!create) throw new NotFoundError(`get ${name}: no such volume`);
      await this.create({ ...create, name });
    }
  }

  release(name: string, containerId: string): void {
    const set = this.users.get(name);
    if (!set) return;
    set.delete(containerId);
    if (set.size === 0) this.users.delete(name);
  }

  /**
   * The host path a container mounts. A volume made with `--opt type/device` is
   * mounted there while any running container uses it.
   */
  async mount(name: string, containerId: string): Promise<string> {
    const volume = this.get(name);
    if (!volume.options.device) return volume.mountpoint;
    const set = this.active.get(name) ?? new Set<string>();
    this.active.set(name, set);
    if (set.size === 0 && !(await isMountPoint(volume.mountpoint))) {
      const { type, device, o } = volume.options;
      await mount(device, volume.mountpoint, {
        ...(type ? { type } : {}),
        ...(o ? { options: o.split(',').filter(Boolean) } : {}),
      });
    }
    set.add(containerId);
    return volume.mountpoint;
  }

  /** Notes that a running container (adopted after a daemon restart) has the volume mounted. */
  adoptMount(name: string, containerId: string): void {
    if (!this.volumes.get(name)?.options.device) return;
    const set = this.active.get(name) ?? new Set<string>();
    set.add(containerId);
    this.active.set(name, set);
  }

  async unmount(name: string, containerId: string): Promise<void> {
    const set = this.active.get(name);
    if (!set) return;
    set.delete(containerId);
    if (set.size > 0) return;
    this.active.delete(name);
    await unmount(this.store.dataDirOf(name));
  }

  /** NotFoundError unless `force`; ConflictError while any container refers to it. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.volumes.has(name)) {
      if (opts.force) return;
      throw new NotFoundError(`get ${name}: no such volume`);
    }
    const users = this.usersOf(name);
    if (users.length > 0) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.volumes.delete(name);
    try {
      await this.store.remove(name);
    } catch (e) {
      this.opts.log.error({ err: e, volume: name }, 'removing volume data failed');
      throw e;
    }
    this.active.delete(name);
    this.opts.events({ type: 'volume', action: 'destroy', id: name, attributes: { driver: 'local' } });
  }

  /** Removes unused volumes: anonymous ones, or all with `all`. */
  async prune(opts: VolumePruneOptions = {}): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const record of [...this.volumes.values()]) {
      if (this.usersOf(record.name).length > 0) continue;
      if (!opts.all && record.labels[ANONYMOUS_LABEL] === undefined) continue;
      if (!(opts.label ?? []).every((l) => matchesLabel(record.labels, l))) continue;
      if ((opts.labelNot ?? []).some((l) => matchesLabel(record.labels, l))) continue;
      const size = await this.sizeOf(record.name);
      try {
        await this.remove(record.name);
      } catch (e) {
        // A container claimed it while we measured: it is in use now, so it stays.
        if (e instanceof ConflictError) continue;
        throw e;
      }
      deleted.push(record.name);
      spaceReclaimed += size;
    }
    this.opts.events({
      type: 'volume',
      action: 'prune',
      id: '',
      attributes: { reclaimed: String(spaceReclaimed) },
    });
    return { deleted, spaceReclaimed };
  }

  /** Bytes in the volume's data. */
  sizeOf(name: string): Promise<number> {
    return directorySize(this.get(name).mountpoint);
  }

  /** True when the volume's data directory has nothing in it (a new volume, to be filled from the image). */
  async isEmpty(name: string): Promise<boolean> {
    return (await readdir(this.get(name).mountpoint)).length === 0;
  }

  private volumeOf(record: VolumeRecord): Volume {
    return { ...record, labels: { ...record.labels }, mountpoint: this.store.dataDirOf(record.name) };
  }
}
